// conv2d (NCHW) forward and both backward passes as implicit GEMMs: one tiled GEMM body
// (implicit_gemm) whose operands are gathered from the tensors on the fly instead of from an
// im2col matrix, which would be KH*KW times the input's size in HBM.
//   forward       y[n, o, oh, ow]  = sum_{c,i,j} w[o, c, i, j] x[n, c, oh*sh - top + i*dh, ...]
//                 GEMM per group: M = O/g, P = N*OH*OW, K = C/g*KH*KW
//   input grad    dx[n, c, h, w]   = sum_{o,i,j} w[o, c, i, j] dy[n, o, (h + top - i*dh)/sh, ...]
//                 M = C/g, P = N*H*W, K = O/g*KH*KW (taps whose division is inexact skip)
//   weight grad   dw[o, c, i, j]   = sum_{n,oh,ow} dy[n, o, oh, ow] x[n, c, oh*sh-top+i*dh, ...]
//                 M = O/g, P = C/g*KH*KW, K = N*OH*OW: a long K and a small output, so K is split
//                 over gridDim.z and the partial sums are atomically added into a zeroed dw.
// Defines: scalar_t, BM x BN = 64 x 64 block tile (64 output channels suits the usual 16-256
// channel convs; 64 pixels keep the gathered x reads coalesced along ow), BK = 16, TM x TN =
// 4 x 4 per thread (256 threads). Thread tiles are strided by 16 so that neighbouring threads
// store neighbouring pixels (coalesced writes) and read shared memory without conflicts.
// Index decoding (divisions by runtime sizes) is hoisted out of the K loop where it can be:
// each thread gathers the same GEMM rows and columns in every K slice.

constexpr int THREADS = (BM / TM) * (BN / TN);
static_assert(THREADS % BK == 0 && THREADS % BN == 0, "loads must map evenly onto threads");
static_assert((BM * BK) % THREADS == 0 && (BN * BK) % THREADS == 0, "tiles must split evenly");

struct Geometry {   // shapes: x (N, C, H, W), w (O, C/g, KH, KW), y (N, O, OH, OW)
    int N, C, H, W, O, KH, KW, OH, OW, sh, sw, top, left, dil_h, dil_w, groups;
    __device__ int cg() const { return C / groups; }
    __device__ int og() const { return O / groups; }
    __device__ int taps() const { return KH * KW; }
    __device__ int pixels() const { return OH * OW; }
};
#define GEOMETRY_PARAMS int N, int C, int H, int W, int O, int KH, int KW, int OH, int OW,      \
                        int sh, int sw, int top, int left, int dil_h, int dil_w, int groups
#define GEOMETRY {N, C, H, W, O, KH, KW, OH, OW, sh, sw, top, left, dil_h, dil_w, groups}

