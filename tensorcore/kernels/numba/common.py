"""What the Numba kernels share: the lazy Numba import, the per-configuration kernel cache,
launch sizes and the checks that make a kernel decline what it does not handle."""
import functools

import numpy as np

from ...device import array_module

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
MAX_BLOCKS = 65535      # grid-stride loops cover larger arrays with this many blocks at most


class LaunchConfig:
    """Block shapes, read at every launch and part of each compiled kernel's cache key.

    gemm_tiles (threads_m, threads_n, reg_m, reg_n, tile_k): a block of threads_m x threads_n
    threads computes a (threads_m reg_m) x (threads_n reg_n) tile of C, staging tile_k-deep
    slices of A and B in shared memory. elementwise_threads: per block of the grid-stride
    elementwise kernels. reduce_threads: per block (one row or channel) of the reductions,
    a power of two. max_row_blocks: the row kernels (softmax) launch at most this many
    blocks, each taking every max_row_blocks-th row."""
    GPU = dict(gemm_tiles=(16, 16, 4, 4, 16), elementwise_threads=256, reduce_threads=128,
               max_row_blocks=65535)
    # The simulator runs each thread as a Python thread: the same code on small blocks, which
    # still take several tiles, strided loads and reduction steps at the tests' tiny shapes.
    SMALL = dict(gemm_tiles=(2, 4, 3, 4, 32), elementwise_threads=32, reduce_threads=8,
                 max_row_blocks=2)

    def __init__(self):
        self.set(**self.GPU)

    def set(self, gemm_tiles, elementwise_threads, reduce_threads, max_row_blocks):
        if reduce_threads & (reduce_threads - 1):
            raise ValueError(f"LaunchConfig: reduce_threads must be a power of two, got "
                             f"{reduce_threads}")
        self.gemm_tiles = tuple(gemm_tiles)
        self.elementwise_threads = elementwise_threads
        self.reduce_threads = reduce_threads
        self.max_row_blocks = max_row_blocks


config = LaunchConfig()


def _numba_config():
    try:
        from numba.cuda.core import config      # numba-cuda
    except ImportError:                         # numba's bundled numba.cuda
        from numba.core import config
    return config


def simulator_enabled():
    """True when numba.cuda is Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1)."""
    return bool(_numba_config().ENABLE_CUDASIM)


@functools.lru_cache(maxsize=None)
def numba_cuda():
    """numba.cuda, imported on first use. CuPy arrays export their stream with
    __cuda_array_interface__, and by default Numba synchronizes that stream on every launch
    (a host stall per kernel); both libraries enqueue on the legacy default stream, so the
    order is already right and the sync is switched off."""
    from numba import cuda
    _numba_config().CUDA_ARRAY_INTERFACE_SYNC = False
    return cuda


def numba_importable():
    try:
        numba_cuda()
    except ImportError:
        return False
    return True


def kernel_cache(build):
    """Memoise a kernel factory: ``build(dtype, *config)`` compiles once per configuration."""
    return functools.lru_cache(maxsize=None)(build)


def scalar_type(dtype):
    """The NumPy scalar type of a dtype: names shared and local arrays' dtype and casts
    constants inside kernels (np.float32(0.5)), compiled and simulated alike."""
    return np.dtype(dtype).type


def launch(kernel, grid, block, *args):
    """kernel[grid, block](*args). Device (CuPy) arrays are read in place with their strides;
    host arrays (the simulator's, in the tests) are copied to the device whole, which needs
    one contiguous buffer, so strided host views are made contiguous first (inputs only:
    outputs are always arrays this package allocated)."""
    args = [np.ascontiguousarray(a) if type(a) is np.ndarray and not a.flags.c_contiguous
            else a for a in args]
    kernel[grid, block](*args)


def blocks(n, threads):
    """Blocks of ``threads`` covering n items, capped for grid-stride loops."""
    return max(1, min((n + threads - 1) // threads, MAX_BLOCKS))


def require_float(op, *arrays):
    """Decline (NotImplementedError) unless every array has one float32/float64 dtype."""
    dtype = arrays[0].dtype
    if dtype not in FLOAT_DTYPES or any(a.dtype != dtype for a in arrays[1:]):
        raise NotImplementedError(f"{op}: cuda.numba runs float32 and float64 only")


def empty(like, shape, dtype=None):
    """An uninitialised array on the device (or host, under the simulator) of ``like``."""
    return array_module(like).empty(shape, dtype=like.dtype if dtype is None else dtype)


def zeros(like, shape, dtype=None):
    return array_module(like).zeros(shape, dtype=like.dtype if dtype is None else dtype)


def contiguous(a):
    return array_module(a).ascontiguousarray(a)
