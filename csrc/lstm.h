// LSTM steps and whole sequences for NumPy arrays, the "cpu.cpp" variants of the kernel
// catalog's lstm_cell, lstm_cell_backward, lstm_sequence and lstm_sequence_backward
// (tensorcore/kernels/catalog.py states the shapes). Operands are C-contiguous float32 or
// float64 arrays of one dtype; biases may be None. The gate GEMMs go through tensorcore::gemm,
// the rest is one fused pass per step (csrc/lstm_kernels_impl.h); the GIL is released.
#pragma once

#include <pybind11/numpy.h>

#include <optional>

namespace tensorcore {

// -> (h_new (B, H), c_new (B, H), gates (B, 4H))
pybind11::tuple lstm_cell(const pybind11::array& x, const pybind11::array& h,
                          const pybind11::array& c, const pybind11::array& w_ih,
                          const pybind11::array& w_hh, const std::optional<pybind11::array>& b_ih,
                          const std::optional<pybind11::array>& b_hh);

// -> (dx, dh_prev, dc_prev, dw_ih, dw_hh, dbias (4H,))
pybind11::tuple lstm_cell_backward(const pybind11::array& dh, const pybind11::array& dc,
                                   const pybind11::array& x, const pybind11::array& h,
                                   const pybind11::array& c, const pybind11::array& w_ih,
                                   const pybind11::array& w_hh, const pybind11::array& gates,
                                   const pybind11::array& c_new);

// x (T, B, I) -> (out (T, B, H), c_all (T, B, H), gates (T, B, 4H))
pybind11::tuple lstm_sequence(const pybind11::array& x, const pybind11::array& h0,
                              const pybind11::array& c0, const pybind11::array& w_ih,
                              const pybind11::array& w_hh,
                              const std::optional<pybind11::array>& b_ih,
                              const std::optional<pybind11::array>& b_hh);

// -> (dx (T, B, I), dh0, dc0, dw_ih, dw_hh, dbias (4H,))
pybind11::tuple lstm_sequence_backward(
    const pybind11::array& dout, const pybind11::array& dh_n, const pybind11::array& dc_n,
    const pybind11::array& x, const pybind11::array& h0, const pybind11::array& c0,
    const pybind11::array& w_ih, const pybind11::array& w_hh, const pybind11::array& out,
    const pybind11::array& c_all, const pybind11::array& gates);

}  // namespace tensorcore
