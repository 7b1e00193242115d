// Convolution by lowering onto GEMM: im2col gathers each output pixel's input window into a
// row or column of a matrix, one tensorcore::gemm per group multiplies it with the weight,
// and col2im sums window gradients back into the image. Images go in chunks so the im2col
// buffer stays near `chunk_elements`.
//
// NCHW: per image, cols (C*kh*kw, OH*OW) with rows ordered (c, i, j), so group g's rows are
//       one block; y[n] (O, OH*OW) = weight (O, C/g*kh*kw) @ cols[n], batched over images.
// NHWC: cols (pixels, C*kh*kw) with columns ordered (g, i, j, c in group), one row per
//       output pixel; y (pixels, O) = cols @ weight^T, the weight repacked to (O, kh, kw, C/g).
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "conv_geometry.h"
#include "conv_im2col.h"
#include "gemm.h"
#include "threads.h"

namespace tensorcore {

namespace {

constexpr ptrdiff_t chunk_elements = ptrdiff_t(1) << 20;
// loops over fewer elements than this run on one thread
constexpr ptrdiff_t parallel_elements = ptrdiff_t(1) << 14;

template <typename T>
std::unique_ptr<T[]> buffer(ptrdiff_t elements) {
    return std::unique_ptr<T[]>(new T[std::max<ptrdiff_t>(elements, 1)]);
}

ptrdiff_t images_per_chunk(const ConvGeometry& g, ptrdiff_t elements_per_image) {
    return std::clamp<ptrdiff_t>(chunk_elements / std::max<ptrdiff_t>(elements_per_image, 1), 1,
                                 std::max<ptrdiff_t>(g.N, 1));
}

int threads_for(ptrdiff_t elements) { return elements < parallel_elements ? 1 : num_threads(); }

// --- NCHW ------------------------------------------------------------------------------

// The adjoint of im2col_plane: plane (H, W) = the sum of its kh*kw rows' window entries.
template <typename T>
void col2im_plane(const ConvGeometry& g, const T* rows, ptrdiff_t row_stride, T* plane) {
    std::fill(plane, plane + g.H * g.W, T(0));
    for (ptrdiff_t i = 0; i < g.kh; ++i) {
        for (ptrdiff_t j = 0; j < g.kw; ++j) {
            const T* row = rows + (i * g.kw + j) * row_stride;
            const ptrdiff_t column_offset = j * g.dw - g.pad_left;
            const Span span = inside(column_offset, g.sw, g.W, g.OW);
            for (ptrdiff_t oh = 0; oh < g.OH; ++oh) {
                const ptrdiff_t h = oh * g.sh - g.pad_top + i * g.dh;
                if (h < 0 || h >= g.H) continue;
                T* out = plane + h * g.W;
                const T* in = row + oh * g.OW;
                for (ptrdiff_t ow = span.lo; ow < span.hi; ++ow) {
                    out[ow * g.sw + column_offset] += in[ow];
                }
            }
        }
    }
}

// Images [n0, n0 + count) of x -> cols: channel c of image n at cols + n * image_stride +
// c * kh*kw * row_stride.
template <typename T>
void im2col_images(const ConvGeometry& g, const T* x, ptrdiff_t n0, ptrdiff_t count, T* cols,
                   ptrdiff_t image_stride, ptrdiff_t row_stride) {
    const ptrdiff_t planes = count * g.C;
#pragma omp parallel for num_threads(threads_for(planes * g.taps() * g.pixels())) schedule(static)
    for (ptrdiff_t q = 0; q < planes; ++q) {
        const ptrdiff_t n = q / g.C, c = q % g.C;
        im2col_plane(g, x + ((n0 + n) * g.C + c) * g.H * g.W,
                     cols + n * image_stride + c * g.taps() * row_stride, row_stride);
    }
}

template <typename T>
void fill_bias_nchw(const ConvGeometry& g, const T* bias, T* y) {
    const ptrdiff_t planes = g.N * g.O, P = g.pixels();
#pragma omp parallel for num_threads(threads_for(planes * P)) schedule(static)
    for (ptrdiff_t q = 0; q < planes; ++q) std::fill(y + q * P, y + (q + 1) * P, bias[q % g.O]);
}

template <typename T>
void forward_nchw(const ConvGeometry& g, const T* x, const T* weight, const T* bias, T* y) {
    const ptrdiff_t P = g.pixels(), Kg = g.group_depth(), depth = g.C * g.taps();
    const ptrdiff_t Og = g.group_out();
    if (bias) fill_bias_nchw(g, bias, y);
    if (g.pointwise()) {   // y[n] (Og, P) = weight_g (Og, C/g) @ x[n]_g (C/g, H*W)
        for (ptrdiff_t grp = 0; grp < g.groups; ++grp) {
            gemm(GemmProblem<T>{weight + grp * Og * Kg, 0, Kg, 1, x + grp * Kg * P, g.C * P, P,
                                1, y + grp * Og * P, g.O * P, P, g.N, Og, P, Kg, bias != nullptr});
        }
        return;
    }
    const ptrdiff_t chunk = images_per_chunk(g, depth * P);
    auto cols = buffer<T>(chunk * depth * P);   // (chunk, C*kh*kw, P)
    for (ptrdiff_t n0 = 0; n0 < g.N; n0 += chunk) {
        const ptrdiff_t count = std::min(chunk, g.N - n0);
        im2col_images(g, x, n0, count, cols.get(), depth * P, P);
        for (ptrdiff_t grp = 0; grp < g.groups; ++grp) {
            gemm(GemmProblem<T>{weight + grp * Og * Kg, 0, Kg, 1, cols.get() + grp * Kg * P,
                                depth * P, P, 1, y + (n0 * g.O + grp * Og) * P, g.O * P, P, count,
                                Og, P, Kg, bias != nullptr});
        }
    }
}

template <typename T>
void backward_input_nchw(const ConvGeometry& g, const T* grad, const T* weight, T* dx) {
    const ptrdiff_t P = g.pixels(), Kg = g.group_depth(), depth = g.C * g.taps();
    const ptrdiff_t Og = g.group_out();
    // dcols[n]_g (Kg, P) = weight_g^T (Kg, Og) @ grad[n]_g (Og, P)
    auto multiply = [&](T* out, ptrdiff_t out_image_stride, ptrdiff_t n0, ptrdiff_t count) {
        for (ptrdiff_t grp = 0; grp < g.groups; ++grp) {
            gemm(GemmProblem<T>{weight + grp * Og * Kg, 0, 1, Kg,
                                grad + (n0 * g.O + grp * Og) * P, g.O * P, P, 1,
                                out + grp * Kg * P, out_image_stride, P, count, Kg, P, Og, false});
        }
    };
    if (g.pointwise()) {
        multiply(dx, g.C * P, 0, g.N);
        return;
    }
    const ptrdiff_t chunk = images_per_chunk(g, depth * P);
    auto dcols = buffer<T>(chunk * depth * P);   // (chunk, C*kh*kw, P)
    for (ptrdiff_t n0 = 0; n0 < g.N; n0 += chunk) {
        const ptrdiff_t count = std::min(chunk, g.N - n0);
        multiply(dcols.get(), depth * P, n0, count);
        const ptrdiff_t planes = count * g.C;
#pragma omp parallel for num_threads(threads_for(planes * g.taps() * P)) schedule(static)
        for (ptrdiff_t q = 0; q < planes; ++q) {
            const ptrdiff_t n = q / g.C, c = q % g.C;
            col2im_plane(g, dcols.get() + n * depth * P + c * g.taps() * P, P,
                         dx + ((n0 + n) * g.C + c) * g.H * g.W);
        }
    }
}

// dbias[o] = the sum of grad over images and pixels, for grad (N, O, P) or, channels last,
// (N*P, O). Short runs are summed in T along independent lanes (which vectorise), the runs
// in double. NCHW threads split the channels, so any thread count adds in the same order.
template <typename T>
void bias_gradient(const ConvGeometry& g, const T* grad, T* dbias) {
    constexpr ptrdiff_t lanes = 16, run = 64;
    const ptrdiff_t P = g.pixels();
    if (g.channels_last) {
        std::vector<double> total(g.O, 0.0);
        std::vector<T> partial(g.O);
        for (ptrdiff_t r0 = 0; r0 < g.N * P; r0 += run) {
            std::fill(partial.begin(), partial.end(), T(0));
            for (ptrdiff_t r = r0; r < std::min(r0 + run, g.N * P); ++r)
                for (ptrdiff_t o = 0; o < g.O; ++o) partial[o] += grad[r * g.O + o];
            for (ptrdiff_t o = 0; o < g.O; ++o) total[o] += partial[o];
        }
        for (ptrdiff_t o = 0; o < g.O; ++o) dbias[o] = static_cast<T>(total[o]);
        return;
    }
#pragma omp parallel for num_threads(threads_for(g.N * P * g.O)) schedule(static)
    for (ptrdiff_t o = 0; o < g.O; ++o) {
        double sum = 0;
        for (ptrdiff_t n = 0; n < g.N; ++n) {
            const T* plane = grad + (n * g.O + o) * P;
            T partial[lanes] = {};
            ptrdiff_t p = 0;
            for (; p + lanes <= P; p += lanes)
                for (ptrdiff_t l = 0; l < lanes; ++l) partial[l] += plane[p + l];
            for (; p < P; ++p) partial[0] += plane[p];
            for (ptrdiff_t l = 0; l < lanes; ++l) sum += partial[l];
        }
        dbias[o] = static_cast<T>(sum);
    }
}

template <typename T>
void backward_weight_nchw(const ConvGeometry& g, const T* grad, const T* x, T* dweight) {
    const ptrdiff_t P = g.pixels(), Kg = g.group_depth(), depth = g.C * g.taps();
    const ptrdiff_t Og = g.group_out();
    // Per chunk, images side by side so one GEMM sums over all their pixels:
    // cols (C*kh*kw, count*P) and grads (O, count*P); dweight_g += grads_g @ cols_g^T.
    const ptrdiff_t chunk = images_per_chunk(g, (depth + g.O) * P);
    auto cols = buffer<T>(chunk * depth * P);
    auto grads = buffer<T>(chunk * g.O * P);
    for (ptrdiff_t n0 = 0; n0 < g.N; n0 += chunk) {
        const ptrdiff_t count = std::min(chunk, g.N - n0), width = count * P;
        im2col_images(g, x, n0, count, cols.get(), P, width);
        const ptrdiff_t planes = count * g.O;
#pragma omp parallel for num_threads(threads_for(planes * P)) schedule(static)
        for (ptrdiff_t q = 0; q < planes; ++q) {
            const ptrdiff_t n = q / g.O, o = q % g.O;
            const T* from = grad + ((n0 + n) * g.O + o) * P;
            std::copy(from, from + P, grads.get() + o * width + n * P);
        }
        for (ptrdiff_t grp = 0; grp < g.groups; ++grp) {
            gemm(GemmProblem<T>{grads.get() + grp * Og * width, 0, width, 1,
                                cols.get() + grp * Kg * width, 0, 1, width,
                                dweight + grp * Og * Kg, 0, Kg, 1, Og, Kg, width, n0 > 0});
        }
    }
    if (g.N == 0) std::fill(dweight, dweight + g.O * Kg, T(0));
}

// --- NHWC ------------------------------------------------------------------------------

// weight (O, C/g, kh, kw) <-> packed (O, kh, kw, C/g), the order of an NHWC cols row
template <typename T>
std::unique_ptr<T[]> pack_weight(const ConvGeometry& g, const T* weight) {
    const ptrdiff_t Cg = g.group_in(), taps = g.taps();
    auto packed = buffer<T>(g.O * Cg * taps);
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

// Output pixels of images [n0, n0 + count) -> cols rows (count*P, C*kh*kw), columns (g, i, j, c)
template <typename T>
void im2col_rows(const ConvGeometry& g, const T* x, ptrdiff_t n0, ptrdiff_t count, T* cols) {
    const ptrdiff_t P = g.pixels(), rows = count * P, depth = g.C * g.taps();
    const ptrdiff_t Cg = g.group_in(), Kg = g.group_depth();
#pragma omp parallel for num_threads(threads_for(rows * depth)) schedule(static)
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
#pragma omp parallel for num_threads(threads_for(image_rows * g.W * depth)) schedule(static)
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

template <typename T>
void forward_nhwc(const ConvGeometry& g, const T* x, const T* weight, const T* bias, T* y) {
    const ptrdiff_t P = g.pixels(), Kg = g.group_depth(), depth = g.C * g.taps();
    const ptrdiff_t Og = g.group_out();
    const auto packed = pack_weight(g, weight);   // group g's (Kg, Og) at packed + g*Og*Kg
    if (bias) {
        const ptrdiff_t rows = g.N * P;
#pragma omp parallel for num_threads(threads_for(rows * g.O)) schedule(static)
        for (ptrdiff_t r = 0; r < rows; ++r) std::copy(bias, bias + g.O, y + r * g.O);
    }
    // y_g (rows, Og) (+)= a (rows, Kg) @ packed_g^T (Kg, Og)
    auto multiply = [&](const T* a, ptrdiff_t a_row_stride, ptrdiff_t rows, T* out) {
        for (ptrdiff_t grp = 0; grp < g.groups; ++grp) {
            gemm(GemmProblem<T>{a + grp * Kg, 0, a_row_stride, 1,
                                packed.get() + grp * Og * Kg, 0, 1, Kg, out + grp * Og, 0, g.O, 1,
                                rows, Og, Kg, bias != nullptr});
        }
    };
    if (g.pointwise()) {
        multiply(x, g.C, g.N * P, y);
        return;
    }
    const ptrdiff_t chunk = images_per_chunk(g, depth * P);
    auto cols = buffer<T>(chunk * P * depth);
    for (ptrdiff_t n0 = 0; n0 < g.N; n0 += chunk) {
        const ptrdiff_t count = std::min(chunk, g.N - n0);
        im2col_rows(g, x, n0, count, cols.get());
        multiply(cols.get(), depth, count * P, y + n0 * P * g.O);
    }
}

template <typename T>
void backward_input_nhwc(const ConvGeometry& g, const T* grad, const T* weight, T* dx) {
    const ptrdiff_t P = g.pixels(), Kg = g.group_depth(), depth = g.C * g.taps();
    const ptrdiff_t Og = g.group_out();
    const auto packed = pack_weight(g, weight);
    // out_g (rows, Kg) = grad_g (rows, Og) @ packed_g (Og, Kg)
    auto multiply = [&](const T* grad_rows, ptrdiff_t rows, T* out, ptrdiff_t out_row_stride) {
        for (ptrdiff_t grp = 0; grp < g.groups; ++grp) {
            gemm(GemmProblem<T>{grad_rows + grp * Og, 0, g.O, 1, packed.get() + grp * Og * Kg, 0,
                                Kg, 1, out + grp * Kg, 0,
                                out_row_stride, 1, rows, Kg, Og, false});
        }
    };
    if (g.pointwise()) {
        multiply(grad, g.N * P, dx, g.C);
        return;
    }
    const ptrdiff_t chunk = images_per_chunk(g, depth * P);
    auto dcols = buffer<T>(chunk * P * depth);
    for (ptrdiff_t n0 = 0; n0 < g.N; n0 += chunk) {
        const ptrdiff_t count = std::min(chunk, g.N - n0);
        multiply(grad + n0 * P * g.O, count * P, dcols.get(), depth);
        col2im_rows(g, dcols.get(), n0, count, dx);
    }
}

template <typename T>
void backward_weight_nhwc(const ConvGeometry& g, const T* grad, const T* x, T* dweight) {
    const ptrdiff_t P = g.pixels(), Kg = g.group_depth(), depth = g.C * g.taps();
    const ptrdiff_t Og = g.group_out();
    auto packed = buffer<T>(g.O * Kg);   // (O, kh, kw, C/g)
    std::fill(packed.get(), packed.get() + g.O * Kg, T(0));
    // packed_g (Og, Kg) += grad_g^T (Og, rows) @ b (rows, Kg)
    auto multiply = [&](const T* grad_rows, const T* b, ptrdiff_t b_row_stride, ptrdiff_t rows) {
        for (ptrdiff_t grp = 0; grp < g.groups; ++grp) {
            gemm(GemmProblem<T>{grad_rows + grp * Og, 0, 1, g.O,
                                b + grp * Kg, 0, b_row_stride, 1,
                                packed.get() + grp * Og * Kg, 0, Kg, 1, Og, Kg, rows, true});
        }
    };
    if (g.pointwise()) {
        multiply(grad, x, g.C, g.N * P);
    } else {
        const ptrdiff_t chunk = images_per_chunk(g, depth * P);
        auto cols = buffer<T>(chunk * P * depth);
        for (ptrdiff_t n0 = 0; n0 < g.N; n0 += chunk) {
            const ptrdiff_t count = std::min(chunk, g.N - n0);
            im2col_rows(g, x, n0, count, cols.get());
            multiply(grad + n0 * P * g.O, cols.get(), depth, count * P);
        }
    }
    unpack_weight(g, packed.get(), dweight);
}

}  // namespace

template <typename T>
void conv_forward(const ConvGeometry& g, const T* x, const T* weight, const T* bias, T* y) {
    if (g.channels_last) {
        forward_nhwc(g, x, weight, bias, y);
    } else if (conv_direct_applies(g)) {
        conv_direct_forward(g, x, weight, bias, y);
    } else {
        forward_nchw(g, x, weight, bias, y);
    }
}

template <typename T>
void conv_backward_input(const ConvGeometry& g, const T* grad, const T* weight, T* dx) {
    if (g.channels_last) {
        backward_input_nhwc(g, grad, weight, dx);
    } else {
        backward_input_nchw(g, grad, weight, dx);
    }
}

template <typename T>
void conv_backward_weight(const ConvGeometry& g, const T* grad, const T* x, T* dweight,
                          T* dbias) {
    if (conv_direct_applies(g)) {   // dbias included
        conv_direct_backward_weight(g, grad, x, dweight, dbias);
        return;
    }
    bias_gradient(g, grad, dbias);
    if (g.channels_last) {
        backward_weight_nhwc(g, grad, x, dweight);
    } else {
        backward_weight_nchw(g, grad, x, dweight);
    }
}

template void conv_forward<float>(const ConvGeometry&, const float*, const float*, const float*,
                                  float*);
template void conv_forward<double>(const ConvGeometry&, const double*, const double*,
                                   const double*, double*);
template void conv_backward_input<float>(const ConvGeometry&, const float*, const float*, float*);
template void conv_backward_input<double>(const ConvGeometry&, const double*, const double*,
                                          double*);
template void conv_backward_weight<float>(const ConvGeometry&, const float*, const float*, float*,
                                          float*);
template void conv_backward_weight<double>(const ConvGeometry&, const double*, const double*,
                                           double*, double*);

}  // namespace tensorcore
