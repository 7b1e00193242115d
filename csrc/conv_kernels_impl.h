// The conv kernels of conv_kernels.h, written once and compiled per ISA. The including unit
// sets its target pragma and defines
//   TC_ISA                 namespace of this copy (isa_avx512, isa_avx2, isa_generic)
//   TC_VECTOR_BYTES        SIMD register width in bytes
//   TC_CONV_FORWARD_ROWS   output channels per forward tile (2 vectors of pixels each)
//   TC_CONV_WEIGHT_ROWS    output channels per weight-gradient tile (9 cols rows each)
//   TC_CONV_NHWC_WEIGHT_VECTORS  vectors of output channels per channels-last tile (the
//                          weight gradient's 9 depth entries of accumulators each, the
//                          forward's 4 pixels)
// Tiles fill about half the register file (32 zmm on AVX-512, 16 on AVX2 and SSE2), enough
// independent accumulators to cover the FMA latency on two pipes.
#include "conv_kernels.h"
#include "simd.h"

namespace TC_ISA {
namespace {

// Rows of at least one vector: whole vectors, then one more ending at the row's end (over
// the one before it), so a row of 26 floats is two vector copies; shorter rows one by one.
template <typename T>
void copy_rows(const T* src, ptrdiff_t src_stride, T* dst, ptrdiff_t dst_stride, ptrdiff_t rows,
               ptrdiff_t cols) {
    constexpr int L = Simd<T>::lanes;
    for (ptrdiff_t r = 0; r < rows; ++r, src += src_stride, dst += dst_stride) {
        if (cols < L) {
            for (ptrdiff_t c = 0; c < cols; ++c) dst[c] = src[c];
            continue;
        }
        ptrdiff_t c = 0;
        for (; c + L <= cols; c += L) store(dst + c, load(src + c));
        if (c < cols) store(dst + cols - L, load(src + cols - L));
    }
}

// cols elements per pixel block of the forward kernel: 256 KiB of float, a quarter of L2
constexpr ptrdiff_t forward_block_elements = ptrdiff_t(1) << 16;

template <typename T>
void image_forward(const T* cols, ptrdiff_t depth, ptrdiff_t pixels, ptrdiff_t pixels_padded,
                   const T* weight, const T* bias, ptrdiff_t out, T* y, bool next_image) {
    typedef typename Simd<T>::vec V;
    constexpr int L = Simd<T>::lanes, R = TC_CONV_FORWARD_ROWS, VB = TC_CONV_FORWARD_VECTORS;
    static_assert(tensorcore::conv_out_block % R == 0, "tiles must not pass the weight padding");
    static_assert(tensorcore::conv_pixel_block<T> % (VB * L) == 0, "nor the pixel padding");
    // Pixels in blocks whose cols (depth x block) stay in L2 while every output channel
    // passes over them.
    const ptrdiff_t tile = VB * L;
    constexpr ptrdiff_t line = 64 / sizeof(T);   // elements per cache line
    const ptrdiff_t block = std::max<ptrdiff_t>(forward_block_elements / depth / tile, 1) * tile;
    for (ptrdiff_t p0 = 0; p0 < pixels; p0 += block) {
        const ptrdiff_t p1 = std::min(pixels, p0 + block);
        for (ptrdiff_t o0 = 0; o0 < out; o0 += R) {
            const T* w = weight + o0 * depth;
            const int rows = static_cast<int>(std::min<ptrdiff_t>(R, out - o0));
            // The tile below's y (rows_ahead) is prefetched, one prefetch per cache line,
            // where it has R rows and the tile's pixels all lie in the row: y is written once
            // per call, and where it has left the caches each store waited on a line fill from
            // DRAM. (A read prefetch: prefetchw measured 1.4-2.5% slower on Zen 4.)
            const ptrdiff_t below = std::min(o0 + R, out);
            const bool prefetch_below = tensorcore::rows_ahead(o0, R, out, next_image) == R;
            for (ptrdiff_t q0 = p0; q0 < p1; q0 += tile) {
                V acc[R][VB];
                for (int r = 0; r < R; ++r)
                    for (int v = 0; v < VB; ++v) acc[r][v] = broadcast(bias[o0 + r]);
                if (prefetch_below && q0 + tile <= pixels) {
#pragma GCC unroll 16
                    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 16
                        for (ptrdiff_t e = 0; e < tile; e += line)
                            __builtin_prefetch(y + (below + r) * pixels + q0 + e, 0, 2);
                    }
                }
                for (ptrdiff_t k = 0; k < depth; ++k) {
                    V b[VB];
                    const T* c = cols + k * pixels_padded + q0;
                    for (int v = 0; v < VB; ++v) b[v] = load(c + v * L);
                    for (int r = 0; r < R; ++r) {
                        const V a = broadcast(w[r * depth + k]);
                        for (int v = 0; v < VB; ++v) acc[r][v] += a * b[v];
                    }
                }
                // loops of constant trip count, unrolled: a run-time bound would keep the
                // accumulators in memory. Whole tiles (all but the last of a block's rows)
                // store without the bounds checks.
                if (rows == R && q0 + tile <= pixels) {
#pragma GCC unroll 16
                    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 16
                        for (int v = 0; v < VB; ++v)
                            store(y + (o0 + r) * pixels + q0 + v * L, acc[r][v]);
                    }
                    continue;
                }
#pragma GCC unroll 16
                for (int v = 0; v < VB; ++v) {
                    const ptrdiff_t q = q0 + v * L;
                    const int n = static_cast<int>(std::clamp<ptrdiff_t>(pixels - q, 0, L));
#pragma GCC unroll 16
                    for (int r = 0; r < R; ++r) {
                        if (r < rows && n > 0) store_n(y + (o0 + r) * pixels + q, acc[r][v], n);
                    }
                }
            }
        }
    }
}

