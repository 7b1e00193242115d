"""linear: y = x W^T + b with W (out, in), as torch.nn.functional.linear."""
import math

from ..autograd import Function
from ..errors import ShapeError
from .common import as_tensor
from .matmul import check_operands, matmul_kernel


class Linear(Function):
    """x (..., in), weight (out, in), bias (out,) or None -> (..., out)."""

    def forward(self, x, weight, bias):
        self.rows = math.prod(x.shape[:-1])             # explicit: -1 is ambiguous at in = 0
        self.x2 = x.reshape(self.rows, x.shape[-1])     # (rows, in)
        self.weight, self.x_shape = weight, x.shape
        y = matmul_kernel(self.x2, weight.T)            # (rows, out)
        if bias is not None:
            y += bias
        return y.reshape(x.shape[:-1] + (weight.shape[0],))

    def backward(self, g):
        g2 = g.reshape(self.rows, g.shape[-1])          # (rows, out)
        gx = gw = gb = None
        if self.needs_grad(0):
            gx = matmul_kernel(g2, self.weight).reshape(self.x_shape)
        if self.needs_grad(1):
            gw = matmul_kernel(g2.T, self.x2)
        if self.needs_grad(2):
            gb = g2.sum(axis=0)
        return gx, gw, gb


def linear(x, weight, bias=None):
    x, weight = as_tensor(x), as_tensor(weight)
    check_operands("linear", x, weight)
    if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ShapeError(f"linear: expected input (..., in) and weight (out, in) with matching "
                         f"'in', got input {x.shape} and weight {weight.shape}")
    if bias is not None:
        bias = as_tensor(bias)
        check_operands("linear", x, bias)
        if bias.shape != (weight.shape[0],):
            raise ShapeError(f"linear: expected bias of shape ({weight.shape[0]},), got {bias.shape}")
    return Linear.apply(x, weight, bias)
