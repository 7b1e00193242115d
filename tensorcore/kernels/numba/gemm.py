"""One shared-memory tiled, register-blocked GEMM skeleton, C[z] = A[z] @ B[z] (z: batch or
group), whose operand loads and result store are device functions: plain strided arrays for
matmul, the image windows read in place for conv2d (implicit GEMM, no im2col buffer).

With the GPU tiles (common.LaunchConfig): a block of 16 x 16 threads computes a 64 x 64 tile
of C; each thread holds a 4 x 4 tile in registers, rows ty + 16 i and columns tx + 16 j
(strided, so the threads of a warp read consecutive shared-memory words: no bank conflicts).
Per step the block stages a 64 x 16 tile of A (transposed, a_tile[k, m]) and a 16 x 64 tile of
B in shared memory, 8 KiB (float32) or 16 KiB (float64), and each thread does 16 x 4 x 4
multiply-adds from registers.

    load_a(a, geom, z, row, k) -> A[z][row, k]      called only for row < M, k < K
    load_b(b, geom, z, k, col) -> B[z][k, col]      called only for k < K, col < N
    store(out, extra, geom, z, row, col, value)     called only for row < M, col < N

``geom`` is a tuple of ints (passed by value: no host-to-device copy) describing the operands'
geometry; ``extra`` is an array the store may read (conv's bias). Never pass one array as two
arguments: the simulator copies each argument back after the launch, the last one winning.
"""
from . import common
from .common import kernel_cache, numba_cuda, scalar_type

MAX_GRID_Z = 65535
cuda = None     # numba.cuda once a kernel is built: a module global, which the simulator swaps


def build_gemm(dtype, tiles, load_a, load_b, store):
    """The kernel for ``tiles`` = (threads_m, threads_n, reg_m, reg_n, tile_k), launched by
    ``launch`` as kernel[grid, block](a, b, out, extra, geom, M, N, K)."""
    global cuda
    cuda = numba_cuda()
    T = scalar_type(dtype)
    THREADS_M, THREADS_N, REG_M, REG_N, TILE_K = tiles
    TILE_M, TILE_N = THREADS_M * REG_M, THREADS_N * REG_N
    BLOCK_THREADS = THREADS_M * THREADS_N

    @cuda.jit
    def gemm(a, b, out, extra, geom, M, N, K):
        tx, ty, z = cuda.threadIdx.x, cuda.threadIdx.y, cuda.blockIdx.z
        tid = ty * THREADS_N + tx
        row0, col0 = cuda.blockIdx.y * TILE_M, cuda.blockIdx.x * TILE_N
        a_tile = cuda.shared.array((TILE_K, TILE_M), T)        # transposed: a_tile[k, m]
        b_tile = cuda.shared.array((TILE_K, TILE_N), T)
        acc = cuda.local.array((REG_M, REG_N), T)
        a_reg = cuda.local.array(REG_M, T)
        b_reg = cuda.local.array(REG_N, T)
        for i in range(REG_M):
            for j in range(REG_N):
                acc[i, j] = 0
        for k0 in range(0, K, TILE_K):
            # consecutive threads read consecutive k of one row of A, consecutive columns of B
            for e in range(tid, TILE_M * TILE_K, BLOCK_THREADS):
                m, kk = e // TILE_K, e % TILE_K
                row, k = row0 + m, k0 + kk
                a_tile[kk, m] = load_a(a, geom, z, row, k) if row < M and k < K else T(0)
            for e in range(tid, TILE_K * TILE_N, BLOCK_THREADS):
                kk, n = e // TILE_N, e % TILE_N
                k, col = k0 + kk, col0 + n
                b_tile[kk, n] = load_b(b, geom, z, k, col) if k < K and col < N else T(0)
            cuda.syncthreads()
            for kk in range(TILE_K):
                for i in range(REG_M):
                    a_reg[i] = a_tile[kk, ty + i * THREADS_M]
                for j in range(REG_N):
                    b_reg[j] = b_tile[kk, tx + j * THREADS_N]
                for i in range(REG_M):
                    for j in range(REG_N):
                        acc[i, j] += a_reg[i] * b_reg[j]
            cuda.syncthreads()
        for i in range(REG_M):
            row = row0 + ty + i * THREADS_M
            for j in range(REG_N):
                col = col0 + tx + j * THREADS_N
                if row < M and col < N:
                    store(out, extra, geom, z, row, col, acc[i, j])

    return gemm


def launch(kernel, tiles, a, b, out, extra, geom, M, N, K, batch):
    """Run a kernel built by ``build_gemm`` for ``tiles`` over an M x N result per batch entry."""
    if batch > MAX_GRID_Z:
        raise NotImplementedError(f"gemm: batch {batch} exceeds the grid's z limit {MAX_GRID_Z}")
    threads_m, threads_n, reg_m, reg_n, _ = tiles
    grid = (-(-N // (threads_n * reg_n)), -(-M // (threads_m * reg_m)), batch)
    common.launch(kernel, grid, (threads_n, threads_m), a, b, out, extra, geom, M, N, K)


@kernel_cache
def strided_matmul_kernel(dtype, tiles, accumulate):
    """out[z] (=|+=) a[z % a_batch] @ b[z % b_batch], for 3-D arrays of any strides."""
    global cuda
    cuda = numba_cuda()

    @cuda.jit(device=True)
    def load_a(a, geom, z, row, k):
        return a[z % a.shape[0], row, k]

    @cuda.jit(device=True)
    def load_b(b, geom, z, k, col):
        return b[z % b.shape[0], k, col]

    @cuda.jit(device=True)
    def store(out, extra, geom, z, row, col, value):
        if accumulate:
            out[z, row, col] += value
        else:
            out[z, row, col] = value

    return build_gemm(dtype, tiles, load_a, load_b, store)


def matmul_into(a, b, out, accumulate=False):
    """out (batch, M, N) = (or +=) a (1 or batch, M, K) @ b (1 or batch, K, N), any strides."""
    batch, M, N = out.shape
    tiles = common.config.gemm_tiles
    kernel = strided_matmul_kernel(out.dtype, tiles, accumulate)
    launch(kernel, tiles, a, b, out, a, (0,), M, N, a.shape[2], batch)    # extra: unused
