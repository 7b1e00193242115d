// sgd, adam and rmsprop updates, written once and compiled per ISA. The including unit
// includes the system headers (<math.h>, <omp.h>, the x86 intrinsics) first, then sets its
// target pragma and defines TC_ISA (the namespace of this copy) and TC_VECTOR_BYTES (the SIMD
// width). Each update is memory-bound: one read of every operand, one write of each updated
// array, a vector at a time; large arrays split into chunks across threads.
#include "optim_kernels.h"
#include "simd.h"

namespace TC_ISA {
namespace {

// Arrays up to this size run on one thread (an OpenMP fork/join costs microseconds);
// larger ones in chunks of `chunk` elements.
constexpr ptrdiff_t parallel_threshold = 1 << 16;
constexpr ptrdiff_t chunk = 1 << 14;

// sqrt on every lane: the ISA's vector square root (libm's would keep errno, lane by lane;
// the zero-masked AVX-512 form, because GCC 12 warns on the plain one's undefined source)
template <typename T>
inline typename Simd<T>::vec sqrt_v(typename Simd<T>::vec x) {
    typedef typename Simd<T>::vec V;
#if TC_VECTOR_BYTES == 64
    if constexpr (sizeof(T) == 4) return (V)_mm512_maskz_sqrt_ps(0xFFFF, (__m512)x);
    else return (V)_mm512_maskz_sqrt_pd(0xFF, (__m512d)x);
#elif TC_VECTOR_BYTES == 32
    if constexpr (sizeof(T) == 4) return (V)_mm256_sqrt_ps((__m256)x);
    else return (V)_mm256_sqrt_pd((__m256d)x);
#elif defined(__SSE2__)
    if constexpr (sizeof(T) == 4) return (V)_mm_sqrt_ps((__m128)x);
    else return (V)_mm_sqrt_pd((__m128d)x);
#else
    for (int i = 0; i < Simd<T>::lanes; ++i) x[i] = sqrt(x[i]);
    return x;
#endif
}

// update(i, count) for each vector of [0, n), chunked across threads for large n
template <typename T, typename Update>
void for_each_vector(ptrdiff_t n, int threads, const Update& update) {
    constexpr int L = Simd<T>::lanes;
    const ptrdiff_t chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for num_threads(threads) schedule(static) \
    if (threads > 1 && n >= parallel_threshold)
    for (ptrdiff_t c = 0; c < chunks; ++c) {
        const ptrdiff_t end = c + 1 < chunks ? (c + 1) * chunk : n;
        for (ptrdiff_t i = c * chunk; i < end; i += L) {
            update(i, static_cast<int>(end - i < L ? end - i : L));
        }
    }
}

// (Functors rather than lambdas: GCC compiles lambdas in templates without the unit's target.)
template <typename T>
struct Sgd {
    typedef typename Simd<T>::vec V;
    T* param;
    const T* grad;
    T* velocity;
    T lr, momentum, weight_decay;
    bool nesterov;

    void operator()(ptrdiff_t i, int count) const {
        const V p = load_n(param + i, count);
        V g = load_n(grad + i, count);
        if (weight_decay != T(0)) g += weight_decay * p;
        if (velocity) {
            const V v = load_n(velocity + i, count) * momentum + g;
            store_n(velocity + i, v, count);
            g = nesterov ? g + momentum * v : v;
        }
        store_n(param + i, p - lr * g, count);
    }
};

template <typename T>
struct Adam {
    typedef typename Simd<T>::vec V;
    T* param;
    const T* grad;
    T *exp_avg, *exp_avg_sq;
    T beta1, beta2, eps, weight_decay, step_size, bias_correction2_sqrt, decay_factor;
    bool decoupled;

    void operator()(ptrdiff_t i, int count) const {
        V p = load_n(param + i, count);
        V g = load_n(grad + i, count);
        if (decoupled) {
            p *= decay_factor;
        } else if (weight_decay != T(0)) {
            g += weight_decay * p;
        }
        const V m = load_n(exp_avg + i, count) * beta1 + (T(1) - beta1) * g;
        const V v = load_n(exp_avg_sq + i, count) * beta2 + (T(1) - beta2) * g * g;
        store_n(exp_avg + i, m, count);
        store_n(exp_avg_sq + i, v, count);
        const V denom = sqrt_v<T>(v) / bias_correction2_sqrt + eps;
        store_n(param + i, p - step_size * m / denom, count);
    }
};

template <typename T>
struct Rmsprop {
    typedef typename Simd<T>::vec V;
    T* param;
    const T* grad;
    T *square_avg, *momentum_buffer, *grad_avg;
    T lr, alpha, eps, weight_decay, momentum;

    void operator()(ptrdiff_t i, int count) const {
        const V p = load_n(param + i, count);
        V g = load_n(grad + i, count);
        if (weight_decay != T(0)) g += weight_decay * p;
        const V s = load_n(square_avg + i, count) * alpha + (T(1) - alpha) * g * g;
        store_n(square_avg + i, s, count);
        V centered = s;
        if (grad_avg) {
            const V a = load_n(grad_avg + i, count) * alpha + (T(1) - alpha) * g;
            store_n(grad_avg + i, a, count);
            // where s overflowed, a * a may too: inf - inf would be NaN, but s >= a^2, so
            // the difference is inf as well (no step, as with a fused multiply-add)
            centered = s == T(INFINITY) ? s : s - a * a;
        }
        const V avg = sqrt_v<T>(centered) + eps;
        if (momentum_buffer) {
            const V b = load_n(momentum_buffer + i, count) * momentum + g / avg;
            store_n(momentum_buffer + i, b, count);
            store_n(param + i, p - lr * b, count);
        } else {
            store_n(param + i, p - lr * g / avg, count);
        }
    }
};

}  // namespace

#define TC_DEFINE_OPTIM_KERNELS_FOR(T)                                                           \
    void sgd_update(T* param, const T* grad, T* velocity, ptrdiff_t n, const SgdHyper& h,       \
                    int threads) {                                                               \
        for_each_vector<T>(n, threads,                                                           \
                           Sgd<T>{param, grad, velocity, T(h.lr), T(h.momentum),                 \
                                  T(h.weight_decay), h.nesterov});                               \
    }                                                                                            \
    void adam_update(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, ptrdiff_t n,           \
                     const AdamHyper& h, int threads) {                                          \
        for_each_vector<T>(n, threads,                                                           \
                           Adam<T>{param, grad, exp_avg, exp_avg_sq, T(h.beta1), T(h.beta2),     \
                                   T(h.eps), T(h.weight_decay), T(h.step_size),                  \
                                   T(h.bias_correction2_sqrt), T(1 - h.lr * h.weight_decay),     \
                                   h.decoupled});                                                \
    }                                                                                            \
    void rmsprop_update(T* param, const T* grad, T* square_avg, T* momentum_buffer, T* grad_avg, \
                        ptrdiff_t n, const RmspropHyper& h, int threads) {                       \
        for_each_vector<T>(n, threads,                                                           \
                           Rmsprop<T>{param, grad, square_avg, momentum_buffer, grad_avg,        \
                                      T(h.lr), T(h.alpha), T(h.eps), T(h.weight_decay),          \
                                      T(h.momentum)});                                           \
    }

TC_DEFINE_OPTIM_KERNELS_FOR(float)
TC_DEFINE_OPTIM_KERNELS_FOR(double)

}  // namespace TC_ISA
