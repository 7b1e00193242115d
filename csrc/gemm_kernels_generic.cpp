// GEMM for any CPU: 16-byte vectors (SSE2 on x86-64, NEON on ARM), 4 x 8 fp32 / 4 x 4 fp64
// register tile.
#include <omp.h>

#include "gemm_kernels.h"

#define TC_ISA isa_generic
#define TC_VECTOR_BYTES 16
#define TC_GEMM_MR 4
#define TC_GEMM_NV 2
#include "gemm_kernels_impl.h"
