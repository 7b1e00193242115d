"""The optimizer steps (sgd, adam, rmsprop) as "cpu.cpp" (csrc/optim.cpp): one fused pass over
the parameter, its gradient and the state, in place. Parameters and state must be C-contiguous
and writeable, all of one float dtype and shape (else the reference runs); the gradient is
copied to C order when it is not."""
import numpy as np

from ...kernels.registry import register
from .common import FLOAT_DTYPES, PRIORITY, _C, available, contiguous


def _in_place(param, grad, *state):
    """Decline unless every array updated in place is a writeable C-contiguous array of
    param's float dtype and shape -> grad in C order."""
    if param.dtype not in FLOAT_DTYPES or grad.dtype != param.dtype or grad.shape != param.shape:
        raise NotImplementedError
    for a in (param,) + tuple(s for s in state if s is not None):
        if (type(a) is not np.ndarray or a.dtype != param.dtype or a.shape != param.shape
                or not (a.flags.c_contiguous and a.flags.aligned and a.flags.writeable)):
            raise NotImplementedError
    return contiguous(grad)


@register("sgd_step", "cpu.cpp", priority=PRIORITY, available=available)
def sgd_step(param, grad, velocity, lr, momentum, nesterov, weight_decay):
    grad = _in_place(param, grad, velocity)
    _C.sgd_step(param, grad, velocity, lr, momentum, nesterov, weight_decay)


@register("adam_step", "cpu.cpp", priority=PRIORITY, available=available)
def adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay,
              decoupled):
    if exp_avg is None or exp_avg_sq is None:
        raise NotImplementedError
    grad = _in_place(param, grad, exp_avg, exp_avg_sq)
    _C.adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay,
                 decoupled)


@register("rmsprop_step", "cpu.cpp", priority=PRIORITY, available=available)
def rmsprop_step(param, grad, square_avg, momentum_buffer, grad_avg, lr, alpha, eps,
                 weight_decay, momentum):
    grad = _in_place(param, grad, square_avg, momentum_buffer, grad_avg)
    _C.rmsprop_step(param, grad, square_avg, momentum_buffer, grad_avg, lr, alpha, eps,
                    weight_decay, momentum)
