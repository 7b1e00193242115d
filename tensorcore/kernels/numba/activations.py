"""relu, leaky_relu, sigmoid, tanh, gelu and their backward passes: one grid-stride kernel per
op over the flattened elements, around a scalar device function (shared with the LSTM cell).

    forward:  y = f(x, param)              param: leaky_relu's slope, gelu's tanh flag, else 0
    backward: dx = grad * f'(x, y, param)
"""
import functools
import math

from . import common
from .common import blocks, kernel_cache, numba_cuda, require_float, scalar_type
from .reduce import channel_sum

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
INV_SQRT_2 = 1.0 / math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
GELU_TANH_CUBIC = 0.044715
cuda = None     # numba.cuda once a kernel is built: a module global, which the simulator swaps


@functools.lru_cache(maxsize=None)
def scalar_functions():
    """{op: (forward(x, param), derivative(x, y, param))} as device functions, and the
    identity for bias_act's "none"."""
    global cuda
    cuda = numba_cuda()
    device = cuda.jit(device=True)

    @device
    def sigmoid(x, param):
        e = math.exp(-abs(x))               # in (0, 1]: no overflow for either sign
        return 1 / (1 + e) if x >= 0 else e / (1 + e)

    # Phi(x) as erfc(-x / sqrt 2) / 2 and (1 + tanh u) / 2 as sigmoid(2u): 1 + erf and
    # 1 + tanh cancel for negative x
    @device
    def gelu_tanh_sigmoid(x):
        return sigmoid(2 * SQRT_2_OVER_PI * (x + GELU_TANH_CUBIC * x * x * x), 0)

    @device
    def gelu(x, param):
        if param:
            return x * gelu_tanh_sigmoid(x)
        return 0.5 * x * math.erfc(-x * INV_SQRT_2)

    @device
    def gelu_slope(x, y, param):
        if param:
            # within +-1000 the slope is 1 or 0 to the last bit, and x * x cannot overflow
            # (0 * inf); NaN passes through
            x = 1000.0 if x > 1000 else -1000.0 if x < -1000 else x
            s = gelu_tanh_sigmoid(x)
            return s + 2 * x * s * (1 - s) * SQRT_2_OVER_PI * (1 + 3 * GELU_TANH_CUBIC * x * x)
        return 0.5 * math.erfc(-x * INV_SQRT_2) + x * math.exp(-0.5 * x * x) * INV_SQRT_2PI

    return {
        "identity": (device(lambda x, param: x), device(lambda x, y, param: 1)),
        "relu": (device(lambda x, param: x if x > 0 else x * 0),
                 device(lambda x, y, param: 1 if y > 0 else 0)),
        "leaky_relu": (device(lambda x, param: x if x > 0 else x * param),
                       device(lambda x, y, param: 1 if x > 0 else param)),
        "sigmoid": (sigmoid, device(lambda x, y, param: y * (1 - y))),
        "tanh": (device(lambda x, param: math.tanh(x)), device(lambda x, y, param: 1 - y * y)),
        "gelu": (gelu, gelu_slope),
    }


@kernel_cache
def forward_kernel(name, dtype):
    f, _ = scalar_functions()[name]
    T = scalar_type(dtype)

    @cuda.jit
    def forward(x, y, param):
        for e in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            y[e] = T(f(x[e], param))

    return forward


@kernel_cache
def backward_kernel(name, dtype):
    _, slope = scalar_functions()[name]
    T = scalar_type(dtype)

    @cuda.jit
    def backward(grad, x, y, dx, param):
        for e in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            dx[e] = grad[e] * T(slope(x[e], y[e], param))

    return backward


def _flat(a):
    return common.contiguous(a).reshape(-1)


def _launch(kernel, n, *args):
    threads = common.config.elementwise_threads
    common.launch(kernel, blocks(n, threads), threads, *args)


def forward(name, x, param=0.0):
    require_float(name, x)
    y = common.empty(x, x.shape)
    if x.size:
        _launch(forward_kernel(name, x.dtype), x.size, _flat(x), y.reshape(-1),
                x.dtype.type(param))
    return y


def backward(name, grad, x, y, param=0.0):
    require_float(name + "_backward", grad, x, y)
    if not grad.shape == x.shape == y.shape:
        raise NotImplementedError(f"{name}_backward: cuda.numba needs one shape, got "
                                  f"{grad.shape}, {x.shape}, {y.shape}")
    dx = common.empty(x, x.shape)
    if x.size:
        _launch(backward_kernel(name, x.dtype), x.size, _flat(grad), _flat(x), _flat(y),
                dx.reshape(-1), x.dtype.type(param))
    return dx


def gelu_flag(approximate):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return 1.0 if approximate == "tanh" else 0.0


# --- bias_act: y = act(x + bias) over (..., F), and its backward with the bias gradient ----

BIAS_ACTIVATIONS = ("none", "relu", "sigmoid", "tanh")


@kernel_cache
def bias_act_kernel(activation, dtype):
    f, _ = scalar_functions()["identity" if activation == "none" else activation]
    T = scalar_type(dtype)

    @cuda.jit
    def bias_act(x, bias, y):
        F = bias.size
        for e in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            z = x[e] + bias[e % F]
            y[e] = T(f(z, 0))

    return bias_act


@kernel_cache
def bias_act_backward_kernel(activation, dtype):
    _, slope = scalar_functions()["identity" if activation == "none" else activation]
    T = scalar_type(dtype)

    @cuda.jit
    def bias_act_backward(grad, y, dx):
        for e in range(cuda.grid(1), y.size, cuda.gridsize(1)):
            dx[e] = grad[e] * T(slope(y[e], y[e], 0))

    return bias_act_backward


def _check_activation(activation):
    if activation not in BIAS_ACTIVATIONS:
        raise ValueError(f"bias_act: activation must be one of {BIAS_ACTIVATIONS}, got "
                         f"{activation!r}")


def bias_act(x, bias, activation):
    require_float("bias_act", x, bias)
    _check_activation(activation)
    if x.ndim == 0 or bias.shape != x.shape[-1:]:
        raise NotImplementedError
    y = common.empty(x, x.shape)
    if x.size:
        _launch(bias_act_kernel(activation, x.dtype), x.size, _flat(x), _flat(bias),
                y.reshape(-1))
    return y


def bias_act_backward(grad, y, activation):
    """Each slope follows from y alone (relu's reads y > 0, sigmoid's and tanh's y)."""
    require_float("bias_act_backward", grad, y)
    _check_activation(activation)
    if grad.shape != y.shape or y.ndim == 0:
        raise NotImplementedError
    dx = common.empty(y, y.shape)
    if y.size:
        _launch(bias_act_backward_kernel(activation, y.dtype), y.size, _flat(grad), _flat(y),
                dx.reshape(-1))
    features = y.shape[-1]
    return dx, channel_sum(dx.reshape(-1, features, 1))
