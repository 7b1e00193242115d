// Row-pair Winograd kernels for AVX2 + FMA (16 registers).
// System headers come before the target pragma so that only the kernels are compiled for it.
#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "winograd_rows_kernels.h"

#pragma GCC target("avx2,fma")

#define TC_ISA isa_avx2
#define TC_VECTOR_BYTES 32
#define TC_WINOGRAD_ROWS_FORWARD_ROWS 1
#define TC_WINOGRAD_ROWS_WEIGHT_ROWS 1
#include "winograd_rows_kernels_impl.h"
