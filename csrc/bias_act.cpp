#include "bias_act.h"

#include <stdexcept>
#include <vector>

#include "array_checks.h"
#include "bias_act_kernels.h"
#include "isa.h"
#include "threads.h"

namespace py = pybind11;

namespace {

std::vector<py::ssize_t> shape_of(const py::array& a) {
    return std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim());
}

template <typename T>
const T* data_of(const py::array& a) {
    return static_cast<const T*>(a.data());
}

BiasActivation activation_of(const char* op, const std::string& name) {
    if (name == "none") return BiasActivation::none;
    if (name == "relu") return BiasActivation::relu;
    if (name == "sigmoid") return BiasActivation::sigmoid;
    if (name == "tanh") return BiasActivation::tanh;
    throw std::invalid_argument(std::string(op) + ": activation must be 'none', 'relu', "
                                "'sigmoid' or 'tanh', got '" + name + "'");
}

// A float, C-contiguous array of at least one dimension -> its dtype.
FloatType checked(const char* op, const char* name, const py::array& a) {
    const FloatType type = float_type(op, name, a);
    require_contiguous(op, name, a);
    if (a.ndim() < 1) {
        throw std::invalid_argument(std::string(op) + ": expected " + name +
                                    " of shape (..., F), got a scalar");
    }
    return type;
}

ptrdiff_t features_of(const py::array& a) { return a.shape(a.ndim() - 1); }

ptrdiff_t rows_of(const py::array& a) {
    return features_of(a) ? a.size() / features_of(a) : 0;
}

template <typename T>
py::array forward_typed(BiasActivation f, const py::array& x, const py::array& bias) {
    py::array_t<T> y(shape_of(x));
    const Isa isa = active_isa();
    const int threads = num_threads();
    {
        py::gil_scoped_release release;
        TC_ISA_CALL(isa, bias_act_forward(f, data_of<T>(x), data_of<T>(bias), y.mutable_data(),
                                          rows_of(x), features_of(x), threads));
    }
    return y;
}

template <typename T>
py::tuple backward_typed(BiasActivation f, const py::array& grad, const py::array& y) {
    const ptrdiff_t rows = rows_of(y), features = features_of(y);
    py::array_t<T> dx(shape_of(y)), dbias(features);
    std::vector<T> partials(bias_act_blocks(rows, features) * features);
    const Isa isa = active_isa();
    const int threads = num_threads();
    {
        py::gil_scoped_release release;
        TC_ISA_CALL(isa, bias_act_backward(f, data_of<T>(grad), data_of<T>(y), dx.mutable_data(),
                                           dbias.mutable_data(), partials.data(), rows, features,
                                           threads));
    }
    return py::make_tuple(dx, dbias);
}

}  // namespace

namespace tensorcore {

py::array bias_act(const py::array& x, const py::array& bias, const std::string& activation) {
    const char* op = "bias_act";
    const BiasActivation f = activation_of(op, activation);
    const FloatType type = checked(op, "x", x);
    require_float_type(op, "bias", bias, type);
    require_contiguous(op, "bias", bias);
    if (bias.ndim() != 1 || bias.shape(0) != features_of(x)) {
        throw std::invalid_argument(std::string(op) + ": expected bias of shape (" +
                                    std::to_string(features_of(x)) + ",) for x of shape " +
                                    shape_string(x) + ", got " + shape_string(bias));
    }
    return type == FloatType::float32 ? forward_typed<float>(f, x, bias)
                                      : forward_typed<double>(f, x, bias);
}

py::tuple bias_act_backward(const py::array& grad, const py::array& y,
                            const std::string& activation) {
    const char* op = "bias_act_backward";
    const BiasActivation f = activation_of(op, activation);
    const FloatType type = checked(op, "grad", grad);
    require_float_type(op, "y", y, type);
    require_contiguous(op, "y", y);
    if (shape_of(grad) != shape_of(y)) {
        throw std::invalid_argument(std::string(op) + ": expected grad and y of one shape, got " +
                                    shape_string(grad) + " and " + shape_string(y));
    }
    return type == FloatType::float32 ? backward_typed<float>(f, grad, y)
                                      : backward_typed<double>(f, grad, y);
}

}  // namespace tensorcore
