// CPU features the kernels dispatch on, read once from CPUID (and XGETBV: a feature counts
// only when the OS also saves its registers).
#pragma once

struct CpuFeatures {
    bool avx2, fma, avx512f, avx512bw, avx512dq, avx512vl;
    // BMI2 (shlx, bzhi): every CPU with AVX-512 has it; the AVX-512 kernels may use it
    bool bmi2;
    // AVX-512 executed as two 256-bit halves (AMD Zen 4, family 19h): one 512-bit FMA per
    // cycle, the throughput of two 256-bit ones. Reported (the benchmark's machine
    // description), not dispatched on: the GEMM tiles that once depended on it no longer do.
    bool avx512_halves;
};

const CpuFeatures& cpu_features();
