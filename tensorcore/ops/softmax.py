"""softmax and log_softmax along one axis (default the last), as kernel pairs."""
from ..autograd import Function
from ..kernels import registry
from .common import as_tensor, normalize_axis, pick_axis


class _AlongAxis(Function):
    forward_kernel = backward_kernel = None

    def forward(self, x, axis):
        self.axis = axis
        self.y = self.forward_kernel(x, axis)
        return self.y

    def backward(self, g):
        return self.backward_kernel(g, self.y, self.axis), None


class Softmax(_AlongAxis):
    forward_kernel, backward_kernel = registry.get("softmax"), registry.get("softmax_backward")


class LogSoftmax(_AlongAxis):
    forward_kernel = registry.get("log_softmax")
    backward_kernel = registry.get("log_softmax_backward")


def _prepare(op, x, axis, dim, dtype):
    x = as_tensor(x)
    if dtype is not None:
        x = x.to(dtype)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point tensor, got {x.dtype}")
    return x, normalize_axis(pick_axis(op, axis, dim, -1), x.ndim, op)


def softmax(x, axis=None, dim=None, dtype=None):
    x, axis = _prepare("softmax", x, axis, dim, dtype)
    return Softmax.apply(x, axis)


def log_softmax(x, axis=None, dim=None, dtype=None):
    x, axis = _prepare("log_softmax", x, axis, dim, dtype)
    return LogSoftmax.apply(x, axis)
