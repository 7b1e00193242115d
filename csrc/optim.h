// sgd_step, adam_step and rmsprop_step: optimizer updates in place on C-contiguous
// float32/float64 NumPy arrays of one shape (the parameter, its gradient and the optimizer's
// state), on the kernels of the active ISA. Signatures follow the kernel catalog
// (tensorcore/kernels/catalog.py); absent state is None.
#pragma once

#include <pybind11/numpy.h>

#include <optional>

namespace tensorcore {

void sgd_step(const pybind11::array& param, const pybind11::array& grad,
              const std::optional<pybind11::array>& velocity, double lr, double momentum,
              bool nesterov, double weight_decay);
void adam_step(const pybind11::array& param, const pybind11::array& grad,
               const pybind11::array& exp_avg, const pybind11::array& exp_avg_sq, long long step,
               double lr, double beta1, double beta2, double eps, double weight_decay,
               bool decoupled);
void rmsprop_step(const pybind11::array& param, const pybind11::array& grad,
                  const pybind11::array& square_avg,
                  const std::optional<pybind11::array>& momentum_buffer,
                  const std::optional<pybind11::array>& grad_avg, double lr, double alpha,
                  double eps, double weight_decay, double momentum);

}  // namespace tensorcore