// sums[i] (first L lanes) += v
template <typename T>
inline void add_lanes(T* sums, typename Simd<T>::vec v) {
    store(sums, load(sums) + v);
}

// One tile of the weight gradient: grad rows g[0 .. R) against cols rows c[0 .. KB), summed
// over the pixels into the lane sums of rows o0 .. o0 + rows of dweight_lanes (from column
// k0), and with_bias the grad rows themselves into those of dbias_lanes. The accumulators
// are locals of this function, touched only by loops of constant trip count, so that they
// stay in registers. The first pass over these grad rows (with_bias) also prefetches the
// next tile's, ahead_size elements from ahead, R vectors per step: grad is read once per call,
// and where it has left the caches (5.5 MB on the first MNIST layer) the hardware
// prefetcher, restarting on every 2.7 KB row, kept the kernel waiting on DRAM.
template <typename T, int R, int KB, bool with_bias>
void weight_gradient_tile(const T* const (&g)[R], int rows, const T* c, ptrdiff_t pixels,
                          ptrdiff_t pixels_padded, T* dweight_lanes, ptrdiff_t depth_padded,
                          T* dbias_lanes, const T* ahead, ptrdiff_t ahead_size) {
    typedef typename Simd<T>::vec V;
    constexpr int L = Simd<T>::lanes;
    constexpr ptrdiff_t slot = tensorcore::conv_lanes<T>;
    // zeroed one by one: `= {}` had GCC clear the arrays' stack copies with `rep stos`
    // on every call (5% of this kernel's samples)
    V acc[R][KB], bias_acc[R];
    for (int r = 0; r < R; ++r) {
        bias_acc[r] = broadcast(T(0));
        for (int j = 0; j < KB; ++j) acc[r][j] = broadcast(T(0));
    }
    auto accumulate = [&](ptrdiff_t q, int n, auto prefetch) {
        V a[R];
        for (int r = 0; r < R; ++r) {
            a[r] = n == L ? load(g[r] + q) : load_partial(g[r] + q, n);
            if (with_bias) bias_acc[r] += a[r];
        }
        if (prefetch) {
            for (int r = 0; r < R; ++r) __builtin_prefetch(ahead + R * q + r * L, 0, 2);
        }
        const T* b = c + q;   // walked row by row: KB row pointers would not fit in registers
        for (int j = 0; j < KB; ++j, b += pixels_padded) {
            const V column = in_register(load(b));
            for (int r = 0; r < R; ++r) acc[r][j] += a[r] * column;
        }
    };
    // the steps whose R prefetched vectors all lie in the ahead rows, then the rest: two
    // loops, as a test in the loop cost 3.5% of this kernel's time (GCC spilled registers)
    const ptrdiff_t whole_end = pixels - L + 1;   // steps q < whole_end load whole vectors
    const ptrdiff_t prefetch_end =
        with_bias ? std::min(whole_end, (ahead_size - (R - 1) * L) / R) : 0;
    ptrdiff_t q = 0;
    for (; q < prefetch_end; q += L) accumulate(q, L, std::true_type());
    for (; q < whole_end; q += L) accumulate(q, L, std::false_type());
    // the last partial vector: grad past `pixels` reads as 0 (cols there are 0 too, but grad
    // could hold inf)
    if (q < pixels) accumulate(q, static_cast<int>(pixels - q), std::false_type());
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
        if (r >= rows) break;
#pragma GCC unroll 16
        for (int j = 0; j < KB; ++j)
            add_lanes(dweight_lanes + (r * depth_padded + j) * slot, acc[r][j]);
        if (with_bias) add_lanes(dbias_lanes + r * slot, bias_acc[r]);
    }
}

