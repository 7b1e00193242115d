// Staging of GEMM operand tiles, global -> registers -> shared memory, shared by sgemm.cu and
// gemm_tf32.cu (and only by them: conv2d.cu gathers its operands instead).
//
// An operand tile is DEPTH x ROWS: DEPTH along the reduction axis K, ROWS along M (for A) or
// N (for B). In shared memory it is always stored K-major, tile[k * STRIDE + r], so the inner
// product loop reads a row of A and a row of B for one k with 16-byte loads. In global memory
// the operand is row-major with leading dimension ld and is either
//   k-contiguous: element (r, k) at src[r * ld + k]  (A as stored, or B^T: "transposed B")
//   r-contiguous: element (r, k) at src[k * ld + r]  (B as stored, or A^T: "transposed A")
// so a transposed view is read in place, never copied. Either way each thread fetches float4s
// along the contiguous axis: 16-byte loads, coalesced across the warp.
#pragma once

// 4 consecutive elements p[i * ld + j .. j + 3] of a rows x cols row-major matrix, zeros
// outside it. One 16-byte load when all four are inside and the address is aligned (aligned:
// p 16-byte aligned and ld % 4 == 0, checked on the host; j is always a multiple of 4 here).
__device__ __forceinline__ float4 load4(const float* __restrict__ p, long long ld, int i, int j,
                                        int rows, int cols, bool aligned) {
    float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
    if (i >= rows) return v;
    const float* q = p + (long long)i * ld + j;
    if (aligned && j + 3 < cols) return *reinterpret_cast<const float4*>(q);
    if (j < cols) v.x = q[0];
    if (j + 1 < cols) v.y = q[1];
    if (j + 2 < cols) v.z = q[2];
    if (j + 3 < cols) v.w = q[3];
    return v;
}

// This thread's share of one DEPTH x ROWS operand tile, held in registers between the global
// fetch and the shared-memory store so the fetch of slice k+1 overlaps the math on slice k.
template <int ROWS, int DEPTH, int NTHREADS>
struct OperandTile {
    static constexpr int VECS = ROWS * DEPTH / 4;                    // float4s in the tile
    static constexpr int PER_THREAD = (VECS + NTHREADS - 1) / NTHREADS;
    static_assert(ROWS % 4 == 0 && DEPTH % 4 == 0, "tile sides must be multiples of 4");
    float4 reg[PER_THREAD];

    // Fetch rows [r0, r0 + ROWS) x depth [k0, k0 + DEPTH) of an operand with `rows` rows and
    // `depth` depth (zeros past either edge).
    __device__ __forceinline__ void fetch(const float* __restrict__ src, long long ld,
                                          bool k_contiguous, bool aligned, int r0, int k0,
                                          int rows, int depth) {
#pragma unroll
        for (int v = 0; v < PER_THREAD; ++v) {
            int idx = threadIdx.x + v * NTHREADS;
            if (VECS % NTHREADS != 0 && idx >= VECS) break;
            if (k_contiguous) {     // float4 = (r, k .. k+3)
                int r = idx / (DEPTH / 4), k = (idx % (DEPTH / 4)) * 4;
                reg[v] = load4(src, ld, r0 + r, k0 + k, rows, depth, aligned);
            } else {                // float4 = (r .. r+3, k)
                int k = idx / (ROWS / 4), r = (idx % (ROWS / 4)) * 4;
                reg[v] = load4(src, ld, k0 + k, r0 + r, depth, rows, aligned);
            }
        }
    }

    // Store into tile[k * STRIDE + r] (STRIDE >= ROWS, a multiple of 4), each value passed
    // through convert (identity for fp32, round-to-TF32 for the tensor-core kernel).
    template <int STRIDE, class Convert>
    __device__ __forceinline__ void store(float* tile, bool k_contiguous, Convert convert) const {
#pragma unroll
        for (int v = 0; v < PER_THREAD; ++v) {
            int idx = threadIdx.x + v * NTHREADS;
            if (VECS % NTHREADS != 0 && idx >= VECS) break;
            float4 x = make_float4(convert(reg[v].x), convert(reg[v].y), convert(reg[v].z),
                                   convert(reg[v].w));
            if (k_contiguous) {     // scatter the 4 k values down one column of the tile
                int r = idx / (DEPTH / 4), k = (idx % (DEPTH / 4)) * 4;
                tile[(k + 0) * STRIDE + r] = x.x;
                tile[(k + 1) * STRIDE + r] = x.y;
                tile[(k + 2) * STRIDE + r] = x.z;
                tile[(k + 3) * STRIDE + r] = x.w;
            } else {
                int k = idx / (ROWS / 4), r = (idx % (ROWS / 4)) * 4;
                *reinterpret_cast<float4*>(tile + k * STRIDE + r) = x;
            }
        }
    }
};

// The double-buffered main loop shared by both GEMMs: for each SLICE_K slice of K, the A tile
// (SLICE_K x TILE_M) and B tile (SLICE_K x TILE_N) are staged in shared memory and
// math(a_tile, b_tile) runs on them while this thread's registers already hold the next slice.
// One __syncthreads per slice: slice s reads buffer s&1 and writes buffer (s+1)&1, whose last
// reads were in slice s-1, before the barrier that ended it.
// A is M x K (a_k_contiguous: not transposed), B is K x N (b_k_contiguous: transposed).
template <int TILE_M, int TILE_N, int SLICE_K, int SKEW, int NTHREADS, class Convert, class Math>
__device__ __forceinline__ void gemm_mainloop(
        const float* __restrict__ A, const float* __restrict__ B, int M, int N, int K,
        long long lda, long long ldb, bool a_k_contiguous, bool b_k_contiguous,
        bool aligned_a, bool aligned_b, int m0, int n0,
        float* a_smem /* [2][SLICE_K][TILE_M + SKEW] */,
        float* b_smem /* [2][SLICE_K][TILE_N + SKEW] */,
        Convert convert, Math math) {
    constexpr int A_SIZE = SLICE_K * (TILE_M + SKEW), B_SIZE = SLICE_K * (TILE_N + SKEW);
    OperandTile<TILE_M, SLICE_K, NTHREADS> a_regs;
    OperandTile<TILE_N, SLICE_K, NTHREADS> b_regs;
    const int slices = (K + SLICE_K - 1) / SLICE_K;
    a_regs.fetch(A, lda, a_k_contiguous, aligned_a, m0, 0, M, K);
    b_regs.fetch(B, ldb, b_k_contiguous, aligned_b, n0, 0, N, K);
    a_regs.template store<TILE_M + SKEW>(a_smem, a_k_contiguous, convert);
    b_regs.template store<TILE_N + SKEW>(b_smem, b_k_contiguous, convert);
    __syncthreads();
    for (int s = 0; s < slices; ++s) {
        const int cur = s & 1;
        const bool more = s + 1 < slices;
        if (more) {     // global loads in flight during the math below
            a_regs.fetch(A, lda, a_k_contiguous, aligned_a, m0, (s + 1) * SLICE_K, M, K);
            b_regs.fetch(B, ldb, b_k_contiguous, aligned_b, n0, (s + 1) * SLICE_K, N, K);
        }
        math(a_smem + cur * A_SIZE, b_smem + cur * B_SIZE);
        if (more) {
            const int next = cur ^ 1;
            a_regs.template store<TILE_M + SKEW>(a_smem + next * A_SIZE, a_k_contiguous, convert);
            b_regs.template store<TILE_N + SKEW>(b_smem + next * B_SIZE, b_k_contiguous, convert);
        }
        __syncthreads();
    }
}
