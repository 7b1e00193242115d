"""Loss kernels: fused log-softmax + NLL on (N, C) rows, NLL, and the elementwise losses
(MSE, binary cross-entropy on probabilities and on logits) with gradients for every operand."""
import numpy as np

from ...device import array_module
from ...kernels.registry import reference
from .activations import sigmoid
from .softmax import log_softmax

LOG_FLOOR = -100.0          # PyTorch clamps BCE's logs here so log(0) stays finite
BCE_EPSILON = 1e-12         # and keeps p (1 - p) away from zero in the input gradient


def _rows(a):
    return array_module(a).arange(a.shape[0])


@reference("cross_entropy")
def cross_entropy(logits, target):
    log_probs = log_softmax(logits, 1)                    # (N, C)
    return -log_probs[_rows(logits), target], log_probs


@reference("cross_entropy_backward")
def cross_entropy_backward(grad, log_probs, target):
    dlogits = array_module(log_probs).exp(log_probs) * grad[:, None]      # softmax · grad, (N, C)
    dlogits[_rows(log_probs), target] -= grad
    return dlogits


@reference("nll_loss")
def nll_loss(log_probs, target):
    return -log_probs[_rows(log_probs), target]


@reference("nll_loss_backward")
def nll_loss_backward(grad, log_probs, target):
    dlog_probs = array_module(log_probs).zeros_like(log_probs)            # (N, C)
    dlog_probs[_rows(log_probs), target] = -grad
    return dlog_probs


@reference("mse_loss")
def mse_loss(input, target):
    diff = input - target
    return diff * diff


@reference("mse_loss_backward")
def mse_loss_backward(grad, input, target):
    dinput = 2 * grad * (input - target)
    return dinput, -dinput


def _clamped_logs(p):
    """log p and log(1 - p), each at least LOG_FLOOR (p may be exactly 0 or 1)."""
    xp = array_module(p)
    with np.errstate(divide="ignore"):
        return xp.maximum(xp.log(p), LOG_FLOOR), xp.maximum(xp.log1p(-p), LOG_FLOOR)


@reference("binary_cross_entropy")
def binary_cross_entropy(input, target):
    log_p, log_1mp = _clamped_logs(input)
    return -(target * log_p + (1 - target) * log_1mp)


@reference("binary_cross_entropy_backward")
def binary_cross_entropy_backward(grad, input, target):
    log_p, log_1mp = _clamped_logs(input)
    dinput = grad * (input - target) / array_module(input).maximum(input * (1 - input), BCE_EPSILON)
    return dinput, grad * (log_1mp - log_p)


def _softplus_neg(z):
    """log(1 + exp(-z)) = -log(sigmoid(z)), without overflow for either sign."""
    xp = array_module(z)
    return xp.maximum(-z, 0) + xp.log1p(xp.exp(-abs(z)))


@reference("binary_cross_entropy_with_logits")
def binary_cross_entropy_with_logits(logits, target, pos_weight):
    # (1 - t) z + (1 + (pw - 1) t) log(1 + exp(-z)), PyTorch's stable form
    log_weight = 1 if pos_weight is None else 1 + (pos_weight - 1) * target
    return (1 - target) * logits + log_weight * _softplus_neg(logits)


@reference("binary_cross_entropy_with_logits_backward")
def binary_cross_entropy_with_logits_backward(grad, logits, target, pos_weight):
    if pos_weight is None:
        return grad * (sigmoid(logits) - target), grad * -logits, None
    softplus_neg = _softplus_neg(logits)
    log_weight = 1 + (pos_weight - 1) * target
    dlogits = (1 - target) - log_weight * sigmoid(-logits)            # sigmoid(-z) = 1 - sigmoid(z)
    dtarget = (pos_weight - 1) * softplus_neg - logits
    return grad * dlogits, grad * dtarget, grad * target * softplus_neg
