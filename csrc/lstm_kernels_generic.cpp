// LSTM pointwise passes for any CPU: 16-byte vectors (SSE2 on x86-64, NEON on ARM).
#include <math.h>

#include "lstm_kernels.h"

#define TC_ISA isa_generic
#define TC_VECTOR_BYTES 16
#include "lstm_kernels_impl.h"
