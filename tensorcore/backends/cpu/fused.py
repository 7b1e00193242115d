"""bias_act (a Dense layer's epilogue, act(x + bias)) and its backward pass as "cpu.cpp"
(csrc/bias_act.cpp): one pass over x, dx and dbias reduced together."""

from ...kernels.registry import register
from .common import PRIORITY, _C, available, contiguous, elementwise, require_float


@register("bias_act", "cpu.cpp", priority=PRIORITY, available=available)
def bias_act(x, bias, activation):
    require_float(x, bias)
    if x.ndim < 1 or bias.shape != x.shape[-1:]:
        raise NotImplementedError
    return _C.bias_act(contiguous(x), contiguous(bias),
                       activation)


@register("bias_act_backward", "cpu.cpp", priority=PRIORITY, available=available)
def bias_act_backward(grad, y, activation):
    if y.ndim < 1:
        raise NotImplementedError
    return _C.bias_act_backward(*elementwise(grad, y), activation)
