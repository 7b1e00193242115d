// The LSTM pointwise passes, written once and compiled per ISA. The including unit includes
// the system headers (<math.h>) first, then sets its target pragma and defines
//   TC_ISA           namespace of this copy (isa_avx512, isa_avx2, isa_generic)
//   TC_VECTOR_BYTES  SIMD register width in bytes
// Formulas are the reference's (tensorcore/backends/reference/lstm.py), a vector of hidden
// units at a time; a row's last partial vector goes through zero-padded loads.
#include "lstm_kernels.h"
#include "simd.h"
#include "vector_math.h"

namespace TC_ISA {
namespace {

template <typename T>
void pointwise_forward(T* gates, const T* bias, const T* c, T* h_new, T* c_new,
                       ptrdiff_t batch, ptrdiff_t hidden, ptrdiff_t begin, ptrdiff_t end) {
    typedef typename Simd<T>::vec V;
    constexpr int W = Simd<T>::lanes;
    const ptrdiff_t H = hidden;
    for (ptrdiff_t b = 0; b < batch; ++b) {
        T* row = gates + b * 4 * H;                              // i | f | g | o, H each
        for (ptrdiff_t j = begin; j < end; j += W) {
            const int n = static_cast<int>(end - j < W ? end - j : W);
            V pre[4];
            for (int k = 0; k < 4; ++k) {
                pre[k] = load_n(row + k * H + j, n);
                if (bias) pre[k] += load_n(bias + k * H + j, n);
            }
            const V i = sigmoid_v<T>(pre[0]), f = sigmoid_v<T>(pre[1]);
            const V g = tanh_v(pre[2]), o = sigmoid_v<T>(pre[3]);
            const V c_next = f * load_n(c + b * H + j, n) + i * g;
            store_n(row + j, i, n);
            store_n(row + H + j, f, n);
            store_n(row + 2 * H + j, g, n);
            store_n(row + 3 * H + j, o, n);
            store_n(c_new + b * H + j, c_next, n);
            store_n(h_new + b * H + j, o * tanh_v(c_next), n);
        }
    }
}

template <typename T>
void pointwise_backward(const T* dh_a, const T* dh_b, const T* dc, const T* c, const T* gates,
                        const T* c_new, T* dpre, T* dc_prev, T* dbias, ptrdiff_t batch,
                        ptrdiff_t hidden, ptrdiff_t begin, ptrdiff_t end) {
    typedef typename Simd<T>::vec V;
    constexpr int W = Simd<T>::lanes;
    const ptrdiff_t H = hidden;
    for (ptrdiff_t b = 0; b < batch; ++b) {
        const T* row = gates + b * 4 * H;
        T* drow = dpre + b * 4 * H;
        for (ptrdiff_t j = begin; j < end; j += W) {
            const int n = static_cast<int>(end - j < W ? end - j : W);
            const ptrdiff_t s = b * H + j;                       // into the (batch, H) arrays
            const V i = load_n(row + j, n), f = load_n(row + H + j, n);
            const V g = load_n(row + 2 * H + j, n), o = load_n(row + 3 * H + j, n);
            V dh = load_n(dh_a + s, n);
            if (dh_b) dh += load_n(dh_b + s, n);
            const V tanh_c = tanh_v(load_n(c_new + s, n));
            const V dc_total = load_n(dc + s, n) + dh * o * (T(1) - tanh_c * tanh_c);
            V d[4];
            d[0] = dc_total * g * i * (T(1) - i);
            d[1] = dc_total * load_n(c + s, n) * f * (T(1) - f);
            d[2] = dc_total * i * (T(1) - g * g);
            d[3] = dh * tanh_c * o * (T(1) - o);
            for (int k = 0; k < 4; ++k) {
                store_n(drow + k * H + j, d[k], n);
                if (dbias) store_n(dbias + k * H + j, load_n(dbias + k * H + j, n) + d[k], n);
            }
            store_n(dc_prev + s, dc_total * f, n);
        }
    }
}

}  // namespace

#define TC_DEFINE_LSTM_KERNELS(T)                                                              \
    void lstm_pointwise_forward(T* gates, const T* bias, const T* c, T* h_new, T* c_new,       \
                                ptrdiff_t batch, ptrdiff_t hidden, ptrdiff_t begin,            \
                                ptrdiff_t end) {                                               \
        pointwise_forward(gates, bias, c, h_new, c_new, batch, hidden, begin, end);            \
    }                                                                                          \
    void lstm_pointwise_backward(const T* dh_a, const T* dh_b, const T* dc, const T* c,        \
                                 const T* gates, const T* c_new, T* dpre, T* dc_prev,          \
                                 T* dbias, ptrdiff_t batch, ptrdiff_t hidden, ptrdiff_t begin, \
                                 ptrdiff_t end) {                                              \
        pointwise_backward(dh_a, dh_b, dc, c, gates, c_new, dpre, dc_prev, dbias, batch,      \
                           hidden, begin, end);                                                \
    }

TC_DEFINE_LSTM_KERNELS(float)
TC_DEFINE_LSTM_KERNELS(double)

#undef TC_DEFINE_LSTM_KERNELS

}  // namespace TC_ISA