template <typename T>
void image_weight_gradient(const T* grad, const T* cols, ptrdiff_t depth_padded,
                           ptrdiff_t pixels, ptrdiff_t pixels_padded, ptrdiff_t out,
                           T* dweight_lanes, T* dbias_lanes, bool next_image) {
    constexpr int R = TC_CONV_WEIGHT_ROWS, KB = tensorcore::conv_depth_block;
    constexpr ptrdiff_t slot = tensorcore::conv_lanes<T>;
    static_assert(Simd<T>::lanes <= slot, "a vector must fit its lane slot");
    for (ptrdiff_t o0 = 0; o0 < out; o0 += R) {
        const int rows = static_cast<int>(std::min<ptrdiff_t>(R, out - o0));
        const T* g[R];   // rows past `out` repeat the last one; their sums are dropped
        for (int r = 0; r < R; ++r) g[r] = grad + (o0 + std::min(r, rows - 1)) * pixels;
        T* dweight = dweight_lanes + o0 * depth_padded * slot;
        T* dbias = dbias_lanes + o0 * slot;
        const T* ahead = grad + std::min(o0 + R, out) * pixels;
        const ptrdiff_t ahead_rows = tensorcore::rows_ahead(o0, R, out, next_image);
        for (ptrdiff_t k0 = 0; k0 < depth_padded; k0 += KB) {
            const T* c = cols + k0 * pixels_padded;
            if (k0 == 0) {
                weight_gradient_tile<T, R, KB, true>(g, rows, c, pixels, pixels_padded, dweight,
                                                     depth_padded, dbias, ahead,
                                                     ahead_rows * pixels);
            } else {
                weight_gradient_tile<T, R, KB, false>(g, rows, c, pixels, pixels_padded,
                                                      dweight + k0 * slot, depth_padded, dbias,
                                                      ahead, 0);
            }
        }
    }
}

// The channels-last kernels' tiles: nhwc_out_vectors vectors of output channels (by
// nhwc_depth_block depth entries in the weight gradient), in registers
constexpr int nhwc_depth_block = tensorcore::conv_depth_block;
constexpr int nhwc_out_vectors = TC_CONV_NHWC_WEIGHT_VECTORS;

// Output pixels per step of the channels-last forward
constexpr int nhwc_forward_pixels = 4;

