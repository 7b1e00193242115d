// Winograd kernels for any CPU: 16-byte vectors (SSE2 on x86-64, NEON on ARM), 16 registers.
#include <algorithm>
#include <cstddef>

#include "winograd_kernels.h"

#define TC_ISA isa_generic
#define TC_VECTOR_BYTES 16
#define TC_WINOGRAD_VECTORS 2
#include "winograd_kernels_impl.h"
