"""Activations: each one Function over its forward and backward kernels."""
from ..autograd import Function
from ..kernels import registry
from .common import as_tensor


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
    return ReLU.apply(as_tensor(x))


def leaky_relu(x, negative_slope=0.01, inplace=False):
    return LeakyReLU.apply(as_tensor(x), negative_slope=float(negative_slope))


def sigmoid(x):
    return Sigmoid.apply(as_tensor(x))


def tanh(x):
    return Tanh.apply(as_tensor(x))


def gelu(x, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(as_tensor(x), approximate=approximate)
