// matmul for NumPy arrays, on the GEMM kernels of the active ISA.
#pragma once

#include <pybind11/numpy.h>

namespace tensorcore {

// a (M, K) or (Ba, M, K) @ b (K, N) or (Bb, K, N) -> (M, N), or (B, M, N) when either is
// 3-D; Ba and Bb equal or one of them 1 (broadcast). float32 or float64, both alike; any
// strides (transposed and sliced views are read in place).
pybind11::array matmul(const pybind11::array& a, const pybind11::array& b);

}  // namespace tensorcore
