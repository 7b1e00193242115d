// Channels-last (NHWC) convolution lowered onto GEMM. cols (pixels, C*kh*kw) holds one row per
// output pixel with columns ordered (g, i, j, c in group), and y (pixels, O) = cols @
// weight^T per group, the weight repacked to (O, kh, kw, C/g). 1x1 stride-1 unpadded
// convolutions multiply the images themselves, (pixels, C). For few input channels the
// forward and the weight gradient run direct kernels instead (conv_nhwc_image_*, reading the
// images in place of cols).
#include <vector>

#include "conv_im2col.h"
#include "conv_kernels.h"
#include "conv_lowering.h"
#include "gemm.h"
#include "isa.h"

namespace tensorcore {

namespace {

// C*kh*kw up to which the channels-last weight gradient runs the direct kernel (each
// output pixel's grad row times each of its depth entries, summed in registers) rather than
// the GEMM lowering, whose im2col copies and shapes (a depth of 9 against tiles of 32
// columns) cost it most of its time on the first layers. Zen 5, 2 threads, us, GEMM lowering
// against direct, (N, C, H) -> O, kernel / stride / padding: (64, 1, 28) -> 32 3/1/0 1109 /
// 73, 5/1/2 2649 / 187; (64, 3, 32) -> 32 3/2/1 467 / 81, 7/2/3 1887 / 360; (64, 3, 32) ->
// 64 5/1/2 5179 / 1438; (64, 8, 28) -> 64 3/2/1 622 / 341; (32, 8, 32) -> 64 5/1/2 3479 /
// 1805; (64, 16, 28) -> 64 3/2/1 824 / 648; (32, 32, 28) -> 64 3/2/1 (depth 288) 615 / 608;
// (32, 64, 16) -> 128 3/2/1 (576) 688 / 916. (3x3 stride-1 layers of 2 to 16 channels take
// the 2-D Winograd before either.)
constexpr ptrdiff_t nhwc_direct_weight_max_depth = 288;
// Input channels up to which the channels-last forward runs the direct kernel (each output
// pixel's depth entries against the weights, all entries in one pass) rather than the GEMM
// lowering. Zen 5, 2 threads, us, GEMM lowering against direct, (N, C, H) -> O, kernel /
// stride / padding: (64, 4, 32) -> 64 5/1/2 4042 / 1805; (64, 6, 32) -> 64 3/2/1 527 / 262;
// (64, 8, 28) -> 64 3/2/1 526 / 324; (32, 8, 32) -> 64 5/1/2 3316 / 1942; (64, 12, 28) -> 64
// 3/2/1 655 / 498; (64, 16, 28) -> 64 3/2/1 779 / 696, (32, 16, 56) 1655 / 1062; (32, 16, 32)
// -> 32 5/1/2 3737 / 1915; (64, 20, 28) -> 64 3/2/1 931 / 867; past the bound (64, 24, 28)
// 1060 / 1112, (32, 32, 28) 690 / 762.
constexpr ptrdiff_t nhwc_direct_forward_max_channels = 20;

// Channels-last images as the direct kernels read them (conv_nhwc_image_*): in place, or staged
// with their padding in a worker's buffer where they have any. Depth entry k = (i, j, c), a
// cols row's order, lies offsets[k] elements past its output pixel's first element, and
// those lie row_step and col_step apart along the output rows and columns.
template <typename T>
class DirectImages {
  public:
    std::vector<ptrdiff_t> offsets;
    ptrdiff_t row_step, col_step;

    DirectImages(const ConvGeometry& g, int workers)
        : g_(g), padded_(g.pad_top || g.pad_bottom || g.pad_left || g.pad_right),
          image_w_(g.W + g.pad_left + g.pad_right),
          image_size_((g.H + g.pad_top + g.pad_bottom) * image_w_ * g.C),
          worker_size_(padded_ ? worker_stride<T>(image_size_) : 0),
          staged_(workers * worker_size_) {
        offsets.resize(g.C * g.taps());
        for (ptrdiff_t i = 0; i < g.kh; ++i)
            for (ptrdiff_t j = 0; j < g.kw; ++j)
                for (ptrdiff_t c = 0; c < g.C; ++c)
                    offsets[(i * g.kw + j) * g.C + c] = (i * g.dh * image_w_ + j * g.dw) * g.C + c;
        row_step = g.sh * image_w_ * g.C;
        col_step = g.sw * g.C;
    }

