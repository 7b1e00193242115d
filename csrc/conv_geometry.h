// The shape of one 2-D convolution and the algorithms that run it on raw pointers: im2col
// lowering onto tensorcore::gemm (conv_lowering_*.cpp), direct kernels for NCHW images
// (conv_direct.cpp, conv_kernels_<isa>.cpp), Winograd F(4x4, 3x3) (conv_winograd.cpp) and, for
// the weight gradient, row-pair Winograd F(2, 3) (conv_winograd_rows.cpp). Callers (conv.cpp)
// check the arrays and release the GIL.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tensorcore {

// x (N, C, H, W), weight (O, C/groups, kh, kw), y (N, O, OH, OW). With channels_last, x, y
// and their gradients are NHWC in memory ((N, H, W, C) and (N, OH, OW, O) C-contiguous);
// otherwise NCHW C-contiguous. The weight is always (O, C/groups, kh, kw) C-contiguous.
struct ConvGeometry {
    ptrdiff_t N, C, H, W;
    ptrdiff_t O, kh, kw;
    ptrdiff_t OH, OW;
    ptrdiff_t sh, sw;                   // stride
    ptrdiff_t pad_top, pad_bottom, pad_left, pad_right;
    ptrdiff_t dh, dw;                   // dilation
    ptrdiff_t groups;
    bool channels_last;

    ptrdiff_t group_in() const { return C / groups; }
    ptrdiff_t group_out() const { return O / groups; }
    ptrdiff_t taps() const { return kh * kw; }
    ptrdiff_t group_depth() const { return group_in() * kh * kw; }   // GEMM k of one group
    ptrdiff_t pixels() const { return OH * OW; }                     // output pixels per image
    // 1x1, stride 1, unpadded: the image itself is the im2col matrix
    bool pointwise() const {
        return kh == 1 && kw == 1 && sh == 1 && sw == 1 && pad_top == 0 && pad_bottom == 0 &&
               pad_left == 0 && pad_right == 0;
    }
};

// The entry points below pick an algorithm per shape. With `winograd` false they never pick
// Winograd, whose transforms mix a tile's pixels: there one Inf or NaN input makes its whole
// tile NaN, and a huge value rounds its neighbours' outputs at its own scale. The direct
// kernels and the GEMM lowering sum each output over its own window only.

// y = conv(x, weight) + bias (bias may be null).
template <typename T>
void conv_forward(const ConvGeometry& g, const T* x, const T* weight, const T* bias, T* y,
                  bool winograd);

// dx = the gradient of the forward pass's x for output gradient `grad`.
template <typename T>
void conv_backward_input(const ConvGeometry& g, const T* grad, const T* weight, T* dx,
                         bool winograd);

// dweight (O, C/groups, kh, kw) and dbias (O,) for output gradient `grad`.
template <typename T>
void conv_backward_weight(const ConvGeometry& g, const T* grad, const T* x, T* dweight,
                          T* dbias, bool winograd);

// The direct kernels (conv_direct.cpp), for NCHW inputs where conv_direct_*_applies;
// the conv_* entry points pick them themselves.
bool conv_direct_forward_applies(const ConvGeometry& g);
bool conv_direct_input_applies(const ConvGeometry& g);
bool conv_direct_weight_applies(const ConvGeometry& g);
template <typename T>
void conv_direct_forward(const ConvGeometry& g, const T* x, const T* weight, const T* bias, T* y);
template <typename T>
void conv_direct_backward_input(const ConvGeometry& g, const T* grad, const T* weight, T* dx);
template <typename T>
void conv_direct_backward_weight(const ConvGeometry& g, const T* grad, const T* x, T* dweight,
                                 T* dbias);

// Winograd F(4x4, 3x3) (conv_winograd.cpp), NCHW or channels-last: it applies to 3x3 kernels at
// stride 1 and dilation 1 without groups and with padding up to 2; the conv_* entry points
// pick it where it pays (enough input channels for the products to outweigh the transforms).
bool conv_winograd_applies(const ConvGeometry& g);
bool conv_winograd_pays(const ConvGeometry& g);
template <typename T>
void conv_winograd_forward(const ConvGeometry& g, const T* x, const T* weight, const T* bias,
                           T* y);
template <typename T>
void conv_winograd_backward_input(const ConvGeometry& g, const T* grad, const T* weight, T* dx);
template <typename T>
void conv_winograd_backward_weight(const ConvGeometry& g, const T* grad, const T* x, T* dweight,
                                   T* dbias);

// Row-pair Winograd F(2, 3) (conv_winograd_rows.cpp), NCHW only: it applies to 3x3 kernels
// at stride 1 and dilation 1 without groups and output rows of at least 16 pixels, any
// padding; the conv_* entry points pick it for the forward or the weight gradient where it
// pays (few input channels, AVX-512). With one input channel and even output rows its
// forward runs 2-D F(2x2, 3x3) tiles. The input gradient has no row-pair path.
bool conv_winograd_rows_applies(const ConvGeometry& g);
bool conv_winograd_rows_pays(const ConvGeometry& g, bool forward);
template <typename T>
void conv_winograd_rows_forward(const ConvGeometry& g, const T* x, const T* weight,
                                const T* bias, T* y);
template <typename T>
void conv_winograd_rows_backward_weight(const ConvGeometry& g, const T* grad, const T* x,
                                        T* dweight, T* dbias);
// conv2d, then a 2x2 max pool at stride 2, in one pass where the 2-D tiles' 2x2 outputs are
// the pool's windows (one input channel, even output rows, AVX-512): y (N, O, OH / 2, OW / 2)
// and taps (the same shape, NCHW in memory), where in its window each maximum lies, 2 * row +
// column (max_pool2d picks the same maxima). The forward's own output is never made. With
// channels_last (x has one channel, so either layout is its memory) y is NHWC in memory: each
// image's planes are made in the worker's buffer and transposed into y. Whether it applies to
// g, then the pass.
bool conv_tiles_max_pool_applies(const ConvGeometry& g);
template <typename T>
void conv_tiles_max_pool_forward(const ConvGeometry& g, const T* x, const T* weight,
                                 const T* bias, T* y, uint8_t* taps);
// The weight gradient (dbias too) of that pass from the pooled gradient (N, O, OH / 2, OW / 2)
// and its taps, never making the conv's gradient (N, O, OH, OW), where the row-pair weight
// gradient pays (AVX-512, NCHW; output rows and columns at least 2). With channels_last (one
// input channel only) the pooled gradient is NHWC in memory, each image's transposed first.
// Whether it applies to g, then the pass: false where a tap lies past 3.
bool conv_tiles_max_pool_backward_applies(const ConvGeometry& g);
template <typename T>
bool conv_tiles_max_pool_backward_weight(const ConvGeometry& g, const T* pooled_grad,
                                         const uint8_t* taps, const T* x, T* dweight,
                                         T* dbias);

}  // namespace tensorcore
