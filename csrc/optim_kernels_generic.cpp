// Optimizer steps for any CPU: 16-byte vectors (SSE2 on x86-64, NEON on ARM).
#include <math.h>
#include <omp.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "optim_kernels.h"

#define TC_ISA isa_generic
#define TC_VECTOR_BYTES 16
#include "optim_kernels_impl.h"