    // Before a worker's first image: its buffer's padding zeroed
    void begin(int worker) {
        T* own = staged_.data() + worker * worker_size_;
        std::fill(own, own + (padded_ ? image_size_ : 0), T(0));
    }

    // Image n of x as the kernels read it
    const T* image(const T* x, ptrdiff_t n, int worker) {
        const T* image = x + n * g_.H * g_.W * g_.C;
        if (!padded_) return image;
        T* own = staged_.data() + worker * worker_size_;
        for (ptrdiff_t h = 0; h < g_.H; ++h)
            std::copy_n(image + h * g_.W * g_.C, g_.W * g_.C,
                        own + ((g_.pad_top + h) * image_w_ + g_.pad_left) * g_.C);
        return own;
    }

  private:
    const ConvGeometry& g_;
    bool padded_;
    ptrdiff_t image_w_, image_size_, worker_size_;
    CachedArray<T> staged_;
};

// weight (O, C/g, kh, kw) <-> packed (O, kh, kw, C/g), the order of a cols row
template <typename T>
CachedArray<T> pack_weight(const ConvGeometry& g, const T* weight) {
    const ptrdiff_t Cg = g.group_in(), taps = g.taps();
    CachedArray<T> packed(g.O * Cg * taps);
    for (ptrdiff_t o = 0; o < g.O; ++o)
        for (ptrdiff_t c = 0; c < Cg; ++c)
            for (ptrdiff_t t = 0; t < taps; ++t)
                packed[(o * taps + t) * Cg + c] = weight[(o * Cg + c) * taps + t];
    return packed;
}

template <typename T>
void unpack_weight(const ConvGeometry& g, const T* packed, T* weight) {
    const ptrdiff_t Cg = g.group_in(), taps = g.taps();
    for (ptrdiff_t o = 0; o < g.O; ++o)
        for (ptrdiff_t c = 0; c < Cg; ++c)
            for (ptrdiff_t t = 0; t < taps; ++t)
                weight[(o * Cg + c) * taps + t] = packed[(o * taps + t) * Cg + c];
}

// Output pixels of images [n0, n0 + count) -> cols (count*P, C*kh*kw), columns (g, i, j, c)
template <typename T>
void im2col_rows(const ConvGeometry& g, const T* x, ptrdiff_t n0, ptrdiff_t count, T* cols) {
    const ptrdiff_t P = g.pixels(), rows = count * P, depth = g.C * g.taps();
    const ptrdiff_t Cg = g.group_in(), Kg = g.group_depth();
#pragma omp parallel for num_threads(conv_loop_threads(rows * depth)) schedule(static)
    for (ptrdiff_t r = 0; r < rows; ++r) {
        const ptrdiff_t n = n0 + r / P, oh = r % P / g.OW, ow = r % g.OW;
        T* row = cols + r * depth;
        for (ptrdiff_t i = 0; i < g.kh; ++i) {
            const ptrdiff_t h = oh * g.sh - g.pad_top + i * g.dh;
            for (ptrdiff_t j = 0; j < g.kw; ++j) {
                const ptrdiff_t w = ow * g.sw - g.pad_left + j * g.dw;
                T* out = row + (i * g.kw + j) * Cg;
                if (h < 0 || h >= g.H || w < 0 || w >= g.W) {
                    for (ptrdiff_t grp = 0; grp < g.groups; ++grp)
                        std::fill(out + grp * Kg, out + grp * Kg + Cg, T(0));
                    continue;
                }
                const T* in = x + ((n * g.H + h) * g.W + w) * g.C;
                for (ptrdiff_t grp = 0; grp < g.groups; ++grp)
                    std::copy(in + grp * Cg, in + (grp + 1) * Cg, out + grp * Kg);
            }
        }
    }
}

// The adjoint of im2col_rows for images [n0, n0 + count): each dx row (n, h) (W, C) gathers
// the window entries that read it, so threads own whole rows.
template <typename T>
void col2im_rows(const ConvGeometry& g, const T* dcols, ptrdiff_t n0, ptrdiff_t count, T* dx) {
    const ptrdiff_t depth = g.C * g.taps(), Cg = g.group_in(), Kg = g.group_depth();
    const ptrdiff_t image_rows = count * g.H;
#pragma omp parallel for num_threads(conv_loop_threads(image_rows * g.W * depth)) schedule(static)
    for (ptrdiff_t q = 0; q < image_rows; ++q) {
        const ptrdiff_t n = q / g.H, h = q % g.H;
        T* out_row = dx + ((n0 + n) * g.H + h) * g.W * g.C;
        std::fill(out_row, out_row + g.W * g.C, T(0));
        for (ptrdiff_t i = 0; i < g.kh; ++i) {
            const ptrdiff_t t = h + g.pad_top - i * g.dh;   // = oh * sh
            if (t < 0 || t % g.sh != 0 || t / g.sh >= g.OH) continue;
            const T* in_rows = dcols + (n * g.pixels() + t / g.sh * g.OW) * depth;
            for (ptrdiff_t j = 0; j < g.kw; ++j) {
                const ptrdiff_t column_offset = j * g.dw - g.pad_left;
                const Span span = inside(column_offset, g.sw, g.W, g.OW);
                for (ptrdiff_t ow = span.lo; ow < span.hi; ++ow) {
                    T* out = out_row + (ow * g.sw + column_offset) * g.C;
                    const T* in = in_rows + ow * depth + (i * g.kw + j) * Cg;
                    for (ptrdiff_t grp = 0; grp < g.groups; ++grp)
                        for (ptrdiff_t c = 0; c < Cg; ++c) out[grp * Cg + c] += in[grp * Kg + c];
                }
            }
        }
    }
}

}  // namespace

template <typename T>
void nhwc_forward(const ConvGeometry& g, const T* x, const T* weight, const T* bias, T* y) {
    const ptrdiff_t P = g.pixels(), Kg = g.group_depth(), depth = g.C * g.taps();
    const ptrdiff_t Og = g.group_out();
    const bool lowered = !g.pointwise();
    const auto packed = pack_weight(g, weight);   // group g's (Og, Kg) at packed + g*Og*Kg
    const ImageRanges ranges(g.N);
    const ptrdiff_t chunk = std::min(conv_chunk_images(g, depth * P), ranges.largest(g.N));
    CachedArray<T> cols(lowered ? ranges.count * chunk * P * depth : 0);
    ranges.run(g.N, [&](int, int t, ptrdiff_t n0, ptrdiff_t n1) {
        if (bias) {
#pragma omp parallel for num_threads(conv_loop_threads((n1 - n0) * P * g.O)) schedule(static)
            for (ptrdiff_t q = n0 * P; q < n1 * P; ++q) std::copy(bias, bias + g.O, y + q * g.O);
        }
        T* own = cols.data() + t * chunk * P * depth;
        for (ptrdiff_t c0 = n0; c0 < n1; c0 += chunk) {
            const ptrdiff_t count = std::min(chunk, n1 - c0), rows = count * P;
            const T* a = x + c0 * P * g.C;   // pointwise: x is (pixels, C)
            ptrdiff_t a_row_stride = g.C;
            if (lowered) {
                im2col_rows(g, x, c0, count, own);
                a = own, a_row_stride = depth;
            }
            // y_g (rows, Og) (+)= a_g (rows, Kg) @ packed_g^T (Kg, Og)
            for (ptrdiff_t grp = 0; grp < g.groups; ++grp) {
                gemm(GemmProblem<T>{a + grp * Kg, 0, a_row_stride, 1, packed.data() + grp * Og * Kg,
                                    0, 1, Kg, y + c0 * P * g.O + grp * Og, 0, g.O, 1, rows, Og,
                                    Kg, bias != nullptr});
            }
        }
    });
}

template <typename T>
void nhwc_backward_input(const ConvGeometry& g, const T* grad, const T* weight, T* dx) {
    const ptrdiff_t P = g.pixels(), Kg = g.group_depth(), depth = g.C * g.taps();
    const ptrdiff_t Og = g.group_out();
    const bool lowered = !g.pointwise();
    const auto packed = pack_weight(g, weight);
    const ImageRanges ranges(g.N);
    const ptrdiff_t chunk = std::min(conv_chunk_images(g, depth * P), ranges.largest(g.N));
    CachedArray<T> dcols(lowered ? ranges.count * chunk * P * depth : 0);
    ranges.run(g.N, [&](int, int t, ptrdiff_t n0, ptrdiff_t n1) {
        T* own = dcols.data() + t * chunk * P * depth;
        for (ptrdiff_t c0 = n0; c0 < n1; c0 += chunk) {
            const ptrdiff_t count = std::min(chunk, n1 - c0), rows = count * P;
            T* out = lowered ? own : dx + c0 * P * g.C;
            const ptrdiff_t out_row_stride = lowered ? depth : g.C;
            // out_g (rows, Kg) = grad_g (rows, Og) @ packed_g (Og, Kg)
            for (ptrdiff_t grp = 0; grp < g.groups; ++grp) {
                gemm(GemmProblem<T>{grad + c0 * P * g.O + grp * Og, 0, g.O, 1,
                                    packed.data() + grp * Og * Kg, 0, Kg, 1, out + grp * Kg, 0,
                                    out_row_stride, 1, rows, Kg, Og, false});
            }
            if (lowered) col2im_rows(g, own, c0, count, dx);
        }
    });
}

// packed_g (Og, Kg) = grad_g^T (Og, pixels) @ cols_g (pixels, Kg); each range sums into its
// own packed gradient, added up in range order.
template <typename T>
void nhwc_backward_weight(const ConvGeometry& g, const T* grad, const T* x, T* dweight) {
    const ptrdiff_t P = g.pixels(), Kg = g.group_depth(), depth = g.C * g.taps();
    const ptrdiff_t Og = g.group_out();
    const bool lowered = !g.pointwise();
    const ImageRanges ranges(g.N);
    const ptrdiff_t chunk = std::min(conv_chunk_images(g, depth * P), ranges.largest(g.N));
    CachedArray<T> cols(lowered ? ranges.count * chunk * P * depth : 0);
    CachedArray<T> packed(ranges.count * g.O * Kg);   // per range (O, kh, kw, C/g)
    ranges.run(g.N, [&](int r, int t, ptrdiff_t n0, ptrdiff_t n1) {
        T* target = packed.data() + r * g.O * Kg;
        T* own = cols.data() + t * chunk * P * depth;
        if (n0 == n1) std::fill(target, target + g.O * Kg, T(0));
        for (ptrdiff_t c0 = n0; c0 < n1; c0 += chunk) {
            const ptrdiff_t count = std::min(chunk, n1 - c0), rows = count * P;
            const T* b = x + c0 * P * g.C;
            ptrdiff_t b_row_stride = g.C;
            if (lowered) {
                im2col_rows(g, x, c0, count, own);
                b = own, b_row_stride = depth;
            }
            for (ptrdiff_t grp = 0; grp < g.groups; ++grp) {
                gemm(GemmProblem<T>{grad + c0 * P * g.O + grp * Og, 0, 1, g.O, b + grp * Kg, 0,
                                    b_row_stride, 1, target + grp * Og * Kg, 0, Kg, 1, Og, Kg,
                                    rows, c0 > n0});
            }
        }
    });
    add_partials(packed.data() + g.O * Kg, ranges.count, g.O * Kg, packed.data());
    unpack_weight(g, packed.data(), dweight);
}

bool nhwc_direct_applies(const ConvGeometry& g, bool forward) {
    return g.channels_last && g.groups == 1 && g.N > 0 &&
           (forward ? g.C <= nhwc_direct_forward_max_channels
                    : g.C * g.taps() <= nhwc_direct_weight_max_depth);
}

template <typename T>
void nhwc_direct_forward(const ConvGeometry& g, const T* x, const T* weight, const T* bias,
                         T* y) {
    const ptrdiff_t depth = g.C * g.taps(), P = g.pixels();
    CachedArray<T> columns(depth * g.O);   // weight (O, C, kh, kw) -> (depth, O)
    for (ptrdiff_t o = 0; o < g.O; ++o)
        for (ptrdiff_t c = 0; c < g.C; ++c)
            for (ptrdiff_t tap = 0; tap < g.taps(); ++tap)
                columns[(tap * g.C + c) * g.O + o] = weight[(o * g.C + c) * g.taps() + tap];
    const ImageRanges ranges(g.N);
    DirectImages<T> images(g, ranges.count);
    const Isa isa = active_isa();
    ranges.run(g.N, [&](int, int t, ptrdiff_t n0, ptrdiff_t n1) {
        images.begin(t);
        for (ptrdiff_t n = n0; n < n1; ++n) {
            TC_ISA_CALL(isa, conv_nhwc_image_forward(images.image(x, n, t), images.row_step,
                                                     images.col_step, g.OH, g.OW,
                                                     images.offsets.data(), depth,
                                                     columns.data(), bias, g.O,
                                                     y + n * P * g.O));
        }
    });
}

template <typename T>
void nhwc_direct_backward_weight(const ConvGeometry& g, const T* grad, const T* x, T* dweight,
                                 T* dbias) {
    const ptrdiff_t depth = g.C * g.taps(), P = g.pixels();
    const ImageRanges ranges(g.N);
    DirectImages<T> images(g, ranges.count);
    const ptrdiff_t sums_size = (depth + 1) * g.O;   // dweight (depth, O), then dbias (O)
    CachedArray<double> sums(ranges.count * sums_size, 0.0);
    const Isa isa = active_isa();
    ranges.run(g.N, [&](int r, int t, ptrdiff_t n0, ptrdiff_t n1) {
        double* range_sums = sums.data() + r * sums_size;
        images.begin(t);
        for (ptrdiff_t n = n0; n < n1; ++n) {
            TC_ISA_CALL(isa, conv_nhwc_image_weight_gradient(
                                 images.image(x, n, t), images.row_step, images.col_step, g.OH,
                                 g.OW, images.offsets.data(), depth, grad + n * P * g.O, g.O,
                                 range_sums, range_sums + depth * g.O));
        }
    });
    add_partials(sums.data() + sums_size, ranges.count, sums_size, sums.data());
    for (ptrdiff_t o = 0; o < g.O; ++o) {
        for (ptrdiff_t k = 0; k < depth; ++k) {   // k = (i, j, c) -> dweight (o, c, i, j)
            const ptrdiff_t tap = k / g.C, c = k % g.C;
            dweight[(o * g.C + c) * g.taps() + tap] = static_cast<T>(sums[k * g.O + o]);
        }
        dbias[o] = static_cast<T>(sums[depth * g.O + o]);
    }
}

#define TC_INSTANTIATE(T)                                                                  \
    template void nhwc_forward<T>(const ConvGeometry&, const T*, const T*, const T*, T*);  \
    template void nhwc_backward_input<T>(const ConvGeometry&, const T*, const T*, T*);     \
    template void nhwc_backward_weight<T>(const ConvGeometry&, const T*, const T*, T*);     \
    template void nhwc_direct_forward<T>(const ConvGeometry&, const T*, const T*, const T*,   \
                                         T*);                                                 \
    template void nhwc_direct_backward_weight<T>(const ConvGeometry&, const T*, const T*, T*, \
                                                 T*);
TC_INSTANTIATE(float)
TC_INSTANTIATE(double)
#undef TC_INSTANTIATE

}  // namespace tensorcore
