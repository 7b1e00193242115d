// Elementwise activations for NumPy arrays, on the kernels of the active ISA. Operands are
// C-contiguous float32 or float64 arrays of one shape and dtype; signatures follow the kernel
// catalog (tensorcore/kernels/catalog.py).
#pragma once

#include <pybind11/numpy.h>

#include <string>

namespace tensorcore {

pybind11::array relu(const pybind11::array& x);
pybind11::array relu_backward(const pybind11::array& grad, const pybind11::array& x,
                              const pybind11::array& y);
pybind11::array leaky_relu(const pybind11::array& x, double negative_slope);
pybind11::array leaky_relu_backward(const pybind11::array& grad, const pybind11::array& x,
                                    const pybind11::array& y, double negative_slope);
pybind11::array sigmoid(const pybind11::array& x);
pybind11::array sigmoid_backward(const pybind11::array& grad, const pybind11::array& x,
                                 const pybind11::array& y);
pybind11::array tanh(const pybind11::array& x);
pybind11::array tanh_backward(const pybind11::array& grad, const pybind11::array& x,
                              const pybind11::array& y);
// approximate: "none" (exact, through erf) or "tanh"
pybind11::array gelu(const pybind11::array& x, const std::string& approximate);
pybind11::array gelu_backward(const pybind11::array& grad, const pybind11::array& x,
                              const pybind11::array& y, const std::string& approximate);

}  // namespace tensorcore
