// CPU features the kernels dispatch on, read once from CPUID (and XGETBV: a feature counts
// only when the OS also saves its registers).
#pragma once

struct CpuFeatures {
    bool avx2, fma, avx512f, avx512bw, avx512dq, avx512vl;
};

const CpuFeatures& cpu_features();
