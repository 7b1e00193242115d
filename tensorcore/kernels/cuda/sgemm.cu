// sgemm: C = A @ B in fp32 on the CUDA cores, batched.
// A is (batch, M, K), B is (batch, K, N), C is (batch, M, N), each matrix row-major with its
// own leading dimension and batch stride (0 broadcasts one matrix over the batch); trans_a /
// trans_b say that A / B is stored transposed ((K, M) / (N, K) rows), so a .T view costs nothing.
//
// Hierarchy (defines injected by the loader; the large config, for big problems):
//   block tile  BM x BN = 128 x 128, K in slices of BK = 8 staged in shared memory, double
//               buffered (2 x 2 x 8 x 132 floats = 16.5 KB) -> each A/B element fetched from
//               global memory is reused 128 times from shared memory;
//   warp tile   WM x WN = 64 x 32: 8 warps per block (256 threads);
//   thread tile TM x TN = 8 x 8 accumulators in registers: per k, TM + TN = 16 shared loads
//               (as 4 float4s) feed 64 FMAs, enough arithmetic intensity to run the FMA pipes
//               rather than shared memory bandwidth.
// The small config (64 x 64 blocks of 128 threads) fills the 132 SMs of an H200 when the large
// tiles would give fewer blocks than SMs. PAD = 4 keeps tile rows 16-byte aligned and makes
// the scattered stores of a k-contiguous operand bank-conflict free.
#include "gemm_tile.cuh"

constexpr int WARPS_M = BM / WM, WARPS_N = BN / WN;
constexpr int THREADS = WARPS_M * WARPS_N * 32;
constexpr int LANES_M = WM / TM, LANES_N = WN / TN;     // a warp's lanes as LANES_M x LANES_N
static_assert(BM % WM == 0 && BN % WN == 0, "warp tiles must divide the block tile");
static_assert(LANES_M * LANES_N == 32, "a warp tile must hold exactly 32 thread tiles");
static_assert(TM % 4 == 0 && TN % 4 == 0 && PAD % 4 == 0, "float4 reads need multiples of 4");

struct Identity {
    __device__ __forceinline__ float operator()(float x) const { return x; }
};

extern "C" __global__ void __launch_bounds__(THREADS)
sgemm(const float* __restrict__ A, const float* __restrict__ B, float* __restrict__ C,
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
    // this thread's TM x TN tile starts at (row, col) = (tm, tn) of the block tile
    const int tm = (warp / WARPS_N) * WM + (lane / LANES_N) * TM;
    const int tn = (warp % WARPS_N) * WN + (lane % LANES_N) * TN;

    float acc[TM][TN] = {};
    auto math = [&](const float* a_tile, const float* b_tile) {
#pragma unroll
        for (int k = 0; k < BK; ++k) {
            float a[TM], b[TN];
#pragma unroll
            for (int i = 0; i < TM; i += 4)
                *reinterpret_cast<float4*>(a + i) =
                    *reinterpret_cast<const float4*>(a_tile + k * (BM + PAD) + tm + i);
#pragma unroll
            for (int j = 0; j < TN; j += 4)
                *reinterpret_cast<float4*>(b + j) =
                    *reinterpret_cast<const float4*>(b_tile + k * (BN + PAD) + tn + j);
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
    };
    gemm_mainloop<BM, BN, BK, PAD, THREADS>(A, B, M, N, K, lda, ldb, !trans_a, trans_b,
                                            aligned_a, aligned_b, m0, n0, a_smem, b_smem,
                                            Identity(), math);

#pragma unroll
    for (int i = 0; i < TM; ++i) {
        const int m = m0 + tm + i;
        if (m >= M) break;
        float* row = C + (long long)m * ldc;
#pragma unroll
        for (int j = 0; j < TN; j += 4) {
            const int n = n0 + tn + j;
            if (aligned_c && n + 3 < N) {
                *reinterpret_cast<float4*>(row + n) =
                    make_float4(acc[i][j], acc[i][j + 1], acc[i][j + 2], acc[i][j + 3]);
            } else {
#pragma unroll
                for (int jj = 0; jj < 4; ++jj)
                    if (n + jj < N) row[n + jj] = acc[i][j + jj];
            }
        }
    }
}
