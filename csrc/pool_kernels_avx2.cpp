// Pooling for AVX2 + FMA (8 float / 4 double lanes).
// System headers come before the target pragma so that only the kernels are compiled for it.
#include <immintrin.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include <algorithm>

#include "pool_kernels.h"

#pragma GCC target("avx2,fma")

#define TC_ISA isa_avx2
#define TC_VECTOR_BYTES 32
#include "pool_kernels_impl.h"
