// softmax / log_softmax over the rows of a contiguous (rows, cols) array, their backward
// passes, and cross-entropy (log_softmax + NLL fused) forward and backward.
// Defines: scalar_t (float or double).
// Launch: blockDim = (ROW_THREADS, rows per block), ROW_THREADS threads per row: 32 (a warp per
// row, rows per block 8: the shuffles need no shared memory or barrier, right for the usual
// C <= 1024 classes) or a multiple of 32 with one row per block for long rows.
// One pass computes max and sum together (online softmax: sum exp(x - m) is rescaled by
// exp(m_old - m_new) when the max grows), a second writes: 2 reads + 1 write per element.

// IEEE infinity and NaN from their bit patterns (NVRTC compiles without <math.h>'s macros)
__device__ __forceinline__ scalar_t infinity() { return scalar_t(__int_as_float(0x7f800000)); }
__device__ __forceinline__ scalar_t not_a_number() { return scalar_t(__int_as_float(0x7fc00000)); }

// (m, s) <- the (max, sum of exp(x - max)) of both partial rows
__device__ __forceinline__ void combine(scalar_t& m, scalar_t& s, scalar_t m2, scalar_t s2) {
    const scalar_t top = m > m2 ? m : m2;   // NaN in either lands in top, then in s
    if (top == -infinity()) return;           // both empty (or all -inf): s stays 0
    s = s * exp(m - top) + s2 * exp(m2 - top);
    m = top;
}

// The (max, sum) of one row, from each thread's partial (m, s); every thread of the row gets it.
__device__ void row_max_sum(scalar_t& m, scalar_t& s) {
    for (int offset = 16; offset > 0; offset /= 2)
        combine(m, s, __shfl_xor_sync(0xffffffffu, m, offset),
                __shfl_xor_sync(0xffffffffu, s, offset));
    if (blockDim.x > 32) {                  // one row per block: combine the warps' results
        __shared__ scalar_t warp_m[32], warp_s[32];
        if (threadIdx.x % 32 == 0) warp_m[threadIdx.x / 32] = m, warp_s[threadIdx.x / 32] = s;
        __syncthreads();
        m = -infinity(), s = 0;
        for (int w = 0; w < blockDim.x / 32; ++w) combine(m, s, warp_m[w], warp_s[w]);
    }
}

// The sum of v over one row; every thread of the row gets it.
__device__ scalar_t row_sum(scalar_t v) {
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
    if (blockDim.x > 32) {
        __shared__ scalar_t warp_sum[32];
        if (threadIdx.x % 32 == 0) warp_sum[threadIdx.x / 32] = v;
        __syncthreads();
        v = 0;
        for (int w = 0; w < blockDim.x / 32; ++w) v += warp_sum[w];
    }
    return v;
}

// This thread's row, or -1 past the last row (a whole warp or block shares a row, so they
// leave together and the barriers above stay uniform).
__device__ __forceinline__ long long this_row(long long rows) {
    const long long row = (long long)blockIdx.x * blockDim.y + threadIdx.y;
    return row < rows ? row : -1;
}

// max and log-sum-exp of row x: after it, log_softmax(x)[j] = x[j] - m - log(s)
__device__ __forceinline__ void row_stats(const scalar_t* x, int cols, scalar_t& m, scalar_t& s) {
    m = -infinity(), s = 0;
    for (int j = threadIdx.x; j < cols; j += blockDim.x) combine(m, s, x[j], 1);
    row_max_sum(m, s);
}

// y = softmax(x) (log_softmax when log_output), x and y (rows, cols)
extern "C" __global__ void softmax_forward(const scalar_t* __restrict__ x, scalar_t* __restrict__ y,
                                           long long rows, int cols, int log_output) {
    const long long row = this_row(rows);
    if (row < 0) return;
    x += row * cols, y += row * cols;
    scalar_t m, s;
    row_stats(x, cols, m, s);
    const scalar_t log_s = log(s), inv_s = 1 / s;
    for (int j = threadIdx.x; j < cols; j += blockDim.x)
        y[j] = log_output ? x[j] - m - log_s : exp(x[j] - m) * inv_s;
}

// dx from grad and y = softmax(x): y (grad - sum(grad y));
// for log_softmax: grad - exp(y) sum(grad)
extern "C" __global__ void softmax_backward(const scalar_t* __restrict__ grad,
                                            const scalar_t* __restrict__ y,
                                            scalar_t* __restrict__ dx, long long rows, int cols,
                                            int log_output) {
    const long long row = this_row(rows);
    if (row < 0) return;
    grad += row * cols, y += row * cols, dx += row * cols;
    scalar_t partial = 0;
    for (int j = threadIdx.x; j < cols; j += blockDim.x)
        partial += log_output ? grad[j] : grad[j] * y[j];
    const scalar_t total = row_sum(partial);
    for (int j = threadIdx.x; j < cols; j += blockDim.x)
        dx[j] = log_output ? grad[j] - exp(y[j]) * total : y[j] * (grad[j] - total);
}

// logits (rows, cols), target (rows,) class indices -> loss (rows,) = -log_probs[row, target],
// log_probs (rows, cols). A target outside [0, cols) gives a NaN loss (the op checks first).
extern "C" __global__ void cross_entropy_forward(const scalar_t* __restrict__ logits,
                                                 const long long* __restrict__ target,
                                                 scalar_t* __restrict__ loss,
                                                 scalar_t* __restrict__ log_probs,
                                                 long long rows, int cols) {
    const long long row = this_row(rows);
    if (row < 0) return;
    logits += row * cols, log_probs += row * cols;
    scalar_t m, s;
    row_stats(logits, cols, m, s);
    // x - m first: exact for the logits near the max, where m + log(s) would round away
    // digits of large logits
    const scalar_t log_s = log(s);
    for (int j = threadIdx.x; j < cols; j += blockDim.x) log_probs[j] = logits[j] - m - log_s;
    if (threadIdx.x == 0) {
        const long long t = target[row];
        loss[row] = (t >= 0 && t < cols) ? log_s - (logits[t] - m) : not_a_number();
    }
}

// dlogits[row, j] = grad[row] (exp(log_probs[row, j]) - [j == target[row]])
extern "C" __global__ void cross_entropy_backward(const scalar_t* __restrict__ grad,
                                                  const scalar_t* __restrict__ log_probs,
                                                  const long long* __restrict__ target,
                                                  scalar_t* __restrict__ dlogits, long long rows,
                                                  int cols) {
    const long long row = this_row(rows);
    if (row < 0) return;
    log_probs += row * cols, dlogits += row * cols;
    const scalar_t g = grad[row];
    const long long t = target[row];
    for (int j = threadIdx.x; j < cols; j += blockDim.x)
        dlogits[j] = g * exp(log_probs[j]) - (j == t ? g : 0);
}
