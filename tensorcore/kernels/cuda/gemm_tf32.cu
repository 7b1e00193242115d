// gemm_tf32: C = A @ B on the tensor cores in TF32 (10-bit mantissa inputs, fp32 accumulate),
// batched; same arguments and layouts as sgemm.cu (transposed operands read in place).
// NUMERICS: inputs are rounded to TF32 (cvt.rna, round to nearest, ties away) once, as they
// enter shared memory, so each product carries ~2^-11 relative error: results differ from
// fp32 by ~1e-3 of their scale. Never the silent default; callers opt in.
//
// Hierarchy (defines injected by the loader):
//   block tile  BM x BN = 128 x 128, K in slices of BK = 16, double buffered in shared memory
//               (2 x 2 x 16 x 136 floats = 34 KB, under the 48 KB static limit);
//   warp tile   WM x WN = 64 x 32 (8 warps, 256 threads) = 4 x 4 mma.m16n8k8 tiles, so each
//               A fragment is reused 4 times and each B fragment 4 times from registers;
//   per k8 step a warp issues 16 mma.sync (16x8x8 each) from 16 + 8 shared loads per lane.
// Fragment layout of mma.m16n8k8 .tf32 (PTX ISA), lane = 4 * g + t:
//   A (16 x 8, row): a0 (g, t)  a1 (g + 8, t)  a2 (g, t + 4)  a3 (g + 8, t + 4)
//   B (8 x 8, col):  b0 (k = t, n = g)  b1 (k = t + 4, n = g)
//   C (16 x 8):      c0 (g, 2t)  c1 (g, 2t + 1)  c2 (g + 8, 2t)  c3 (g + 8, 2t + 1)
// Tiles are stored K-major (tile[k][m]); with PAD = 8 a row is 136 floats = 8 banks apart, so a
// fragment load (k = t, m = g) touches banks 8t + g: all 32 distinct, conflict free.
#include "gemm_tile.cuh"

constexpr int WARPS_M = BM / WM, WARPS_N = BN / WN;
constexpr int THREADS = WARPS_M * WARPS_N * 32;
constexpr int MMAS_M = WM / 16, MMAS_N = WN / 8;        // mma tiles per warp tile
static_assert(BM % WM == 0 && BN % WN == 0, "warp tiles must divide the block tile");
static_assert(WM % 16 == 0 && WN % 8 == 0 && BK % 8 == 0, "m16n8k8 tiles must fit exactly");
static_assert(PAD % 4 == 0, "tile rows must stay 16-byte aligned");

struct RoundToTF32 {
    __device__ __forceinline__ float operator()(float x) const {
        unsigned r;
        asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
        return __uint_as_float(r);
    }
};

__device__ __forceinline__ void mma_tf32(float (&c)[4], const unsigned (&a)[4],
                                         const unsigned (&b)[2]) {
    asm volatile(
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
        "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

extern "C" __global__ void __launch_bounds__(THREADS)
gemm_tf32(const float* __restrict__ A, const float* __restrict__ B, float* __restrict__ C,
          int M, int N, int K, long long lda, long long ldb, long long ldc,
          long long batch_stride_a, long long batch_stride_b, long long batch_stride_c,
          int trans_a, int trans_b, int aligned_a, int aligned_b, int aligned_c) {
    __shared__ __align__(16) float a_smem[2 * BK * (BM + PAD)];
    __shared__ __align__(16) float b_smem[2 * BK * (BN + PAD)];
    A += blockIdx.z * batch_stride_a;
    B += blockIdx.z * batch_stride_b;
    C += blockIdx.z * batch_stride_c;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int g = lane / 4, t = lane % 4;
    const int wm = (warp / WARPS_N) * WM, wn = (warp % WARPS_N) * WN;   // warp tile origin

    float acc[MMAS_M][MMAS_N][4] = {};
    auto math = [&](const float* a_tile, const float* b_tile) {
#pragma unroll
        for (int k = 0; k < BK; k += 8) {
            unsigned a[MMAS_M][4], b[MMAS_N][2];
            const float* a_frag = a_tile + (k + t) * (BM + PAD) + wm + g;   // (k + t, wm + g)
            const float* b_frag = b_tile + (k + t) * (BN + PAD) + wn + g;   // (k + t, wn + g)
#pragma unroll
            for (int i = 0; i < MMAS_M; ++i) {
                a[i][0] = __float_as_uint(a_frag[i * 16]);
                a[i][1] = __float_as_uint(a_frag[i * 16 + 8]);
                a[i][2] = __float_as_uint(a_frag[4 * (BM + PAD) + i * 16]);
                a[i][3] = __float_as_uint(a_frag[4 * (BM + PAD) + i * 16 + 8]);
            }
#pragma unroll
            for (int j = 0; j < MMAS_N; ++j) {
                b[j][0] = __float_as_uint(b_frag[j * 8]);
                b[j][1] = __float_as_uint(b_frag[4 * (BN + PAD) + j * 8]);
            }
#pragma unroll
            for (int i = 0; i < MMAS_M; ++i)
#pragma unroll
                for (int j = 0; j < MMAS_N; ++j) mma_tf32(acc[i][j], a[i], b[j]);
        }
    };
    gemm_mainloop<BM, BN, BK, PAD, THREADS>(A, B, M, N, K, lda, ldb, !trans_a, trans_b,
                                            aligned_a, aligned_b, m0, n0, a_smem, b_smem,
                                            RoundToTF32(), math);

    // c0, c1 at row g, columns 2t and 2t + 1; c2, c3 at row g + 8 (one float2 when aligned)
#pragma unroll
    for (int i = 0; i < MMAS_M; ++i) {
#pragma unroll
        for (int half = 0; half < 2; ++half) {
            const int m = m0 + wm + i * 16 + g + half * 8;
            if (m >= M) continue;
            float* row = C + (long long)m * ldc;
#pragma unroll
            for (int j = 0; j < MMAS_N; ++j) {
                const int n = n0 + wn + j * 8 + 2 * t;
                const float c0 = acc[i][j][2 * half], c1 = acc[i][j][2 * half + 1];
                if (aligned_c && n + 1 < N) {
                    *reinterpret_cast<float2*>(row + n) = make_float2(c0, c1);
                } else {
                    if (n < N) row[n] = c0;
                    if (n + 1 < N) row[n + 1] = c1;
                }
            }
        }
    }
}
