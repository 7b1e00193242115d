"""What the Numba kernels share: the lazy Numba import, the per-configuration kernel cache,
launch sizes and the checks that make a kernel decline what it does not handle."""
import functools

import numpy as np

from ...device import array_module

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
THREADS = 256           # threads per block of the elementwise kernels
MAX_BLOCKS = 65535      # grid-stride loops cover larger arrays with this many blocks at most


@functools.lru_cache(maxsize=None)
def numba_cuda():
    """numba.cuda, imported on first use. CuPy arrays export their stream with
    __cuda_array_interface__, and by default Numba synchronizes that stream on every launch
    (a host stall per kernel); both libraries enqueue on the legacy default stream, so the
    order is already right and the sync is switched off."""
    from numba import cuda
    try:
        from numba.cuda.core import config
    except ImportError:     # numba's bundled numba.cuda keeps the switch in numba.core
        from numba.core import config
    config.CUDA_ARRAY_INTERFACE_SYNC = False
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


def blocks(n, threads=THREADS):
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
