// 3x3, stride-1 convolution by Winograd F(2, 3) down the kernel's columns ("row pairs"),
// forward and weight gradient, for NCHW images with few input channels (the first layers of a
// CNN), compiled once per ISA (winograd_rows_kernels_impl.h in winograd_rows_kernels_<isa>.cpp);
// conv_winograd_rows.cpp drives them.
//
// Output rows go in pairs: rows 2j and 2j + 1 at column x read input rows 2j .. 2j + 3 at
// columns x .. x + 2. Per kernel column kw, a pair costs 4 products instead of 6:
//   (y_2j, y_2j+1) += A^T [ (G w_kw) . (B^T d_kw) ]   summed over columns and input channels
//   dw[., kw] += G^T [ (A g) . (B^T d_kw) ]            summed over pairs, columns and images
// with d_kw the 4 input values of column x + kw, w_kw the kernel's column kw and g the pair of
// gradient values; G^T is applied once per tile of the weight gradient (its channels' sums
// over one image's pairs), still in lanes. Unlike the 2-D F(4x4, 3x3) of
// winograd_kernels.h, no transform crosses a row, so vectors run along the rows and outputs
// and gradients are written and read as they lie; one transformed image serves every output
// channel.
//
// Position (j, x) of an image is j * out_w + x, for pairs = ceil(out_h / 2) pairs: a vector
// of positions can cross from the end of pair j to the start of pair j + 1. Lane l of a vector
// starting at (j, x) lies, in either pair, at element base + r * out_w + l of row 2j + r's
// plane with base = 2j * out_w + x, so a vector's pairs of values are stored or loaded as
// three vectors: at base (row 2j, nothing past the pair), base + out_w (row 2j + 1, then row
// 2j + 2 past the pair) and base + 2 out_w (row 2j + 3 past the pair), the stores masked, the
// loads the middle row whole (masked where it would leave the plane) with the other two
// rows' lanes loaded over it. The kernels need out_w of at least a vector's
// lanes, so that a vector spans at most two pairs.
//
// With one input channel and even output rows, the forward also pairs the columns: the 2-D
// F(2x2, 3x3) over 2 x 2 tiles of outputs, y = A^T [ (G w G^T) . (B^T d B) ] A, 16 products
// per tile instead of 24 (the row pairs') or 36 (the direct kernel's), its sums of products
// (A^T) on the adders. Tile (j, i) holds positions 2i and 2i + 1 of pair j, so tile
// t = j * out_w / 2 + i holds positions 2t and 2t + 1: a vector of L tiles computes the two
// vectors of positions from 2t, stored through their spans once their columns are
// interleaved. With several input channels its 16 accumulators per output channel (against
// the row pairs' 4 per vector) leave the tile load-bound (1.2-1.3x the row pairs' time on
// Zen 4, 3 to 8 channels); a 2-D weight gradient measured 1.12x the row pairs' time (16
// products, but 12 sums and 4 shuffles per tile against 24 products).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tensorcore {

// Where the vector of positions q .. q + L (L lanes) lies in an output or gradient plane, for
// q = j * out_w + x: memory rows base = 2j * out_w + x, base + out_w and base + 2 out_w hold
// lanes [0, split), [first_middle, valid) and [split, last_bottom); whole: just the first
// two, all lanes. A plan holds one per vector of an image's positions: positions_padded *
// sizeof(T) / 16 spans cover the narrowest vectors (16 bytes).
struct PairSpan {
    ptrdiff_t base;
    int split, first_middle, valid, last_bottom;
    bool whole;
    // the same as lane bits (bit i: lane i), for AVX-512's masks: lanes stored at base, at
    // base + out_w and at base + 2 out_w
    unsigned top_lanes, middle_lanes, bottom_lanes;
};

// Positions per block of the transformed image (a multiple of every vector's lanes)
constexpr ptrdiff_t winograd_rows_block = 192;

// The weight gradient's lane sums: slots of half the widest vector's lanes, so that AVX-512
// adds two entries' sums (each vector's halves added) with one load, add and store, and a tile
// of two output channels ends in 9 of them, its sums taken to the kernel's taps by G^T first.
// Their 24 loads, adds and stores into a widest-vector slot per sum (G^T on the totals) had
// cost about an eighth of the weight gradient's time (one Zen 5 thread, 32 MNIST images: 3834
// ticks per image with them, 3367 without); with these, 0.90-0.93x the time (3578-3704 ticks
// against 3854-4084).
template <typename T>
constexpr ptrdiff_t winograd_rows_lanes = 32 / sizeof(T);

}  // namespace tensorcore

