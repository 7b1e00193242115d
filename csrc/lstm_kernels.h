// The pointwise half of an LSTM step, compiled once per ISA (lstm_kernels_impl.h in
// lstm_kernels_<isa>.cpp): everything between the gate GEMMs, in one pass over the rows.
// Arrays are C-contiguous; gates and dpre are (batch, 4H) with the gates in PyTorch's order
// i, f, g, o; the state arrays are (batch, H). Each pass covers the hidden units [begin, end)
// of every row (0, H for all of them) and runs on the calling thread.
#pragma once

#include <cstddef>

// lstm_pointwise_forward: gates holds the pre-activations x W_ih^T + h W_hh^T on entry and
// the activated gates on return (bias (4H,) added first unless null); c_new = f c + i g,
// h_new = o tanh(c_new).
// lstm_pointwise_backward: with dh = dh_a (+ dh_b unless null) and dc the gradients of h_new
// and c_new, writes dpre (the gradient of the pre-activations) and dc_prev, and adds the
// column sums of dpre to dbias (4H,) unless null. dc_prev may be dc itself.
#define TC_DECLARE_LSTM_KERNELS(ns, T)                                                      \
    namespace ns {                                                                          \
    void lstm_pointwise_forward(T* gates, const T* bias, const T* c, T* h_new, T* c_new,    \
                                ptrdiff_t batch, ptrdiff_t hidden, ptrdiff_t begin,         \
                                ptrdiff_t end);                                             \
    void lstm_pointwise_backward(const T* dh_a, const T* dh_b, const T* dc, const T* c,     \
                                 const T* gates, const T* c_new, T* dpre, T* dc_prev,       \
                                 T* dbias, ptrdiff_t batch, ptrdiff_t hidden,               \
                                 ptrdiff_t begin, ptrdiff_t end);                           \
    }

#define TC_DECLARE_LSTM_KERNELS_BOTH(ns) \
    TC_DECLARE_LSTM_KERNELS(ns, float)   \
    TC_DECLARE_LSTM_KERNELS(ns, double)

TC_DECLARE_LSTM_KERNELS_BOTH(isa_generic)
#ifdef TENSORCORE_X86_ISAS
TC_DECLARE_LSTM_KERNELS_BOTH(isa_avx2)
TC_DECLARE_LSTM_KERNELS_BOTH(isa_avx512)
#endif