// One tile of nhwc_image_forward: output channels o0 .. o0 + OV * L (`count` of them) of every
// pixel, y = bias (may be null) plus its depth entries times their weights, all depth entries
// in one pass. A row's pixels go P = nhwc_forward_pixels at a time (then one by one): per
// depth entry, OV weight vectors loaded (from L1) and P entries broadcast for P * OV
// accumulators, so that the FMAs do not wait on their latency (a pixel's accumulators chain
// one FMA per entry). Zen 5, 2 threads, (64, 3, 32, 32) -> 32 3x3 stride 2 and (32, 3, 64, 64)
// -> 64 7x7 stride 2: 75 and 1302-1341 us, against 136-139 and 2775-2881 with the weights
// held in registers 9 depth entries at a time (a pass over y per 9) and one pixel per step,
// and 85 and 1523-1533 with 4 pixels per step that way; 2, 6, 8 or 12 pixels per step here
// took 113, 85, 108 or 110 us on the first.
template <typename T, int OV>
void nhwc_forward_tile(const T* image, ptrdiff_t row_step, ptrdiff_t col_step, ptrdiff_t out_h,
                       ptrdiff_t out_w, const ptrdiff_t* offsets, ptrdiff_t depth,
                       const T* columns, ptrdiff_t out, const T* bias, int count, T* y) {
    typedef typename Simd<T>::vec V;
    constexpr int L = Simd<T>::lanes, P = nhwc_forward_pixels;
    int lanes[OV];
    V b[OV];
    for (int v = 0; v < OV; ++v) {
        lanes[v] = std::clamp(count - v * L, 0, L);
        b[v] = bias ? load_n(bias + v * L, lanes[v]) : broadcast(T(0));
    }
    // Q pixels from `pixel` (col_step apart) into y_pixel (out apart); whole: all OV * L
    // channels, loaded and stored without masks (a load_n in the depth loop had GCC pass the
    // weights through the stack)
    auto pixels = [&](auto pixel_count, auto whole, const T* pixel, T* y_pixel) {
        constexpr int Q = decltype(pixel_count)::value;
        V acc[Q][OV];
        for (int q = 0; q < Q; ++q)
            for (int v = 0; v < OV; ++v) acc[q][v] = b[v];
        const T* w = columns;
        for (ptrdiff_t k = 0; k < depth; ++k, w += out) {
            const T* entry = pixel + offsets[k];
            V weight[OV];
            for (int v = 0; v < OV; ++v)
                weight[v] = whole() ? load(w + v * L) : load_partial(w + v * L, lanes[v]);
            for (int q = 0; q < Q; ++q) {
                const V x = broadcast(entry[q * col_step]);
                for (int v = 0; v < OV; ++v) acc[q][v] += x * weight[v];
            }
        }
        for (int q = 0; q < Q; ++q) {
            for (int v = 0; v < OV; ++v) {
                if (whole()) {
                    store(y_pixel + q * out + v * L, acc[q][v]);
                } else {
                    store_partial(y_pixel + q * out + v * L, acc[q][v], lanes[v]);
                }
            }
        }
    };
    auto rows = [&](auto whole) {
        for (ptrdiff_t oh = 0; oh < out_h; ++oh) {
            const T* pixel = image + oh * row_step;
            T* y_pixel = y + oh * out_w * out;
            ptrdiff_t ow = 0;
            for (; ow + P <= out_w; ow += P, pixel += P * col_step, y_pixel += P * out)
                pixels(std::integral_constant<int, P>(), whole, pixel, y_pixel);
            for (; ow < out_w; ++ow, pixel += col_step, y_pixel += out)
                pixels(std::integral_constant<int, 1>(), whole, pixel, y_pixel);
        }
    };
    if (count == OV * L) {
        rows(std::true_type());
    } else {
        rows(std::false_type());
    }
}

