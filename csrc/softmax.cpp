#include "softmax.h"

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "array_checks.h"
#include "cached_array.h"
#include "isa.h"
#include "softmax_kernels.h"
#include "threads.h"

namespace py = pybind11;

namespace {

// (rows, cols) of an array reduced along its last axis
std::pair<ptrdiff_t, ptrdiff_t> rows_cols(const py::array& a) {
    const ptrdiff_t cols = a.ndim() ? a.shape(a.ndim() - 1) : 1;
    return {cols ? a.size() / cols : 0, cols};
}

// logits or log_probs (N, C) and target (N,) int64 of class indices in [0, C)
FloatType check_classes(const char* op, const char* name, const py::array& scores,
                        const py::array& target) {
    const FloatType type = contiguous_float_type(op, name, scores);
    if (scores.ndim() != 2) {
        throw std::invalid_argument(std::string(op) + ": expected " + name +
                                    " of shape (N, C), got " + shape_string(scores));
    }
    require_int64(op, "target", target);
    require_contiguous(op, "target", target);
    if (target.ndim() != 1 || target.shape(0) != scores.shape(0)) {
        throw std::invalid_argument(std::string(op) + ": expected target of shape (" +
                                    std::to_string(scores.shape(0)) + ",), got " +
                                    shape_string(target));
    }
    const int64_t* t = data_of<int64_t>(target);
    const ptrdiff_t classes = scores.shape(1);
    for (ptrdiff_t n = 0; n < target.shape(0); ++n) {
        if (t[n] < 0 || t[n] >= classes) {
            throw std::invalid_argument(std::string(op) + ": target[" + std::to_string(n) +
                                        "] = " + std::to_string(t[n]) +
                                        " is not a class index in [0, " +
                                        std::to_string(classes) + ")");
        }
    }
    return type;
}

void check_grad_per_row(const char* op, const py::array& grad, const py::array& scores,
                        FloatType type) {
    require_contiguous_float(op, "grad", grad, type);
    if (grad.ndim() != 1 || grad.shape(0) != scores.shape(0)) {
        throw std::invalid_argument(std::string(op) + ": expected grad of shape (" +
                                    std::to_string(scores.shape(0)) + ",), got " +
                                    shape_string(grad));
    }
}

template <typename T>
py::array forward_typed(RowOp f, const py::array& x) {
    py::array_t<T> y = cached_array<T>(shape_of(x));
    const auto [rows, cols] = rows_cols(x);
    const Isa isa = active_isa();
    const int threads = num_threads();
    {
        py::gil_scoped_release release;
        TC_ISA_CALL(isa, row_forward(f, data_of<T>(x), y.mutable_data(), rows, cols, threads));
    }
    return y;
}

template <typename T>
py::array backward_typed(RowOp f, const py::array& grad, const py::array& y) {
    py::array_t<T> dx = cached_array<T>(shape_of(y));
    const auto [rows, cols] = rows_cols(y);
    const Isa isa = active_isa();
    const int threads = num_threads();
    {
        py::gil_scoped_release release;
        TC_ISA_CALL(isa, row_backward(f, data_of<T>(grad), data_of<T>(y), dx.mutable_data(),
                                      rows, cols, threads));
    }
    return dx;
}

py::array forward(const char* op, RowOp f, const py::array& x) {
    const FloatType type = contiguous_float_type(op, "x", x);
    require_last_axis(op, "x", x);
    return type == FloatType::float32 ? forward_typed<float>(f, x) : forward_typed<double>(f, x);
}

py::array backward(const char* op, RowOp f, const py::array& grad, const py::array& y) {
    const FloatType type = last_axis_backward_type(op, grad, y);
    return type == FloatType::float32 ? backward_typed<float>(f, grad, y)
                                      : backward_typed<double>(f, grad, y);
}

template <typename T>
py::tuple cross_entropy_typed(const py::array& logits, const py::array& target) {
    const ptrdiff_t rows = logits.shape(0), cols = logits.shape(1);
    py::array_t<T> loss = cached_array<T>({rows});
    py::array_t<T> log_probs = cached_array<T>(shape_of(logits));
    const Isa isa = active_isa();
    const int threads = num_threads();
    {
        py::gil_scoped_release release;
        TC_ISA_CALL(isa, cross_entropy_forward(data_of<T>(logits), data_of<int64_t>(target),
                                               loss.mutable_data(), log_probs.mutable_data(),
                                               rows, cols, threads));
    }
    return py::make_tuple(loss, log_probs);
}

template <typename T>
py::array cross_entropy_backward_typed(const py::array& grad, const py::array& log_probs,
                                       const py::array& target) {
    const ptrdiff_t rows = log_probs.shape(0), cols = log_probs.shape(1);
    py::array_t<T> dlogits = cached_array<T>(shape_of(log_probs));
    const Isa isa = active_isa();
    const int threads = num_threads();
    {
        py::gil_scoped_release release;
        TC_ISA_CALL(isa, cross_entropy_backward(data_of<T>(grad), data_of<T>(log_probs),
                                                data_of<int64_t>(target),
                                                dlogits.mutable_data(), rows, cols, threads));
    }
    return dlogits;
}

// loss[n] = -log_probs[n, target[n]]: one element per row, no vectors needed
template <typename T>
py::array nll_typed(const py::array& log_probs, const py::array& target) {
    const ptrdiff_t rows = log_probs.shape(0), cols = log_probs.shape(1);
    py::array_t<T> loss = cached_array<T>({rows});
    const T* lp = data_of<T>(log_probs);
    const int64_t* t = data_of<int64_t>(target);
    T* out = loss.mutable_data();
    for (ptrdiff_t n = 0; n < rows; ++n) out[n] = -lp[n * cols + t[n]];
    return loss;
}

template <typename T>
py::array nll_backward_typed(const py::array& grad, const py::array& log_probs,
                             const py::array& target) {
    const ptrdiff_t rows = log_probs.shape(0), cols = log_probs.shape(1);
    py::array_t<T> d = cached_array<T>(shape_of(log_probs));
    T* out = d.mutable_data();
    std::memset(out, 0, sizeof(T) * rows * cols);
    const T* g = data_of<T>(grad);
    const int64_t* t = data_of<int64_t>(target);
    for (ptrdiff_t n = 0; n < rows; ++n) out[n * cols + t[n]] = -g[n];
    return d;
}

}  // namespace

