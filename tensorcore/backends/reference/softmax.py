"""softmax and log_softmax along one axis, shifted by the maximum for stability."""
from ...device import array_module
from ...kernels.registry import reference


@reference("softmax")
def softmax(x, axis):
    e = array_module(x).exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@reference("softmax_backward")
def softmax_backward(grad, y, axis):
    return y * (grad - (grad * y).sum(axis=axis, keepdims=True))


@reference("log_softmax")
def log_softmax(x, axis):
    xp = array_module(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


@reference("log_softmax_backward")
def log_softmax_backward(grad, y, axis):
    return grad - array_module(y).exp(y) * grad.sum(axis=axis, keepdims=True)
