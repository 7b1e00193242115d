"""What every C++ CPU variant shares: the extension handle, its priority, and the argument
checks that make a variant decline (NotImplementedError) what it does not handle, so the
registry falls back to the reference. Without a built extension the variants are unavailable.
"""
import numpy as np

from ...extension import load_extension

_C = load_extension()

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
PRIORITY = 10


def available():
    return _C is not None


def require_float(*arrays):
    """Decline unless every array has one native float32/float64 dtype."""
    dtype = arrays[0].dtype
    if dtype not in FLOAT_DTYPES:
        raise NotImplementedError
    for a in arrays[1:]:    # (a loop, not any() over a generator: 0.2 us less per call)
        if a.dtype != dtype:
            raise NotImplementedError


def contiguous(a):
    """``a`` as a C-contiguous aligned array: itself when it already is (the common case,
    checked without np.require's Python-level overhead of a few microseconds), else a copy."""
    flags = a.flags
    if flags.c_contiguous and flags.aligned:
        return a
    return np.require(a, requirements="CA")


def elementwise(*arrays):
    """The operands as C-contiguous aligned arrays of one float dtype and one shape."""
    require_float(*arrays)
    if any(a.shape != arrays[0].shape for a in arrays[1:]):
        raise NotImplementedError
    return [contiguous(a) for a in arrays]


def elementwise_in_memory_order(*arrays):
    """For kernels that treat each element alike: the operands as elementwise() gives them,
    except that operands sharing the strides of a dense array with permuted axes (an NHWC
    buffer seen as NCHW, as the Keras face passes its images) come as their C-contiguous
    views in memory order, uncopied. Returns (arrays, axes): transposing the kernel's result
    by ``axes`` (None: as it is) gives it the operands' layout, as NumPy's ufuncs and
    PyTorch's channels-last tensors keep it."""
    first = arrays[0]
    if first.flags.c_contiguous or any(a.strides != first.strides for a in arrays[1:]):
        return elementwise(*arrays), None
    order = sorted(range(first.ndim), key=lambda axis: -first.strides[axis])
    views = [a.transpose(order) for a in arrays]
    if not all(v.flags.c_contiguous and v.flags.aligned for v in views):
        return elementwise(*arrays), None
    return elementwise(*views), tuple(np.argsort(order))
