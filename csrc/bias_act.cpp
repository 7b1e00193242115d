#include "bias_act.h"

#include <stdexcept>
#include <vector>

#include "array_checks.h"
#include "cached_array.h"
#include "bias_act_kernels.h"
#include "isa.h"
#include "threads.h"

namespace py = pybind11;

namespace {

BiasActivation activation_of(const char* op, const std::string& name) {
    if (name == "none") return BiasActivation::none;
    if (name == "relu") return BiasActivation::relu;
    if (name == "sigmoid") return BiasActivation::sigmoid;
    if (name == "tanh") return BiasActivation::tanh;
    throw std::invalid_argument(std::string(op) + ": activation must be 'none', 'relu', "
                                "'sigmoid' or 'tanh', got '" + name + "'");
}

ptrdiff_t features_of(const py::array& a) { return a.shape(a.ndim() - 1); }

ptrdiff_t rows_of(const py::array& a) {
    return features_of(a) ? a.size() / features_of(a) : 0;
}

template <typename T>
py::array forward_typed(BiasActivation f, const py::array& x, const py::array& bias) {
    py::array_t<T> y = cached_array<T>(shape_of(x));
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
    py::array_t<T> dx = cached_array<T>(shape_of(y));
    py::array_t<T> dbias = cached_array<T>({features});
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
    const FloatType type = contiguous_float_type(op, "x", x);
    require_last_axis(op, "x", x);
    require_contiguous_float(op, "bias", bias, type);
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
    const FloatType type = last_axis_backward_type(op, grad, y);
    return type == FloatType::float32 ? backward_typed<float>(f, grad, y)
                                      : backward_typed<double>(f, grad, y);
}

}  // namespace tensorcore
