// Conv kernels for AVX2 + FMA (8 float / 4 double lanes, 16 registers).
// System headers come before the target pragma so that only the kernels are compiled for it.
#include <immintrin.h>

#include <algorithm>
#include <cstddef>

#include "conv_kernels.h"

#pragma GCC target("avx2,fma")

#define TC_ISA isa_avx2
#define TC_VECTOR_BYTES 32
#define TC_CONV_FORWARD_ROWS 4
#define TC_CONV_FORWARD_VECTORS 2
#define TC_CONV_WEIGHT_ROWS 1
#define TC_CONV_NHWC_WEIGHT_VECTORS 1
#include "conv_kernels_impl.h"
