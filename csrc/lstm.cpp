#include "lstm.h"

#include <omp.h>

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>
#include <vector>

#include "array_checks.h"
#include "cached_array.h"
#include "gemm.h"
#include "isa.h"
#include "lstm_kernels.h"
#include "threads.h"

namespace py = pybind11;

namespace {

typedef std::vector<py::ssize_t> Shape;

// The checks of one call: every operand has the first operand's float dtype, is C-contiguous
// and has its expected shape; messages name the op, the operand and its dimensions ("(4H, I)").
class Checks {
  public:
    Checks(const char* op, const char* first_name, const py::array& first)
        : op_(op), type_(float_type(op, first_name, first)) {}

    FloatType type() const { return type_; }

    // invalid_argument unless `a` has `ndim` dimensions (before its sizes are read)
    void require_ndim(const char* name, const char* dims, const py::array& a, int ndim) const {
        if (a.ndim() != ndim) fail(name, dims, a, "");
    }

    void require(const char* name, const char* dims, const py::array& a,
                 const Shape& expected) const {
        require_float_type(op_, name, a, type_);
        if (shape_of(a) != expected) {
            fail(name, dims, a, " = " + shape_string(expected));
        }
        require_contiguous(op_, name, a);
    }

    // w_ih (4H, I), w_hh (4H, H), and b_ih, b_hh (4H,) where given
    void require_weights(const py::array& w_ih, const py::array& w_hh, py::ssize_t I,
                         py::ssize_t H, const std::optional<py::array>& b_ih = std::nullopt,
                         const std::optional<py::array>& b_hh = std::nullopt) const {
        require("w_ih", "(4H, I)", w_ih, {4 * H, I});
        require("w_hh", "(4H, H)", w_hh, {4 * H, H});
        if (b_ih) require("b_ih", "(4H,)", *b_ih, {4 * H});
        if (b_hh) require("b_hh", "(4H,)", *b_hh, {4 * H});
    }

  private:
    [[noreturn]] void fail(const char* name, const char* dims, const py::array& a,
                           const std::string& sizes) const {
        throw std::invalid_argument(std::string(op_) + ": expected " + name + " of shape " +
                                    dims + sizes + ", got " + shape_string(a));
    }

