// Row-pair Winograd kernels for AVX-512 (16 float / 8 double lanes, 32 registers).
// System headers come before the target pragma so that only the kernels are compiled for it.
#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "winograd_rows_kernels.h"

// BMI2's shlx for the weight gradient's lane masks (computed at each step): one Zen 5 thread,
// 4 MNIST images, 0.93x the weight gradient's time (1.70 against 1.82 us per image)
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,fma,bmi2")

#define TC_ISA isa_avx512
#define TC_VECTOR_BYTES 64
#define TC_WINOGRAD_ROWS_FORWARD_ROWS 2
#define TC_WINOGRAD_ROWS_WEIGHT_ROWS 2
#include "winograd_rows_kernels_impl.h"
