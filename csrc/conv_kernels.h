// Register-blocked convolution kernels for one image, compiled once per ISA
// (conv_kernels_impl.h in conv_kernels_<isa>.cpp). The NCHW ones work on the image's im2col
// matrix cols (depth, pixels_padded): row k = (c, i, j) holds tap k of every output pixel,
// and the columns past `pixels` are zero; the channels-last one reads the image itself.
#pragma once

#include <algorithm>
#include <cstddef>

namespace tensorcore {

// n rounded up to a multiple of `multiple` (the conv drivers' buffer padding)
inline ptrdiff_t round_up(ptrdiff_t n, ptrdiff_t multiple) {
    return (n + multiple - 1) / multiple * multiple;
}

// Padding the callers apply so that the kernels' register tiles never run past a buffer:
// weight rows (output channels) to a multiple of conv_out_block, cols rows to a multiple of
// conv_depth_block (weight gradient only), pixels to a multiple of 128 bytes of elements.
constexpr ptrdiff_t conv_out_block = 8;
constexpr ptrdiff_t conv_depth_block = 9;
template <typename T>
constexpr ptrdiff_t conv_pixel_block = 256 / sizeof(T);
// The weight gradient is summed per vector lane, in slots of the widest vector's lanes.
template <typename T>
constexpr ptrdiff_t conv_lanes = 64 / sizeof(T);

// The rows of the tile after the one at rows o0 .. o0 + R of an image's `out`: from row
// min(o0 + R, out) (past the last rows, row `out` is the next image's first, which follows in
// memory when next_image), this many (0 to R). The kernels here prefetch them (rows of y or
// grad), and so does the row-pair Winograd weight gradient (planes of grad).
inline ptrdiff_t rows_ahead(ptrdiff_t o0, ptrdiff_t R, ptrdiff_t out, bool next_image) {
    if (o0 + R < out) return std::min(R, out - o0 - R);
    return next_image ? std::min(R, out) : 0;
}

}  // namespace tensorcore

// conv_copy_rows: dst (rows, cols), rows dst_stride apart, = the rows of src, src_stride
// apart (im2col's contiguous runs, without a library call per run).
// conv_image_forward: y (out, pixels) = weight (out padded, depth) @ cols + bias (out padded).
// conv_image_weight_gradient: dweight (out padded, depth_padded) += grad (out, pixels) @
// cols (depth_padded, pixels_padded)^T and dbias (out,) += grad's row sums, each entry kept
// as conv_lanes<T> partial sums (lane i sums the pixels i mod the vector width), so the
// kernels never reduce across a vector: dweight_lanes (out padded, depth_padded, lanes),
// dbias_lanes (out padded, lanes).
// Both prefetch the y lines they will store next, or the grad lines they will read next, one
// tile ahead; next_image: the next image's y or grad (out x pixels more) directly follows this
// one's and is this thread's next call, so the last tiles prefetch its first rows.
// conv_nhwc_image_weight_gradient: for one channels-last image, staged with its padding, and
// its grad (out_h * out_w, out): dweight (depth, out) and dbias (out) (doubles) += the image's
// share, each output pixel's grad row times each depth entry k (the image element offsets[k]
// past the pixel's first, oh * row_step + ow * col_step), summed in registers over the pixels.
// conv_nhwc_image_forward: y (out_h * out_w, out) of such an image = bias (or 0 where null) +
// each pixel's depth entries times columns (depth, out).
#define TC_DECLARE_CONV_KERNELS_FOR(T)                                                       \
    void conv_copy_rows(const T* src, ptrdiff_t src_stride, T* dst, ptrdiff_t dst_stride,    \
                        ptrdiff_t rows, ptrdiff_t cols);                                     \
    void conv_image_forward(const T* cols, ptrdiff_t depth, ptrdiff_t pixels,                \
                            ptrdiff_t pixels_padded, const T* weight, const T* bias,         \
                            ptrdiff_t out, T* y, bool next_image);                           \
    void conv_image_weight_gradient(const T* grad, const T* cols, ptrdiff_t depth_padded,    \
                                    ptrdiff_t pixels, ptrdiff_t pixels_padded, ptrdiff_t out, \
                                    T* dweight_lanes, T* dbias_lanes, bool next_image);      \
    void conv_nhwc_image_forward(const T* image, ptrdiff_t row_step, ptrdiff_t col_step,     \
                                 ptrdiff_t out_h, ptrdiff_t out_w, const ptrdiff_t* offsets, \
                                 ptrdiff_t depth, const T* columns, const T* bias,           \
                                 ptrdiff_t out, T* y);                                       \
    void conv_nhwc_image_weight_gradient(const T* image, ptrdiff_t row_step,                 \
                                         ptrdiff_t col_step, ptrdiff_t out_h,                \
                                         ptrdiff_t out_w, const ptrdiff_t* offsets,          \
                                         ptrdiff_t depth, const T* grad, ptrdiff_t out,      \
                                         double* dweight, double* dbias);

#define TC_DECLARE_CONV_KERNELS(ns)        \
    namespace ns {                         \
    TC_DECLARE_CONV_KERNELS_FOR(float)     \
    TC_DECLARE_CONV_KERNELS_FOR(double)    \
    }

TC_DECLARE_CONV_KERNELS(isa_generic)
#ifdef TENSORCORE_X86_ISAS
TC_DECLARE_CONV_KERNELS(isa_avx2)
TC_DECLARE_CONV_KERNELS(isa_avx512)
#endif
