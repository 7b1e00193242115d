#include "cpu_features.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

#include <cstring>
#endif

namespace {

#if defined(__x86_64__) || defined(__i386__)
// AMD's Zen 4 (family 19h) is the AMD family with AVX-512 on a 256-bit datapath
bool amd_family_19h() {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return false;
    char vendor[12];
    std::memcpy(vendor, &ebx, 4);
    std::memcpy(vendor + 4, &edx, 4);
    std::memcpy(vendor + 8, &ecx, 4);
    if (std::memcmp(vendor, "AuthenticAMD", 12) != 0) return false;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
    const unsigned base = (eax >> 8) & 0xf, extended = (eax >> 20) & 0xff;
    return base + (base == 0xf ? extended : 0) == 0x19;
}
#endif

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
    found.bmi2 = __builtin_cpu_supports("bmi2");
    found.avx512_halves = found.avx512f && amd_family_19h();
#endif
    return found;
}

}  // namespace

const CpuFeatures& cpu_features() {
    static const CpuFeatures features = detect_cpu_features();
    return features;
}
