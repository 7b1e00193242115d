// max_pool2d and avg_pool2d kernels, compiled once per ISA (pool_kernels_impl.h in
// pool_kernels_<isa>.cpp). Arrays are 4-D (N, C, H, W) with any strides in elements; a
// "channels-last" array has a C stride of 1 (NHWC memory) and is processed C lanes at a time.
#pragma once

#include <cstddef>
#include <cstdint>

struct PoolGeometry {
    ptrdiff_t N, C, H, W, OH, OW;
    ptrdiff_t kh, kw, sh, sw, ph, pw, dh, dw;
};

struct Strides4 {
    ptrdiff_t n, c, h, w;
};

// divisor_override 0: divide by the window's element count (clipped to the padded input when
// count_include_pad, else to the input).
struct AvgDivisor {
    bool count_include_pad;
    ptrdiff_t divisor_override;
};

// max_pool_forward: y and indices (flat positions in the H*W plane) at y_strides (indices
//   share them); channels_last needs x and y strides with c == 1.
// max_pool_backward: dx (zeroed here, at dx_strides) += grad at indices. Returns false when
//   an index lies outside [-1, H*W) (those are skipped).
// max_pool_backward_taps: dx (C, H, W) of one image from grad (C, OH, OW) of 2x2 windows at
//   stride 2 and their maxima's taps (C, OH, OW), 2 * row + column in the window (max_2x2.h),
//   all contiguous, on the calling thread: as max_pool_backward with N = 1 and their indices.
//   Returns false when a tap lies past 3.
// avg_pool_forward / avg_pool_backward: dilation 1.
#define TC_DECLARE_POOL_KERNELS_FOR(T)                                                           \
    void max_pool_forward(const PoolGeometry& g, const T* x, Strides4 x_strides, T* y,           \
                          int64_t* indices, Strides4 y_strides, bool channels_last, int threads); \
    bool max_pool_backward(const PoolGeometry& g, const T* grad, Strides4 grad_strides,          \
                           const int64_t* indices, Strides4 index_strides, T* dx,                \
                           Strides4 dx_strides, bool channels_last, int threads);                \
    bool max_pool_backward_taps(const PoolGeometry& g, const T* grad, const unsigned char* taps, \
                                T* dx);                                                          \
    void avg_pool_forward(const PoolGeometry& g, AvgDivisor divisor, const T* x,                 \
                          Strides4 x_strides, T* y, Strides4 y_strides, bool channels_last,      \
                          int threads);                                                          \
    void avg_pool_backward(const PoolGeometry& g, AvgDivisor divisor, const T* grad,             \
                           Strides4 grad_strides, T* dx, Strides4 dx_strides, bool channels_last, \
                           int threads);

#define TC_DECLARE_POOL_KERNELS(ns) \
    namespace ns {                  \
    TC_DECLARE_POOL_KERNELS_FOR(float)  \
    TC_DECLARE_POOL_KERNELS_FOR(double) \
    }

TC_DECLARE_POOL_KERNELS(isa_generic)
#ifdef TENSORCORE_X86_ISAS
TC_DECLARE_POOL_KERNELS(isa_avx2)
TC_DECLARE_POOL_KERNELS(isa_avx512)
#endif
