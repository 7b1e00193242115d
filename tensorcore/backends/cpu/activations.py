"""The activations and their backward passes as "cpu.cpp" (csrc/activations.cpp)."""
from ...kernels.registry import register
from .common import PRIORITY, _C, available, elementwise_in_memory_order


def _register_elementwise(op, n_arrays):
    """Register ``_C.<op>`` as the op's "cpu.cpp" variant: its first ``n_arrays`` arguments
    are arrays (x, or grad, x, y), the rest scalar parameters passed through. The result
    keeps the arrays' memory layout (channels-last stays channels-last)."""
    kernel = getattr(_C, op, None)

    def run(*args, **params):
        arrays, axes = elementwise_in_memory_order(*args[:n_arrays])
        out = kernel(*arrays, *args[n_arrays:], **params)
        return out if axes is None else out.transpose(axes)
    run.__name__ = op
    register(op, "cpu.cpp", priority=PRIORITY, available=available)(run)


for _name in ("relu", "leaky_relu", "sigmoid", "tanh", "gelu"):
    _register_elementwise(_name, 1)                 # (x, *params)
    _register_elementwise(_name + "_backward", 3)   # (grad, x, y, *params)
