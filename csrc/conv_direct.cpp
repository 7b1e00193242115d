// Direct convolution for NCHW images with few input taps (the first layers of image models,
// C*kh*kw of a few dozen), where a GEMM's packing costs more than its arithmetic: each thread
// takes whole images, builds the image's im2col matrix in a buffer that stays in L1/L2, and
// runs the register-blocked kernels of conv_kernels_<isa>.cpp on it.
#include <omp.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "conv_geometry.h"
#include "conv_im2col.h"
#include "conv_kernels.h"
#include "isa.h"
#include "threads.h"

namespace tensorcore {

namespace {

// Beyond this many taps the GEMM lowering is faster (measured with benchmarks/conv_cpu.py).
constexpr ptrdiff_t direct_max_depth = 32;

ptrdiff_t round_up(ptrdiff_t n, ptrdiff_t multiple) { return (n + multiple - 1) / multiple * multiple; }

// im2col of image n into cols (C*kh*kw rows, pixels_padded apart); the pixel padding of each
// row stays as the caller zeroed it.
template <typename T>
void image_columns(const ConvGeometry& g, const T* x, ptrdiff_t n, T* cols,
                   ptrdiff_t pixels_padded) {
    for (ptrdiff_t c = 0; c < g.C; ++c) {
        im2col_plane(g, x + (n * g.C + c) * g.H * g.W, cols + c * g.taps() * pixels_padded,
                     pixels_padded);
    }
}

}  // namespace

bool conv_direct_applies(const ConvGeometry& g) {
    return !g.channels_last && g.groups == 1 && g.N > 0 && g.C * g.taps() <= direct_max_depth;
}

template <typename T>
void conv_direct_forward(const ConvGeometry& g, const T* x, const T* weight, const T* bias,
                         T* y) {
    const ptrdiff_t depth = g.C * g.taps(), P = g.pixels();
    const ptrdiff_t pixels_padded = round_up(P, conv_pixel_block<T>);
    const ptrdiff_t out_padded = round_up(g.O, conv_out_block);
    std::vector<T> weight_padded(out_padded * depth, T(0)), bias_padded(out_padded, T(0));
    std::copy(weight, weight + g.O * depth, weight_padded.begin());
    if (bias) std::copy(bias, bias + g.O, bias_padded.begin());
    const int threads = static_cast<int>(std::min<ptrdiff_t>(num_threads(), g.N));
    std::vector<T> cols(threads * depth * pixels_padded, T(0));
    const Isa isa = active_isa();
#pragma omp parallel num_threads(threads)
    {
        T* own = cols.data() + omp_get_thread_num() * depth * pixels_padded;
#pragma omp for schedule(static)
        for (ptrdiff_t n = 0; n < g.N; ++n) {
            image_columns(g, x, n, own, pixels_padded);
            TC_ISA_CALL(isa, conv_image_forward(own, depth, P, pixels_padded,
                                                weight_padded.data(), bias_padded.data(), g.O,
                                                y + n * g.O * P));
        }
    }
}

// dweight and dbias. Threads sum disjoint images into their own partial sums, added in a
// fixed order.
template <typename T>
void conv_direct_backward_weight(const ConvGeometry& g, const T* grad, const T* x, T* dweight,
                                 T* dbias) {
    const ptrdiff_t depth = g.C * g.taps(), P = g.pixels();
    const ptrdiff_t depth_padded = round_up(depth, conv_depth_block);
    const ptrdiff_t pixels_padded = round_up(P, conv_pixel_block<T>);
    // per thread: dweight (O padded, depth_padded), then dbias (O padded)
    const ptrdiff_t out_padded = round_up(g.O, conv_out_block);
    const ptrdiff_t partial_size = out_padded * (depth_padded + 1);
    const int threads = static_cast<int>(std::min<ptrdiff_t>(num_threads(), g.N));
    std::vector<T> cols(threads * depth_padded * pixels_padded, T(0));
    std::vector<double> partial(threads * partial_size, 0.0);
    const Isa isa = active_isa();
#pragma omp parallel num_threads(threads)
    {
        const int t = omp_get_thread_num();
        T* own = cols.data() + t * depth_padded * pixels_padded;
#pragma omp for schedule(static)
        for (ptrdiff_t n = 0; n < g.N; ++n) {
            image_columns(g, x, n, own, pixels_padded);
            TC_ISA_CALL(isa, conv_image_weight_gradient(grad + n * g.O * P, own, depth_padded, P,
                                                        pixels_padded, g.O,
                                                        partial.data() + t * partial_size,
                                                        partial.data() + t * partial_size +
                                                            out_padded * depth_padded));
        }
    }
    for (ptrdiff_t o = 0; o < g.O; ++o) {
        for (ptrdiff_t k = 0; k < depth; ++k) {
            double sum = 0;
            for (int t = 0; t < threads; ++t) sum += partial[t * partial_size + o * depth_padded + k];
            dweight[o * depth + k] = static_cast<T>(sum);
        }
        double sum = 0;
        for (int t = 0; t < threads; ++t) sum += partial[t * partial_size + out_padded * depth_padded + o];
        dbias[o] = static_cast<T>(sum);
    }
}

template void conv_direct_forward<float>(const ConvGeometry&, const float*, const float*,
                                         const float*, float*);
template void conv_direct_forward<double>(const ConvGeometry&, const double*, const double*,
                                          const double*, double*);
template void conv_direct_backward_weight<float>(const ConvGeometry&, const float*,
                                                 const float*, float*, float*);
template void conv_direct_backward_weight<double>(const ConvGeometry&, const double*,
                                                  const double*, double*, double*);

}  // namespace tensorcore
