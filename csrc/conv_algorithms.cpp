// The convolution entry points of conv_geometry.h: each picks Winograd where it pays (2-D, or
// row-pair for few input channels) and is allowed, else the direct kernels or the GEMM
// lowering for its memory format.
#include <vector>

#include "conv_lowering.h"

namespace tensorcore {

// dbias[o] = the sum of grad over images and pixels, for grad (N, O, P) or, channels last,
// (N*P, O). Short runs are summed in T along independent lanes (which vectorise), the runs
// in double. NCHW threads split the channels, so any thread count adds in the same order.
template <typename T>
void conv_bias_gradient(const ConvGeometry& g, const T* grad, T* dbias) {
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
#pragma omp parallel for num_threads(conv_loop_threads(g.N * P * g.O)) schedule(static)
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
void conv_forward(const ConvGeometry& g, const T* x, const T* weight, const T* bias, T* y,
                  bool winograd) {
    if (winograd && conv_winograd_pays(g)) {
        conv_winograd_forward(g, x, weight, bias, y);
    } else if (nhwc_direct_applies(g, true)) {
        nhwc_direct_forward(g, x, weight, bias, y);
    } else if (g.channels_last) {
        nhwc_forward(g, x, weight, bias, y);
    } else if (winograd && conv_winograd_rows_pays(g, true)) {
        conv_winograd_rows_forward(g, x, weight, bias, y);
    } else if (conv_direct_forward_applies(g)) {
        conv_direct_forward(g, x, weight, bias, y);
    } else {
        nchw_forward(g, x, weight, bias, y);
    }
}

template <typename T>
void conv_backward_input(const ConvGeometry& g, const T* grad, const T* weight, T* dx,
                         bool winograd) {
    if (winograd && conv_winograd_pays(g)) {
        conv_winograd_backward_input(g, grad, weight, dx);
    } else if (g.channels_last) {
        nhwc_backward_input(g, grad, weight, dx);
    } else if (conv_direct_input_applies(g)) {
        conv_direct_backward_input(g, grad, weight, dx);
    } else {
        nchw_backward_input(g, grad, weight, dx);
    }
}

template <typename T>
void conv_backward_weight(const ConvGeometry& g, const T* grad, const T* x, T* dweight,
                          T* dbias, bool winograd) {
    if (winograd && conv_winograd_pays(g)) {   // dbias included
        conv_winograd_backward_weight(g, grad, x, dweight, dbias);
        return;
    }
    if (winograd && conv_winograd_rows_pays(g, false)) {   // dbias included
        conv_winograd_rows_backward_weight(g, grad, x, dweight, dbias);
        return;
    }
    if (conv_direct_weight_applies(g)) {   // dbias included
        conv_direct_backward_weight(g, grad, x, dweight, dbias);
        return;
    }
    if (nhwc_direct_applies(g, false)) {   // dbias included
        nhwc_direct_backward_weight(g, grad, x, dweight, dbias);
        return;
    }
    conv_bias_gradient(g, grad, dbias);
    if (g.channels_last) {
        nhwc_backward_weight(g, grad, x, dweight);
    } else {
        nchw_backward_weight(g, grad, x, dweight);
    }
}

template void conv_forward<float>(const ConvGeometry&, const float*, const float*, const float*,
                                  float*, bool);
template void conv_forward<double>(const ConvGeometry&, const double*, const double*,
                                   const double*, double*, bool);
template void conv_backward_input<float>(const ConvGeometry&, const float*, const float*, float*,
                                         bool);
template void conv_backward_input<double>(const ConvGeometry&, const double*, const double*,
                                          double*, bool);
template void conv_backward_weight<float>(const ConvGeometry&, const float*, const float*, float*,
                                          float*, bool);
template void conv_backward_weight<double>(const ConvGeometry&, const double*, const double*,
                                           double*, double*, bool);

template void conv_bias_gradient<float>(const ConvGeometry&, const float*, float*);
template void conv_bias_gradient<double>(const ConvGeometry&, const double*, double*);

}  // namespace tensorcore
