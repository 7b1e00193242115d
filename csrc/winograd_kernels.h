// Winograd F(4x4, 3x3) kernels for one chunk of tiles, compiled once per ISA
// (winograd_kernels_impl.h in winograd_kernels_<isa>.cpp); conv_winograd.cpp drives them.
//
// Each output tile of 4x4 pixels reads a 6x6 input tile (tiles overlap by 2). In the
// transformed domain a tile costs 36 products per (input, output) channel pair instead of 144:
//   y_tile = A^T [ sum_c (G w G^T) . (B^T d_tile B) ] A
// The 36 entries xi = 6 a + b of the 6x6 transforms (a down the tile, b along it) turn the sum
// over channels into 36 independent matrix products. Images are HWC (channels innermost) and
// stacked, each cut into tiles_h x tiles_w tiles; tiles are numbered row-major over an image's
// grid, then image by image. A chunk is `count` consecutive tiles from `first`. Transformed
// data are arrays of 36 (capacity, width) matrices, one per xi, winograd_entry_stride apart:
// row t - first holds tile t, the width holds channels (the width of each array is given
// below). The kernels' transformed u and the weight gradient's du lie the same way.
#pragma once

#include <cstddef>

namespace tensorcore {

// output pixels per tile side (each tile reads 2 more input pixels per side), and transform
// entries per tile
constexpr ptrdiff_t winograd_tile = 4, winograd_entries = 36;

// Widths of matrices read as vectors (products' right operands and results) are padded to
// a multiple of the widest vector's lanes, with zeros.
template <typename T>
constexpr ptrdiff_t winograd_lanes = 64 / sizeof(T);

// Elements from one transform entry's matrix (rows, width) to the next's: rows x width
// rounded up to an odd number of 64-byte lines, so that a tile's 36 entries fall in different
// L1 sets (at a multiple of 4 KiB apart, with 4 input channels, the gradient transform's
// stores took 59% of the weight gradient's time on 32x32 images, Zen 5).
template <typename T>
constexpr ptrdiff_t winograd_entry_stride(ptrdiff_t rows, ptrdiff_t width) {
    constexpr ptrdiff_t line = 64 / sizeof(T);
    return ((rows * width + line - 1) / line | 1) * line;
}

}  // namespace tensorcore

// winograd_input_transform: v[xi][t][c] = (B^T d B)[xi] for the 6x6 tile d at pixel
//   (4 ty, 4 tx) of tile t's image in `images` (each 4 tiles_h + 2 rows of 4 tiles_w + 2
//   pixels, `channels` each; padding already in place), c < channels.
// winograd_gradient_transform: v[xi][t][o] = (A g A^T)[xi] for the 4x4 tile g of `grad` (each
//   image 4 tiles_h rows of 4 tiles_w pixels, `channels` each), o < channels_padded (zero past
//   channels).
// winograd_output_transform: out pixel (4 ty + i, 4 tx + j) of tile t's image = (A^T m A)[i][j]
//   + bias for m = m[.][t][c], c < channels, pixels inside out_h x out_w only (images out_h x
//   out_w pixels apart); bias may be null.
// winograd_multiply: m[xi] (count, width_padded) = v[xi] (count, depth) @ u[xi] (depth,
//   width_padded).
// winograd_multiply_transposed: du[xi] (depth, width_padded) += v[xi] (count, depth)^T @
//   g[xi] (count, width_padded).
// winograd_transpose: dst[j * dst_stride + i] = src[i * src_stride + j] for i < rows,
//   j < cols (between NCHW images and the HWC buffers).
#define TC_DECLARE_WINOGRAD_KERNELS_FOR(T)                                                     \
    void winograd_input_transform(const T* images, ptrdiff_t channels, ptrdiff_t tiles_h,     \
                                  ptrdiff_t tiles_w, ptrdiff_t first, ptrdiff_t count, T* v,    \
                                  ptrdiff_t capacity);                                        \
    void winograd_gradient_transform(const T* grad, ptrdiff_t channels,                        \
                                     ptrdiff_t channels_padded, ptrdiff_t tiles_h,             \
                                     ptrdiff_t tiles_w, ptrdiff_t first, ptrdiff_t count,      \
                                     T* v, ptrdiff_t capacity);                               \
    void winograd_output_transform(const T* m, ptrdiff_t capacity, ptrdiff_t channels_padded, \
                                   ptrdiff_t channels, const T* bias, ptrdiff_t tiles_h,       \
                                   ptrdiff_t tiles_w, ptrdiff_t first, ptrdiff_t count, T* out, \
                                   ptrdiff_t out_h, ptrdiff_t out_w);                          \
    void winograd_multiply(const T* v, ptrdiff_t capacity, ptrdiff_t count, ptrdiff_t depth,  \
                           const T* u, ptrdiff_t width_padded, T* m);                          \
    void winograd_multiply_transposed(const T* v, const T* g, ptrdiff_t capacity,             \
                                      ptrdiff_t count, ptrdiff_t depth,                        \
                                      ptrdiff_t width_padded, T* du);                          \
    void winograd_transpose(const T* src, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t src_stride,  \
                            T* dst, ptrdiff_t dst_stride);

#define TC_DECLARE_WINOGRAD_KERNELS(ns)     \
    namespace ns {                          \
    TC_DECLARE_WINOGRAD_KERNELS_FOR(float)  \
    TC_DECLARE_WINOGRAD_KERNELS_FOR(double) \
    }

TC_DECLARE_WINOGRAD_KERNELS(isa_generic)
#ifdef TENSORCORE_X86_ISAS
TC_DECLARE_WINOGRAD_KERNELS(isa_avx2)
TC_DECLARE_WINOGRAD_KERNELS(isa_avx512)
#endif
