// bias_act (y = act(x + bias) along the last axis) and its backward pass for C-contiguous
// float32/float64 NumPy arrays, on the kernels of the active ISA. activation: "none", "relu",
// "sigmoid" or "tanh". Signatures follow the kernel catalog (tensorcore/kernels/catalog.py).
#pragma once

#include <pybind11/numpy.h>

#include <string>

namespace tensorcore {

pybind11::array bias_act(const pybind11::array& x, const pybind11::array& bias,
                         const std::string& activation);
// -> (dx, dbias)
pybind11::tuple bias_act_backward(const pybind11::array& grad, const pybind11::array& y,
                                  const std::string& activation);

}  // namespace tensorcore
