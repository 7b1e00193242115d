// Activations forward and backward, elementwise over contiguous arrays of n elements.
// Defines: scalar_t (float or double), VEC = 16 / sizeof(scalar_t) elements per 16-byte access.
// These ops do ~1-20 flops per 8-12 bytes moved: far below the H200's ~15 flop/byte balance,
// so they are bound by HBM bandwidth and the whole design is about bytes: one read and one
// write per element (the backward reads grad and x or y: 2 reads, 1 write), as 16-byte vector
// accesses (fewer load instructions in flight for the same bytes), in a grid-stride loop over a
// grid sized to fill the GPU (a few blocks per SM) rather than one thread per element.
// Arrays must be 16-byte aligned (the host checks); the n % VEC tail is done elementwise.

struct __align__(16) Pack {
    scalar_t v[VEC];
};

// y = F::forward(x, param) for every element
template <class F>
__device__ __forceinline__ void map_forward(const scalar_t* __restrict__ x,
                                            scalar_t* __restrict__ y, long long n,
                                            scalar_t param) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    const long long start = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    const long long packs = n / VEC;
    const Pack* xv = reinterpret_cast<const Pack*>(x);
    Pack* yv = reinterpret_cast<Pack*>(y);
    for (long long i = start; i < packs; i += stride) {
        Pack in = xv[i], out;
#pragma unroll
        for (int k = 0; k < VEC; ++k) out.v[k] = F::forward(in.v[k], param);
        yv[i] = out;
    }
    for (long long i = packs * VEC + start; i < n; i += stride) y[i] = F::forward(x[i], param);
}

// dx = F::backward(grad, x, y, param) for every element, where y = F::forward(x, param)
template <class F>
__device__ __forceinline__ void map_backward(const scalar_t* __restrict__ grad,
                                             const scalar_t* __restrict__ x,
                                             const scalar_t* __restrict__ y,
                                             scalar_t* __restrict__ dx, long long n,
                                             scalar_t param) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    const long long start = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    const long long packs = n / VEC;
    const Pack* gv = reinterpret_cast<const Pack*>(grad);
    const Pack* xv = reinterpret_cast<const Pack*>(x);
    const Pack* yv = reinterpret_cast<const Pack*>(y);
    Pack* dv = reinterpret_cast<Pack*>(dx);
    for (long long i = start; i < packs; i += stride) {
        // only the operands F reads are loaded: the compiler drops the unused loads
        Pack g = gv[i], xi = xv[i], yi = yv[i], out;
#pragma unroll
        for (int k = 0; k < VEC; ++k) out.v[k] = F::backward(g.v[k], xi.v[k], yi.v[k], param);
        dv[i] = out;
    }
    for (long long i = packs * VEC + start; i < n; i += stride)
        dx[i] = F::backward(grad[i], x[i], y[i], param);
}

constexpr scalar_t ONE = 1, HALF = 0.5, ZERO = 0;
constexpr scalar_t SQRT_2_OVER_PI = 0.7978845608028654, GELU_CUBIC = 0.044715;
constexpr scalar_t INV_SQRT_2 = 0.7071067811865476, INV_SQRT_2PI = 0.3989422804014327;

