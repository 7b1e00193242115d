// conv2d and its two backward passes for NumPy arrays (signatures of the kernel catalog,
// tensorcore/kernels/catalog.py). Images are NCHW C-contiguous, or channels-last: NCHW-shaped
// views of NHWC memory, answered in the same memory format. The weight is C-contiguous
// (O, C/groups, kh, kw); stride and dilation are (h, w), padding (top, bottom, left, right).
// algorithm "auto" picks the kernels per shape; "winograd" forces Winograd F(4x4, 3x3) and,
// for the forward and the weight gradient, "winograd_rows" the row-pair Winograd F(2, 3);
// both raise ValueError where they do not apply.
#pragma once

#include <pybind11/numpy.h>

#include <array>
#include <string>
#include <vector>

namespace tensorcore {

pybind11::array conv2d(const pybind11::array& x, const pybind11::array& weight,
                       const pybind11::object& bias, std::array<ptrdiff_t, 2> stride,
                       std::array<ptrdiff_t, 4> padding, std::array<ptrdiff_t, 2> dilation,
                       ptrdiff_t groups, const std::string& algorithm);
// conv2d, then max_pool2d with 2x2 windows at stride 2 -> (y (N, O, OH / 2, OW / 2), taps
// uint8, where in its window each maximum lies, 2 * row + column), in one pass where one
// applies (the first layer of a CNN on images: one input channel, conv_tiles_max_pool_applies),
// else None. y is in x's memory format (a one-channel x with a unit channel stride, as Keras'
// x_nhwc.transpose(0, 3, 1, 2), gets a channels-last y), taps NCHW C-contiguous.
pybind11::object conv2d_max_pool2d(const pybind11::array& x, const pybind11::array& weight,
                                   const pybind11::object& bias, std::array<ptrdiff_t, 2> stride,
                                   std::array<ptrdiff_t, 4> padding,
                                   std::array<ptrdiff_t, 2> dilation, ptrdiff_t groups);
// The weight gradient (dweight, dbias) of conv2d_max_pool2d from the pooled gradient (N, O,
// OH / 2, OW / 2) and its taps (C-contiguous): without making the conv's gradient, where that
// applies (conv_tiles_max_pool_backward_applies), else None. grad and x as conv2d_backward_weight
// takes them: both NCHW, or both channels-last (then x with one channel only).
pybind11::object conv2d_max_pool2d_backward_weight(
    const pybind11::array& grad, const pybind11::array& taps, const pybind11::array& x,
    const std::vector<ptrdiff_t>& weight_shape, std::array<ptrdiff_t, 2> stride,
    std::array<ptrdiff_t, 4> padding, std::array<ptrdiff_t, 2> dilation, ptrdiff_t groups);
pybind11::array conv2d_backward_input(const pybind11::array& grad, const pybind11::array& weight,
                                      const std::vector<ptrdiff_t>& x_shape,
                                      std::array<ptrdiff_t, 2> stride,
                                      std::array<ptrdiff_t, 4> padding,
                                      std::array<ptrdiff_t, 2> dilation, ptrdiff_t groups,
                                      const std::string& algorithm);
// -> (dweight, dbias)
pybind11::tuple conv2d_backward_weight(const pybind11::array& grad, const pybind11::array& x,
                                       const std::vector<ptrdiff_t>& weight_shape,
                                       std::array<ptrdiff_t, 2> stride,
                                       std::array<ptrdiff_t, 4> padding,
                                       std::array<ptrdiff_t, 2> dilation, ptrdiff_t groups,
                                      const std::string& algorithm);

}  // namespace tensorcore
