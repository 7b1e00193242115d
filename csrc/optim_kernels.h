// Optimizer updates in place, one fused pass over the parameter, its gradient and the
// optimizer's state, compiled once per ISA (optim_kernels_impl.h in optim_kernels_<isa>.cpp).
// Arrays are contiguous, n elements each; a null state array is absent (no momentum, not
// centered). Formulas are the kernel catalog's (tensorcore/kernels/catalog.py).
#pragma once

#include <cstddef>

struct SgdHyper {
    double lr, momentum, weight_decay;
    bool nesterov;
};

// step_size = lr / (1 - beta1^step); bias_correction2_sqrt = sqrt(1 - beta2^step)
struct AdamHyper {
    double lr, beta1, beta2, eps, weight_decay, step_size, bias_correction2_sqrt;
    bool decoupled;
};

struct RmspropHyper {
    double lr, alpha, eps, weight_decay, momentum;
};

#define TC_DECLARE_OPTIM_KERNELS_FOR(T)                                                          \
    void sgd_update(T* param, const T* grad, T* velocity, ptrdiff_t n, const SgdHyper& h,       \
                    int threads);                                                                \
    void adam_update(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, ptrdiff_t n,           \
                     const AdamHyper& h, int threads);                                           \
    void rmsprop_update(T* param, const T* grad, T* square_avg, T* momentum_buffer, T* grad_avg, \
                        ptrdiff_t n, const RmspropHyper& h, int threads);

#define TC_DECLARE_OPTIM_KERNELS(ns)      \
    namespace ns {                        \
    TC_DECLARE_OPTIM_KERNELS_FOR(float)   \
    TC_DECLARE_OPTIM_KERNELS_FOR(double)  \
    }

TC_DECLARE_OPTIM_KERNELS(isa_generic)
#ifdef TENSORCORE_X86_ISAS
TC_DECLARE_OPTIM_KERNELS(isa_avx2)
TC_DECLARE_OPTIM_KERNELS(isa_avx512)
#endif
