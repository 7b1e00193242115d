// NCHW convolution lowered onto GEMM. Per image, cols (C*kh*kw, OH*OW) with rows ordered
// (c, i, j), so group g's rows are one block, and y[n] (O, OH*OW) = weight (O, C/g*kh*kw) @
// cols[n], one GEMM per group batched over a chunk of images. 1x1 stride-1 unpadded
// convolutions multiply the images themselves.
#include "conv_im2col.h"
#include "conv_lowering.h"
#include "gemm.h"

namespace tensorcore {

namespace {

// Images [n0, n0 + count) of x -> cols: channel c of image n at cols + n * image_stride +
// c * kh*kw * row_stride.
template <typename T>
void im2col_images(const ConvGeometry& g, const T* x, ptrdiff_t n0, ptrdiff_t count, T* cols,
                   ptrdiff_t image_stride, ptrdiff_t row_stride) {
    const ptrdiff_t planes = count * g.C;
    const int threads = conv_loop_threads(planes * g.taps() * g.pixels());
#pragma omp parallel for num_threads(threads) schedule(static)
    for (ptrdiff_t q = 0; q < planes; ++q) {
        const ptrdiff_t n = q / g.C, c = q % g.C;
        im2col_plane(g, x + ((n0 + n) * g.C + c) * g.H * g.W,
                     cols + n * image_stride + c * g.taps() * row_stride, row_stride);
    }
}

}  // namespace

template <typename T>
void nchw_forward(const ConvGeometry& g, const T* x, const T* weight, const T* bias, T* y) {
    const ptrdiff_t P = g.pixels(), Kg = g.group_depth(), depth = g.C * g.taps();
    const ptrdiff_t Og = g.group_out();
    const bool lowered = !g.pointwise();
    const ImageRanges ranges(g.N);
    const ptrdiff_t chunk = std::min(conv_chunk_images(g, depth * P), ranges.largest(g.N));
    CachedArray<T> cols(lowered ? ranges.count * chunk * depth * P : 0);
    ranges.run(g.N, [&](int, int t, ptrdiff_t n0, ptrdiff_t n1) {
        if (bias) {
#pragma omp parallel for num_threads(conv_loop_threads((n1 - n0) * g.O * P)) schedule(static)
            for (ptrdiff_t q = n0 * g.O; q < n1 * g.O; ++q)
                std::fill(y + q * P, y + (q + 1) * P, bias[q % g.O]);
        }
        T* own = cols.data() + t * chunk * depth * P;   // (chunk, C*kh*kw, P)
        for (ptrdiff_t c0 = n0; c0 < n1; c0 += chunk) {
            const ptrdiff_t count = std::min(chunk, n1 - c0);
            const T* b = x + c0 * g.C * P;   // pointwise: x[n] is (C, P)
            ptrdiff_t b_image_stride = g.C * P;
            if (lowered) {
                im2col_images(g, x, c0, count, own, depth * P, P);
                b = own, b_image_stride = depth * P;
            }
            for (ptrdiff_t grp = 0; grp < g.groups; ++grp) {
                gemm(GemmProblem<T>{weight + grp * Og * Kg, 0, Kg, 1, b + grp * Kg * P,
                                    b_image_stride, P, 1, y + (c0 * g.O + grp * Og) * P, g.O * P,
                                    P, count, Og, P, Kg, bias != nullptr});
            }
        }
    });
}

template <typename T>
void nchw_backward_input(const ConvGeometry& g, const T* grad, const T* weight, T* dx) {
    const ptrdiff_t P = g.pixels(), Kg = g.group_depth(), depth = g.C * g.taps();
    const ptrdiff_t Og = g.group_out();
    const bool lowered = !g.pointwise();
    const ImageRanges ranges(g.N);
    const ptrdiff_t chunk = std::min(conv_chunk_images(g, depth * P), ranges.largest(g.N));
    CachedArray<T> dcols(lowered ? ranges.count * chunk * depth * P : 0);
    ranges.run(g.N, [&](int, int t, ptrdiff_t n0, ptrdiff_t n1) {
        T* own = dcols.data() + t * chunk * depth * P;   // (chunk, C*kh*kw, P)
        for (ptrdiff_t c0 = n0; c0 < n1; c0 += chunk) {
            const ptrdiff_t count = std::min(chunk, n1 - c0);
            T* out = lowered ? own : dx + c0 * g.C * P;
            const ptrdiff_t out_image_stride = lowered ? depth * P : g.C * P;
            // out[n]_g (Kg, P) = weight_g^T (Kg, Og) @ grad[n]_g (Og, P)
            for (ptrdiff_t grp = 0; grp < g.groups; ++grp) {
                gemm(GemmProblem<T>{weight + grp * Og * Kg, 0, 1, Kg,
                                    grad + (c0 * g.O + grp * Og) * P, g.O * P, P, 1,
                                    out + grp * Kg * P, out_image_stride, P, count, Kg, P, Og,
                                    false});
            }
            if (!lowered) continue;
            const ptrdiff_t planes = count * g.C;
#pragma omp parallel for num_threads(conv_loop_threads(planes * g.taps() * P)) schedule(static)
            for (ptrdiff_t q = 0; q < planes; ++q) {
                const ptrdiff_t n = q / g.C, c = q % g.C;
                col2im_plane(g, own + n * depth * P + c * g.taps() * P, P,
                             dx + ((c0 + n) * g.C + c) * g.H * g.W);
            }
        }
    });
}

// Per chunk, images side by side so one GEMM sums over all their pixels: cols (C*kh*kw,
// count*P) and grads (count*P, O), the grad transposed so that both GEMM operands run along
// their rows; dweight^T_g (Kg, Og) += cols_g @ grads_g. Each range sums into its own
// dweight^T (C*kh*kw, O) (group g's block at rows g*Kg, columns g*Og), added up in range
// order and transposed at the end.
template <typename T>
void nchw_backward_weight(const ConvGeometry& g, const T* grad, const T* x, T* dweight) {
    const ptrdiff_t P = g.pixels(), Kg = g.group_depth(), depth = g.C * g.taps();
    const ptrdiff_t Og = g.group_out(), size = depth * g.O;
    const ImageRanges ranges(g.N);
    const ptrdiff_t chunk =
        std::min(conv_chunk_images(g, (depth + g.O) * P), ranges.largest(g.N));
    CachedArray<T> cols(ranges.count * chunk * depth * P);
    CachedArray<T> grads(ranges.count * chunk * P * g.O);
    CachedArray<T> transposed(ranges.count * size);
    ranges.run(g.N, [&](int r, int t, ptrdiff_t n0, ptrdiff_t n1) {
        T* target = transposed.data() + r * size;
        T* own_cols = cols.data() + t * chunk * depth * P;
        T* own_grads = grads.data() + t * chunk * P * g.O;
        if (n0 == n1) std::fill(target, target + size, T(0));
        for (ptrdiff_t c0 = n0; c0 < n1; c0 += chunk) {
            const ptrdiff_t count = std::min(chunk, n1 - c0), width = count * P;
            im2col_images(g, x, c0, count, own_cols, P, width);
#pragma omp parallel for num_threads(conv_loop_threads(width * g.O)) schedule(static)
            for (ptrdiff_t n = 0; n < count; ++n) {
                const T* from = grad + (c0 + n) * g.O * P;   // (O, P)
                T* to = own_grads + n * P * g.O;               // (P, O)
                for (ptrdiff_t o = 0; o < g.O; ++o)
                    for (ptrdiff_t p = 0; p < P; ++p) to[p * g.O + o] = from[o * P + p];
            }
            for (ptrdiff_t grp = 0; grp < g.groups; ++grp) {
                gemm(GemmProblem<T>{own_cols + grp * Kg * width, 0, width, 1,
                                    own_grads + grp * Og, 0, g.O, 1,
                                    target + grp * Kg * g.O + grp * Og, 0, g.O, 1, Kg, Og,
                                    width, c0 > n0});
            }
        }
    });
    add_partials(transposed.data() + size, ranges.count, size, transposed.data());
    for (ptrdiff_t grp = 0; grp < g.groups; ++grp)
        for (ptrdiff_t o = 0; o < Og; ++o)
            for (ptrdiff_t k = 0; k < Kg; ++k)
                dweight[(grp * Og + o) * Kg + k] =
                    transposed[(grp * Kg + k) * g.O + grp * Og + o];
}

#define TC_INSTANTIATE(T)                                                                  \
    template void nchw_forward<T>(const ConvGeometry&, const T*, const T*, const T*, T*);  \
    template void nchw_backward_input<T>(const ConvGeometry&, const T*, const T*, T*);     \
    template void nchw_backward_weight<T>(const ConvGeometry&, const T*, const T*, T*);
TC_INSTANTIATE(float)
TC_INSTANTIATE(double)
#undef TC_INSTANTIATE

}  // namespace tensorcore
