// bias_act, written once and compiled per ISA. The including unit includes the system headers
// first, then sets its target pragma and defines TC_ISA (the namespace of this copy) and
// TC_VECTOR_BYTES (the SIMD width). Rows are taken in chunks that stay in L1: the bias is
// added in one pass and the activation kernel of this ISA (activation_kernels_impl.h) runs
// in place on the chunk; backward runs the activation's backward kernel on the chunk and adds
// its rows into the block's dbias while they are still in cache.
#include "bias_act_kernels.h"
#include "simd.h"

namespace TC_ISA {
namespace {

constexpr ptrdiff_t parallel_threshold = 1 << 15;   // elements; below, one thread
constexpr ptrdiff_t chunk_elements = 1 << 13;       // 32 KiB of float32

Activation activation_of(BiasActivation f) {
    return f == BiasActivation::relu ? Activation::relu
           : f == BiasActivation::sigmoid ? Activation::sigmoid
                                          : Activation::tanh;
}

// out[0 .. n) = a[0 .. n) + b[0 .. n)
template <typename T>
void add(const T* a, const T* b, T* out, ptrdiff_t n) {
    constexpr int L = Simd<T>::lanes;
    ptrdiff_t i = 0;
    for (; i + L <= n; i += L) store(out + i, load(a + i) + load(b + i));
    if (i < n) {
        const int count = static_cast<int>(n - i);
        store_partial(out + i, load_partial(a + i, count) + load_partial(b + i, count), count);
    }
}

template <typename T>
void forward(BiasActivation f, const T* x, const T* bias, T* y, ptrdiff_t rows, ptrdiff_t F,
             int threads) {
    if (F == 0) return;
    const ptrdiff_t chunk_rows = F < chunk_elements ? chunk_elements / F : 1;
    const ptrdiff_t chunks = (rows + chunk_rows - 1) / chunk_rows;
#pragma omp parallel for num_threads(threads) schedule(static) \
    if (threads > 1 && chunks > 1 && rows * F >= parallel_threshold)
    for (ptrdiff_t c = 0; c < chunks; ++c) {
        const ptrdiff_t first = c * chunk_rows;
        const ptrdiff_t end = first + chunk_rows < rows ? first + chunk_rows : rows;
        for (ptrdiff_t r = first; r < end; ++r) add(x + r * F, bias, y + r * F, F);
        if (f != BiasActivation::none) {
            T* z = y + first * F;
            activation_forward(activation_of(f), z, z, (end - first) * F, T(0), 1);
        }
    }
}

template <typename T>
void backward(BiasActivation f, const T* grad, const T* y, T* dx, T* dbias, T* partials,
              ptrdiff_t rows, ptrdiff_t F, int threads) {
    if (F == 0) return;
    const ptrdiff_t blocks = bias_act_blocks(rows, F);
    const ptrdiff_t block_rows = (rows + blocks - 1) / blocks;
    const ptrdiff_t chunk_rows = F < chunk_elements ? chunk_elements / F : 1;
#pragma omp parallel for num_threads(threads) schedule(static) \
    if (threads > 1 && blocks > 1 && rows * F >= parallel_threshold)
    for (ptrdiff_t b = 0; b < blocks; ++b) {
        T* partial = partials + b * F;
        for (ptrdiff_t j = 0; j < F; ++j) partial[j] = T(0);
        const ptrdiff_t block_end = (b + 1) * block_rows < rows ? (b + 1) * block_rows : rows;
        for (ptrdiff_t first = b * block_rows; first < block_end; first += chunk_rows) {
            const ptrdiff_t end = first + chunk_rows < block_end ? first + chunk_rows : block_end;
            const ptrdiff_t offset = first * F, n = (end - first) * F;
            if (f == BiasActivation::none) {
                for (ptrdiff_t i = 0; i < n; ++i) dx[offset + i] = grad[offset + i];
            } else {   // these derivatives read y only; y stands in for x
                activation_backward(activation_of(f), grad + offset, y + offset, y + offset,
                                    dx + offset, n, T(0), 1);
            }
            for (ptrdiff_t r = first; r < end; ++r) add(partial, dx + r * F, partial, F);
        }
    }
    for (ptrdiff_t j = 0; j < F; ++j) dbias[j] = partials[j];
    for (ptrdiff_t b = 1; b < blocks; ++b) add(dbias, partials + b * F, dbias, F);
}

}  // namespace

#define TC_DEFINE_BIAS_ACT_KERNELS_FOR(T)                                                       \
    void bias_act_forward(BiasActivation f, const T* x, const T* bias, T* y, ptrdiff_t rows,    \
                          ptrdiff_t features, int threads) {                                   \
        forward(f, x, bias, y, rows, features, threads);                                       \
    }                                                                                           \
    void bias_act_backward(BiasActivation f, const T* grad, const T* y, T* dx, T* dbias,        \
                           T* partials, ptrdiff_t rows, ptrdiff_t features, int threads) {     \
        backward(f, grad, y, dx, dbias, partials, rows, features, threads);                    \
    }

TC_DEFINE_BIAS_ACT_KERNELS_FOR(float)
TC_DEFINE_BIAS_ACT_KERNELS_FOR(double)

}  // namespace TC_ISA
