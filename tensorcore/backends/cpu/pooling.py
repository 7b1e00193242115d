"""max_pool2d and avg_pool2d with their backward passes as "cpu.cpp" (csrc/pooling.cpp): any
strided (N, C, H, W) view read in place; a channels-last view (an NHWC buffer seen as NCHW,
as the Keras face passes it) is pooled a vector of channels at a time and gives channels-last
output."""
from ...kernels.registry import register
from .common import PRIORITY, _C, available, require_float


def _strided(*arrays):
    """Decline unless each array is 4-D, element-aligned, with whole-element strides."""
    for a in arrays:
        if a.ndim != 4 or not a.flags.aligned or any(s % a.itemsize for s in a.strides):
            raise NotImplementedError


@register("max_pool2d", "cpu.cpp", priority=PRIORITY, available=available)
def max_pool2d(x, kernel, stride, padding, dilation, ceil_mode):
    require_float(x)
    _strided(x)
    return _C.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)


@register("max_pool2d_backward", "cpu.cpp", priority=PRIORITY, available=available)
def max_pool2d_backward(grad, indices, x_shape):
    require_float(grad)
    _strided(grad, indices)
    return _C.max_pool2d_backward(grad, indices, tuple(x_shape))


@register("avg_pool2d", "cpu.cpp", priority=PRIORITY, available=available)
def avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    require_float(x)
    _strided(x)
    return _C.avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad,
                         divisor_override)


@register("avg_pool2d_backward", "cpu.cpp", priority=PRIORITY, available=available)
def avg_pool2d_backward(grad, x_shape, kernel, stride, padding, ceil_mode, count_include_pad,
                        divisor_override):
    require_float(grad)
    _strided(grad)
    return _C.avg_pool2d_backward(grad, tuple(x_shape), kernel, stride, padding, ceil_mode,
                                  count_include_pad, divisor_override)
