// Convolution by Winograd F(2x2, 3x3) (winograd_kernels.h) for 3x3 kernels at stride 1 and
// dilation 1 without groups: 2.25x fewer multiply-adds than the direct kernels and the GEMM
// lowering, which matters where the products dominate (many input and output channels).
// Threads take ranges of whole images (ImageRanges); each image is copied into an HWC buffer
// with its padding (NCHW images are transposed on the way), transformed in chunks of tiles
// small enough to stay in L2, multiplied per transform entry, and transformed back.
//   forward:         y = A^T [ (G w G^T) . (B^T x B) ] A per tile, summed over input channels
//   input gradient:  the forward of grad with the kernels rotated by 180 degrees and input
//                    and output channels swapped, padded by 2 - padding
//   weight gradient: dw = G^T [ sum over tiles (A g A^T) . (B^T x B) ] G
#include <algorithm>
#include <vector>

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
// image_w pixels) and the chunk capacity when each tile row of the transformed data holds
// `width` elements per transform entry.
template <typename T>
struct Tiling {
    ptrdiff_t tiles_h, tiles_w, tiles, image_h, image_w, capacity;

    Tiling(ptrdiff_t out_h, ptrdiff_t out_w, ptrdiff_t width)
        : tiles_h((out_h + 1) / 2), tiles_w((out_w + 1) / 2), tiles(tiles_h * tiles_w),
          image_h(2 * tiles_h + 2), image_w(2 * tiles_w + 2) {
        const ptrdiff_t fits = chunk_bytes / ptrdiff_t(sizeof(T)) / (16 * width);
        capacity = std::clamp(fits / winograd_rows * winograd_rows, winograd_rows,
                              round_up(tiles, winograd_rows));
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

// The transformed kernels G k G^T as (16, depth, width_padded), zero past the width. Forward:
// depth C, width O, k = weight[o][c]. Rotated (for the input gradient): depth O, width C,
// k = weight[o][c] turned by 180 degrees. A kernel's 16 entries lie depth x width_padded
// apart in u (8 KiB for 64 x 32 floats: 16 lines of one L1 set, which has 12 ways), so a
// block of kernels is transformed on the stack and copied out row by row (storing each
// kernel's entries straight into u took 5-6% of the 32 -> 64 layer's passes, Zen 5).
template <typename T>
CachedArray<T> transformed_filters(const T* weight, ptrdiff_t O, ptrdiff_t C, bool rotated) {
    constexpr ptrdiff_t block = 64;   // kernels per block
    const ptrdiff_t depth = rotated ? O : C, width = rotated ? C : O;
    const ptrdiff_t width_padded = round_up(width, winograd_lanes<T>);
    CachedArray<T> u(16 * depth * width_padded, T(0));
#pragma omp parallel for num_threads(conv_loop_threads(16 * depth * width)) schedule(static)
    for (ptrdiff_t d = 0; d < depth; ++d) {
        for (ptrdiff_t w0 = 0; w0 < width; w0 += block) {
            const ptrdiff_t count = std::min(block, width - w0);
            T entries[16][block];   // entries[4i + j][w - w0]
            for (ptrdiff_t w = w0; w < w0 + count; ++w) {
                const ptrdiff_t o = rotated ? d : w, c = rotated ? w : d;
                const T* k = weight + (o * C + c) * 9;
                T taps[9], transformed[16];
                for (int t = 0; t < 9; ++t) taps[t] = rotated ? k[8 - t] : k[t];
                filter_kernel(taps, transformed);
                for (int e = 0; e < 16; ++e) entries[e][w - w0] = transformed[e];
            }
            for (int xi = 0; xi < 16; ++xi)
                std::copy_n(entries[xi], count, u.data() + (xi * depth + d) * width_padded + w0);
        }
    }
    return u;
}

// y = the stride-1 3x3 convolution of x with the transformed kernels u (16, C, O padded),
// plus bias when not null.
template <typename T>
void convolve(const ConvGeometry& g, const T* x, const T* u, const T* bias, T* y) {
    const ptrdiff_t width_padded = round_up(g.O, winograd_lanes<T>), P = g.pixels();
    const Tiling<T> tiling(g.OH, g.OW, g.C + width_padded);
    const ptrdiff_t capacity = tiling.capacity;
    const ptrdiff_t image_size = tiling.image_h * tiling.image_w * g.C;
    const ptrdiff_t v_size = 16 * capacity * g.C, m_size = 16 * capacity * width_padded;
    // NCHW images and outputs pass through HWC scratch buffers
    const ptrdiff_t scratch_size = g.channels_last ? 0 : g.H * g.W * g.C;
    const ptrdiff_t out_size = g.channels_last ? 0 : P * g.O;
    const ptrdiff_t worker_size = image_size + v_size + m_size + scratch_size + out_size;
    const ImageRanges ranges(g.N);
    CachedArray<T> buffers(ranges.count * worker_size, T(0));
    const Isa isa = active_isa();
    ranges.run(g.N, [&](int, int worker, ptrdiff_t n0, ptrdiff_t n1) {
        T* image = buffers.data() + worker * worker_size;
        T* v = image + image_size;
        T* m = v + v_size;
        T* scratch = m + m_size;
        T* out = scratch + scratch_size;
        for (ptrdiff_t n = n0; n < n1; ++n) {
            stage(isa, x, n, g.C, g.H, g.W, g.channels_last, scratch, image, tiling.image_w,
                  g.pad_top, g.pad_left);
            T* target = g.channels_last ? y + n * P * g.O : out;
            for (ptrdiff_t first = 0; first < tiling.tiles; first += capacity) {
                const ptrdiff_t count = std::min(capacity, tiling.tiles - first);
                TC_ISA_CALL(isa, winograd_input_transform(image, tiling.image_w, g.C,
                                                          tiling.tiles_w, first, count, v,
                                                          capacity));
                TC_ISA_CALL(isa, winograd_multiply(v, capacity, round_up(count, winograd_rows),
                                                   g.C, u, width_padded, m));
                TC_ISA_CALL(isa, winograd_output_transform(m, capacity, width_padded, g.O, bias,
                                                           tiling.tiles_w, first, count, target,
                                                           g.OH, g.OW));
            }
            if (!g.channels_last)
                TC_ISA_CALL(isa, winograd_transpose(out, P, g.O, g.O, y + n * g.O * P, P));
        }
    });
}

}  // namespace

bool conv_winograd_applies(const ConvGeometry& g) {
    const bool padding_fits = std::max({g.pad_top, g.pad_bottom, g.pad_left, g.pad_right}) <= 2;
    return g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 &&
           g.groups == 1 && padding_fits && g.N > 0;
}

// Measured on 2 Zen 5 cores against the direct kernels (NCHW) and the GEMM lowering (NHWC),
// over C and O of 1 to 64 on 14x14 to 32x32 images: with fewer input channels the transforms
// outweigh the products saved; the number of output channels hardly moves the balance.
bool conv_winograd_pays(const ConvGeometry& g) {
    return conv_winograd_applies(g) && g.C >= (g.channels_last ? 8 : 16);
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

// dweight: each range of images sums G^T-side products into its own (16, C padded, O padded)
// matrices, added up in double in range order.
template <typename T>
void conv_winograd_backward_weight(const ConvGeometry& g, const T* grad, const T* x, T* dweight,
                                   T* dbias) {
    conv_bias_gradient(g, grad, dbias);
    const ptrdiff_t width_padded = round_up(g.O, winograd_lanes<T>);
    const ptrdiff_t depth_padded = round_up(g.C, winograd_rows);
    const Tiling<T> tiling(g.OH, g.OW, g.C + width_padded);
    const ptrdiff_t capacity = tiling.capacity;
    const ptrdiff_t image_size = tiling.image_h * tiling.image_w * g.C;
    const ptrdiff_t grid_size = 4 * tiling.tiles * g.O;
    const ptrdiff_t v_size = 16 * capacity * g.C + winograd_rows;   // rows past C read on
    const ptrdiff_t gd_size = 16 * capacity * width_padded;
    const ptrdiff_t scratch_size =
        g.channels_last ? 0 : std::max(g.H * g.W * g.C, g.pixels() * g.O);
    const ptrdiff_t worker_size = image_size + grid_size + v_size + gd_size + scratch_size;
    const ptrdiff_t du_size = 16 * depth_padded * width_padded;
    const ImageRanges ranges(g.N);
    CachedArray<T> buffers(ranges.count * worker_size, T(0));
    CachedArray<T> partial(ranges.count * du_size, T(0));
    const Isa isa = active_isa();
    ranges.run(g.N, [&](int r, int worker, ptrdiff_t n0, ptrdiff_t n1) {
        T* image = buffers.data() + worker * worker_size;
        T* grid = image + image_size;
        T* v = grid + grid_size;
        T* gd = v + v_size;
        T* scratch = gd + gd_size;
        T* du = partial.data() + r * du_size;
        for (ptrdiff_t n = n0; n < n1; ++n) {
            stage(isa, x, n, g.C, g.H, g.W, g.channels_last, scratch, image, tiling.image_w,
                  g.pad_top, g.pad_left);
            // the gradient's tiles: rows of 2 * tiles_w pixels, zero past OH x OW
            stage(isa, grad, n, g.O, g.OH, g.OW, g.channels_last, scratch, grid,
                  2 * tiling.tiles_w, 0, 0);
            for (ptrdiff_t first = 0; first < tiling.tiles; first += capacity) {
                const ptrdiff_t count = std::min(capacity, tiling.tiles - first);
                TC_ISA_CALL(isa, winograd_input_transform(image, tiling.image_w, g.C,
                                                          tiling.tiles_w, first, count, v,
                                                          capacity));
                TC_ISA_CALL(isa, winograd_gradient_transform(grid, g.O, width_padded,
                                                             tiling.tiles_w, first, count, gd,
                                                             capacity));
                TC_ISA_CALL(isa, winograd_multiply_transposed(v, gd, capacity, count, g.C,
                                                              depth_padded, width_padded, du));
            }
        }
    });
    std::vector<double> total(du_size, 0.0);   // the ranges' sums, in range order
    for (int r = 0; r < ranges.count; ++r)
        for (ptrdiff_t i = 0; i < du_size; ++i) total[i] += partial[r * du_size + i];
    for (ptrdiff_t o = 0; o < g.O; ++o) {
        for (ptrdiff_t c = 0; c < g.C; ++c) {
            double rows[4][4], columns[4][3];   // G^T rows G, one side at a time
            for (int xi = 0; xi < 16; ++xi)
                rows[xi / 4][xi % 4] = total[(xi * depth_padded + c) * width_padded + o];
            for (int i = 0; i < 4; ++i)
                for (int j = 0; j < 3; ++j) columns[i][j] = filter_adjoint(rows[i], j);
            for (int j = 0; j < 3; ++j) {
                const double column[4] = {columns[0][j], columns[1][j], columns[2][j],
                                          columns[3][j]};
                for (int i = 0; i < 3; ++i)
                    dweight[(o * g.C + c) * 9 + 3 * i + j] =
                        static_cast<T>(filter_adjoint(column, i));
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
