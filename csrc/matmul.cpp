#include "matmul.h"

#include <stdexcept>
#include <string>

#include "array_checks.h"
#include "cached_array.h"
#include "gemm.h"

namespace py = pybind11;

namespace {

// A matrix or a stack of matrices (batch, rows, cols), strides in elements; the batch stride
// of a single matrix is 0, so it is reused for every matrix of the other operand's batch.
struct MatrixStack {
    ptrdiff_t batch, rows, cols;
    ptrdiff_t batch_stride, row_stride, col_stride;
};

MatrixStack matrix_stack(const char* name, const py::array& a) {
    const std::vector<ptrdiff_t> strides = element_strides("matmul", name, a);
    const bool stacked = a.ndim() == 3;
    MatrixStack m;
    m.batch = stacked ? a.shape(0) : 1;
    m.rows = a.shape(a.ndim() - 2);
    m.cols = a.shape(a.ndim() - 1);
    m.batch_stride = stacked && m.batch != 1 ? strides[0] : 0;
    m.row_stride = strides[a.ndim() - 2];
    m.col_stride = strides[a.ndim() - 1];
    return m;
}

template <typename T>
py::array multiply(const py::array& a_array, const py::array& b_array, const MatrixStack& a,
                   const MatrixStack& b) {
    const ptrdiff_t batch = a.batch == 1 ? b.batch : a.batch;
    std::vector<py::ssize_t> out_shape{a.rows, b.cols};
    if (a_array.ndim() == 3 || b_array.ndim() == 3) out_shape.insert(out_shape.begin(), batch);
    require_allocatable("matmul", "output", out_shape);
    py::array_t<T> out = cached_array<T>(out_shape);
    if (batch == 0 || a.rows == 0 || b.cols == 0) return out;
    GemmProblem<T> p{static_cast<const T*>(a_array.data()), a.batch_stride, a.row_stride,
                     a.col_stride, static_cast<const T*>(b_array.data()), b.batch_stride,
                     b.row_stride, b.col_stride, out.mutable_data(), a.rows * b.cols, b.cols,
                     batch, a.rows, b.cols, a.cols, false};
    // One b for the whole batch and a's matrices stacked at a fixed row pitch: one tall product.
    if (p.batch > 1 && p.b_batch_stride == 0 && p.a_batch_stride == p.m * p.a_row_stride) {
        p.m *= p.batch;
        p.batch = 1;
    }
    {
        py::gil_scoped_release release;
        tensorcore::gemm(p);
    }
    return out;
}

}  // namespace

namespace tensorcore {

py::array matmul(const py::array& a, const py::array& b) {
    const FloatType type = float_type("matmul", "a", a);
    require_float_type("matmul", "b", b, type);
    if (a.ndim() < 2 || a.ndim() > 3 || b.ndim() < 2 || b.ndim() > 3) {
        throw std::invalid_argument("matmul: expected 2-D or 3-D operands, got shapes " +
                                    shape_string(a) + " and " + shape_string(b));
    }
    const MatrixStack left = matrix_stack("a", a), right = matrix_stack("b", b);
    if (left.cols != right.rows) {
        throw std::invalid_argument("matmul: inner dimensions differ: a has shape " +
                                    shape_string(a) + ", b has shape " + shape_string(b));
    }
    if (left.batch != right.batch && left.batch != 1 && right.batch != 1) {
        throw std::invalid_argument("matmul: batch dimensions of " + shape_string(a) + " and " +
                                    shape_string(b) + " do not broadcast");
    }
    return type == FloatType::float32 ? multiply<float>(a, b, left, right)
                                      : multiply<double>(a, b, left, right);
}

}  // namespace tensorcore
