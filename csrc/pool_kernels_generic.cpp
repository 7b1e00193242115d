// Pooling for any CPU: 16-byte vectors (SSE2 on x86-64, NEON on ARM).
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include <algorithm>

#include "pool_kernels.h"

#define TC_ISA isa_generic
#define TC_VECTOR_BYTES 16
#include "pool_kernels_impl.h"