// C[m, p] = sum_k A(m, k) B(k, p) for one group (and one K split) of Problem, where Problem
// gives row(m) / col(p) (decoded once), a(row, k), b(k, col) (0 outside) and store(m, p, v).
template <class Problem>
__device__ __forceinline__ void implicit_gemm(const Problem& problem, int M, int P, int K,
                                              int splits) {
    __shared__ scalar_t a_tile[BK][BM + 1];     // +1: the k-fastest stores spread over banks
    __shared__ scalar_t b_tile[BK][BN];
    const int group = blockIdx.z / splits, split = blockIdx.z % splits;
    const int m0 = blockIdx.y * BM, p0 = blockIdx.x * BN;
    const int chunk = ((K + splits - 1) / splits + BK - 1) / BK * BK;
    const int k_begin = split * chunk, k_end = min(K, k_begin + chunk);
    const int tid = threadIdx.x, ty = tid / (BN / TN), tx = tid % (BN / TN);

    // this thread loads A rows tid/BK + v*(THREADS/BK) at k offset tid%BK, and B column
    // tid%BN at k offsets tid/BN + v*(THREADS/BN)
    constexpr int A_LOADS = BM * BK / THREADS, B_LOADS = BN * BK / THREADS;
    typename Problem::Row rows[A_LOADS];
#pragma unroll
    for (int v = 0; v < A_LOADS; ++v)
        rows[v] = problem.row(group, m0 + tid / BK + v * (THREADS / BK), M);
    const typename Problem::Col col = problem.col(group, p0 + tid % BN, P);

    scalar_t acc[TM][TN] = {};
    for (int k0 = k_begin; k0 < k_end; k0 += BK) {
#pragma unroll
        for (int v = 0; v < A_LOADS; ++v) {
            const int k = k0 + tid % BK;
            a_tile[tid % BK][tid / BK + v * (THREADS / BK)] =
                k < k_end ? problem.a(rows[v], k) : scalar_t(0);
        }
#pragma unroll
        for (int v = 0; v < B_LOADS; ++v) {
            const int kk = tid / BN + v * (THREADS / BN), k = k0 + kk;
            b_tile[kk][tid % BN] = k < k_end ? problem.b(k, col) : scalar_t(0);
        }
        __syncthreads();
#pragma unroll
        for (int k = 0; k < BK; ++k) {
            scalar_t a[TM], b[TN];
#pragma unroll
            for (int i = 0; i < TM; ++i) a[i] = a_tile[k][ty + i * (BM / TM)];
#pragma unroll
            for (int j = 0; j < TN; ++j) b[j] = b_tile[k][tx + j * (BN / TN)];
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] += a[i] * b[j];
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < TM; ++i) {
        const int m = m0 + ty + i * (BM / TM);
#pragma unroll
        for (int j = 0; j < TN; ++j) {
            const int p = p0 + tx + j * (BN / TN);
            if (m < M && p < P) problem.store(group, m, p, acc[i][j]);
        }
    }
}

struct Forward {    // A = w rows (o, (c, i, j)), B = x windows ((c, i, j), (n, oh, ow))
    Geometry s;
    const scalar_t *x, *w, *bias;
    int has_bias;
    scalar_t* y;
    struct Row { const scalar_t* w_row; bool valid; };
    struct Col { const scalar_t* image; int ih0, iw0; bool valid; };
    __device__ Row row(int group, int m, int M) const {
        return {w + ((long long)group * s.og() + m) * s.cg() * s.taps(), m < M};
    }
    __device__ scalar_t a(const Row& r, int k) const { return r.valid ? r.w_row[k] : scalar_t(0); }
    __device__ Col col(int group, int p, int P) const {
        const int n = p / s.pixels(), q = p % s.pixels();
        return {x + ((long long)n * s.C + group * s.cg()) * s.H * s.W,
                (q / s.OW) * s.sh - s.top, (q % s.OW) * s.sw - s.left, p < P};
    }
    __device__ scalar_t b(int k, const Col& c) const {
        const int channel = k / s.taps(), tap = k % s.taps();
        const int ih = c.ih0 + (tap / s.KW) * s.dil_h, iw = c.iw0 + (tap % s.KW) * s.dil_w;
        if (!c.valid || ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) return 0;
        return c.image[((long long)channel * s.H + ih) * s.W + iw];
    }
    __device__ void store(int group, int m, int p, scalar_t v) const {
        const int n = p / s.pixels(), q = p % s.pixels(), o = group * s.og() + m;
        y[((long long)n * s.O + o) * s.pixels() + q] = v + (has_bias ? bias[o] : scalar_t(0));
    }
};

struct InputGrad {  // A = w columns (c, (o, i, j)), B = dy taps ((o, i, j), (n, h, w))
    Geometry s;
    const scalar_t *dy, *w;
    scalar_t* dx;
    struct Row { const scalar_t* w_c; bool valid; };
    struct Col { const scalar_t* dy_image; int h_pad, w_pad; bool valid; };
    __device__ Row row(int group, int m, int M) const {
        return {w + ((long long)group * s.og() * s.cg() + m) * s.taps(), m < M};
    }
    __device__ scalar_t a(const Row& r, int k) const {
        const int o = k / s.taps(), tap = k % s.taps();
        return r.valid ? r.w_c[(long long)o * s.cg() * s.taps() + tap] : scalar_t(0);
    }
    __device__ Col col(int group, int p, int P) const {
        const int n = p / (s.H * s.W), q = p % (s.H * s.W);
        return {dy + ((long long)n * s.O + group * s.og()) * s.pixels(),
                q / s.W + s.top, q % s.W + s.left, p < P};
    }
    __device__ scalar_t b(int k, const Col& c) const {
        const int o = k / s.taps(), tap = k % s.taps();
        const int oh_s = c.h_pad - (tap / s.KW) * s.dil_h, ow_s = c.w_pad - (tap % s.KW) * s.dil_w;
        if (!c.valid || oh_s < 0 || ow_s < 0 || oh_s % s.sh || ow_s % s.sw) return 0;
        const int oh = oh_s / s.sh, ow = ow_s / s.sw;
        if (oh >= s.OH || ow >= s.OW) return 0;
        return c.dy_image[(long long)o * s.pixels() + oh * s.OW + ow];
    }
    __device__ void store(int group, int m, int p, scalar_t v) const {
        const int n = p / (s.H * s.W), q = p % (s.H * s.W);
        dx[((long long)n * s.C + group * s.cg() + m) * s.H * s.W + q] = v;
    }
};

