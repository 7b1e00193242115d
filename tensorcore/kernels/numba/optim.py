"""Fused optimizer updates, in place, one grid-stride thread per parameter element: sgd_step
(weight decay, momentum, Nesterov) and adam_step (Adam, or AdamW when decoupled). The state
arrays updated in place must be C-contiguous (parameters and their state are); otherwise the
variant declines. Scalars are folded on the host: Adam's bias corrections once per call.
"""
import math

from . import common
from .common import blocks, kernel_cache, numba_cuda, require_float

cuda = None     # numba.cuda once a kernel is built: a module global, which the simulator swaps


@kernel_cache
def sgd_kernel(dtype, has_velocity, nesterov):
    global cuda
    cuda = numba_cuda()

    @cuda.jit
    def sgd(param, grad, velocity, lr, momentum, weight_decay):
        for e in range(cuda.grid(1), param.size, cuda.gridsize(1)):
            g = grad[e] + weight_decay * param[e]
            if has_velocity:
                v = momentum * velocity[e] + g
                velocity[e] = v
                g = g + momentum * v if nesterov else v
            param[e] -= lr * g

    return sgd


@kernel_cache
def adam_kernel(dtype, decoupled):
    global cuda
    cuda = numba_cuda()

    @cuda.jit
    def adam(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, weight_decay,
             step_size, bias2_sqrt):
        for e in range(cuda.grid(1), param.size, cuda.gridsize(1)):
            p = param[e]
            if decoupled:
                p *= 1 - lr * weight_decay
                g = grad[e]
            else:
                g = grad[e] + weight_decay * p
            m = beta1 * exp_avg[e] + (1 - beta1) * g
            v = beta2 * exp_avg_sq[e] + (1 - beta2) * g * g
            exp_avg[e], exp_avg_sq[e] = m, v
            param[e] = p - step_size * m / (math.sqrt(v) / bias2_sqrt + eps)

    return adam


def _in_place(op, *arrays):
    """Flat views of the arrays updated in place; declines unless they are C-contiguous."""
    if any(not a.flags.c_contiguous for a in arrays):
        raise NotImplementedError(f"{op}: cuda.numba updates C-contiguous arrays only")
    return [a.reshape(-1) for a in arrays]


def _launch(kernel, n, *args):
    threads = common.config.elementwise_threads
    common.launch(kernel, blocks(n, threads), threads, *args)


def sgd_step(param, grad, velocity, lr, momentum, nesterov, weight_decay):
    require_float("sgd_step", param, grad, *([] if velocity is None else [velocity]))
    flat = _in_place("sgd_step", param, *([] if velocity is None else [velocity]))
    grad_flat = common.contiguous(grad).reshape(-1)
    if param.size:
        kernel = sgd_kernel(param.dtype, velocity is not None, bool(nesterov))
        # without momentum grad stands in for the velocity (never read)
        _launch(kernel, param.size, flat[0], grad_flat, flat[1] if velocity is not None
                else grad_flat, float(lr), float(momentum), float(weight_decay))


def adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay,
              decoupled):
    require_float("adam_step", param, grad, exp_avg, exp_avg_sq)
    flat = _in_place("adam_step", param, exp_avg, exp_avg_sq)
    if param.size:
        step_size = lr / (1 - beta1 ** step)
        bias2_sqrt = math.sqrt(1 - beta2 ** step)
        _launch(adam_kernel(param.dtype, bool(decoupled)), param.size, flat[0],
                common.contiguous(grad).reshape(-1), flat[1], flat[2], float(lr),
                float(beta1), float(beta2), float(eps), float(weight_decay), step_size,
                bias2_sqrt)