// y (out_h * out_w, out) of one channels-last image: for each output pixel, bias plus its depth
// entries (as nhwc_image_weight_gradient's) times columns (depth, out), the weights with
// their depth entries first.
template <typename T>
void nhwc_image_forward(const T* image, ptrdiff_t row_step, ptrdiff_t col_step, ptrdiff_t out_h,
                        ptrdiff_t out_w, const ptrdiff_t* offsets, ptrdiff_t depth,
                        const T* columns, const T* bias, ptrdiff_t out, T* y) {
    constexpr ptrdiff_t block = nhwc_out_vectors * Simd<T>::lanes;
    for (ptrdiff_t o0 = 0; o0 < out; o0 += block) {
        nhwc_forward_tile<T, nhwc_out_vectors>(
            image, row_step, col_step, out_h, out_w, offsets, depth, columns + o0, out,
            bias ? bias + o0 : nullptr, static_cast<int>(std::min(block, out - o0)), y + o0);
    }
}

// One tile of nhwc_image_weight_gradient: output channels o0 .. o0 + OV * L (`count` of them,
// the lanes past it loaded as 0) against depth entries k0 .. k0 + KB (`entries` of them; the
// rest read entry k0's element and are dropped), summed over the image's pixels in
// registers, then added to dweight (depth, out) and, with_bias, the grad rows to dbias.
template <typename T, int KB, int OV, bool with_bias>
void nhwc_weight_gradient_tile(const T* image, ptrdiff_t row_step, ptrdiff_t col_step,
                               ptrdiff_t out_h, ptrdiff_t out_w, const ptrdiff_t* offsets,
                               int entries, const T* grad, ptrdiff_t out, int count,
                               double* dweight, double* dbias) {
    typedef typename Simd<T>::vec V;
    constexpr int L = Simd<T>::lanes;
    ptrdiff_t offset[KB];
    for (int k = 0; k < KB; ++k) offset[k] = offsets[k < entries ? k : 0];
    int lanes[OV];
    for (int v = 0; v < OV; ++v) lanes[v] = std::clamp(count - v * L, 0, L);
    V acc[KB][OV], bias_acc[OV];
    for (int v = 0; v < OV; ++v) {
        bias_acc[v] = broadcast(T(0));
        for (int k = 0; k < KB; ++k) acc[k][v] = broadcast(T(0));
    }
    for (ptrdiff_t oh = 0; oh < out_h; ++oh) {
        const T* pixel = image + oh * row_step;
        const T* g = grad + oh * out_w * out;
        for (ptrdiff_t ow = 0; ow < out_w; ++ow, pixel += col_step, g += out) {
            V a[OV];
            for (int v = 0; v < OV; ++v) {
                a[v] = load_n(g + v * L, lanes[v]);
                if (with_bias) bias_acc[v] += a[v];
            }
            for (int k = 0; k < KB; ++k) {
                const V entry = broadcast(pixel[offset[k]]);
                for (int v = 0; v < OV; ++v) acc[k][v] += entry * a[v];
            }
        }
    }
    // loops of constant trip count over the accumulators, so that they stay in registers
    alignas(TC_VECTOR_BYTES) T sums[L];
#pragma GCC unroll 4
    for (int v = 0; v < OV; ++v) {
#pragma GCC unroll 16
        for (int k = 0; k < KB; ++k) {
            if (k >= entries) break;
            store(sums, acc[k][v]);
            for (int l = 0; l < lanes[v]; ++l) dweight[k * out + v * L + l] += sums[l];
        }
        if (with_bias) {
            store(sums, bias_acc[v]);
            for (int l = 0; l < lanes[v]; ++l) dbias[v * L + l] += sums[l];
        }
    }
}

