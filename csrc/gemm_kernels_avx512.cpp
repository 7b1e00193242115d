// GEMM for AVX-512: 8 x 32 fp32 / 8 x 16 fp64 register tile (16 accumulators: twice the FMA
// latency x pipes), 8 x 48 / 8 x 24 for wide products (24 accumulators, 11 loads per 24 FMAs);
// the 14 x 32 / 14 x 16 main tile (28 of the 32 zmm registers accumulating) only when forced
// (set_gemm_tile: the 8-row tiles measured faster on Zen 4 and Zen 5, see choose_tile).
// System headers come before the target pragma so that only the kernels are compiled for it.
#include <immintrin.h>
#include <omp.h>

#include "gemm_kernels.h"

#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,fma")

#define TC_ISA isa_avx512
#define TC_VECTOR_BYTES 64
#define TC_GEMM_MR 14
#define TC_GEMM_MR_SHORT 8
#define TC_GEMM_MR_WIDE 8
#define TC_GEMM_NV_WIDE 3
#define TC_GEMM_NV 2
#include "gemm_kernels_impl.h"