struct Relu {       // NaN passes through, as maximum(x, 0) does
    static __device__ scalar_t forward(scalar_t x, scalar_t) {
        return (x > 0 || x != x) ? x : ZERO;
    }
    static __device__ scalar_t backward(scalar_t g, scalar_t, scalar_t y, scalar_t) {
        return y > 0 ? g : ZERO;
    }
};
struct LeakyRelu {  // param: negative_slope
    static __device__ scalar_t forward(scalar_t x, scalar_t s) { return x > 0 ? x : x * s; }
    static __device__ scalar_t backward(scalar_t g, scalar_t x, scalar_t, scalar_t s) {
        return x > 0 ? g : g * s;
    }
};
struct Sigmoid {    // exp(-|x|) is in (0, 1]: no overflow for either sign
    static __device__ scalar_t forward(scalar_t x, scalar_t) {
        const scalar_t e = exp(-fabs(x));
        return x >= 0 ? ONE / (ONE + e) : e / (ONE + e);
    }
    static __device__ scalar_t backward(scalar_t g, scalar_t, scalar_t y, scalar_t) {
        return g * y * (ONE - y);
    }
};
struct Tanh {
    static __device__ scalar_t forward(scalar_t x, scalar_t) { return tanh(x); }
    static __device__ scalar_t backward(scalar_t g, scalar_t, scalar_t y, scalar_t) {
        return g * (ONE - y * y);
    }
};
// Phi(x) as erfc(-x / sqrt 2) / 2 and (1 + tanh u) / 2 as sigmoid(2u): 1 + erf and 1 + tanh
// cancel for negative x
struct GeluErf {    // x * Phi(x)
    static __device__ scalar_t forward(scalar_t x, scalar_t) {
        return HALF * x * erfc(-x * INV_SQRT_2);
    }
    static __device__ scalar_t backward(scalar_t g, scalar_t x, scalar_t, scalar_t) {
        const scalar_t cdf = HALF * erfc(-x * INV_SQRT_2);
        return g * (cdf + x * exp(-HALF * x * x) * INV_SQRT_2PI);
    }
};
struct GeluTanh {   // x sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3))
    static __device__ scalar_t sigmoid_of_argument(scalar_t x) {
        return Sigmoid::forward(2 * SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x), ZERO);
    }
    static __device__ scalar_t forward(scalar_t x, scalar_t) {
        return x * sigmoid_of_argument(x);
    }
    // x within +-1000, where the slope is 1 or 0 to the last bit, so that x * x cannot
    // overflow: past |x| = 1.8e19 in float, 0 * inf made it NaN (NaN passes through)
    static __device__ scalar_t backward(scalar_t g, scalar_t x, scalar_t, scalar_t) {
        x = x > 1000 ? scalar_t(1000) : x < -1000 ? scalar_t(-1000) : x;
        const scalar_t s = sigmoid_of_argument(x);
        const scalar_t inner = SQRT_2_OVER_PI * (ONE + 3 * GELU_CUBIC * x * x);
        return g * (s + 2 * x * s * (ONE - s) * inner);
    }
};

// Kernels <activation>_forward(x, y, n, param) and <activation>_backward(grad, x, y, dx, n, param)
#define ACTIVATION_KERNELS(name, F)                                                           \
    extern "C" __global__ void name##_forward(const scalar_t* x, scalar_t* y, long long n,    \
                                              scalar_t param) {                               \
        map_forward<F>(x, y, n, param);                                                       \
    }                                                                                         \
    extern "C" __global__ void name##_backward(const scalar_t* grad, const scalar_t* x,       \
                                               const scalar_t* y, scalar_t* dx, long long n,  \
                                               scalar_t param) {                              \
        map_backward<F>(grad, x, y, dx, n, param);                                            \
    }

// bias_act: y = F(x + bias[i % features]), x (..., features) contiguous; the backward pass
// is the activation's own backward kernel with y in place of x (these derivatives use y only).
template <class F>
__device__ __forceinline__ void map_bias_forward(const scalar_t* __restrict__ x,
                                                 const scalar_t* __restrict__ bias,
                                                 scalar_t* __restrict__ y, long long n,
                                                 int features) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x)
        y[i] = F::forward(x[i] + bias[i % features], ZERO);
}

struct Identity {
    static __device__ scalar_t forward(scalar_t x, scalar_t) { return x; }
};

#define BIAS_ACT_KERNEL(name, F)                                                              \
    extern "C" __global__ void bias_##name##_forward(const scalar_t* x, const scalar_t* bias, \
                                                     scalar_t* y, long long n, int features) { \
        map_bias_forward<F>(x, bias, y, n, features);                                          \
    }

BIAS_ACT_KERNEL(none, Identity)
BIAS_ACT_KERNEL(relu, Relu)
BIAS_ACT_KERNEL(sigmoid, Sigmoid)
BIAS_ACT_KERNEL(tanh, Tanh)

ACTIVATION_KERNELS(relu, Relu)
ACTIVATION_KERNELS(leaky_relu, LeakyRelu)
ACTIVATION_KERNELS(sigmoid, Sigmoid)
ACTIVATION_KERNELS(tanh, Tanh)
ACTIVATION_KERNELS(gelu, GeluErf)
ACTIVATION_KERNELS(gelu_tanh, GeluTanh)
