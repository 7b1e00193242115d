// bias_act: y = act(x + bias) over rows of F features and its backward pass, compiled once
// per ISA (bias_act_kernels_impl.h in bias_act_kernels_<isa>.cpp) on top of the activation
// kernels of the same ISA. Arrays are C-contiguous: x, y, grad, dx (rows, F), bias (F,).
#pragma once

#include <cstddef>

#include "activation_kernels.h"

enum class BiasActivation { none, relu, sigmoid, tanh };

// The backward pass sums dbias over row blocks, one partial sum per block, then the blocks in
// order: a partition fixed by the shape alone, so results do not depend on the thread count.
inline ptrdiff_t bias_act_blocks(ptrdiff_t rows, ptrdiff_t features) {
    ptrdiff_t blocks = rows * features / (1 << 16);
    blocks = blocks < 1 ? 1 : blocks > 64 ? 64 : blocks;
    return blocks < rows ? blocks : (rows > 0 ? rows : 1);
}

// bias_act_backward: dx = grad * act'(from y); dbias = sum of dx over rows; partials is
// scratch for bias_act_blocks(rows, F) * F values.
#define TC_DECLARE_BIAS_ACT_KERNELS_FOR(T)                                                      \
    void bias_act_forward(BiasActivation f, const T* x, const T* bias, T* y, ptrdiff_t rows,    \
                          ptrdiff_t features, int threads);                                    \
    void bias_act_backward(BiasActivation f, const T* grad, const T* y, T* dx, T* dbias,        \
                           T* partials, ptrdiff_t rows, ptrdiff_t features, int threads);

#define TC_DECLARE_BIAS_ACT_KERNELS(ns)     \
    namespace ns {                          \
    TC_DECLARE_BIAS_ACT_KERNELS_FOR(float)  \
    TC_DECLARE_BIAS_ACT_KERNELS_FOR(double) \
    }

TC_DECLARE_BIAS_ACT_KERNELS(isa_generic)
#ifdef TENSORCORE_X86_ISAS
TC_DECLARE_BIAS_ACT_KERNELS(isa_avx2)
TC_DECLARE_BIAS_ACT_KERNELS(isa_avx512)
#endif
