// Elementwise activations and their derivatives, written once and compiled per ISA. The
// including unit includes the system headers (<math.h>, <omp.h>) first, then sets its target
// pragma and defines
//   TC_ISA           namespace of this copy (isa_avx512, isa_avx2, isa_generic)
//   TC_VECTOR_BYTES  SIMD register width in bytes
// Formulas are the reference variants' (tensorcore/backends/reference/activations.py), except
// where another form keeps float32 accurate: GELU's Phi through erfc, its tanh through sigmoid.
#include "activation_kernels.h"
#include "simd.h"
#include "vector_math.h"

namespace TC_ISA {
namespace {

// Arrays up to this size run on one thread; larger ones in chunks of `chunk` elements.
constexpr ptrdiff_t parallel_threshold = 1 << 16;
constexpr ptrdiff_t chunk = 1 << 14;

// out[begin .. end) = f(in[begin .. end)...), a vector at a time; the tail through zero-padded
// vectors.
template <typename T, typename F, typename... In>
void map_range(T* out, ptrdiff_t begin, ptrdiff_t end, const F& f, const In*... in) {
    constexpr int W = Simd<T>::lanes;
    ptrdiff_t i = begin;
    for (; i + W <= end; i += W) store(out + i, f(load(in + i)...));
    if (i < end) {
        const int rest = static_cast<int>(end - i);
        store_partial(out + i, f(load_partial(in + i, rest)...), rest);
    }
}

template <typename T, typename F, typename... In>
void map(T* out, ptrdiff_t n, int threads, const F& f, const In*... in) {
    if (threads < 2 || n < parallel_threshold) {
        map_range(out, 0, n, f, in...);
        return;
    }
    const ptrdiff_t chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (ptrdiff_t c = 0; c < chunks; ++c) {
        map_range(out, c * chunk, c + 1 < chunks ? (c + 1) * chunk : n, f, in...);
    }
}

// Phi(x) = (1 + erf(x / sqrt 2)) / 2, as erfc(-x / sqrt 2) / 2: accurate far into x < 0 too
template <typename T>
inline typename Simd<T>::vec normal_cdf(typename Simd<T>::vec x) {
    return T(0.5) * erfc_v(x * T(-0.70710678118654752));
}

// u = sqrt(2 / pi) (x + 0.044715 x^3), the argument of the tanh in GELU's tanh approximation
template <typename T>
inline typename Simd<T>::vec gelu_tanh_argument(typename Simd<T>::vec x) {
    return T(0.79788456080286536) * (x + T(0.044715) * (x * x * x));
}

// The activations, y = f(x), and their derivatives, dx = grad * f'(x) from x or from y.
// (Functors rather than lambdas: GCC compiles lambdas in templates without the unit's target.)
template <typename T>
struct Relu {
    typedef typename Simd<T>::vec V;
    V operator()(V x) const { return x < T(0) ? V{} : x; }
};

template <typename T>
struct ReluBackward {   // grad * (y > 0)
    typedef typename Simd<T>::vec V;
    V operator()(V grad, V y) const { return y > T(0) ? grad : grad * T(0); }
};

template <typename T>
struct LeakyRelu {
    typedef typename Simd<T>::vec V;
    T negative_slope;
    V operator()(V x) const { return x > T(0) ? x : x * negative_slope; }
};

template <typename T>
struct LeakyReluBackward {
    typedef typename Simd<T>::vec V;
    T negative_slope;
    V operator()(V grad, V x) const { return x > T(0) ? grad : grad * negative_slope; }
};

template <typename T>
struct Sigmoid {
    typedef typename Simd<T>::vec V;
    V operator()(V x) const { return sigmoid_v<T>(x); }
};

template <typename T>
struct SigmoidBackward {
    typedef typename Simd<T>::vec V;
    V operator()(V grad, V y) const { return grad * y * (T(1) - y); }
};

template <typename T>
struct Tanh {
    typedef typename Simd<T>::vec V;
    V operator()(V x) const { return tanh_v(x); }
};

template <typename T>
struct TanhBackward {
    typedef typename Simd<T>::vec V;
    V operator()(V grad, V y) const { return grad * (T(1) - y * y); }
};

template <typename T>
struct GeluErf {   // x Phi(x)
    typedef typename Simd<T>::vec V;
    V operator()(V x) const { return x * normal_cdf<T>(x); }
};

template <typename T>
struct GeluErfBackward {   // Phi(x) + x phi(x)
    typedef typename Simd<T>::vec V;
    V operator()(V grad, V x) const {
        const V pdf = T(0.39894228040143268) * exp_v(T(-0.5) * x * x);
        return grad * (normal_cdf<T>(x) + x * pdf);
    }
};

// (1 + tanh u) / 2 = sigmoid(2u), which keeps its relative accuracy where tanh u nears -1
template <typename T>
struct GeluTanh {   // x (1 + tanh u) / 2
    typedef typename Simd<T>::vec V;
    V operator()(V x) const { return x * sigmoid_v<T>(T(2) * gelu_tanh_argument<T>(x)); }
};

// x is taken within +-1000, where the slope is 1 or 0 to the last bit, so that x^2 cannot
// overflow: past |x| = 1.8e19 in float32, 0 * inf made it NaN (NaN passes through)
template <typename T>
struct GeluTanhBackward {   // (1 + t) / 2 + x (1 - t^2) u' / 2 with t = tanh u = 2s - 1
    typedef typename Simd<T>::vec V;
    V operator()(V grad, V x) const {
        x = x > T(1000) ? broadcast(T(1000)) : x;
        x = x < T(-1000) ? broadcast(T(-1000)) : x;
        const V s = sigmoid_v<T>(T(2) * gelu_tanh_argument<T>(x));
        const V du = T(0.79788456080286536) * (T(1) + T(3 * 0.044715) * x * x);
        return grad * (s + T(2) * x * s * (T(1) - s) * du);
    }
};

template <typename T>
void forward(Activation f, const T* x, T* y, ptrdiff_t n, T negative_slope, int threads) {
    switch (f) {
        case Activation::relu: return map(y, n, threads, Relu<T>(), x);
        case Activation::leaky_relu: return map(y, n, threads, LeakyRelu<T>{negative_slope}, x);
        case Activation::sigmoid: return map(y, n, threads, Sigmoid<T>(), x);
        case Activation::tanh: return map(y, n, threads, Tanh<T>(), x);
        case Activation::gelu_erf: return map(y, n, threads, GeluErf<T>(), x);
        case Activation::gelu_tanh: return map(y, n, threads, GeluTanh<T>(), x);
    }
}

template <typename T>
void backward(Activation f, const T* grad, const T* x, const T* y, T* dx, ptrdiff_t n,
              T negative_slope, int threads) {
    switch (f) {
        case Activation::relu: return map(dx, n, threads, ReluBackward<T>(), grad, y);
        case Activation::leaky_relu:
            return map(dx, n, threads, LeakyReluBackward<T>{negative_slope}, grad, x);
        case Activation::sigmoid: return map(dx, n, threads, SigmoidBackward<T>(), grad, y);
        case Activation::tanh: return map(dx, n, threads, TanhBackward<T>(), grad, y);
        case Activation::gelu_erf: return map(dx, n, threads, GeluErfBackward<T>(), grad, x);
        case Activation::gelu_tanh: return map(dx, n, threads, GeluTanhBackward<T>(), grad, x);
    }
}

}  // namespace

void activation_forward(Activation f, const float* x, float* y, ptrdiff_t n,
                        float negative_slope, int threads) {
    forward(f, x, y, n, negative_slope, threads);
}
void activation_forward(Activation f, const double* x, double* y, ptrdiff_t n,
                        double negative_slope, int threads) {
    forward(f, x, y, n, negative_slope, threads);
}
void activation_backward(Activation f, const float* grad, const float* x, const float* y,
                         float* dx, ptrdiff_t n, float negative_slope, int threads) {
    backward(f, grad, x, y, dx, n, negative_slope, threads);
}
void activation_backward(Activation f, const double* grad, const double* x, const double* y,
                         double* dx, ptrdiff_t n, double negative_slope, int threads) {
    backward(f, grad, x, y, dx, n, negative_slope, threads);
}

}  // namespace TC_ISA
