// Elementwise activation entry points, compiled once per ISA (activation_kernels_impl.h in
// activation_kernels_<isa>.cpp). Arrays are contiguous, n elements each.
#pragma once

#include <cstddef>

enum class Activation { relu, leaky_relu, sigmoid, tanh, gelu_erf, gelu_tanh };

// activation_forward: y = f(x). activation_backward: dx = grad * f'(x), from whichever of x
// and y = f(x) the derivative needs. negative_slope is used by leaky_relu only.
#define TC_DECLARE_ACTIVATION_KERNELS(ns)                                                    \
    namespace ns {                                                                           \
    void activation_forward(Activation f, const float* x, float* y, ptrdiff_t n,             \
                            float negative_slope, int threads);                              \
    void activation_forward(Activation f, const double* x, double* y, ptrdiff_t n,           \
                            double negative_slope, int threads);                             \
    void activation_backward(Activation f, const float* grad, const float* x, const float* y, \
                             float* dx, ptrdiff_t n, float negative_slope, int threads);      \
    void activation_backward(Activation f, const double* grad, const double* x,              \
                             const double* y, double* dx, ptrdiff_t n, double negative_slope, \
                             int threads);                                                   \
    }

TC_DECLARE_ACTIVATION_KERNELS(isa_generic)
#ifdef TENSORCORE_X86_ISAS
TC_DECLARE_ACTIVATION_KERNELS(isa_avx2)
TC_DECLARE_ACTIVATION_KERNELS(isa_avx512)
#endif