// winograd_rows_plan: the spans of the vectors of positions of an image with these output
//   sizes, for this ISA's vectors of T (the first argument only picks the type).
// v, the transformed image, is stored in blocks of winograd_rows_block positions: block b
//   holds, from v + b * 12 * channels * block, the block's positions of the 4 transform
//   entries i of each kernel column k = 3c + kw (input channel c), so that a tile reads all it
//   needs from one pointer at constant offsets: element (position q, k, entry i) at
//   v[q / block * 12 * channels * block + (4k + i) * block + q % block].
// winograd_rows_input: v = (B^T d)[i] for d the 4 values of column x + kw, rows 2j .. 2j + 3,
//   of channel c of `image` (channels, 2 * pairs + 2, out_w + 2: padding in place), B^T d =
//   (d0 - d2, d1 + d2, d2 - d1, d1 - d3); zero past pairs * out_w to the end of its block.
// winograd_rows_forward: y (out, out_h, out_w) = A^T [sum over k of u[o][i][k] * v[., k, i]]
//   + bias, u (out padded to conv_out_block, 4, 3 * channels) the transformed kernels G w,
//   bias (out padded), A^T m = (m0 + m1 + m2, m1 - m2 - m3); spans from winograd_rows_plan.
// winograd_tiles_forward: y (out, out_h, out_w) = A^T [u[o] . (B^T d B)] A + bias for the
//   tiles of a one-channel `image` ((out_h + 1) / 2 * 2 + 2, out_w + 2: padding in place),
//   out_w even, d tile t's 4 x 4 inputs (rows 2j .. 2j + 3, columns 2i .. 2i + 3), u (out, 16)
//   the transformed kernels G w G^T (entry 4a + b); spans from winograd_rows_plan; entries
//   room for 16 x the tiles rounded up to the vector's lanes (the transform, kept there for
//   the output channels past the first group of 32). next_image: the next image's y follows
//   this one's and is this thread's next call (its first planes are prefetched). With
//   `taps` (not null), out_w of at least 2: y (out, out_h / 2, out_w / 2) takes the 2x2
//   max pool at stride 2 of those outputs, and taps (the same shape) where in its window each
//   maximum lies, 2 * row + column (conv2d_max_pool2d in tensorcore/kernels/catalog.py); the
//   plane's own products are not kept.
// winograd_rows_weight_gradient: dweight_lanes[c][o][3 kh + kw] (channels, out padded to
//   conv_out_block, 9, winograd_rows_lanes slots) += G^T applied to the sums over positions of
//   (A g)[i] * v[., 3c + kw, i] (i = 0 .. 3), for g the pair of gradient values (grad (out,
//   out_h, out_w)) and A g = (g0, g0 + g1, g0 - g1, -g1): the kernel's gradient, tap (kh, kw)
//   of input channel c; and dbias_lanes[o] (out padded, winograd_rows_lanes slots) += the
//   gradient values; each entry kept as per-lane partial sums as in conv_kernels.h; spans from
//   winograd_rows_plan. next_image: the next image's grad follows this one's and is this
//   thread's next call (its first planes are prefetched).
#define TC_DECLARE_WINOGRAD_ROWS_KERNELS_FOR(T)                                                 \
    void winograd_rows_plan(T, ptrdiff_t out_h, ptrdiff_t out_w, tensorcore::PairSpan* spans); \
    void winograd_rows_input(const T* image, ptrdiff_t channels, ptrdiff_t out_w,               \
                             ptrdiff_t pairs, T* v);                                            \
    void winograd_rows_forward(const T* v, ptrdiff_t channels, ptrdiff_t out_h, ptrdiff_t out_w, \
                               const T* u, const T* bias, ptrdiff_t out,                        \
                               const tensorcore::PairSpan* spans, T* y);                        \
    void winograd_tiles_forward(const T* image, ptrdiff_t out_h, ptrdiff_t out_w, const T* u,   \
                                const T* bias, ptrdiff_t out, const tensorcore::PairSpan* spans, \
                                T* entries, T* y, uint8_t* taps, bool next_image);              \
    void winograd_rows_weight_gradient(const T* grad, const T* v, ptrdiff_t channels,          \
                                       ptrdiff_t out_h, ptrdiff_t out_w, ptrdiff_t out,         \
                                       const tensorcore::PairSpan* spans, T* dweight_lanes,     \
                                       T* dbias_lanes, bool next_image);

#define TC_DECLARE_WINOGRAD_ROWS_KERNELS(ns)     \
    namespace ns {                               \
    TC_DECLARE_WINOGRAD_ROWS_KERNELS_FOR(float)  \
    TC_DECLARE_WINOGRAD_ROWS_KERNELS_FOR(double) \
    }

TC_DECLARE_WINOGRAD_ROWS_KERNELS(isa_generic)
#ifdef TENSORCORE_X86_ISAS
TC_DECLARE_WINOGRAD_ROWS_KERNELS(isa_avx2)
TC_DECLARE_WINOGRAD_ROWS_KERNELS(isa_avx512)
#endif
