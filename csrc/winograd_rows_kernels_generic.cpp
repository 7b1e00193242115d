// Row-pair Winograd kernels for any CPU: 16-byte vectors (SSE2 on x86-64, NEON on ARM), 16
// registers.
#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "winograd_rows_kernels.h"

#define TC_ISA isa_generic
#define TC_VECTOR_BYTES 16
#define TC_WINOGRAD_ROWS_FORWARD_ROWS 1
#define TC_WINOGRAD_ROWS_WEIGHT_ROWS 1
#include "winograd_rows_kernels_impl.h"
