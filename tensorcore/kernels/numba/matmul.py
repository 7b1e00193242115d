"""matmul(a (..., M, K), b (..., K, N)) -> (..., M, N) on the tiled GEMM of gemm.py.

Batch dimensions broadcast: an operand whose batch dimensions are all 1 is read for every
batch entry in place (z % 1); one that broadcasts partly is materialised first. Strided and
transposed views are read in place, with their strides.
"""
import numpy as np

from ...device import array_module
from .common import empty, require_float
from .gemm import matmul_into


def as_batched(x, batch_shape):
    """x (..., R, S) as a 3-D array (1 or prod(batch_shape), R, S)."""
    xp = array_module(x)
    rows, cols = x.shape[-2:]
    if all(d == 1 for d in x.shape[:-2]):
        return x.reshape(1, rows, cols)
    if x.shape[:-2] != batch_shape:
        x = xp.broadcast_to(x, batch_shape + (rows, cols))
    return x.reshape(-1, rows, cols)      # copies only where the batch axes cannot merge


def matmul(a, b):
    require_float("matmul", a, b)
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: expected a (..., M, K) and b (..., K, N), got shapes "
                         f"{a.shape} and {b.shape}")
    batch_shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    M, N = a.shape[-2], b.shape[-1]
    out = empty(a, batch_shape + (M, N))
    if out.size == 0:
        return out
    if a.shape[-1] == 0:
        out[...] = 0
        return out
    matmul_into(as_batched(a, batch_shape), as_batched(b, batch_shape),
                out.reshape(-1, M, N))
    return out
