// AddressSanitizer's manual poisoning (`make asan`), or nothing in other builds: the kernels'
// reused buffers (the buffer cache, the GEMM packing workspace) are larger than what each call
// uses, so without it a kernel overrunning its part would go unreported.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
inline constexpr bool asan_build = true;
#else
#define ASAN_POISON_MEMORY_REGION(address, size) ((void)(address), (void)(size))
#define ASAN_UNPOISON_MEMORY_REGION(address, size) ((void)(address), (void)(size))
inline constexpr bool asan_build = false;   // work done only to poison is skipped
#endif
