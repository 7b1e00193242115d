"""dropout as torch.nn.functional.dropout: zero elements with probability p while training
and scale the rest by 1 / (1 - p); the same mask scales the gradient."""
from ..autograd import Function
from ..device import of as device_of
from ..errors import DTypeError
from ..kernels import registry
from ..rng import generator
from .common import as_tensor, write_in_place

dropout_kernel = registry.get("dropout")


class Dropout(Function):
    def forward(self, x, p):
        y, self.mask = dropout_kernel(x, p, generator(device_of(x)))
        return y

    def backward(self, g):
        return g * self.mask, None


def dropout(x, p=0.5, training=True, inplace=False):
    """``inplace=True`` writes into ``x`` when no graph is being recorded for it; while
    autograd records, the result is a new tensor (the tape cannot be rewritten in place)."""
    x = as_tensor(x)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p must be in [0, 1], got {p}")
    if x.dtype.kind != "f":
        raise DTypeError(f"dropout: expected a floating-point tensor, got {x.dtype}")
    if not training or p == 0:
        return x
    y = Dropout.apply(x, float(p))
    return write_in_place(x, y) if inplace else y
