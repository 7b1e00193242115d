// softmax, log_softmax and the fused cross-entropy over rows, compiled once per ISA
// (softmax_kernels_impl.h in softmax_kernels_<isa>.cpp). Every array is C-contiguous: rows of
// `cols` elements, one row per task.
#pragma once

#include <cstddef>
#include <cstdint>

enum class RowOp { softmax, log_softmax };

// row_forward: y = softmax(x) or log_softmax(x) per row.
// row_backward: dx from grad and y = f(x): y (grad - <grad, y>) for softmax,
//   grad - exp(y) sum(grad) for log_softmax.
// cross_entropy_forward: log_probs = log_softmax(logits), loss[r] = -log_probs[r, target[r]].
// cross_entropy_backward: dlogits = grad[r] (exp(log_probs) - onehot(target[r])).
// Targets are valid class indices (checked by the caller).
#define TC_DECLARE_SOFTMAX_KERNELS_FOR(T)                                                        \
    void row_forward(RowOp f, const T* x, T* y, ptrdiff_t rows, ptrdiff_t cols, int threads);  \
    void row_backward(RowOp f, const T* grad, const T* y, T* dx, ptrdiff_t rows, ptrdiff_t cols, \
                      int threads);                                                              \
    void cross_entropy_forward(const T* logits, const int64_t* target, T* loss, T* log_probs,   \
                               ptrdiff_t rows, ptrdiff_t cols, int threads);                     \
    void cross_entropy_backward(const T* grad, const T* log_probs, const int64_t* target,       \
                                T* dlogits, ptrdiff_t rows, ptrdiff_t cols, int threads);

#define TC_DECLARE_SOFTMAX_KERNELS(ns)      \
    namespace ns {                          \
    TC_DECLARE_SOFTMAX_KERNELS_FOR(float)   \
    TC_DECLARE_SOFTMAX_KERNELS_FOR(double)  \
    }

TC_DECLARE_SOFTMAX_KERNELS(isa_generic)
#ifdef TENSORCORE_X86_ISAS
TC_DECLARE_SOFTMAX_KERNELS(isa_avx2)
TC_DECLARE_SOFTMAX_KERNELS(isa_avx512)
#endif
