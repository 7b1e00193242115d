// max_pool2d and avg_pool2d with their backward passes for NumPy arrays (N, C, H, W) of any
// strides, float32 or float64, on the kernels of the active ISA. Channels-last input (C
// stride 1, an NHWC buffer seen as NCHW) gives channels-last output; anything else gives
// C-contiguous NCHW output. Signatures follow the kernel catalog
// (tensorcore/kernels/catalog.py); pairs are (height, width).
#pragma once

#include <pybind11/numpy.h>

#include <array>
#include <optional>

namespace tensorcore {

typedef std::array<ptrdiff_t, 2> Pair;

pybind11::tuple max_pool2d(const pybind11::array& x, Pair kernel, Pair stride, Pair padding,
                           Pair dilation, bool ceil_mode);
pybind11::array max_pool2d_backward(const pybind11::array& grad, const pybind11::array& indices,
                                    std::array<ptrdiff_t, 4> x_shape);
pybind11::array avg_pool2d(const pybind11::array& x, Pair kernel, Pair stride, Pair padding,
                           bool ceil_mode, bool count_include_pad,
                           std::optional<ptrdiff_t> divisor_override);
pybind11::array avg_pool2d_backward(const pybind11::array& grad, std::array<ptrdiff_t, 4> x_shape,
                                    Pair kernel, Pair stride, Pair padding, bool ceil_mode,
                                    bool count_include_pad,
                                    std::optional<ptrdiff_t> divisor_override);

}  // namespace tensorcore
