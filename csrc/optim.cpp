#include "optim.h"

#include <pybind11/stl.h>

#include <array>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "array_checks.h"
#include "isa.h"
#include "optim_kernels.h"
#include "threads.h"

namespace py = pybind11;

namespace {

// The elements of an array the update writes (Operands checks that it is writeable).
template <typename T>
T* updated_data(const py::array& a) {
    return static_cast<T*>(const_cast<void*>(a.data()));
}

// The arrays of one update, checked: the parameter's dtype and shape for all, C-contiguous,
// the updated ones writeable, no two sharing memory but grad and param being one array (the
// kernels read and write each element once, in place).
class Operands {
public:
    Operands(const char* op, const py::array& param, const py::array& grad)
        : op_(op), param_(param), type_(float_type(op, "param", param)) {
        check("param", param, true);
        check("grad", grad, false);
    }

    FloatType type() const { return type_; }

    // The array's data, or null for an absent one.
    template <typename T>
    T* state(const char* name, const std::optional<py::array>& a) const {
        if (!a) return nullptr;
        check(name, *a, true);
        return updated_data<T>(*a);
    }

    // A momentum buffer's data, or null for an absent one; invalid_argument when absent
    // with a non-zero momentum (the update would silently drop the momentum).
    template <typename T>
    T* momentum_state(const char* name, const std::optional<py::array>& a,
                      double momentum) const {
        if (momentum != 0 && !a) {
            throw std::invalid_argument(std::string(op_) + ": a non-zero momentum needs " +
                                        name + ", got None");
        }
        return state<T>(name, a);
    }

    void check(const char* name, const py::array& a, bool updated) const {
        require_contiguous_float(op_, name, a, type_);
        if (shape_of(a) != shape_of(param_)) {
            throw std::invalid_argument(std::string(op_) + ": expected " + name + " of shape " +
                                        shape_string(param_) + " like param, got " +
                                        shape_string(a));
        }
        if (updated && !a.writeable()) {
            throw std::invalid_argument(std::string(op_) + ": " + name +
                                        " is updated in place but is read-only");
        }
        const char* begin = static_cast<const char*>(a.data());
        const Span span{name, begin, begin + a.nbytes()};
        // grad may be param's own memory (PyTorch allows p.grad = p.detach()): both
        // C-contiguous of one shape, element j of one is element j of the other, and the
        // kernels read both before writing param. So its check skips param's span (the first).
        const bool grad_is_param = !updated && checked_ > 0 && span.begin == spans_[0].begin &&
                                   span.end == spans_[0].end;
        for (int i = grad_is_param ? 1 : 0; i < checked_; ++i) {
            if (span.begin < spans_[i].end && spans_[i].begin < span.end) {
                throw std::invalid_argument(std::string(op_) + ": " + name + " and " +
                                            spans_[i].name + " share memory");
            }
        }
        spans_.at(checked_++) = span;
    }

private:
    struct Span {
        const char* name;
        const char *begin, *end;
    };

    const char* op_;
    const py::array& param_;
    FloatType type_;
    // the arrays checked so far: param, grad and at most three states (no allocation on
    // every parameter's update)
    mutable std::array<Span, 5> spans_;
    mutable int checked_ = 0;
};

template <typename T>
void sgd_typed(const Operands& o, const py::array& param, const py::array& grad,
               const std::optional<py::array>& velocity, const SgdHyper& h) {
    T* v = o.momentum_state<T>("velocity", velocity, h.momentum);
    const Isa isa = active_isa();
    const int threads = num_threads();
    py::gil_scoped_release release;
    TC_ISA_CALL(isa, sgd_update(updated_data<T>(param), data_of<T>(grad), v, param.size(), h,
                                threads));
}

template <typename T>
void adam_typed(const Operands& o, const py::array& param, const py::array& grad,
                const py::array& exp_avg, const py::array& exp_avg_sq, const AdamHyper& h) {
    T* m = o.state<T>("exp_avg", exp_avg);
    T* v = o.state<T>("exp_avg_sq", exp_avg_sq);
    const Isa isa = active_isa();
    const int threads = num_threads();
    py::gil_scoped_release release;
    TC_ISA_CALL(isa, adam_update(updated_data<T>(param), data_of<T>(grad), m, v, param.size(),
                                 h, threads));
}

template <typename T>
void rmsprop_typed(const Operands& o, const py::array& param, const py::array& grad,
                   const py::array& square_avg, const std::optional<py::array>& momentum_buffer,
                   const std::optional<py::array>& grad_avg, const RmspropHyper& h) {
    T* s = o.state<T>("square_avg", square_avg);
    T* b = o.momentum_state<T>("momentum_buffer", momentum_buffer, h.momentum);
    T* a = o.state<T>("grad_avg", grad_avg);
    const Isa isa = active_isa();
    const int threads = num_threads();
    py::gil_scoped_release release;
    TC_ISA_CALL(isa, rmsprop_update(updated_data<T>(param), data_of<T>(grad), s, b, a,
                                    param.size(), h, threads));
}

}  // namespace

namespace tensorcore {

void sgd_step(const py::array& param, const py::array& grad,
              const std::optional<py::array>& velocity, double lr, double momentum,
              bool nesterov, double weight_decay) {
    const Operands o("sgd_step", param, grad);
    const SgdHyper h{lr, momentum, weight_decay, nesterov};
    if (o.type() == FloatType::float32) {
        sgd_typed<float>(o, param, grad, velocity, h);
    } else {
        sgd_typed<double>(o, param, grad, velocity, h);
    }
}

void adam_step(const py::array& param, const py::array& grad, const py::array& exp_avg,
               const py::array& exp_avg_sq, long long step, double lr, double beta1,
               double beta2, double eps, double weight_decay, bool decoupled) {
    const Operands o("adam_step", param, grad);
    if (step < 1) {
        throw std::invalid_argument("adam_step: expected step >= 1 (this update's count), got " +
                                    std::to_string(step));
    }
    const double t = static_cast<double>(step);
    const AdamHyper h{lr, beta1, beta2, eps, weight_decay, lr / (1 - std::pow(beta1, t)),
                      std::sqrt(1 - std::pow(beta2, t)), decoupled};
    if (o.type() == FloatType::float32) {
        adam_typed<float>(o, param, grad, exp_avg, exp_avg_sq, h);
    } else {
        adam_typed<double>(o, param, grad, exp_avg, exp_avg_sq, h);
    }
}

void rmsprop_step(const py::array& param, const py::array& grad, const py::array& square_avg,
                  const std::optional<py::array>& momentum_buffer,
                  const std::optional<py::array>& grad_avg, double lr, double alpha, double eps,
                  double weight_decay, double momentum) {
    const Operands o("rmsprop_step", param, grad);
    const RmspropHyper h{lr, alpha, eps, weight_decay, momentum};
    if (o.type() == FloatType::float32) {
        rmsprop_typed<float>(o, param, grad, square_avg, momentum_buffer, grad_avg, h);
    } else {
        rmsprop_typed<double>(o, param, grad, square_avg, momentum_buffer, grad_avg, h);
    }
}

}  // namespace tensorcore
