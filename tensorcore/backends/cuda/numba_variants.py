"""The Numba CUDA kernels (tensorcore/kernels/numba/) as the "cuda.numba" variant of each op.

Available only when CuPy sees a GPU (device "cuda" exists) and numba.cuda imports and finds
one too; otherwise they are listed as unavailable and the reference serves. Importing this
module never imports Numba: the kernel modules are imported on a variant's first call.
Every variant declines (NotImplementedError) dtypes other than float32/float64.
"""
import functools
import importlib

from ...device import cuda_available
from ...kernels.registry import register

PRIORITY = 10


@functools.lru_cache(maxsize=None)
def available():
    if not cuda_available():
        return False
    common = kernels("common")
    try:
        cuda = common.numba_cuda()
    except ImportError:
        return False
    return bool(cuda.is_available()) and not common.simulator_enabled()


@functools.lru_cache(maxsize=None)
def kernels(family):
    """tensorcore.kernels.numba.<family>, imported on first use."""
    return importlib.import_module(f"tensorcore.kernels.numba.{family}")


def _register(op, family, function, **fixed):
    """Register kernels(family).<function>(*args, **fixed) as op's "cuda.numba" variant."""
    def run(*args):
        return getattr(kernels(family), function)(*args, **fixed)
    run.__name__ = op
    register(op, "cuda.numba", priority=PRIORITY, available=available)(run)


# op -> (kernel module, function in it, fixed keyword arguments)
VARIANTS = {
    "matmul": ("matmul", "matmul", {}),
    "conv2d": ("conv", "conv2d", {}),
    "conv2d_backward_input": ("conv", "conv2d_backward_input", {}),
    "conv2d_backward_weight": ("conv", "conv2d_backward_weight", {}),
    "max_pool2d": ("pooling", "max_pool2d", {}),
    "max_pool2d_backward": ("pooling", "max_pool2d_backward", {}),
    "avg_pool2d": ("pooling", "avg_pool2d", {}),
    "avg_pool2d_backward": ("pooling", "avg_pool2d_backward", {}),
    "lstm_cell": ("lstm", "lstm_cell", {}),
    "lstm_cell_backward": ("lstm", "lstm_cell_backward", {}),
    "softmax": ("softmax", "softmax", {"log": False}),
    "softmax_backward": ("softmax", "softmax_backward", {"log": False}),
    "log_softmax": ("softmax", "softmax", {"log": True}),
    "log_softmax_backward": ("softmax", "softmax_backward", {"log": True}),
    "cross_entropy": ("softmax", "cross_entropy", {}),
    "cross_entropy_backward": ("softmax", "cross_entropy_backward", {}),
    "nll_loss": ("softmax", "nll_loss", {}),
    "nll_loss_backward": ("softmax", "nll_loss_backward", {}),
    "bias_act": ("activations", "bias_act", {}),
    "bias_act_backward": ("activations", "bias_act_backward", {}),
    "sgd_step": ("optim", "sgd_step", {}),
    "adam_step": ("optim", "adam_step", {}),
}
for _op, (_family, _function, _fixed) in VARIANTS.items():
    _register(_op, _family, _function, **_fixed)


def _register_activation(name):
    def forward(x, *params):
        act = kernels("activations")
        return act.forward(name, x, *_activation_param(act, name, params))

    def backward(grad, x, y, *params):
        act = kernels("activations")
        return act.backward(name, grad, x, y, *_activation_param(act, name, params))
    forward.__name__, backward.__name__ = name, name + "_backward"
    register(name, "cuda.numba", priority=PRIORITY, available=available)(forward)
    register(name + "_backward", "cuda.numba", priority=PRIORITY, available=available)(backward)


def _activation_param(act, name, params):
    """The kernels' numeric parameter: leaky_relu's slope, gelu's approximate as a flag."""
    if name == "gelu":
        return (act.gelu_flag(*params),)
    return params


for _name in ("relu", "leaky_relu", "sigmoid", "tanh", "gelu"):
    _register_activation(_name)