// dweight (depth, out) and dbias (out) += one channels-last image's share: for each output
// pixel (oh, ow), its grad row (out) times each depth entry k, the image element
// offsets[k] past the pixel's first (oh * row_step + ow * col_step), for images staged
// with their padding.
template <typename T>
void nhwc_image_weight_gradient(const T* image, ptrdiff_t row_step, ptrdiff_t col_step,
                                ptrdiff_t out_h, ptrdiff_t out_w, const ptrdiff_t* offsets,
                                ptrdiff_t depth, const T* grad, ptrdiff_t out, double* dweight,
                                double* dbias) {
    // the depth blocks of each block of output channels in turn
    constexpr ptrdiff_t block = nhwc_out_vectors * Simd<T>::lanes;
    for (ptrdiff_t o0 = 0; o0 < out; o0 += block) {
        const int count = static_cast<int>(std::min(block, out - o0));
        for (ptrdiff_t k0 = 0; k0 < depth; k0 += nhwc_depth_block) {
            const int entries = static_cast<int>(std::min<ptrdiff_t>(nhwc_depth_block, depth - k0));
            double* dw = dweight + k0 * out + o0;
            if (k0 == 0) {
                nhwc_weight_gradient_tile<T, nhwc_depth_block, nhwc_out_vectors, true>(
                    image, row_step, col_step, out_h, out_w, offsets, entries, grad + o0, out,
                    count, dw, dbias + o0);
            } else {
                nhwc_weight_gradient_tile<T, nhwc_depth_block, nhwc_out_vectors, false>(
                    image, row_step, col_step, out_h, out_w, offsets + k0, entries, grad + o0,
                    out, count, dw, dbias);
            }
        }
    }
}

}  // namespace

#define TC_DEFINE_CONV_KERNELS_FOR(T)                                                          \
    void conv_copy_rows(const T* src, ptrdiff_t src_stride, T* dst, ptrdiff_t dst_stride,      \
                        ptrdiff_t rows, ptrdiff_t cols) {                                      \
        copy_rows(src, src_stride, dst, dst_stride, rows, cols);                               \
    }                                                                                          \
    void conv_image_forward(const T* cols, ptrdiff_t depth, ptrdiff_t pixels,                  \
                            ptrdiff_t pixels_padded, const T* weight, const T* bias,           \
                            ptrdiff_t out, T* y, bool next_image) {                            \
        image_forward(cols, depth, pixels, pixels_padded, weight, bias, out, y, next_image);   \
    }                                                                                          \
    void conv_image_weight_gradient(const T* grad, const T* cols, ptrdiff_t depth_padded,      \
                                    ptrdiff_t pixels, ptrdiff_t pixels_padded, ptrdiff_t out,   \
                                    T* dweight_lanes, T* dbias_lanes, bool next_image) {       \
        image_weight_gradient(grad, cols, depth_padded, pixels, pixels_padded, out,            \
                              dweight_lanes, dbias_lanes, next_image);                         \
    }                                                                                          \
    void conv_nhwc_image_forward(const T* image, ptrdiff_t row_step, ptrdiff_t col_step,       \
                                 ptrdiff_t out_h, ptrdiff_t out_w, const ptrdiff_t* offsets,   \
                                 ptrdiff_t depth, const T* columns, const T* bias,             \
                                 ptrdiff_t out, T* y) {                                        \
        nhwc_image_forward(image, row_step, col_step, out_h, out_w, offsets, depth, columns,   \
                           bias, out, y);                                                      \
    }                                                                                          \
    void conv_nhwc_image_weight_gradient(const T* image, ptrdiff_t row_step,                   \
                                         ptrdiff_t col_step, ptrdiff_t out_h, ptrdiff_t out_w, \
                                         const ptrdiff_t* offsets, ptrdiff_t depth,            \
                                         const T* grad, ptrdiff_t out, double* dweight,        \
                                         double* dbias) {                                      \
        nhwc_image_weight_gradient(image, row_step, col_step, out_h, out_w, offsets, depth,    \
                                   grad, out, dweight, dbias);                                 \
    }

TC_DEFINE_CONV_KERNELS_FOR(float)
TC_DEFINE_CONV_KERNELS_FOR(double)

}  // namespace TC_ISA
