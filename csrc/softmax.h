// softmax and log_softmax along the last axis, the fused cross-entropy and the NLL loss, with
// their backward passes, for C-contiguous float32/float64 NumPy arrays on the kernels of the
// active ISA. Signatures follow the kernel catalog (tensorcore/kernels/catalog.py); targets
// are int64 class indices, checked.
#pragma once

#include <pybind11/numpy.h>

namespace tensorcore {

pybind11::array softmax(const pybind11::array& x);
pybind11::array softmax_backward(const pybind11::array& grad, const pybind11::array& y);
pybind11::array log_softmax(const pybind11::array& x);
pybind11::array log_softmax_backward(const pybind11::array& grad, const pybind11::array& y);
pybind11::tuple cross_entropy(const pybind11::array& logits, const pybind11::array& target);
pybind11::array cross_entropy_backward(const pybind11::array& grad,
                                       const pybind11::array& log_probs,
                                       const pybind11::array& target);
pybind11::array nll_loss(const pybind11::array& log_probs, const pybind11::array& target);
pybind11::array nll_loss_backward(const pybind11::array& grad, const pybind11::array& log_probs,
                                  const pybind11::array& target);

}  // namespace tensorcore
