// softmax, log_softmax and cross-entropy rows, written once and compiled per ISA. The
// including unit includes the system headers first, then sets its target pragma and defines
// TC_ISA (the namespace of this copy) and TC_VECTOR_BYTES (the SIMD width). Formulas are the
// reference variants' (tensorcore/backends/reference/softmax.py, losses.py); each row is
// reduced in a fixed order, so results do not depend on the thread count.
#include "softmax_kernels.h"
#include "simd.h"
#include "vector_math.h"

namespace TC_ISA {
namespace {

// Below this many elements a kernel runs on one thread: an OpenMP fork/join costs
// microseconds.
constexpr ptrdiff_t parallel_threshold = 1 << 15;

template <typename T>
inline bool run_parallel(int threads, ptrdiff_t rows, ptrdiff_t cols) {
    return threads > 1 && rows > 1 && rows * cols >= parallel_threshold;
}

// Row tails, count < lanes elements: p[0 .. count) in the first lanes and `fill` after, and
// the first count lanes stored. AVX-512 has masked loads and stores for these; elsewhere
// they go a lane at a time (rows of 10 classes are all tail on AVX-512, so it matters there).
template <typename T>
inline typename Simd<T>::vec load_filled(const T* p, int count, T fill) {
    typedef typename Simd<T>::vec V;
#if TC_VECTOR_BYTES == 64
    const unsigned mask = (1u << count) - 1;
    if constexpr (sizeof(T) == 4) {
        return (V)_mm512_mask_loadu_ps((__m512)broadcast(fill), (__mmask16)mask, p);
    } else {
        return (V)_mm512_mask_loadu_pd((__m512d)broadcast(fill), (__mmask8)mask, p);
    }
#else
    V v = broadcast(fill);
    for (int i = 0; i < count; ++i) v[i] = p[i];
    return v;
#endif
}

template <typename T>
inline typename Simd<T>::vec load_tail(const T* p, int count) {
    return load_filled(p, count, T(0));
}

template <typename T>
inline void store_tail(T* p, typename Simd<T>::vec v, int count) {
#if TC_VECTOR_BYTES == 64
    const unsigned mask = (1u << count) - 1;
    if constexpr (sizeof(T) == 4) {
        _mm512_mask_storeu_ps(p, (__mmask16)mask, (__m512)v);
    } else {
        _mm512_mask_storeu_pd(p, (__mmask8)mask, (__m512d)v);
    }
#else
    store_partial(p, v, count);
#endif
}

template <typename T>
inline T lane_sum(typename Simd<T>::vec v) {
    T sum = v[0];
    for (int i = 1; i < Simd<T>::lanes; ++i) sum += v[i];
    return sum;
}

template <typename T>
inline T lane_max(typename Simd<T>::vec v) {
    T result = v[0];
    for (int k = 1; k < Simd<T>::lanes; ++k) result = v[k] > result ? v[k] : result;
    return result;
}

template <typename T>
T row_max(const T* x, ptrdiff_t cols) {
    typedef typename Simd<T>::vec V;
    constexpr int L = Simd<T>::lanes;
    const T lowest = -static_cast<T>(INFINITY);
    V best = broadcast(lowest);
    ptrdiff_t i = 0;
    for (; i + L <= cols; i += L) {
        const V v = load(x + i);
        best = v > best ? v : best;
    }
    if (i < cols) {
        const V v = load_filled(x + i, static_cast<int>(cols - i), lowest);
        best = v > best ? v : best;
    }
    return lane_max<T>(best);
}

// sum over the row of e^(x - shift); stores the exponentials in e unless e is null
template <typename T>
T exp_sum(const T* x, T shift, T* e, ptrdiff_t cols) {
    typedef typename Simd<T>::vec V;
    constexpr int L = Simd<T>::lanes;
    V sum = V{};
    ptrdiff_t i = 0;
    for (; i + L <= cols; i += L) {
        const V v = exp_v(load(x + i) - shift);
        if (e) store(e + i, v);
        sum += v;
    }
    if (i < cols) {
        const int count = static_cast<int>(cols - i);
        V v = exp_v(load_tail(x + i, count) - shift);
        for (int k = count; k < L; ++k) v[k] = T(0);
        if (e) store_tail(e + i, v, count);
        sum += v;
    }
    return lane_sum<T>(sum);
}

// out = a * scale + b over a row (a and out may alias)
template <typename T>
void scale_shift(const T* a, T scale, T shift, T* out, ptrdiff_t cols) {
    constexpr int L = Simd<T>::lanes;
    ptrdiff_t i = 0;
    for (; i + L <= cols; i += L) store(out + i, load(a + i) * scale + shift);
    if (i < cols) {
        const int count = static_cast<int>(cols - i);
        store_tail(out + i, load_tail(a + i, count) * scale + shift, count);
    }
}

// y = (x - max) - log(sum e^(x - max)), as the reference
template <typename T>
void log_softmax_row(const T* x, T* y, ptrdiff_t cols) {
    const T shift = row_max(x, cols);
    const T log_sum =
        static_cast<T>(::log(static_cast<double>(exp_sum<T>(x, shift, nullptr, cols))));
    constexpr int L = Simd<T>::lanes;
    ptrdiff_t i = 0;
    for (; i + L <= cols; i += L) store(y + i, (load(x + i) - shift) - log_sum);
    if (i < cols) {
        const int count = static_cast<int>(cols - i);
        store_tail(y + i, (load_tail(x + i, count) - shift) - log_sum, count);
    }
}

template <typename T>
void softmax_row(const T* x, T* y, ptrdiff_t cols) {
    const T shift = row_max(x, cols);
    const T sum = exp_sum<T>(x, shift, y, cols);
    scale_shift<T>(y, T(1) / sum, T(0), y, cols);
}

// softmax: dx = y (grad - <grad, y>)
template <typename T>
void softmax_backward_row(const T* grad, const T* y, T* dx, ptrdiff_t cols) {
    typedef typename Simd<T>::vec V;
    constexpr int L = Simd<T>::lanes;
    V dot = V{};
    ptrdiff_t i = 0;
    for (; i + L <= cols; i += L) dot += load(grad + i) * load(y + i);
    const int tail = static_cast<int>(cols - i);
    if (tail) dot += load_tail(grad + i, tail) * load_tail(y + i, tail);
    const T total = lane_sum<T>(dot);
    for (i = 0; i + L <= cols; i += L) store(dx + i, load(y + i) * (load(grad + i) - total));
    if (tail) {
        store_tail(dx + i, load_tail(y + i, tail) * (load_tail(grad + i, tail) - total),
                      tail);
    }
}

// dx = grad - e^y scale: log_softmax's backward with scale = sum(grad); a null grad reads as
// zeros (cross-entropy's backward, scale = -grad[r])
template <typename T>
void minus_exp_scaled(const T* grad, const T* y, T scale, T* dx, ptrdiff_t cols) {
    typedef typename Simd<T>::vec V;
    constexpr int L = Simd<T>::lanes;
    ptrdiff_t i = 0;
    for (; i + L <= cols; i += L) {
        const V g = grad ? load(grad + i) : V{};
        store(dx + i, g - exp_v(load(y + i)) * scale);
    }
    if (i < cols) {
        const int count = static_cast<int>(cols - i);
        const V g = grad ? load_tail(grad + i, count) : V{};
        store_tail(dx + i, g - exp_v(load_tail(y + i, count)) * scale, count);
    }
}

template <typename T>
T row_sum(const T* x, ptrdiff_t cols) {
    typedef typename Simd<T>::vec V;
    constexpr int L = Simd<T>::lanes;
    V sum = V{};
    ptrdiff_t i = 0;
    for (; i + L <= cols; i += L) sum += load(x + i);
    if (i < cols) sum += load_tail(x + i, static_cast<int>(cols - i));
    return lane_sum<T>(sum);
}

template <typename T>
void forward_rows(RowOp f, const T* x, T* y, ptrdiff_t rows, ptrdiff_t cols, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static) \
    if (run_parallel<T>(threads, rows, cols))
    for (ptrdiff_t r = 0; r < rows; ++r) {
        if (f == RowOp::softmax) {
            softmax_row(x + r * cols, y + r * cols, cols);
        } else {
            log_softmax_row(x + r * cols, y + r * cols, cols);
        }
    }
}

template <typename T>
void backward_rows(RowOp f, const T* grad, const T* y, T* dx, ptrdiff_t rows, ptrdiff_t cols,
                   int threads) {
#pragma omp parallel for num_threads(threads) schedule(static) \
    if (run_parallel<T>(threads, rows, cols))
    for (ptrdiff_t r = 0; r < rows; ++r) {
        const T* g = grad + r * cols;
        if (f == RowOp::softmax) {
            softmax_backward_row(g, y + r * cols, dx + r * cols, cols);
        } else {
            minus_exp_scaled(g, y + r * cols, row_sum(g, cols), dx + r * cols, cols);
        }
    }
}

template <typename T>
void cross_entropy_rows(const T* logits, const int64_t* target, T* loss, T* log_probs,
                        ptrdiff_t rows, ptrdiff_t cols, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static) \
    if (run_parallel<T>(threads, rows, cols))
    for (ptrdiff_t r = 0; r < rows; ++r) {
        T* lp = log_probs + r * cols;
        log_softmax_row(logits + r * cols, lp, cols);
        loss[r] = -lp[target[r]];
    }
}

