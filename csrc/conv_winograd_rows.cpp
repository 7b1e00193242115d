// 3x3 convolutions by row-pair Winograd F(2, 3) (winograd_rows_kernels.h), forward and weight
// gradient, for NCHW images with few input channels: stride 1, dilation 1, no groups, output
// rows of at least 16 pixels. Per pair of output rows and kernel column, 4 products instead of
// the direct kernels' 6, and the input transform, shared by every output channel, costs little
// where the input channels are few (the first layers of a CNN), where the 2-D F(4x4, 3x3) of
// conv_winograd.cpp does not pay. Threads take ranges of whole images (ImageRanges); each
// image (staged with its padding, where it has any) is transformed into a buffer that stays
// in L1 or L2, and the kernels run on it:
//   forward:         (y_2j, y_2j+1) = A^T [ (G w) . (B^T d) ]   summed over kernel columns
//                    and input channels; with one input channel and even output rows, 2-D
//                    F(2x2, 3x3) tiles y = A^T [ (G w G^T) . (B^T d B) ] A
//   weight gradient: dw = G^T [ sum over row pairs (A g) . (B^T d) ]
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <vector>

#include "conv_geometry.h"
#include "conv_lowering.h"
#include "isa.h"
#include "pool_kernels.h"
#include "winograd_filter.h"
#include "winograd_kernels.h"
#include "winograd_rows_kernels.h"

namespace tensorcore {

namespace {

// Output rows narrower than the widest vector's float lanes would let a vector of positions
// span more than two row pairs.
constexpr ptrdiff_t min_out_width = conv_lanes<float>;
// Input channels up to which row-pair Winograd replaces the direct kernels (and, past 8
// channels, the GEMM lowering of the weight gradient). From 8 channels the 2-D Winograd
// (conv_winograd_pays) takes over wherever it applies, so past 7 these kernels run only on
// padding it does not take (over 2). Zen 4, both builds alternated in one process, time
// against the direct kernels or GEMM on 2 threads (1):
//   weight gradient: (64, 1, 28, 28) -> 32 unpadded 0.92-0.95 (0.88-0.91), padded 0.82
//   (0.79); (32, 3, 32, 32) -> 32 0.60 (0.61); (16, 8, 32, 32) -> 32 0.64 (0.52); (16, 15,
//   32, 32) -> 32 0.81 (0.61).
//   forward: (32, 2, 32, 32) -> 32 0.81 (0.82); (32, 3, 32, 32) -> 32 0.81 (0.78), -> 64 0.88
//   (0.80); (16, 8, 32, 32) -> 32 0.72 (0.72); (16, 15, 32, 32) -> 32 0.74 (0.73). With one
//   input channel the row pairs' forward took 1.2x the direct kernel's time (1.1x) on
//   (64, 1, 28, 28) -> 32, 1.06x on 25-wide rows: the vectors that cross from one pair of rows
//   to the next cost 3 masked stores (against 12 products). The 2-D tiles (even rows only)
//   took 0.81 (0.80) there, 0.78 (0.77) padded by 1, 0.87 (0.88) on (64, 1, 18, 18), and
//   against the row pairs (rows of 16k) 0.80-0.83 (0.79-0.80) on (32, 1, 32, 32) padded by 1
//   -> 32 and -> 64; against the direct kernel 0.81-0.84 on (16, 1, 48, 48) and
//   (16, 1, 64, 64) -> 32.
// AVX-512 only: with 16 registers (AVX2, and the baseline) the tiles hold one output channel,
// and on AVX2 (Zen 4, 2 threads) the weight gradient took 1.07-1.17x the direct kernels' time
// on the MNIST layer and 1.12x at 15 channels, the forward 1.09x at 2 channels and 1.08x at 15
// (0.57-0.95x elsewhere).
constexpr ptrdiff_t max_channels = 15, min_forward_channels = 2;

// Whether the forward takes the 2-D tiles: one input channel, even output rows (two columns
// per tile)
bool tiles_apply(const ConvGeometry& g) { return g.C == 1 && g.OW % 2 == 0; }

// One worker's buffers, worker_stride apart: the transform v (room for either: the row
// pairs', 4 x depth x positions_padded, or the 2-D tiles' entries kept for their output
// channels past the first group, 16 x the tiles rounded up to the widest vector's lanes), the
// staged image (C, image_h, image_w) with its padding, then room_size elements from
// room_offset for what the max-pooled passes make per image (the conv's gradient from the
// pool's, and NCHW planes of channels-last images).
template <typename T>
struct RowsLayout {
    ptrdiff_t pairs, depth, positions_padded, v_size, image_h, image_w, room_offset, worker_size;

