// Conv kernels for AVX-512 (16 float / 8 double lanes, 32 registers).
// System headers come before the target pragma so that only the kernels are compiled for it.
#include <immintrin.h>

#include <algorithm>
#include <cstddef>

#include "conv_kernels.h"

#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,fma")

#define TC_ISA isa_avx512
#define TC_VECTOR_BYTES 64
#define TC_CONV_FORWARD_ROWS 4
#define TC_CONV_FORWARD_VECTORS 4
#define TC_CONV_WEIGHT_ROWS 2
#define TC_CONV_NHWC_WEIGHT_VECTORS 2
#include "conv_kernels_impl.h"
