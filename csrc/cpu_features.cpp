#include "cpu_features.h"

namespace {

CpuFeatures detect_cpu_features() {
    CpuFeatures found{};
#if defined(__x86_64__) || defined(__i386__)
    // libgcc's CPU model also checks XGETBV, so AVX/AVX-512 count only when the OS enables them
    __builtin_cpu_init();
    found.avx2 = __builtin_cpu_supports("avx2");
    found.fma = __builtin_cpu_supports("fma");
    found.avx512f = __builtin_cpu_supports("avx512f");
    found.avx512bw = __builtin_cpu_supports("avx512bw");
    found.avx512dq = __builtin_cpu_supports("avx512dq");
    found.avx512vl = __builtin_cpu_supports("avx512vl");
#endif
    return found;
}

}  // namespace

const CpuFeatures& cpu_features() {
    static const CpuFeatures features = detect_cpu_features();
    return features;
}