    const char* op_;
    FloatType type_;
};

template <typename T>
const T* data_or_null(const std::optional<py::array>& a) {
    return a ? data_of<T>(*a) : nullptr;
}

// The GEMMs of an LSTM, on C-contiguous operands; G = 4H gate columns.
// out (rows, columns of a row `stride` apart) (=|+=) a (rows, k) @ w (k, columns, a row
// `stride` apart): a GEMM on column slices of w and out
template <typename T>
GemmProblem<T> slice_product(const T* a, const T* w, T* out, ptrdiff_t rows, ptrdiff_t columns,
                             ptrdiff_t k, ptrdiff_t stride, bool accumulate) {
    return {a, 0, k, 1, w, 0, stride, 1, out, 0, stride, 1, rows, columns, k, accumulate};
}

// The four gates' columns [u, u + n) of out (rows, 4H) += a (rows, H) @ w_t (H, 4H), as one
// batch of 4 products (gates H columns apart) that packs a once
template <typename T>
GemmProblem<T> unit_gate_products(const T* a, const T* w_t, T* out, ptrdiff_t rows,
                                  ptrdiff_t hidden, ptrdiff_t u, ptrdiff_t n) {
    GemmProblem<T> p = slice_product(a, w_t + u, out + u, rows, n, hidden, 4 * hidden, true);
    p.b_batch_stride = p.c_batch_stride = hidden;
    p.batch = 4;
    return p;
}

// out (rows, n) (=|+=) a (rows, k) @ w (k, n)
template <typename T>
GemmProblem<T> product(const T* a, const T* w, T* out, ptrdiff_t rows, ptrdiff_t n, ptrdiff_t k,
                       bool accumulate = false) {
    return slice_product(a, w, out, rows, n, k, n, accumulate);
}

// out (rows, n, a row `out_stride` apart) (=|+=) a (rows, k) @ w (n, k)^T, w read transposed
// in place
template <typename T>
GemmProblem<T> product_transposed(const T* a, const T* w, T* out, ptrdiff_t rows, ptrdiff_t n,
                                  ptrdiff_t k, ptrdiff_t out_stride, bool accumulate = false) {
    return {a, 0, k, 1, w, 0, 1, k, out, 0, out_stride, 1, rows, n, k, accumulate};
}

// dw (G, n) (=|+=) d (rows, G)^T @ v (rows, n), d read transposed in place
template <typename T>
GemmProblem<T> transposed_product(const T* d, const T* v, T* dw, ptrdiff_t rows, ptrdiff_t n,
                                  ptrdiff_t gates, bool accumulate = false) {
    return {d, 0, 1, gates, v, 0, n, 1, dw, 0, n, 1, gates, n, rows, accumulate};
}

// w (rows, cols) -> its transpose (cols, rows), C-contiguous
template <typename T>
tensorcore::CachedArray<T> transposed(const T* w, ptrdiff_t rows, ptrdiff_t cols) {
    tensorcore::CachedArray<T> t(rows * cols);
    for (ptrdiff_t r = 0; r < rows; ++r)
        for (ptrdiff_t k = 0; k < cols; ++k) t[k * rows + r] = w[r * cols + k];
    return t;
}

// b_ih + b_hh (G,), or whichever is given, or empty when neither is
template <typename T>
std::vector<T> combined_bias(const std::optional<py::array>& b_ih,
                             const std::optional<py::array>& b_hh, ptrdiff_t gates) {
    std::vector<T> bias;
    if (!b_ih && !b_hh) return bias;
    bias.assign(gates, T(0));
    for (const T* b : {data_or_null<T>(b_ih), data_or_null<T>(b_hh)}) {
        if (b) {
            for (ptrdiff_t j = 0; j < gates; ++j) bias[j] += b[j];
        }
    }
    return bias;
}

// The recurrence of a sequence runs in one parallel region, each thread owning the hidden
// units [begin, end) of every step: it computes its units' columns of the four gates, then
// their pointwise pass, and the threads meet once per step (the next step's GEMM reads all
// of h). Slices are whole blocks of 16 units, so every thread's vectors start aligned.
constexpr ptrdiff_t unit_block = 16;

struct UnitSlice {
    ptrdiff_t begin, end;
    ptrdiff_t size() const { return end - begin; }
};

UnitSlice unit_slice(ptrdiff_t hidden, int thread, int threads) {
    const ptrdiff_t blocks = (hidden + unit_block - 1) / unit_block;
    return {std::min(hidden, blocks * thread / threads * unit_block),
            std::min(hidden, blocks * (thread + 1) / threads * unit_block)};
}

// One thread per block of units at most, and one alone when a step's recurrent GEMM
// (B x H x 4H) is too small to pay for a barrier.
int recurrence_threads(ptrdiff_t batch, ptrdiff_t hidden) {
    const ptrdiff_t blocks = (hidden + unit_block - 1) / unit_block;
    if (static_cast<double>(batch) * hidden * 4 * hidden < (1 << 18)) return 1;
    return static_cast<int>(std::min<ptrdiff_t>(num_threads(), blocks));
}

// A cell runs in one parallel region: its GEMMs, one slice or one whole product per thread,
// then, after one barrier, the pointwise pass over each thread's slice of the units. One
// thread when the cell's GEMMs are too small to pay for the region.
int cell_threads(ptrdiff_t batch, ptrdiff_t inputs, ptrdiff_t hidden) {
    if (static_cast<double>(batch) * (inputs + hidden) * 4 * hidden < (1 << 18)) return 1;
    return num_threads();
}

template <typename T>
py::tuple cell_forward(const py::array& x, const py::array& h, const py::array& c,
                       const py::array& w_ih, const py::array& w_hh,
                       const std::optional<py::array>& b_ih,
                       const std::optional<py::array>& b_hh) {
    const ptrdiff_t B = x.shape(0), I = x.shape(1), H = h.shape(1), G = 4 * H;
    py::array_t<T> h_new = cached_array<T>({B, H});
    py::array_t<T> c_new = cached_array<T>({B, H});
    py::array_t<T> gates = cached_array<T>({B, G});
    const Isa isa = active_isa();
    {
        py::gil_scoped_release release;
        const std::vector<T> bias = combined_bias<T>(b_ih, b_hh, G);
        const T* bias_data = bias.empty() ? nullptr : bias.data();
        T* pre = gates.mutable_data();                                  // (B, 4H)
        // thread t's slice of the 4H columns: x @ w_ih^T + h @ w_hh^T, on the same rows of
        // both weights
        auto slice_products = [&](UnitSlice columns) {
            const ptrdiff_t j = columns.begin, n = columns.size();
            return std::array<GemmProblem<T>, 2>{
                product_transposed(data_of<T>(x), data_of<T>(w_ih) + j * I, pre + j, B, n, I,
                                   G),
                product_transposed(data_of<T>(h), data_of<T>(w_hh) + j * H, pre + j, B, n, H,
                                   G, true)};
        };
        const int threads =
            std::min<int>(cell_threads(B, I, H), (G + unit_block - 1) / unit_block);
        tensorcore::ThreadGemms<T> gemms(threads);
        for (int thread = 0; thread < threads; ++thread) {
            for (const GemmProblem<T>& p : slice_products(unit_slice(G, thread, threads)))
                gemms.reserve(p);
        }
#pragma omp parallel num_threads(threads)
        {
            const int thread = omp_get_thread_num(), team = omp_get_num_threads();
            for (const GemmProblem<T>& p : slice_products(unit_slice(G, thread, team)))
                gemms.run(p, thread);
#pragma omp barrier
            const UnitSlice units = unit_slice(H, thread, team);
            if (units.size() > 0) {
                TC_ISA_CALL(isa, lstm_pointwise_forward(pre, bias_data, data_of<T>(c),
                                                        h_new.mutable_data(),
                                                        c_new.mutable_data(), B, H,
                                                        units.begin, units.end));
            }
        }
    }
    return py::make_tuple(h_new, c_new, gates);
}

template <typename T>
py::tuple cell_backward(const py::array& dh, const py::array& dc, const py::array& x,
                        const py::array& h, const py::array& c, const py::array& w_ih,
                        const py::array& w_hh, const py::array& gates,
                        const py::array& c_new) {
    const ptrdiff_t B = x.shape(0), I = x.shape(1), H = h.shape(1), G = 4 * H;
    py::array_t<T> dx = cached_array<T>({B, I});
    py::array_t<T> dh_prev = cached_array<T>({B, H});
    py::array_t<T> dc_prev = cached_array<T>({B, H});
    py::array_t<T> dw_ih = cached_array<T>({G, I});
    py::array_t<T> dw_hh = cached_array<T>({G, H});
    py::array_t<T> dbias = cached_array<T>({G});
    const Isa isa = active_isa();
    {
        py::gil_scoped_release release;
        tensorcore::CachedArray<T> dpre(B * G);   // (B, 4H)
        T* dbias_data = dbias.mutable_data();
        std::fill(dbias_data, dbias_data + G, T(0));
        // four independent products of dpre, each whole on one thread (each is small: split
        // over threads, each would pay for its own fork, join and imbalance); in this order
        // two threads get equal work, (I + H) B 4H multiply-adds each
        const std::array<GemmProblem<T>, 4> products{
            product(dpre.data(), data_of<T>(w_ih), dx.mutable_data(), B, I, G),
            product(dpre.data(), data_of<T>(w_hh), dh_prev.mutable_data(), B, H, G),
            transposed_product(dpre.data(), data_of<T>(h), dw_hh.mutable_data(), B, H, G),
            transposed_product(dpre.data(), data_of<T>(x), dw_ih.mutable_data(), B, I, G)};
        const int threads = std::min<int>(cell_threads(B, I, H), products.size());
        tensorcore::ThreadGemms<T> gemms(threads);
        for (const GemmProblem<T>& p : products) gemms.reserve(p);
#pragma omp parallel num_threads(threads)
        {
            const int thread = omp_get_thread_num(), team = omp_get_num_threads();
            const UnitSlice units = unit_slice(H, thread, team);
            if (units.size() > 0) {
                TC_ISA_CALL(isa, lstm_pointwise_backward(data_of<T>(dh), nullptr, data_of<T>(dc),
                                                         data_of<T>(c), data_of<T>(gates),
                                                         data_of<T>(c_new), dpre.data(),
                                                         dc_prev.mutable_data(), dbias_data, B,
                                                         H, units.begin, units.end));
            }
#pragma omp barrier
            for (size_t task = thread; task < products.size(); task += team)
                gemms.run(products[task], thread);
        }
    }
    return py::make_tuple(dx, dh_prev, dc_prev, dw_ih, dw_hh, dbias);
}

template <typename T>
py::tuple sequence_forward(const py::array& x, const py::array& h0, const py::array& c0,
                           const py::array& w_ih, const py::array& w_hh,
                           const std::optional<py::array>& b_ih,
                           const std::optional<py::array>& b_hh) {
    const ptrdiff_t steps = x.shape(0), B = x.shape(1), I = x.shape(2), H = h0.shape(1);
    const ptrdiff_t G = 4 * H;
    py::array_t<T> out = cached_array<T>({steps, B, H});
    py::array_t<T> c_all = cached_array<T>({steps, B, H});
    py::array_t<T> gates = cached_array<T>({steps, B, G});
    const Isa isa = active_isa();
    {
        py::gil_scoped_release release;
        const std::vector<T> bias = combined_bias<T>(b_ih, b_hh, G);
        T* pre = gates.mutable_data();                                  // (T, B, 4H)
        T* h_all = out.mutable_data();
        T* c_data = c_all.mutable_data();
        // every step's input projection at once: (T B, I) @ w_ih^T
        tensorcore::gemm(
            product_transposed(data_of<T>(x), data_of<T>(w_ih), pre, steps * B, G, I, G));
        // (H, 4H)
        const tensorcore::CachedArray<T> w_hh_t = transposed(data_of<T>(w_hh), G, H);
        const T* bias_data = bias.empty() ? nullptr : bias.data();
        const int threads = recurrence_threads(B, H);
        tensorcore::ThreadGemms<T> gemms(threads);
        for (int thread = 0; thread < threads; ++thread) {
            const UnitSlice units = unit_slice(H, thread, threads);
            gemms.reserve(unit_gate_products<T>(h_all, w_hh_t.data(), pre, B, H, units.begin,
                                                units.size()));
        }
#pragma omp parallel num_threads(threads)
        {
            const int thread = omp_get_thread_num();
            const UnitSlice units = unit_slice(H, thread, omp_get_num_threads());
            for (ptrdiff_t t = 0; t < steps; ++t) {
                const T* h = t ? h_all + (t - 1) * B * H : data_of<T>(h0);
                const T* c = t ? c_data + (t - 1) * B * H : data_of<T>(c0);
                T* pre_t = pre + t * B * G;
                if (units.size() > 0) {
                    gemms.run(unit_gate_products(h, w_hh_t.data(), pre_t, B, H, units.begin,
                                                 units.size()),
                              thread);
                    TC_ISA_CALL(isa, lstm_pointwise_forward(pre_t, bias_data, c,
                                                            h_all + t * B * H, c_data + t * B * H,
                                                            B, H, units.begin, units.end));
                }
#pragma omp barrier
            }
        }
    }
    return py::make_tuple(out, c_all, gates);
}

template <typename T>
py::tuple sequence_backward(const py::array& dout, const py::array& dh_n, const py::array& dc_n,
                            const py::array& x, const py::array& h0, const py::array& c0,
                            const py::array& w_ih, const py::array& w_hh, const py::array& out,
                            const py::array& c_all, const py::array& gates) {
    const ptrdiff_t steps = x.shape(0), B = x.shape(1), I = x.shape(2), H = h0.shape(1);
    const ptrdiff_t G = 4 * H, state = B * H;
    py::array_t<T> dx = cached_array<T>({steps, B, I});
    py::array_t<T> dh0 = cached_array<T>({B, H});
    py::array_t<T> dc0 = cached_array<T>({B, H});
    py::array_t<T> dw_ih = cached_array<T>({G, I});
    py::array_t<T> dw_hh = cached_array<T>({G, H});
    py::array_t<T> dbias = cached_array<T>({G});
    const Isa isa = active_isa();
    {
        py::gil_scoped_release release;
        tensorcore::CachedArray<T> dpre(steps * B * G);   // (T, B, 4H)
        T* dh = dh0.mutable_data();    // the running gradients of h_t and c_t, dh0 and dc0 at
        T* dc = dc0.mutable_data();    // the end
        T* dbias_data = dbias.mutable_data();
        std::copy(data_of<T>(dh_n), data_of<T>(dh_n) + state, dh);
        std::copy(data_of<T>(dc_n), data_of<T>(dc_n) + state, dc);
        std::fill(dbias_data, dbias_data + G, T(0));
        const T* c_data = data_of<T>(c_all);
        const int threads = recurrence_threads(B, H);
        tensorcore::ThreadGemms<T> gemms(threads);
        for (int thread = 0; thread < threads; ++thread) {
            const UnitSlice units = unit_slice(H, thread, threads);
            gemms.reserve(slice_product<T>(dpre.data(), data_of<T>(w_hh), dh, B, units.size(),
                                           G, H, false));
        }
        // per step: the pointwise pass of this thread's units, then, once every unit's dpre
        // is in, dh of its units = dpre (B, 4H) @ w_hh (4H, its units)
#pragma omp parallel num_threads(threads)
        {
            const int thread = omp_get_thread_num();
            const UnitSlice units = unit_slice(H, thread, omp_get_num_threads());
            for (ptrdiff_t t = steps - 1; t >= 0; --t) {
                const T* c_prev = t ? c_data + (t - 1) * state : data_of<T>(c0);
                T* dpre_t = dpre.data() + t * B * G;
                if (units.size() > 0) {
                    TC_ISA_CALL(isa, lstm_pointwise_backward(
                                         data_of<T>(dout) + t * state, dh, dc, c_prev,
                                         data_of<T>(gates) + t * B * G, c_data + t * state,
                                         dpre_t, dc, dbias_data, B, H, units.begin, units.end));
                }
#pragma omp barrier
                if (units.size() > 0) {
                    gemms.run(slice_product(dpre_t, data_of<T>(w_hh) + units.begin,
                                            dh + units.begin, B, units.size(), G, H, false),
                              thread);
                }
            }
        }
        // every step at once: dx = dpre @ w_ih; dw_ih = dpre^T x; dw_hh = dpre^T h_prev with
        // h_prev = [h0, out[0 .. T-2]], as step 0's term and the other steps' terms
        tensorcore::gemm(
            product(dpre.data(), data_of<T>(w_ih), dx.mutable_data(), steps * B, I, G));
        tensorcore::gemm(
            transposed_product(dpre.data(), data_of<T>(x), dw_ih.mutable_data(), steps * B, I, G));
        tensorcore::gemm(transposed_product(dpre.data(), data_of<T>(h0), dw_hh.mutable_data(),
                                            steps ? B : 0, H, G));
        if (steps > 1) {
            tensorcore::gemm(transposed_product(dpre.data() + B * G, data_of<T>(out),
                                                dw_hh.mutable_data(), (steps - 1) * B, H, G,
                                                true));
        }
    }
    return py::make_tuple(dx, dh0, dc0, dw_ih, dw_hh, dbias);
}

}  // namespace

