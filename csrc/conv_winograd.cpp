// Convolution by Winograd F(4x4, 3x3) (winograd_kernels.h) for 3x3 kernels at stride 1 and
// dilation 1 without groups: 4x fewer multiply-adds than the direct kernels and the GEMM
// lowering, which matters where the products dominate (many input and output channels).
// Threads take ranges of whole images (ImageRanges); images are copied into HWC buffers with
// their padding (NCHW images are transposed on the way), transformed in chunks of tiles small
// enough to stay in L2 (several small images to a chunk), multiplied per transform entry, and
// transformed back.
//   forward:         y = A^T [ (G w G^T) . (B^T x B) ] A per tile, summed over input channels
//   input gradient:  the forward of grad with the kernels rotated by 180 degrees and input
//                    and output channels swapped, padded by 2 - padding
//   weight gradient: dw = G^T [ sum over tiles (A g A^T) . (B^T x B) ] G
#include <algorithm>

#include "conv_geometry.h"
#include "conv_lowering.h"
#include "isa.h"
#include "winograd_filter.h"
#include "winograd_kernels.h"

namespace tensorcore {

namespace {

// Bytes of transformed data per chunk of tiles: half of a 1 MiB L2.
constexpr ptrdiff_t chunk_bytes = ptrdiff_t(512) << 10;

// The tile grid of one image with output size out_h x out_w, its padded input image (rows of
// image_w pixels), and the chunks when each tile row of the transformed data holds `width`
// elements per transform entry: the images staged together (at most max_images), whose tiles
// are transformed `capacity` at a time.
template <typename T>
struct Tiling {
    ptrdiff_t tiles_h, tiles_w, tiles, image_h, image_w, images, capacity;

