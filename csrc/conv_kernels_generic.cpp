// Conv kernels for any CPU: 16-byte vectors (SSE2 on x86-64, NEON on ARM), 16 registers.
#include <algorithm>
#include <cstddef>

#include "conv_kernels.h"

#define TC_ISA isa_generic
#define TC_VECTOR_BYTES 16
#define TC_CONV_FORWARD_ROWS 4
#define TC_CONV_FORWARD_VECTORS 2
#define TC_CONV_WEIGHT_ROWS 1
#define TC_CONV_NHWC_WEIGHT_VECTORS 1
#include "conv_kernels_impl.h"
