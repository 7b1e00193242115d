"""softmax, log_softmax, the fused cross-entropy and the NLL loss as "cpu.cpp"
(csrc/softmax.cpp). The kernels reduce rows of the last axis; another axis is moved last
(one copy each way), and non-contiguous operands are copied to C order first."""
import numpy as np

from ...kernels.registry import register
from .common import PRIORITY, _C, available, contiguous, require_float


def _rows(*arrays):
    return [contiguous(a) for a in arrays]


def _along_last(kernel, axis, *arrays):
    """kernel(*arrays) along ``axis``, by moving it last and back."""
    require_float(*arrays)
    if any(a.shape != arrays[0].shape for a in arrays[1:]) or arrays[0].ndim == 0:
        raise NotImplementedError
    axis = axis % arrays[0].ndim
    last = arrays[0].ndim - 1
    moved = [np.moveaxis(a, axis, last) for a in arrays]
    return np.moveaxis(kernel(*_rows(*moved)), last, axis)


def _class_targets(scores, target):
    """Decline unless scores (N, C) is float and target an int64 (N,) array."""
    require_float(scores)
    if scores.ndim != 2 or target.dtype != np.int64 or target.shape != scores.shape[:1]:
        raise NotImplementedError


@register("softmax", "cpu.cpp", priority=PRIORITY, available=available)
def softmax(x, axis):
    return _along_last(_C.softmax, axis, x)


@register("softmax_backward", "cpu.cpp", priority=PRIORITY, available=available)
def softmax_backward(grad, y, axis):
    return _along_last(_C.softmax_backward, axis, grad, y)


@register("log_softmax", "cpu.cpp", priority=PRIORITY, available=available)
def log_softmax(x, axis):
    return _along_last(_C.log_softmax, axis, x)


@register("log_softmax_backward", "cpu.cpp", priority=PRIORITY, available=available)
def log_softmax_backward(grad, y, axis):
    return _along_last(_C.log_softmax_backward, axis, grad, y)


@register("cross_entropy", "cpu.cpp", priority=PRIORITY, available=available)
def cross_entropy(logits, target):
    _class_targets(logits, target)
    return _C.cross_entropy(*_rows(logits, target))


@register("cross_entropy_backward", "cpu.cpp", priority=PRIORITY, available=available)
def cross_entropy_backward(grad, log_probs, target):
    _class_targets(log_probs, target)
    require_float(log_probs, grad)
    return _C.cross_entropy_backward(*_rows(grad, log_probs, target))


@register("nll_loss", "cpu.cpp", priority=PRIORITY, available=available)
def nll_loss(log_probs, target):
    _class_targets(log_probs, target)
    return _C.nll_loss(*_rows(log_probs, target))


@register("nll_loss_backward", "cpu.cpp", priority=PRIORITY, available=available)
def nll_loss_backward(grad, log_probs, target):
    _class_targets(log_probs, target)
    require_float(log_probs, grad)
    return _C.nll_loss_backward(*_rows(grad, log_probs, target))
