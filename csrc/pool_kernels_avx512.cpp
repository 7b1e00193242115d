// Pooling for AVX-512 (16 float / 8 double lanes).
// System headers come before the target pragma so that only the kernels are compiled for it.
#include <immintrin.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include <algorithm>

#include "pool_kernels.h"

#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,fma")

#define TC_ISA isa_avx512
#define TC_VECTOR_BYTES 64
#include "pool_kernels_impl.h"