    Tiling(ptrdiff_t out_h, ptrdiff_t out_w, ptrdiff_t width, ptrdiff_t max_images)
        : tiles_h((out_h + winograd_tile - 1) / winograd_tile),
          tiles_w((out_w + winograd_tile - 1) / winograd_tile), tiles(tiles_h * tiles_w),
          image_h(winograd_tile * tiles_h + 2), image_w(winograd_tile * tiles_w + 2) {
        const ptrdiff_t fits = chunk_bytes / ptrdiff_t(sizeof(T)) / (winograd_entries * width);
        capacity = std::max(fits, ptrdiff_t(1));
        images = std::clamp(capacity / tiles, ptrdiff_t(1), max_images);
        capacity = std::min(capacity, images * tiles);
    }
};

// Image n of `images` (N, channels, height, width: NCHW, or NHWC when channels_last) as HWC
// rows into `to` (rows of to_w pixels) from pixel (top, left); what lies outside stays as it
// is (zero: the padding). NCHW images are transposed straight into `to` where their rows lie
// there as in the image (no padding before them, rows as wide), else through `scratch`
// (height * width * channels).
template <typename T>
void stage(Isa isa, const T* images, ptrdiff_t n, ptrdiff_t channels, ptrdiff_t height,
           ptrdiff_t width, bool channels_last, T* scratch, T* to, ptrdiff_t to_w, ptrdiff_t top,
           ptrdiff_t left) {
    const ptrdiff_t plane = height * width, row = width * channels;
    const T* hwc = images + n * plane * channels;
    if (!channels_last) {
        const bool in_place = top == 0 && left == 0 && to_w == width;
        TC_ISA_CALL(isa, winograd_transpose(hwc, channels, plane, plane, in_place ? to : scratch,
                                            channels));
        if (in_place) return;
        hwc = scratch;
    }
    for (ptrdiff_t h = 0; h < height; ++h)
        std::copy_n(hwc + h * row, row, to + ((h + top) * to_w + left) * channels);
}

// The transformed kernels G k G^T as 36 (depth, width_padded) matrices, winograd_entry_stride
// apart, zero past the width. Forward: depth C, width O, k = weight[o][c]. Rotated (for the
// input gradient): depth O, width C, k = weight[o][c] turned by 180 degrees. A block of
// kernels is transformed on the stack and copied out row by row: storing each kernel's entries
// straight into u's rows far apart took 5-6% of the 32 -> 64 layer's passes (F(2x2, 3x3),
// Zen 5).
template <typename T>
CachedArray<T> transformed_filters(const T* weight, ptrdiff_t O, ptrdiff_t C, bool rotated) {
    constexpr ptrdiff_t block = 64;   // kernels per block
    const ptrdiff_t depth = rotated ? O : C, width = rotated ? C : O;
    const ptrdiff_t width_padded = round_up(width, winograd_lanes<T>);
    const ptrdiff_t stride = winograd_entry_stride<T>(depth, width_padded);
    CachedArray<T> u(winograd_entries * stride, T(0));
#pragma omp parallel for num_threads(conv_loop_threads(winograd_entries * depth * width)) \
    schedule(static)
    for (ptrdiff_t d = 0; d < depth; ++d) {
        for (ptrdiff_t w0 = 0; w0 < width; w0 += block) {
            const ptrdiff_t count = std::min(block, width - w0);
            T entries[winograd_entries][block];   // entries[6a + b][w - w0]
            for (ptrdiff_t w = w0; w < w0 + count; ++w) {
                const ptrdiff_t o = rotated ? d : w, c = rotated ? w : d;
                const T* k = weight + (o * C + c) * 9;
                T taps[9], transformed[winograd_entries];
                for (int t = 0; t < 9; ++t) taps[t] = rotated ? k[8 - t] : k[t];
                filter_kernel<WinogradF4>(taps, transformed);
                for (int e = 0; e < winograd_entries; ++e) entries[e][w - w0] = transformed[e];
            }
            for (int xi = 0; xi < winograd_entries; ++xi)
                std::copy_n(entries[xi], count, u.data() + xi * stride + d * width_padded + w0);
        }
    }
    return u;
}

// y = the stride-1 3x3 convolution of x with the transformed kernels u (36 (C, O padded)
// matrices), plus bias when not null.
template <typename T>
void convolve(const ConvGeometry& g, const T* x, const T* u, const T* bias, T* y) {
    const ptrdiff_t width_padded = round_up(g.O, winograd_lanes<T>), P = g.pixels();
    const ImageRanges ranges(g.N);
    const Tiling<T> tiling(g.OH, g.OW, g.C + width_padded, ranges.largest(g.N));
    const ptrdiff_t capacity = tiling.capacity;
    const ptrdiff_t image_size = tiling.image_h * tiling.image_w * g.C;
    const ptrdiff_t v_size = winograd_entries * winograd_entry_stride<T>(capacity, g.C);
    const ptrdiff_t m_size = winograd_entries * winograd_entry_stride<T>(capacity, width_padded);
    // NCHW images and outputs pass through HWC scratch buffers
    const ptrdiff_t scratch_size = g.channels_last ? 0 : g.H * g.W * g.C;
    const ptrdiff_t out_size = g.channels_last ? 0 : P * g.O;
    const ptrdiff_t worker_size =
        tiling.images * (image_size + out_size) + v_size + m_size + scratch_size;
    CachedArray<T> buffers(ranges.count * worker_size, T(0));
    const Isa isa = active_isa();
    ranges.run(g.N, [&](int, int worker, ptrdiff_t n0, ptrdiff_t n1) {
        T* images = buffers.data() + worker * worker_size;
        T* v = images + tiling.images * image_size;
        T* m = v + v_size;
        T* scratch = m + m_size;
        T* out = scratch + scratch_size;
        for (ptrdiff_t n = n0; n < n1; n += tiling.images) {
            const ptrdiff_t staged = std::min(tiling.images, n1 - n), tiles = staged * tiling.tiles;
            for (ptrdiff_t i = 0; i < staged; ++i) {
                stage(isa, x, n + i, g.C, g.H, g.W, g.channels_last, scratch,
                      images + i * image_size, tiling.image_w, g.pad_top, g.pad_left);
            }
            T* target = g.channels_last ? y + n * P * g.O : out;
            for (ptrdiff_t first = 0; first < tiles; first += capacity) {
                const ptrdiff_t count = std::min(capacity, tiles - first);
                TC_ISA_CALL(isa, winograd_input_transform(images, g.C, tiling.tiles_h,
                                                          tiling.tiles_w, first, count, v,
                                                          capacity));
                TC_ISA_CALL(isa, winograd_multiply(v, capacity, count, g.C, u, width_padded, m));
                TC_ISA_CALL(isa, winograd_output_transform(m, capacity, width_padded, g.O, bias,
                                                           tiling.tiles_h, tiling.tiles_w, first,
                                                           count, target, g.OH, g.OW));
            }
            for (ptrdiff_t i = 0; i < staged && !g.channels_last; ++i) {
                TC_ISA_CALL(isa, winograd_transpose(out + i * P * g.O, P, g.O, g.O,
                                                    y + (n + i) * g.O * P, P));
            }
        }
    });
}

}  // namespace

bool conv_winograd_applies(const ConvGeometry& g) {
    const bool padding_fits = std::max({g.pad_top, g.pad_bottom, g.pad_left, g.pad_right}) <= 2;
    return g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 &&
           g.groups == 1 && padding_fits && g.N > 0;
}

// Measured on 2 Zen 5 cores against what runs otherwise (NCHW: the direct and row-pair
// kernels; NHWC: the GEMM lowering), each pass over C of 1 to 24 on (64, C, 14, 14) -> 32,
// (64, C, 28, 28) -> 32 and (32, C, 32, 32) -> 64: with fewer input channels the transforms
// outweigh the products saved. NCHW at 8 channels: 1.5-2.5x on the first two, 0.96-1.46x on
// the third; at 6 the third lost in sum. Channels-last from 2 channels: 1.1-3.3x.
bool conv_winograd_pays(const ConvGeometry& g) {
    return conv_winograd_applies(g) && g.C >= (g.channels_last ? 2 : 8);
}

template <typename T>
void conv_winograd_forward(const ConvGeometry& g, const T* x, const T* weight, const T* bias,
                           T* y) {
    const CachedArray<T> u = transformed_filters(weight, g.O, g.C, false);
    convolve(g, x, u.data(), bias, y);
}

template <typename T>
void conv_winograd_backward_input(const ConvGeometry& g, const T* grad, const T* weight, T* dx) {
    ConvGeometry full = g;   // grad (N, O, OH, OW) -> dx (N, C, H, W)
    full.C = g.O, full.O = g.C, full.H = g.OH, full.W = g.OW, full.OH = g.H, full.OW = g.W;
    full.pad_top = 2 - g.pad_top, full.pad_bottom = 2 - g.pad_bottom;
    full.pad_left = 2 - g.pad_left, full.pad_right = 2 - g.pad_right;
    const CachedArray<T> u = transformed_filters(weight, g.O, g.C, true);
    convolve(full, grad, u.data(), static_cast<const T*>(nullptr), dx);
}

// dweight: each range of images sums G^T-side products into its own 36 (C, O padded)
// matrices, added up in double in range order.
template <typename T>
void conv_winograd_backward_weight(const ConvGeometry& g, const T* grad, const T* x, T* dweight,
                                   T* dbias) {
    conv_bias_gradient(g, grad, dbias);
    const ptrdiff_t width_padded = round_up(g.O, winograd_lanes<T>);
    const ImageRanges ranges(g.N);
    const Tiling<T> tiling(g.OH, g.OW, g.C + width_padded, ranges.largest(g.N));
    const ptrdiff_t capacity = tiling.capacity;
    const ptrdiff_t image_size = tiling.image_h * tiling.image_w * g.C;
    const ptrdiff_t grid_size = winograd_tile * winograd_tile * tiling.tiles * g.O;
    const ptrdiff_t v_size = winograd_entries * winograd_entry_stride<T>(capacity, g.C);
    const ptrdiff_t gd_size =
        winograd_entries * winograd_entry_stride<T>(capacity, width_padded);
    const ptrdiff_t scratch_size =
        g.channels_last ? 0 : std::max(g.H * g.W * g.C, g.pixels() * g.O);
    const ptrdiff_t worker_size =
        tiling.images * (image_size + grid_size) + v_size + gd_size + scratch_size;
    const ptrdiff_t du_stride = winograd_entry_stride<T>(g.C, width_padded);
    const ptrdiff_t du_size = winograd_entries * du_stride;
    CachedArray<T> buffers(ranges.count * worker_size, T(0));
    CachedArray<T> partial(ranges.count * du_size, T(0));
    const Isa isa = active_isa();
    ranges.run(g.N, [&](int r, int worker, ptrdiff_t n0, ptrdiff_t n1) {
        T* images = buffers.data() + worker * worker_size;
        T* grid = images + tiling.images * image_size;
        T* v = grid + tiling.images * grid_size;
        T* gd = v + v_size;
        T* scratch = gd + gd_size;
        T* du = partial.data() + r * du_size;
        for (ptrdiff_t n = n0; n < n1; n += tiling.images) {
            const ptrdiff_t staged = std::min(tiling.images, n1 - n), tiles = staged * tiling.tiles;
            for (ptrdiff_t i = 0; i < staged; ++i) {
                stage(isa, x, n + i, g.C, g.H, g.W, g.channels_last, scratch,
                      images + i * image_size, tiling.image_w, g.pad_top, g.pad_left);
                // the gradient's tiles: rows of 4 * tiles_w pixels, zero past OH x OW
                stage(isa, grad, n + i, g.O, g.OH, g.OW, g.channels_last, scratch,
                      grid + i * grid_size, winograd_tile * tiling.tiles_w, 0, 0);
            }
            for (ptrdiff_t first = 0; first < tiles; first += capacity) {
                const ptrdiff_t count = std::min(capacity, tiles - first);
                TC_ISA_CALL(isa, winograd_input_transform(images, g.C, tiling.tiles_h,
                                                          tiling.tiles_w, first, count, v,
                                                          capacity));
                TC_ISA_CALL(isa, winograd_gradient_transform(grid, g.O, width_padded,
                                                             tiling.tiles_h, tiling.tiles_w,
                                                             first, count, gd, capacity));
                TC_ISA_CALL(isa, winograd_multiply_transposed(v, gd, capacity, count, g.C,
                                                              width_padded, du));
            }
        }
    });
    // dweight[o][c] = G^T S G for S the ranges' sums, added in range order, for blocks of
    // output channels (the sums of one c and xi lie contiguous over o)
    constexpr ptrdiff_t block = 64;
#pragma omp parallel for num_threads(conv_loop_threads(du_size * ranges.count)) schedule(static)
    for (ptrdiff_t c = 0; c < g.C; ++c) {
        for (ptrdiff_t o0 = 0; o0 < g.O; o0 += block) {
            const ptrdiff_t count = std::min(block, g.O - o0);
            double sums[block][winograd_entries] = {};
            for (int r = 0; r < ranges.count; ++r) {
                for (int xi = 0; xi < winograd_entries; ++xi) {
                    const T* du =
                        partial.data() + r * du_size + xi * du_stride + c * width_padded + o0;
                    for (ptrdiff_t o = 0; o < count; ++o) sums[o][xi] += du[o];
                }
            }
            for (ptrdiff_t o = 0; o < count; ++o) {
                double dk[9];
                filter_kernel_adjoint<WinogradF4>(sums[o], dk);
                for (int t = 0; t < 9; ++t)
                    dweight[((o0 + o) * g.C + c) * 9 + t] = static_cast<T>(dk[t]);
            }
        }
    }
}

template void conv_winograd_forward<float>(const ConvGeometry&, const float*, const float*,
                                           const float*, float*);
template void conv_winograd_forward<double>(const ConvGeometry&, const double*, const double*,
                                            const double*, double*);
template void conv_winograd_backward_input<float>(const ConvGeometry&, const float*,
                                                  const float*, float*);
template void conv_winograd_backward_input<double>(const ConvGeometry&, const double*,
                                                   const double*, double*);
template void conv_winograd_backward_weight<float>(const ConvGeometry&, const float*,
                                                   const float*, float*, float*);
template void conv_winograd_backward_weight<double>(const ConvGeometry&, const double*,
                                                    const double*, double*, double*);

}  // namespace tensorcore
