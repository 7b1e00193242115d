// Direct convolution for NCHW images: threads take ranges of whole images (ImageRanges),
// build each image's im2col matrix (the forward: a few images' at a time, see
// forward_cols_batch_bytes) in a buffer that stays in L2, and run the register-blocked
// kernels of conv_kernels_<isa>.cpp on it, writing the output planes directly: no GEMM
// packing, no second pass. The forward kernel beats the GEMM lowering at every depth
// measured (C*kh*kw of 9 to 576) and also serves the input gradient for few output channels;
// the weight-gradient kernel re-reads its inputs per tile and only wins for few taps
// (single-thread timings of both paths, see the limits below).
#include <algorithm>
#include <memory>
#include <vector>

#include "conv_geometry.h"
#include "conv_im2col.h"
#include "conv_kernels.h"
#include "conv_lowering.h"
#include "isa.h"
#include "threads.h"

namespace tensorcore {

namespace {

// C*kh*kw up to which the direct kernels run: the forward's bound only caps the per-thread
// im2col buffer (depth x pixels); the weight gradient measured faster than the GEMM lowering
// at 9, 27 and 72 taps, slower at 108 and 288.
constexpr ptrdiff_t direct_forward_max_depth = 1024;
constexpr ptrdiff_t direct_weight_max_depth = 80;
// Output channels (the GEMM's k in the input gradient) up to which the direct input
// gradient runs: faster at 32, even at 64 on 14x14 images, slower at 64 on 32x32.
constexpr ptrdiff_t direct_input_max_out = 32;
// On several threads the forward builds the im2col matrices of a few images, up to this many
// bytes (in L2), then runs their kernels. Image by image, each copy followed the previous
// image's output stores (86 KB on the first MNIST layer) and took twice as long on two
// threads as on one. That layer's forward on Zen 4, 2 threads, both builds alternated in one
// process: 195 -> 156 us (batches of 4 images; of 8: 161). One thread stays image by image:
// there batches cost 2% (the cols no longer stay in L1).
constexpr ptrdiff_t forward_cols_batch_bytes = 128 * 1024;

// im2col of image n into cols (rows_padded rows, pixels_padded apart): the C*kh*kw rows of
// taps, their pixel padding zeroed, then zero rows. The buffer needs no initialisation (the
// calling thread would otherwise zero every thread's buffer, several images' worth for the
// forward, on every call).
template <typename T>
void image_columns(const ConvGeometry& g, const T* x, ptrdiff_t n, T* cols,
                   ptrdiff_t rows_padded, ptrdiff_t pixels_padded) {
    const ptrdiff_t depth = g.C * g.taps(), P = g.pixels();
    for (ptrdiff_t c = 0; c < g.C; ++c) {
        im2col_plane(g, x + (n * g.C + c) * g.H * g.W, cols + c * g.taps() * pixels_padded,
                     pixels_padded);
    }
    for (ptrdiff_t k = 0; k < depth; ++k)
        std::fill(cols + k * pixels_padded + P, cols + (k + 1) * pixels_padded, T(0));
    std::fill(cols + depth * pixels_padded, cols + rows_padded * pixels_padded, T(0));
}

}  // namespace

bool conv_direct_forward_applies(const ConvGeometry& g) {
    return !g.channels_last && g.groups == 1 && g.N > 0 &&
           g.C * g.taps() <= direct_forward_max_depth;
}

bool conv_direct_input_applies(const ConvGeometry& g) {
    return !g.channels_last && g.groups == 1 && g.N > 0 && g.O <= direct_input_max_out;
}

bool conv_direct_weight_applies(const ConvGeometry& g) {
    return !g.channels_last && g.groups == 1 && g.N > 0 &&
           g.C * g.taps() <= direct_weight_max_depth;
}

template <typename T>
void conv_direct_forward(const ConvGeometry& g, const T* x, const T* weight, const T* bias,
                         T* y) {
    const ptrdiff_t depth = g.C * g.taps(), P = g.pixels();
    const ptrdiff_t pixels_padded = round_up(P, conv_pixel_block<T>);
    const ptrdiff_t out_padded = round_up(g.O, conv_out_block);
    CachedArray<T> weight_padded(out_padded * depth, T(0)), bias_padded(out_padded, T(0));
    std::copy(weight, weight + g.O * depth, weight_padded.begin());
    if (bias) std::copy(bias, bias + g.O, bias_padded.begin());
    const ImageRanges ranges(g.N);
    const ptrdiff_t image_cols = depth * pixels_padded;
    const ptrdiff_t batch = ranges.count == 1 ? 1 : std::clamp<ptrdiff_t>(
        forward_cols_batch_bytes / (image_cols * static_cast<ptrdiff_t>(sizeof(T))), 1,
        ranges.largest(g.N));
    CachedArray<T> cols(ranges.count * batch * image_cols);
    const Isa isa = active_isa();
    ranges.run(g.N, [&](int, int t, ptrdiff_t n0, ptrdiff_t n1) {
        T* own = cols.data() + t * batch * image_cols;
        // the range in equal batches of at most `batch` images
        const ptrdiff_t batches = (n1 - n0 + batch - 1) / batch;
        for (ptrdiff_t b = 0; b < batches; ++b) {
            const ptrdiff_t b0 = n0 + (n1 - n0) * b / batches;
            const ptrdiff_t b1 = n0 + (n1 - n0) * (b + 1) / batches;
            for (ptrdiff_t n = b0; n < b1; ++n)
                image_columns(g, x, n, own + (n - b0) * image_cols, depth, pixels_padded);
            for (ptrdiff_t n = b0; n < b1; ++n) {
                TC_ISA_CALL(isa, conv_image_forward(own + (n - b0) * image_cols, depth, P,
                                                    pixels_padded, weight_padded.data(),
                                                    bias_padded.data(), g.O, y + n * g.O * P,
                                                    n + 1 < n1));
            }
        }
    });
}

// dx through the forward kernel: per image, dcols (C*kh*kw, pixels) = weight^T (C*kh*kw, O)
// @ grad (O, pixels), its rows padded like cols, then col2im into dx.
template <typename T>
void conv_direct_backward_input(const ConvGeometry& g, const T* grad, const T* weight, T* dx) {
    const ptrdiff_t depth = g.C * g.taps(), P = g.pixels();
    const ptrdiff_t pixels_padded = round_up(P, conv_pixel_block<T>);
    const ptrdiff_t depth_padded = round_up(depth, conv_out_block);
    CachedArray<T> weight_t(depth_padded * g.O, T(0)), zeros(depth_padded, T(0));
    for (ptrdiff_t o = 0; o < g.O; ++o)
        for (ptrdiff_t k = 0; k < depth; ++k) weight_t[k * g.O + o] = weight[o * depth + k];
    const ImageRanges ranges(g.N);
    CachedArray<T> grads(ranges.count * g.O * pixels_padded, T(0));
    CachedArray<T> dcols(ranges.count * depth * P);
    const Isa isa = active_isa();
    ranges.run(g.N, [&](int, int t, ptrdiff_t n0, ptrdiff_t n1) {
        T* own_grad = grads.data() + t * g.O * pixels_padded;
        T* own_dcols = dcols.data() + t * depth * P;
        for (ptrdiff_t n = n0; n < n1; ++n) {
            for (ptrdiff_t o = 0; o < g.O; ++o) {
                const T* from = grad + (n * g.O + o) * P;
                std::copy(from, from + P, own_grad + o * pixels_padded);
            }
            TC_ISA_CALL(isa, conv_image_forward(own_grad, g.O, P, pixels_padded, weight_t.data(),
                                                zeros.data(), depth, own_dcols, false));
            for (ptrdiff_t c = 0; c < g.C; ++c) {
                col2im_plane(g, own_dcols + c * g.taps() * P, P, dx + (n * g.C + c) * g.H * g.W);
            }
        }
    });
}

// dweight and dbias, each range of images summed on its own (RangeLaneSums)
template <typename T>
void conv_direct_backward_weight(const ConvGeometry& g, const T* grad, const T* x, T* dweight,
                                 T* dbias) {
    const ptrdiff_t depth = g.C * g.taps(), P = g.pixels();
    const ptrdiff_t depth_padded = round_up(depth, conv_depth_block);
    const ptrdiff_t pixels_padded = round_up(P, conv_pixel_block<T>);
    const ptrdiff_t out_padded = round_up(g.O, conv_out_block);
    // lane sums: dweight's (O padded, depth_padded), then dbias's (O padded)
    const ptrdiff_t weight_entries = out_padded * depth_padded;
    const ImageRanges ranges(g.N);
    CachedArray<T> cols(ranges.count * depth_padded * pixels_padded);
    RangeLaneSums<T> sums(ranges, weight_entries + out_padded);
    const Isa isa = active_isa();
    ranges.run(g.N, [&](int r, int t, ptrdiff_t n0, ptrdiff_t n1) {
        T* own = cols.data() + t * depth_padded * pixels_padded;
        T* lane_sums = sums.begin_range(t);
        for (ptrdiff_t n = n0; n < n1; ++n) {
            image_columns(g, x, n, own, depth_padded, pixels_padded);
            TC_ISA_CALL(isa, conv_image_weight_gradient(grad + n * g.O * P, own, depth_padded, P,
                                                        pixels_padded, g.O, lane_sums,
                                                        lane_sums + weight_entries * sums.lanes,
                                                        n + 1 < n1));
        }
        sums.end_range(r, t);
    });
    CachedArray<double> totals(weight_entries + out_padded);
    sums.totals(totals.data());
    for (ptrdiff_t o = 0; o < g.O; ++o) {
        for (ptrdiff_t k = 0; k < depth; ++k)
            dweight[o * depth + k] = static_cast<T>(totals[o * depth_padded + k]);
        dbias[o] = static_cast<T>(totals[out_padded * depth_padded + o]);
    }
}

template void conv_direct_forward<float>(const ConvGeometry&, const float*, const float*,
                                         const float*, float*);
template void conv_direct_forward<double>(const ConvGeometry&, const double*, const double*,
                                          const double*, double*);
template void conv_direct_backward_input<float>(const ConvGeometry&, const float*,
                                                const float*, float*);
template void conv_direct_backward_input<double>(const ConvGeometry&, const double*,
                                                 const double*, double*);
template void conv_direct_backward_weight<float>(const ConvGeometry&, const float*,
                                                 const float*, float*, float*);
template void conv_direct_backward_weight<double>(const ConvGeometry&, const double*,
                                                  const double*, double*, double*);

}  // namespace tensorcore