    explicit RowsLayout(const ConvGeometry& g, ptrdiff_t room_size = 0)
        : pairs((g.OH + 1) / 2), depth(3 * g.C),
          positions_padded(round_up(pairs * g.OW, winograd_rows_block)),
          v_size(std::max(4 * depth * positions_padded,
                          16 * round_up(pairs * g.OW / 2, conv_lanes<T>))),
          image_h(2 * pairs + 2), image_w(g.OW + 2),
          room_offset(v_size + g.C * image_h * image_w),
          worker_size(worker_stride<T>(room_offset + room_size)) {}
};

// Image n of x (N, C, H, W) as the transforms read it: x itself where it has the staged
// image's shape (no padding, an even number of output rows), else staged at row pad_top and
// column pad_left of the worker's `image` (after v), zeros around it (the whole input fits:
// H + pad_top + pad_bottom = OH + 2 <= image_h).
template <typename T>
const T* staged_image(const ConvGeometry& g, const RowsLayout<T>& layout, const T* x,
                      ptrdiff_t n, T* v) {
    const T* image = x + n * g.C * g.H * g.W;
    if (g.pad_top == 0 && g.pad_left == 0 && g.H == layout.image_h && g.W == layout.image_w)
        return image;
    T* staged = v + layout.v_size;
    std::fill(staged, staged + g.C * layout.image_h * layout.image_w, T(0));
    for (ptrdiff_t c = 0; c < g.C; ++c) {
        const T* plane = image + c * g.H * g.W;
        T* to = staged + (c * layout.image_h + g.pad_top) * layout.image_w + g.pad_left;
        for (ptrdiff_t h = 0; h < g.H; ++h)
            std::copy_n(plane + h * g.W, g.W, to + h * layout.image_w);
    }
    return staged;
}

// The spans of the active ISA's vectors over an image's positions (winograd_rows_kernels.h)
template <typename T>
std::vector<PairSpan> plan(Isa isa, const ConvGeometry& g, const RowsLayout<T>& layout) {
    std::vector<PairSpan> spans(layout.positions_padded * sizeof(T) / 16);
    TC_ISA_CALL(isa, winograd_rows_plan(T(0), g.OH, g.OW, spans.data()));
    return spans;
}

}  // namespace

bool conv_winograd_rows_applies(const ConvGeometry& g) {
    return !g.channels_last && g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 && g.dh == 1 &&
           g.dw == 1 && g.groups == 1 && g.OW >= min_out_width && g.OH > 0 && g.N > 0;
}

bool conv_winograd_rows_pays(const ConvGeometry& g, bool forward) {
    // the forward with one input channel only where the output rows are even (the 2-D tiles)
    const bool forward_pays = g.C >= min_forward_channels || tiles_apply(g);
    return active_isa() == Isa::avx512 && conv_winograd_rows_applies(g) &&
           g.C <= max_channels && (!forward || forward_pays);
}

// u for the row pairs: (O padded, 4, depth), G times each kernel column, u[o][i][3c + kw]
template <typename T>
void transform_kernel_columns(const ConvGeometry& g, const T* weight, T* u) {
    const ptrdiff_t depth = 3 * g.C;
    for (ptrdiff_t o = 0; o < g.O; ++o) {
        for (ptrdiff_t k = 0; k < depth; ++k) {   // k = 3c + kw
            const T* column = weight + (o * g.C + k / 3) * 9 + k % 3;
            const T taps[3] = {column[0], column[3], column[6]};
            T transformed[4];
            WinogradF2::filter(taps, transformed);
            for (int i = 0; i < 4; ++i) u[(o * 4 + i) * depth + k] = transformed[i];
        }
    }
}

// u for the 2-D tiles (one input channel): (O, 16), G w G^T, u[o][4a + b] (a down the
// kernel, b along it)
template <typename T>
void transform_kernels(const ConvGeometry& g, const T* weight, T* u) {
    for (ptrdiff_t o = 0; o < g.O; ++o) filter_kernel<WinogradF2>(weight + o * 9, u + o * 16);
}

namespace {

// The forward into y, or with `taps` (the 2-D tiles only) the 2x2 max pool of it into y and
// taps (winograd_tiles_forward); a channels-last y (the pooled pass only) from each image's
// planes made in the worker's room
template <typename T>
void rows_forward(const ConvGeometry& g, const T* x, const T* weight, const T* bias, T* y,
                  uint8_t* taps) {
    const ptrdiff_t plane = taps ? g.OH / 2 * (g.OW / 2) : g.pixels();   // of y
    const RowsLayout<T> layout(g, g.channels_last ? g.O * plane : 0);
    const bool tiles = tiles_apply(g);
    const ptrdiff_t out_padded = round_up(g.O, conv_out_block);
    CachedArray<T> u(tiles ? g.O * 16 : out_padded * 4 * layout.depth, T(0));
    CachedArray<T> bias_padded(out_padded, T(0));
    if (tiles) {
        transform_kernels(g, weight, u.data());
    } else {
        transform_kernel_columns(g, weight, u.data());
    }
    if (bias) std::copy(bias, bias + g.O, bias_padded.begin());
    const ImageRanges ranges(g.N);
    CachedArray<T> buffers(ranges.count * layout.worker_size);
    const Isa isa = active_isa();
    const std::vector<PairSpan> spans = plan(isa, g, layout);
    ranges.run(g.N, [&](int, int t, ptrdiff_t n0, ptrdiff_t n1) {
        T* v = buffers.data() + t * layout.worker_size;
        for (ptrdiff_t n = n0; n < n1; ++n) {
            const T* image = staged_image(g, layout, x, n, v);
            T* y_n = y + n * g.O * plane;
            if (tiles) {
                uint8_t* taps_n = taps ? taps + n * g.O * plane : nullptr;
                T* planes = g.channels_last ? v + layout.room_offset : y_n;
                TC_ISA_CALL(isa, winograd_tiles_forward(image, g.OH, g.OW, u.data(),
                                                        bias_padded.data(), g.O, spans.data(),
                                                        v, planes, taps_n,
                                                        !g.channels_last && n + 1 < n1));
                if (g.channels_last)   // (O, plane) -> (plane, O)
                    TC_ISA_CALL(isa, winograd_transpose(planes, g.O, plane, plane, y_n, g.O));
            } else {
                TC_ISA_CALL(isa, winograd_rows_input(image, g.C, g.OW, layout.pairs, v));
                TC_ISA_CALL(isa, winograd_rows_forward(v, g.C, g.OH, g.OW, u.data(),
                                                       bias_padded.data(), g.O, spans.data(),
                                                       y_n));
            }
        }
    });
}

}  // namespace

template <typename T>
void conv_winograd_rows_forward(const ConvGeometry& g, const T* x, const T* weight,
                                const T* bias, T* y) {
    rows_forward(g, x, weight, bias, y, static_cast<uint8_t*>(nullptr));
}

namespace {

// g for the row-pair kernels, which read NCHW images: one input channel is either layout's
// memory, so its channels-last images count as NCHW there (the pooled passes transpose y and
// the pooled gradient themselves)
ConvGeometry one_channel_as_nchw(ConvGeometry g) {
    if (g.C == 1) g.channels_last = false;
    return g;
}

}  // namespace

bool conv_tiles_max_pool_applies(const ConvGeometry& g) {
    return conv_winograd_rows_pays(one_channel_as_nchw(g), true) && tiles_apply(g) && g.OH >= 2;
}

template <typename T>
void conv_tiles_max_pool_forward(const ConvGeometry& g, const T* x, const T* weight,
                                 const T* bias, T* y, uint8_t* taps) {
    rows_forward(g, x, weight, bias, y, taps);
}

namespace {

// dweight and dbias, each range of images summed on its own (RangeLaneSums); image n's
// gradient (O, OH, OW) is image_grad(n, room), room the worker's buffer from layout.room_offset;
// grad_follows: image n + 1's gradient follows image n's in memory (the kernel prefetches it).
template <typename T, class ImageGrad>
void rows_backward_weight(const ConvGeometry& g, const RowsLayout<T>& layout, const T* x,
                          const ImageGrad& image_grad, bool grad_follows, T* dweight,
                          T* dbias) {
    const ptrdiff_t out_padded = round_up(g.O, conv_out_block);
    // lane sums: dweight's taps (C, O padded, 9), then dbias's (O padded)
    const ptrdiff_t weight_entries = g.C * out_padded * 9;
    const ptrdiff_t entries = weight_entries + out_padded;
    const ImageRanges ranges(g.N);
    CachedArray<T> buffers(ranges.count * layout.worker_size);
    RangeLaneSums<T, winograd_rows_lanes<T>> sums(ranges, entries);
    const Isa isa = active_isa();
    const std::vector<PairSpan> spans = plan(isa, g, layout);
    ranges.run(g.N, [&](int r, int t, ptrdiff_t n0, ptrdiff_t n1) {
        T* v = buffers.data() + t * layout.worker_size;
        T* lane_sums = sums.begin_range(t);
        for (ptrdiff_t n = n0; n < n1; ++n) {
            TC_ISA_CALL(isa, winograd_rows_input(staged_image(g, layout, x, n, v), g.C, g.OW,
                                                 layout.pairs, v));
            const T* grad = image_grad(n, v + layout.room_offset);
            TC_ISA_CALL(isa, winograd_rows_weight_gradient(
                                 grad, v, g.C, g.OH, g.OW, g.O, spans.data(), lane_sums,
                                 lane_sums + weight_entries * sums.lanes,
                                 grad_follows && n + 1 < n1));
        }
        sums.end_range(r, t);
    });
    CachedArray<double> totals(entries);
    sums.totals(totals.data());
    for (ptrdiff_t o = 0; o < g.O; ++o) {
        for (ptrdiff_t c = 0; c < g.C; ++c)
            for (int tap = 0; tap < 9; ++tap)
                dweight[(o * g.C + c) * 9 + tap] =
                    static_cast<T>(totals[(c * out_padded + o) * 9 + tap]);
        dbias[o] = static_cast<T>(totals[weight_entries + o]);
    }
}

}  // namespace

template <typename T>
void conv_winograd_rows_backward_weight(const ConvGeometry& g, const T* grad, const T* x,
                                        T* dweight, T* dbias) {
    const ptrdiff_t image_size = g.O * g.pixels();
    rows_backward_weight(
        g, RowsLayout<T>(g), x, [&](ptrdiff_t n, T*) { return grad + n * image_size; }, true,
        dweight, dbias);
}

bool conv_tiles_max_pool_backward_applies(const ConvGeometry& g) {
    return conv_winograd_rows_pays(one_channel_as_nchw(g), false) && g.OH >= 2 && g.OW >= 2;
}

// Each image's conv gradient made in the worker's room from the pooled gradient and taps
// (max_pool_backward_taps), where the weight gradient reads it from L2: the whole batch's, 4x
// the pooled gradient, is never written out and read back. A channels-last pooled gradient is
// transposed into the room past it first.
template <typename T>
bool conv_tiles_max_pool_backward_weight(const ConvGeometry& g, const T* pooled_grad,
                                         const uint8_t* taps, const T* x, T* dweight,
                                         T* dbias) {
    PoolGeometry pool{};
    pool.N = 1, pool.C = g.O, pool.H = g.OH, pool.W = g.OW, pool.OH = g.OH / 2,
    pool.OW = g.OW / 2;
    pool.kh = pool.kw = pool.sh = pool.sw = 2, pool.dh = pool.dw = 1;
    const ptrdiff_t plane = pool.OH * pool.OW, pooled_size = g.O * plane;
    const ptrdiff_t conv_size = g.O * g.pixels();
    const Isa isa = active_isa();
    std::atomic<bool> taps_valid{true};
    const auto unpooled = [&](ptrdiff_t n, T* room) {
        const T* grad_n = pooled_grad + n * pooled_size;
        if (g.channels_last) {   // (plane, O) -> (O, plane)
            T* planes = room + conv_size;
            TC_ISA_CALL(isa, winograd_transpose(grad_n, plane, g.O, g.O, planes, plane));
            grad_n = planes;
        }
        if (!TC_ISA_CALL(isa, max_pool_backward_taps(pool, grad_n, taps + n * pooled_size, room)))
            taps_valid.store(false, std::memory_order_relaxed);
        return static_cast<const T*>(room);
    };
    const ptrdiff_t room_size = conv_size + (g.channels_last ? pooled_size : 0);
    rows_backward_weight(g, RowsLayout<T>(g, room_size), x, unpooled, false, dweight, dbias);
    return taps_valid.load();
}

template void conv_winograd_rows_forward<float>(const ConvGeometry&, const float*, const float*,
                                                const float*, float*);
template void conv_winograd_rows_forward<double>(const ConvGeometry&, const double*,
                                                 const double*, const double*, double*);
template void conv_tiles_max_pool_forward<float>(const ConvGeometry&, const float*,
                                                 const float*, const float*, float*, uint8_t*);
template void conv_tiles_max_pool_forward<double>(const ConvGeometry&, const double*,
                                                  const double*, const double*, double*,
                                                  uint8_t*);
template void conv_winograd_rows_backward_weight<float>(const ConvGeometry&, const float*,
                                                        const float*, float*, float*);
template void conv_winograd_rows_backward_weight<double>(const ConvGeometry&, const double*,
                                                         const double*, double*, double*);
template bool conv_tiles_max_pool_backward_weight<float>(const ConvGeometry&, const float*,
                                                         const uint8_t*, const float*, float*,
                                                         float*);
template bool conv_tiles_max_pool_backward_weight<double>(const ConvGeometry&, const double*,
                                                          const uint8_t*, const double*,
                                                          double*, double*);

}  // namespace tensorcore