// dlogits = grad[r] e^log_probs, less grad[r] at the target
template <typename T>
void cross_entropy_backward_rows(const T* grad, const T* log_probs, const int64_t* target,
                                 T* dlogits, ptrdiff_t rows, ptrdiff_t cols, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static) \
    if (run_parallel<T>(threads, rows, cols))
    for (ptrdiff_t r = 0; r < rows; ++r) {
        T* d = dlogits + r * cols;
        minus_exp_scaled<T>(nullptr, log_probs + r * cols, -grad[r], d, cols);
        d[target[r]] -= grad[r];
    }
}

}  // namespace

#define TC_DEFINE_SOFTMAX_KERNELS_FOR(T)                                                         \
    void row_forward(RowOp f, const T* x, T* y, ptrdiff_t rows, ptrdiff_t cols, int threads) { \
        forward_rows(f, x, y, rows, cols, threads);                                             \
    }                                                                                            \
    void row_backward(RowOp f, const T* grad, const T* y, T* dx, ptrdiff_t rows, ptrdiff_t cols, \
                      int threads) {                                                             \
        backward_rows(f, grad, y, dx, rows, cols, threads);                                     \
    }                                                                                            \
    void cross_entropy_forward(const T* logits, const int64_t* target, T* loss, T* log_probs,   \
                               ptrdiff_t rows, ptrdiff_t cols, int threads) {                    \
        cross_entropy_rows(logits, target, loss, log_probs, rows, cols, threads);               \
    }                                                                                            \
    void cross_entropy_backward(const T* grad, const T* log_probs, const int64_t* target,       \
                                T* dlogits, ptrdiff_t rows, ptrdiff_t cols, int threads) {       \
        cross_entropy_backward_rows(grad, log_probs, target, dlogits, rows, cols, threads);     \
    }

TC_DEFINE_SOFTMAX_KERNELS_FOR(float)
TC_DEFINE_SOFTMAX_KERNELS_FOR(double)

}  // namespace TC_ISA
