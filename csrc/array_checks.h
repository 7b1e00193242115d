// Checks on NumPy arrays reaching the extension: bad input raises TypeError (pybind11::
// type_error) or ValueError (std::invalid_argument) naming the op, never reads out of bounds.
#pragma once

#include <pybind11/numpy.h>

#include <string>
#include <vector>

enum class FloatType { float32, float64 };

// The float type of `a` (argument `name` of `op`); type_error unless native float32/float64.
FloatType float_type(const char* op, const char* name, const pybind11::array& a);

// type_error unless `a` has dtype `type`, like the op's first argument.
void require_float_type(const char* op, const char* name, const pybind11::array& a,
                        FloatType type);

// invalid_argument unless `a` is C-contiguous with an element-aligned data pointer.
void require_contiguous(const char* op, const char* name, const pybind11::array& a);

// float_type and require_contiguous: the float type of an op's first operand.
FloatType contiguous_float_type(const char* op, const char* name, const pybind11::array& a);

// require_float_type and require_contiguous: a further operand, of the first one's type.
void require_contiguous_float(const char* op, const char* name, const pybind11::array& a,
                              FloatType type);

// invalid_argument when `a` is 0-d: ops along the last axis need one.
void require_last_axis(const char* op, const char* name, const pybind11::array& a);

// invalid_argument unless `a` and `b` have one shape.
void require_same_shape(const char* op, const char* a_name, const pybind11::array& a,
                        const char* b_name, const pybind11::array& b);

// The operands of the backward of an op along the last axis, from its output y: grad and y
// float, C-contiguous, of one shape with at least one dimension -> their float type.
FloatType last_axis_backward_type(const char* op, const pybind11::array& grad,
                                  const pybind11::array& y);

// type_error unless `a` has dtype int64 / uint8.
void require_int64(const char* op, const char* name, const pybind11::array& a);
void require_uint8(const char* op, const char* name, const pybind11::array& a);

// Strides of `a` counted in elements; invalid_argument when a stride or the data pointer is
// not a whole number of elements.
std::vector<ptrdiff_t> element_strides(const char* op, const char* name, const pybind11::array& a);

// invalid_argument unless NumPy can make a float64 array of `shape` (a new output of `op`,
// its sizes from the caller): the product of its sizes, zeros counted as ones as NumPy counts
// them, times 8 bytes within ptrdiff_t.
void require_allocatable(const char* op, const char* name,
                         const std::vector<pybind11::ssize_t>& shape);

// "(2, 3)"
std::string shape_string(const std::vector<pybind11::ssize_t>& shape);
std::string shape_string(const pybind11::array& a);

// The sizes of `a`, to allocate an array like it or to compare shapes.
std::vector<pybind11::ssize_t> shape_of(const pybind11::array& a);

// `a`'s elements as T, once its dtype is checked.
template <typename T>
const T* data_of(const pybind11::array& a) {
    return static_cast<const T*>(a.data());
}
