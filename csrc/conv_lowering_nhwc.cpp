// Channels-last (NHWC) convolution lowered onto GEMM. cols (pixels, C*kh*kw) holds one row per
// output pixel with columns ordered (g, i, j, c in group), and y (pixels, O) = cols @
// weight^T per group, the weight repacked to (O, kh, kw, C/g). 1x1 stride-1 unpadded
// convolutions multiply the images themselves, (pixels, C).
#include "conv_im2col.h"
#include "conv_lowering.h"
#include "gemm.h"

namespace tensorcore {

namespace {

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

#define TC_INSTANTIATE(T)                                                                  \
    template void nhwc_forward<T>(const ConvGeometry&, const T*, const T*, const T*, T*);  \
    template void nhwc_backward_input<T>(const ConvGeometry&, const T*, const T*, T*);     \
    template void nhwc_backward_weight<T>(const ConvGeometry&, const T*, const T*, T*);
TC_INSTANTIATE(float)
TC_INSTANTIATE(double)
#undef TC_INSTANTIATE

}  // namespace tensorcore
