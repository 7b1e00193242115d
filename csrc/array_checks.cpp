#include "array_checks.h"

#include <cstdint>
#include <stdexcept>

namespace py = pybind11;

namespace {

std::string dtype_string(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

const char* float_type_name(FloatType type) {
    return type == FloatType::float32 ? "float32" : "float64";
}

bool element_aligned(const py::array& a) {
    return reinterpret_cast<std::uintptr_t>(a.data()) % a.itemsize() == 0;
}

}  // namespace

FloatType float_type(const char* op, const char* name, const py::array& a) {
    if (py::isinstance<py::array_t<float>>(a)) return FloatType::float32;
    if (py::isinstance<py::array_t<double>>(a)) return FloatType::float64;
    throw py::type_error(std::string(op) + ": expected " + name +
                         " of dtype float32 or float64, got " + dtype_string(a));
}

void require_float_type(const char* op, const char* name, const py::array& a, FloatType type) {
    const bool same = type == FloatType::float32 ? py::isinstance<py::array_t<float>>(a)
                                                 : py::isinstance<py::array_t<double>>(a);
    if (!same) {
        throw py::type_error(std::string(op) + ": expected " + name + " of dtype " +
                             float_type_name(type) + " like the first operand, got " +
                             dtype_string(a));
    }
}

void require_contiguous(const char* op, const char* name, const py::array& a) {
    if (!(a.flags() & py::array::c_style) || !element_aligned(a)) {
        throw std::invalid_argument(std::string(op) + ": expected " + name +
                                    " to be C-contiguous and aligned (use "
                                    "numpy.ascontiguousarray)");
    }
}

FloatType contiguous_float_type(const char* op, const char* name, const py::array& a) {
    const FloatType type = float_type(op, name, a);
    require_contiguous(op, name, a);
    return type;
}

void require_contiguous_float(const char* op, const char* name, const py::array& a,
                              FloatType type) {
    require_float_type(op, name, a, type);
    require_contiguous(op, name, a);
}

void require_last_axis(const char* op, const char* name, const py::array& a) {
    if (a.ndim() < 1) {
        throw std::invalid_argument(std::string(op) + ": expected " + name +
                                    " with at least one dimension, got a scalar");
    }
}

void require_same_shape(const char* op, const char* a_name, const py::array& a,
                        const char* b_name, const py::array& b) {
    if (shape_of(a) != shape_of(b)) {
        throw std::invalid_argument(std::string(op) + ": expected " + a_name + " and " + b_name +
                                    " of one shape, got " + shape_string(a) + " and " +
                                    shape_string(b));
    }
}

FloatType last_axis_backward_type(const char* op, const py::array& grad, const py::array& y) {
    const FloatType type = contiguous_float_type(op, "grad", grad);
    require_last_axis(op, "grad", grad);
    require_contiguous_float(op, "y", y, type);
    require_same_shape(op, "grad", grad, "y", y);
    return type;
}

namespace {

template <typename T>
void require_dtype(const char* op, const char* name, const py::array& a, const char* dtype) {
    if (!py::isinstance<py::array_t<T>>(a)) {
        throw py::type_error(std::string(op) + ": expected " + name + " of dtype " + dtype +
                             ", got " + dtype_string(a));
    }
}

}  // namespace

void require_int64(const char* op, const char* name, const py::array& a) {
    require_dtype<int64_t>(op, name, a, "int64");
}

void require_uint8(const char* op, const char* name, const py::array& a) {
    require_dtype<uint8_t>(op, name, a, "uint8");
}

std::vector<ptrdiff_t> element_strides(const char* op, const char* name, const py::array& a) {
    std::vector<ptrdiff_t> strides(a.ndim());
    for (py::ssize_t d = 0; d < a.ndim(); ++d) {
        if (a.strides(d) % a.itemsize() != 0) {
            throw std::invalid_argument(std::string(op) + ": " + name + " has stride " +
                                        std::to_string(a.strides(d)) + " bytes on axis " +
                                        std::to_string(d) + ", not a multiple of its " +
                                        std::to_string(a.itemsize()) + "-byte elements");
        }
        strides[d] = a.strides(d) / a.itemsize();
    }
    if (!element_aligned(a)) {
        throw std::invalid_argument(std::string(op) + ": " + name +
                                    "'s data is not aligned to its element size");
    }
    return strides;
}

void require_allocatable(const char* op, const char* name,
                         const std::vector<py::ssize_t>& shape) {
    long double bytes = 8;
    for (py::ssize_t size : shape) bytes *= size > 1 ? size : 1;
    if (bytes > static_cast<long double>(PTRDIFF_MAX)) {
        throw std::invalid_argument(std::string(op) + ": " + name + " of shape " +
                                    shape_string(shape) + " is too large for an array");
    }
}

std::string shape_string(const std::vector<py::ssize_t>& shape) {
    std::string text = "(";
    for (size_t d = 0; d < shape.size(); ++d) text += (d ? ", " : "") + std::to_string(shape[d]);
    return text + (shape.size() == 1 ? ",)" : ")");
}

std::string shape_string(const py::array& a) { return shape_string(shape_of(a)); }

std::vector<py::ssize_t> shape_of(const py::array& a) {
    return std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim());
}
