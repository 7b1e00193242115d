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

// Strides of `a` counted in elements; invalid_argument when a stride or the data pointer is
// not a whole number of elements.
std::vector<ptrdiff_t> element_strides(const char* op, const char* name, const pybind11::array& a);

// "(2, 3)"
std::string shape_string(const pybind11::array& a);
