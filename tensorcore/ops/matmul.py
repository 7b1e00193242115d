"""Matrix product with NumPy's rules: 1-D operands promoted, batch dimensions broadcast."""
from ..autograd import Function
from ..errors import DTypeError, ShapeError
from ..kernels import registry
from .common import as_tensor, check_same_device, unbroadcast

matmul_kernel = registry.get("matmul")


def transposed(a):
    """The last two axes swapped, as a view."""
    return a.swapaxes(-1, -2)


class Matmul(Function):
    """a (..., M, K) @ b (..., K, N); both at least 2-D here."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return matmul_kernel(a, b)

    def backward(self, g):
        ga = gb = None
        if self.needs_grad(0):
            ga = unbroadcast(matmul_kernel(g, transposed(self.b)), self.a.shape)
        if self.needs_grad(1):
            gb = unbroadcast(matmul_kernel(transposed(self.a), g), self.b.shape)
        return ga, gb


def check_operands(op, a, b):
    """Shared checks of matmul-like ops: same device, same floating dtype."""
    check_same_device(op, a._data, b._data)
    if a.dtype != b.dtype:
        raise DTypeError(f"{op}: expected both operands to have one dtype, got {a.dtype} and "
                         f"{b.dtype}; convert one with .to(dtype)")


def matmul(a, b):
    a = as_tensor(a)
    b = as_tensor(b, like=a)
    check_operands("matmul", a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: both operands need at least 1 dimension, got shapes "
                         f"{a.shape} and {b.shape}")
    a2 = a.unsqueeze(0) if a.ndim == 1 else a
    b2 = b.unsqueeze(1) if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise ShapeError(f"matmul: inner dimensions differ: a has shape {a.shape}, b has shape "
                         f"{b.shape} (expected b.shape[{-2 if b.ndim > 1 else 0}] == "
                         f"{a2.shape[-1]}, got {b2.shape[-2]})")
    try:
        out = Matmul.apply(a2, b2)
    except ValueError:
        raise ShapeError(f"matmul: batch dimensions of {a.shape} and {b.shape} do not "
                         "broadcast") from None
    if a.ndim == 1:
        out = out.squeeze(-2)
    if b.ndim == 1:
        out = out.squeeze(-1)
    return out