struct WeightGrad {  // A = dy rows (o, (n, oh, ow)), B = x windows ((n, oh, ow), (c, i, j))
    Geometry s;
    const scalar_t *dy, *x;
    scalar_t* dw;
    int splits;
    struct Row { long long offset; bool valid; };
    struct Col { const scalar_t* x_c; int di, dj; bool valid; };
    __device__ Row row(int group, int m, int M) const {
        return {((long long)group * s.og() + m) * s.pixels(), m < M};
    }
    __device__ scalar_t a(const Row& r, int k) const {
        const int n = k / s.pixels(), q = k % s.pixels();
        return r.valid ? dy[(long long)n * s.O * s.pixels() + r.offset + q] : scalar_t(0);
    }
    __device__ Col col(int group, int p, int P) const {
        const int c = p / s.taps(), tap = p % s.taps();
        return {x + ((long long)group * s.cg() + c) * s.H * s.W,
                (tap / s.KW) * s.dil_h - s.top, (tap % s.KW) * s.dil_w - s.left, p < P};
    }
    __device__ scalar_t b(int k, const Col& c) const {
        const int n = k / s.pixels(), q = k % s.pixels();
        const int ih = (q / s.OW) * s.sh + c.di, iw = (q % s.OW) * s.sw + c.dj;
        if (!c.valid || ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) return 0;
        return c.x_c[(long long)n * s.C * s.H * s.W + (long long)ih * s.W + iw];
    }
    __device__ void store(int group, int m, int p, scalar_t v) const {
        scalar_t* out = dw + ((long long)group * s.og() + m) * s.cg() * s.taps() + p;
        if (splits > 1) atomicAdd(out, v); else *out = v;
    }
};

// x (N, C, H, W), w (O, C/g, KH, KW), bias (O,) if has_bias -> y (N, O, OH, OW).
// grid (ceil(N*OH*OW / BN), ceil(O/g / BM), groups)
extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward(const scalar_t* x, const scalar_t* w, const scalar_t* bias, int has_bias,
               scalar_t* y, GEOMETRY_PARAMS) {
    const Geometry s = GEOMETRY;
    implicit_gemm(Forward{s, x, w, bias, has_bias, y}, s.og(), N * OH * OW, s.cg() * s.taps(), 1);
}

// dy (N, O, OH, OW), w -> dx (N, C, H, W). grid (ceil(N*H*W / BN), ceil(C/g / BM), groups)
extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_backward_input(const scalar_t* dy, const scalar_t* w, scalar_t* dx, GEOMETRY_PARAMS) {
    const Geometry s = GEOMETRY;
    implicit_gemm(InputGrad{s, dy, w, dx}, s.cg(), N * H * W, s.og() * s.taps(), 1);
}

// dy, x -> dw (O, C/g, KH, KW), zeroed first when splits > 1.
// grid (ceil(C/g*KH*KW / BN), ceil(O/g / BM), groups * splits)
extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_backward_weight(const scalar_t* dy, const scalar_t* x, scalar_t* dw, int splits,
                       GEOMETRY_PARAMS) {
    const Geometry s = GEOMETRY;
    implicit_gemm(WeightGrad{s, dy, x, dw, splits}, s.og(), s.cg() * s.taps(), N * OH * OW,
                  splits);
}
