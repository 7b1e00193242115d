// GEMM for AVX2 + FMA: 6 x 16 fp32 / 6 x 8 fp64 register tile, 12 of the 16 ymm registers
// accumulating.
// System headers come before the target pragma so that only the kernels are compiled for it.
#include <immintrin.h>
#include <omp.h>

#include "gemm_kernels.h"

#pragma GCC target("avx2,fma")

#define TC_ISA isa_avx2
#define TC_VECTOR_BYTES 32
#define TC_GEMM_MR 6
#define TC_GEMM_NV 2
#include "gemm_kernels_impl.h"