namespace tensorcore {

py::array softmax(const py::array& x) { return forward("softmax", RowOp::softmax, x); }

py::array softmax_backward(const py::array& grad, const py::array& y) {
    return backward("softmax_backward", RowOp::softmax, grad, y);
}

py::array log_softmax(const py::array& x) {
    return forward("log_softmax", RowOp::log_softmax, x);
}

py::array log_softmax_backward(const py::array& grad, const py::array& y) {
    return backward("log_softmax_backward", RowOp::log_softmax, grad, y);
}

py::tuple cross_entropy(const py::array& logits, const py::array& target) {
    const FloatType type = check_classes("cross_entropy", "logits", logits, target);
    return type == FloatType::float32 ? cross_entropy_typed<float>(logits, target)
                                      : cross_entropy_typed<double>(logits, target);
}

py::array cross_entropy_backward(const py::array& grad, const py::array& log_probs,
                                 const py::array& target) {
    const char* op = "cross_entropy_backward";
    const FloatType type = check_classes(op, "log_probs", log_probs, target);
    check_grad_per_row(op, grad, log_probs, type);
    if (type == FloatType::float32) {
        return cross_entropy_backward_typed<float>(grad, log_probs, target);
    }
    return cross_entropy_backward_typed<double>(grad, log_probs, target);
}

py::array nll_loss(const py::array& log_probs, const py::array& target) {
    const FloatType type = check_classes("nll_loss", "log_probs", log_probs, target);
    return type == FloatType::float32 ? nll_typed<float>(log_probs, target)
                                      : nll_typed<double>(log_probs, target);
}

py::array nll_loss_backward(const py::array& grad, const py::array& log_probs,
                            const py::array& target) {
    const char* op = "nll_loss_backward";
    const FloatType type = check_classes(op, "log_probs", log_probs, target);
    check_grad_per_row(op, grad, log_probs, type);
    return type == FloatType::float32 ? nll_backward_typed<float>(grad, log_probs, target)
                                      : nll_backward_typed<double>(grad, log_probs, target);
}

}  // namespace tensorcore
