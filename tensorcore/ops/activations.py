"""Activations: each one Function over its forward and backward kernels."""
from ..autograd import Function
from ..kernels import registry
from ..errors import DTypeError, ShapeError
from .common import as_tensor, check_same_device, write_in_place


class Activation(Function):
    """y = forward_kernel(x, **params); dx = backward_kernel(grad, x, y, **params)."""
    forward_kernel = backward_kernel = None

    def forward(self, x, **params):
        self.x, self.params = x, params
        self.y = self.forward_kernel(x, **params)
        return self.y

    def backward(self, g):
        return self.backward_kernel(g, self.x, self.y, **self.params)


def _activation(name):
    return type(name.title().replace("_", ""), (Activation,), {
        "forward_kernel": registry.get(name), "backward_kernel": registry.get(name + "_backward")})


ReLU, LeakyReLU, Sigmoid, Tanh, GELU = map(_activation, ("relu", "leaky_relu", "sigmoid", "tanh", "gelu"))


def relu(x, inplace=False):
    """``inplace=True`` writes into ``x`` as dropout does (ops/common.write_in_place)."""
    x = as_tensor(x)
    y = ReLU.apply(x)
    return write_in_place(x, y) if inplace else y


def leaky_relu(x, negative_slope=0.01, inplace=False):
    x = as_tensor(x)
    y = LeakyReLU.apply(x, negative_slope=float(negative_slope))
    return write_in_place(x, y) if inplace else y


def sigmoid(x):
    return Sigmoid.apply(as_tensor(x))


def tanh(x):
    return Tanh.apply(as_tensor(x))


def gelu(x, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(as_tensor(x), approximate=approximate)


BIAS_ACTIVATIONS = ("none", "relu", "sigmoid", "tanh")
bias_act_kernel = registry.get("bias_act")
bias_act_backward_kernel = registry.get("bias_act_backward")


class BiasActivation(Function):
    """y = act(x + bias): x (..., F), bias (F,), in one pass over x."""

    def forward(self, x, bias, activation):
        self.activation = activation
        self.y = bias_act_kernel(x, bias, activation)
        return self.y

    def backward(self, g):
        return bias_act_backward_kernel(g, self.y, self.activation)


def bias_activation(x, bias, activation="none"):
    """act(x + bias) along x's last axis, fused: the epilogue of a Dense layer. activation is
    None or one of BIAS_ACTIVATIONS."""
    x, bias = as_tensor(x), as_tensor(bias)
    activation = "none" if activation is None else activation
    if activation not in BIAS_ACTIVATIONS:
        raise ValueError(f"bias_activation: activation must be one of {BIAS_ACTIVATIONS} or "
                         f"None, got {activation!r}")
    if x.ndim < 1 or bias.shape != x.shape[-1:]:
        raise ShapeError(f"bias_activation: expected bias of shape ({x.shape[-1] if x.ndim else '?'},) "
                         f"for input of shape {x.shape}, got {bias.shape}")
    check_same_device("bias_activation", x._data, bias._data)
    if x.dtype != bias.dtype or x.dtype.kind != "f":
        raise DTypeError(f"bias_activation: expected floating-point x and bias of one dtype, "
                         f"got {x.dtype} and {bias.dtype}")
    return BiasActivation.apply(x, bias, activation=activation)