namespace tensorcore {

py::tuple lstm_cell(const py::array& x, const py::array& h, const py::array& c,
                    const py::array& w_ih, const py::array& w_hh,
                    const std::optional<py::array>& b_ih, const std::optional<py::array>& b_hh) {
    const Checks checks("lstm_cell", "x", x);
    checks.require_ndim("x", "(B, I)", x, 2);
    checks.require_ndim("w_hh", "(4H, H)", w_hh, 2);
    const py::ssize_t B = x.shape(0), I = x.shape(1), H = w_hh.shape(1);
    checks.require("x", "(B, I)", x, {B, I});
    checks.require("h", "(B, H)", h, {B, H});
    checks.require("c", "(B, H)", c, {B, H});
    checks.require_weights(w_ih, w_hh, I, H, b_ih, b_hh);
    return checks.type() == FloatType::float32
               ? cell_forward<float>(x, h, c, w_ih, w_hh, b_ih, b_hh)
               : cell_forward<double>(x, h, c, w_ih, w_hh, b_ih, b_hh);
}

py::tuple lstm_cell_backward(const py::array& dh, const py::array& dc, const py::array& x,
                             const py::array& h, const py::array& c, const py::array& w_ih,
                             const py::array& w_hh, const py::array& gates,
                             const py::array& c_new) {
    const Checks checks("lstm_cell_backward", "dh", dh);
    checks.require_ndim("x", "(B, I)", x, 2);
    checks.require_ndim("w_hh", "(4H, H)", w_hh, 2);
    const py::ssize_t B = x.shape(0), I = x.shape(1), H = w_hh.shape(1);
    checks.require("dh", "(B, H)", dh, {B, H});
    checks.require("dc", "(B, H)", dc, {B, H});
    checks.require("x", "(B, I)", x, {B, I});
    checks.require("h", "(B, H)", h, {B, H});
    checks.require("c", "(B, H)", c, {B, H});
    checks.require_weights(w_ih, w_hh, I, H);
    checks.require("gates", "(B, 4H)", gates, {B, 4 * H});
    checks.require("c_new", "(B, H)", c_new, {B, H});
    return checks.type() == FloatType::float32
               ? cell_backward<float>(dh, dc, x, h, c, w_ih, w_hh, gates, c_new)
               : cell_backward<double>(dh, dc, x, h, c, w_ih, w_hh, gates, c_new);
}

py::tuple lstm_sequence(const py::array& x, const py::array& h0, const py::array& c0,
                        const py::array& w_ih, const py::array& w_hh,
                        const std::optional<py::array>& b_ih,
                        const std::optional<py::array>& b_hh) {
    const Checks checks("lstm_sequence", "x", x);
    checks.require_ndim("x", "(T, B, I)", x, 3);
    checks.require_ndim("w_hh", "(4H, H)", w_hh, 2);
    const py::ssize_t T = x.shape(0), B = x.shape(1), I = x.shape(2), H = w_hh.shape(1);
    checks.require("x", "(T, B, I)", x, {T, B, I});
    checks.require("h0", "(B, H)", h0, {B, H});
    checks.require("c0", "(B, H)", c0, {B, H});
    checks.require_weights(w_ih, w_hh, I, H, b_ih, b_hh);
    return checks.type() == FloatType::float32
               ? sequence_forward<float>(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
               : sequence_forward<double>(x, h0, c0, w_ih, w_hh, b_ih, b_hh);
}

py::tuple lstm_sequence_backward(const py::array& dout, const py::array& dh_n,
                                 const py::array& dc_n, const py::array& x, const py::array& h0,
                                 const py::array& c0, const py::array& w_ih,
                                 const py::array& w_hh, const py::array& out,
                                 const py::array& c_all, const py::array& gates) {
    const Checks checks("lstm_sequence_backward", "dout", dout);
    checks.require_ndim("x", "(T, B, I)", x, 3);
    checks.require_ndim("w_hh", "(4H, H)", w_hh, 2);
    const py::ssize_t T = x.shape(0), B = x.shape(1), I = x.shape(2), H = w_hh.shape(1);
    checks.require("dout", "(T, B, H)", dout, {T, B, H});
    checks.require("dh_n", "(B, H)", dh_n, {B, H});
    checks.require("dc_n", "(B, H)", dc_n, {B, H});
    checks.require("x", "(T, B, I)", x, {T, B, I});
    checks.require("h0", "(B, H)", h0, {B, H});
    checks.require("c0", "(B, H)", c0, {B, H});
    checks.require_weights(w_ih, w_hh, I, H);
    checks.require("out", "(T, B, H)", out, {T, B, H});
    checks.require("c_all", "(T, B, H)", c_all, {T, B, H});
    checks.require("gates", "(T, B, 4H)", gates, {T, B, 4 * H});
    return checks.type() == FloatType::float32
               ? sequence_backward<float>(dout, dh_n, dc_n, x, h0, c0, w_ih, w_hh, out, c_all,
                                          gates)
               : sequence_backward<double>(dout, dh_n, dc_n, x, h0, c0, w_ih, w_hh, out, c_all,
                                           gates);
}

}  // namespace tensorcore
