"""Optimizer updates, in place on the parameter and the optimizer's state arrays."""
from ...device import array_module
from ...kernels.registry import reference


def _decayed(param, grad, weight_decay):
    return grad + weight_decay * param if weight_decay else grad


@reference("sgd_step")
def sgd_step(param, grad, velocity, lr, momentum, nesterov, weight_decay):
    g = _decayed(param, grad, weight_decay)
    if velocity is not None:
        velocity *= momentum
        velocity += g
        g = g + momentum * velocity if nesterov else velocity
    param -= lr * g


@reference("adam_step")
def adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay,
              decoupled):
    xp = array_module(param)
    if decoupled:
        param *= 1 - lr * weight_decay
        g = grad
    else:
        g = _decayed(param, grad, weight_decay)
    exp_avg *= beta1
    exp_avg += (1 - beta1) * g
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * g * g
    denom = xp.sqrt(exp_avg_sq) / (1 - beta2 ** step) ** 0.5 + eps
    param -= lr / (1 - beta1 ** step) * exp_avg / denom


@reference("rmsprop_step")
def rmsprop_step(param, grad, square_avg, momentum_buffer, grad_avg, lr, alpha, eps, weight_decay,
                 momentum):
    xp = array_module(param)
    g = _decayed(param, grad, weight_decay)
    square_avg *= alpha
    square_avg += (1 - alpha) * g * g
    if grad_avg is not None:
        grad_avg *= alpha
        grad_avg += (1 - alpha) * g
        # an overflowed square_avg stays inf (grad_avg^2 may be inf too: inf - inf is NaN)
        centered = xp.where(xp.isinf(square_avg), square_avg, square_avg - grad_avg * grad_avg)
        avg = xp.sqrt(centered) + eps
    else:
        avg = xp.sqrt(square_avg) + eps
    if momentum_buffer is not None:
        momentum_buffer *= momentum
        momentum_buffer += g / avg
        param -= lr * momentum_buffer
    else:
        param -= lr * g / avg
