#include "activations.h"

#include <stdexcept>
#include <vector>

#include "activation_kernels.h"
#include "array_checks.h"
#include "cached_array.h"
#include "isa.h"
#include "threads.h"

namespace py = pybind11;

namespace {

template <typename T>
py::array forward_typed(Activation f, const py::array& x, double negative_slope) {
    py::array_t<T> y = cached_array<T>(shape_of(x));
    const Isa isa = active_isa();
    const int threads = num_threads();
    {
        py::gil_scoped_release release;
        TC_ISA_CALL(isa, activation_forward(f, data_of<T>(x), y.mutable_data(), x.size(),
                                            static_cast<T>(negative_slope), threads));
    }
    return y;
}

template <typename T>
py::array backward_typed(Activation f, const py::array& grad, const py::array& x,
                         const py::array& y, double negative_slope) {
    py::array_t<T> dx = cached_array<T>(shape_of(x));
    const Isa isa = active_isa();
    const int threads = num_threads();
    {
        py::gil_scoped_release release;
        TC_ISA_CALL(isa, activation_backward(f, data_of<T>(grad), data_of<T>(x), data_of<T>(y),
                                             dx.mutable_data(), x.size(),
                                             static_cast<T>(negative_slope), threads));
    }
    return dx;
}

py::array forward(const char* op, Activation f, const py::array& x, double negative_slope = 0) {
    const FloatType type = contiguous_float_type(op, "x", x);
    return type == FloatType::float32 ? forward_typed<float>(f, x, negative_slope)
                                      : forward_typed<double>(f, x, negative_slope);
}

py::array backward(const char* op, Activation f, const py::array& grad, const py::array& x,
                   const py::array& y, double negative_slope = 0) {
    const FloatType type = contiguous_float_type(op, "grad", grad);
    require_contiguous_float(op, "x", x, type);
    require_same_shape(op, "grad", grad, "x", x);
    require_contiguous_float(op, "y", y, type);
    require_same_shape(op, "grad", grad, "y", y);
    return type == FloatType::float32 ? backward_typed<float>(f, grad, x, y, negative_slope)
                                      : backward_typed<double>(f, grad, x, y, negative_slope);
}

Activation gelu_variant(const char* op, const std::string& approximate) {
    if (approximate == "none") return Activation::gelu_erf;
    if (approximate == "tanh") return Activation::gelu_tanh;
    throw std::invalid_argument(std::string(op) + ": approximate must be 'none' or 'tanh', got '" +
                                approximate + "'");
}

}  // namespace

namespace tensorcore {

py::array relu(const py::array& x) { return forward("relu", Activation::relu, x); }

py::array relu_backward(const py::array& grad, const py::array& x, const py::array& y) {
    return backward("relu_backward", Activation::relu, grad, x, y);
}

py::array leaky_relu(const py::array& x, double negative_slope) {
    return forward("leaky_relu", Activation::leaky_relu, x, negative_slope);
}

py::array leaky_relu_backward(const py::array& grad, const py::array& x, const py::array& y,
                              double negative_slope) {
    return backward("leaky_relu_backward", Activation::leaky_relu, grad, x, y, negative_slope);
}

py::array sigmoid(const py::array& x) { return forward("sigmoid", Activation::sigmoid, x); }

py::array sigmoid_backward(const py::array& grad, const py::array& x, const py::array& y) {
    return backward("sigmoid_backward", Activation::sigmoid, grad, x, y);
}

py::array tanh(const py::array& x) { return forward("tanh", Activation::tanh, x); }

py::array tanh_backward(const py::array& grad, const py::array& x, const py::array& y) {
    return backward("tanh_backward", Activation::tanh, grad, x, y);
}

py::array gelu(const py::array& x, const std::string& approximate) {
    return forward("gelu", gelu_variant("gelu", approximate), x);
}

py::array gelu_backward(const py::array& grad, const py::array& x, const py::array& y,
                        const std::string& approximate) {
    return backward("gelu_backward", gelu_variant("gelu_backward", approximate), grad, x, y);
}

}  // namespace tensorcore
