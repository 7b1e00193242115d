"""Block-wide reductions in shared memory, and the channel sum that gives bias gradients.

A block of common.config.reduce_threads (a power of two) threads folds its values in a shared buffer by
halving strides, log2(threads) steps with a barrier each.
"""
import functools

from . import common
from .common import kernel_cache, numba_cuda, scalar_type

cuda = None     # numba.cuda once a kernel is built: a module global, which the simulator swaps


@functools.lru_cache(maxsize=None)
def block_reductions():
    """(block_sum, block_max) device functions: every thread of the block passes its value
    and a shared buffer of blockDim.x elements, and gets the total (or maximum, NaN winning).
    NOTE: two folds written out, not one fold calling a `combine` device function: with the
    nested call, softmax under the CUDA simulator gave wrong rows in about one full test run
    in four (not understood; not seen with these two in eight runs)."""
    global cuda
    cuda = numba_cuda()

    @cuda.jit(device=True)
    def block_sum(buffer, value):
        t = cuda.threadIdx.x
        buffer[t] = value
        cuda.syncthreads()
        step = cuda.blockDim.x // 2
        while step > 0:
            if t < step:
                buffer[t] += buffer[t + step]
            cuda.syncthreads()
            step //= 2
        total = buffer[0]
        cuda.syncthreads()          # everyone has read buffer[0] before it is reused
        return total

    @cuda.jit(device=True)
    def block_max(buffer, value):
        t = cuda.threadIdx.x
        buffer[t] = value
        cuda.syncthreads()
        step = cuda.blockDim.x // 2
        while step > 0:
            if t < step:
                other = buffer[t + step]
                if other > buffer[t] or other != other:     # NaN propagates, as max does
                    buffer[t] = other
            cuda.syncthreads()
            step //= 2
        largest = buffer[0]
        cuda.syncthreads()
        return largest

    return block_sum, block_max


@kernel_cache
def channel_sum_kernel(dtype, threads):
    block_sum, _ = block_reductions()
    T = scalar_type(dtype)

    @cuda.jit
    def channel_sum(x, out):
        # x (A, O, P) -> out (O,): one block per channel o sums its A*P values
        o = cuda.blockIdx.x
        outer, inner = x.shape[0], x.shape[2]
        buffer = cuda.shared.array(threads, T)
        total = T(0)
        for e in range(cuda.threadIdx.x, outer * inner, threads):
            total += x[e // inner, o, e % inner]
        total = block_sum(buffer, total)
        if cuda.threadIdx.x == 0:
            out[o] = total

    return channel_sum


def channel_sum(x):
    """x (A, O, P) -> (O,), the sum over A and P (a conv or linear bias gradient)."""
    out = common.empty(x, (x.shape[1],))
    if out.size:
        threads = common.config.reduce_threads
        common.launch(channel_sum_kernel(x.dtype, threads), x.shape[1], threads, x, out)
    return out
