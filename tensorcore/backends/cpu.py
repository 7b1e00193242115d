"""The C++ CPU backend: kernel variants backed by the extension ``tensorcore._C``.

matmul runs as "cpu.gemm" (packed, register-blocked GEMM reading any strided view in place);
the activations and their backward passes run as "cpu.cpp". Each variant takes native
float32 or float64 arrays of one dtype and declines anything else (NotImplementedError), so
the registry falls back to the reference. Without a built extension the variants are simply
unavailable.
"""
import numpy as np

from ..kernels.registry import register

try:
    from .. import _C
except ImportError:  # extension not built: the reference variants serve every op
    _C = None

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
PRIORITY = 10


def available():
    return _C is not None


def _require_float(*arrays):
    """Decline unless every array has one native float32/float64 dtype."""
    dtype = arrays[0].dtype
    if dtype not in FLOAT_DTYPES or any(a.dtype != dtype for a in arrays[1:]):
        raise NotImplementedError


def _elementwise(*arrays):
    """The operands as C-contiguous aligned arrays of one float dtype and one shape."""
    _require_float(*arrays)
    if any(a.shape != arrays[0].shape for a in arrays[1:]):
        raise NotImplementedError
    return [np.require(a, requirements="CA") for a in arrays]


@register("matmul", "cpu.gemm", priority=PRIORITY, available=available)
def matmul(a, b):
    _require_float(a, b)
    if not (2 <= a.ndim <= 3 and 2 <= b.ndim <= 3) or a.shape[-1] != b.shape[-2]:
        raise NotImplementedError
    if a.ndim == b.ndim == 3 and a.shape[0] != b.shape[0] and 1 not in (a.shape[0], b.shape[0]):
        raise NotImplementedError
    if not (a.flags.aligned and b.flags.aligned):
        raise NotImplementedError
    return _C.matmul(a, b)


def _register_elementwise(op, n_arrays):
    """Register ``_C.<op>`` as the op's "cpu.cpp" variant: its first ``n_arrays`` arguments
    are arrays (x, or grad, x, y), the rest scalar parameters passed through."""
    kernel = getattr(_C, op, None)

    def run(*args, **params):
        return kernel(*_elementwise(*args[:n_arrays]), *args[n_arrays:], **params)
    run.__name__ = op
    register(op, "cpu.cpp", priority=PRIORITY, available=available)(run)


for _name in ("relu", "leaky_relu", "sigmoid", "tanh", "gelu"):
    _register_elementwise(_name, 1)                 # (x, *params)
    _register_elementwise(_name + "_backward", 3)   # (grad, x, y, *params)
