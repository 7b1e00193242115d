"""conv2d and its backward passes as "cpu.cpp" (csrc/conv*.cpp, which picks the kernels per
shape), "cpu.direct" (its pick without Winograd), "cpu.winograd" (Winograd F(4x4, 3x3) forced
wherever it applies) and, for the forward and the weight gradient, "cpu.winograd_rows"
(row-pair Winograd F(2, 3) forced wherever it applies; its forward takes 2-D F(2x2, 3x3) tiles
for one input channel and even output rows). Images run NCHW, or channels-last when their
memory is NHWC (an NCHW-shaped view such as ``x_nhwc.transpose(0, 3, 1, 2)``, as the Keras
face passes them), and come back in that memory format; other strides are copied first.

Winograd's transforms mix the pixels of a tile: one Inf or NaN input makes the whole tile's
outputs NaN, and a huge value rounds its neighbours' outputs at its own scale.
``tc.kernels.use(conv2d="cpu.direct")`` (the forward and both backward passes) sums every
output over its own window only, as PyTorch's CPU convolutions do."""

from ...kernels import registry
from ...kernels.registry import register
from .common import PRIORITY, _C, available, contiguous, require_float


conv2d_op, max_pool_op = registry.get("conv2d"), registry.get("max_pool2d")
backward_weight_op = registry.get("conv2d_backward_weight")
max_pool_backward_op = registry.get("max_pool2d_backward")


def channels_last(a):
    """Whether the (N, C, H, W) array ``a`` is laid out NHWC in memory. With C == 1 both
    layouts hold; then a channel stride of one element (as in ``x_nhwc.transpose(0, 3, 1, 2)``)
    says channels-last, as csrc/conv.cpp decides."""
    if a.flags.c_contiguous:   # NHWC too only where C == 1 or H * W == 1 (no view made)
        return a.strides[1] == a.itemsize and a.shape[2] * a.shape[3] > 1
    return a.transpose(0, 2, 3, 1).flags.c_contiguous


def image(a, nhwc):
    """``a`` as NCHW C-contiguous memory, or with ``nhwc`` as a view of NHWC memory."""
    if nhwc:
        return contiguous(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    return contiguous(a)


def images_4d(*arrays):
    """Decline what the reference handles and C++ does not: non-float or mixed dtypes."""
    require_float(*arrays)
    for a in arrays:
        if a.ndim != 4:
            raise NotImplementedError


def winograd_applies(weight_shape, stride, padding, dilation, groups):
    """Decline what Winograd F(4x4, 3x3) does not handle: it takes 3x3 kernels at stride 1
    and dilation 1 without groups, with padding up to 2."""
    if (tuple(weight_shape[2:]) != (3, 3) or tuple(stride) != (1, 1)
            or tuple(dilation) != (1, 1) or groups != 1 or max(padding) > 2):
        raise NotImplementedError


def forward(algorithm, x, weight, bias, stride, padding, dilation, groups):
    images_4d(x, weight)
    if bias is not None:
        require_float(x, bias)
        bias = contiguous(bias)
    return _C.conv2d(image(x, channels_last(x)), contiguous(weight), bias,
                     stride, padding, dilation, groups, algorithm)


def backward_input(algorithm, grad, weight, x_shape, stride, padding, dilation, groups):
    images_4d(grad, weight)
    return _C.conv2d_backward_input(image(grad, channels_last(grad)),
                                    contiguous(weight), tuple(x_shape),
                                    stride, padding, dilation, groups, algorithm)


def gradient_images(grad, x):
    """grad and x for a weight gradient, both NCHW or both channels-last (image()). x with one
    channel is in both layouts, whatever its channel stride: grad's decides, so that neither is
    copied (a channels-last grad of the first MNIST layer, copied to NCHW, cost 1 ms against
    the kernel's 0.07)."""
    nhwc = channels_last(grad if x.shape[1] == 1 else x)
    return image(grad, nhwc), image(x, nhwc)


def backward_weight(algorithm, grad, x, weight_shape, stride, padding, dilation, groups):
    images_4d(grad, x)
    return _C.conv2d_backward_weight(*gradient_images(grad, x), tuple(weight_shape),
                                     stride, padding, dilation, groups, algorithm)


@register("conv2d", "cpu.cpp", priority=PRIORITY, available=available)
def conv2d(x, weight, bias, stride, padding, dilation, groups):
    return forward("auto", x, weight, bias, stride, padding, dilation, groups)


@register("conv2d_backward_input", "cpu.cpp", priority=PRIORITY, available=available)
def conv2d_backward_input(grad, weight, x_shape, stride, padding, dilation, groups):
    return backward_input("auto", grad, weight, x_shape, stride, padding, dilation, groups)


@register("conv2d_backward_weight", "cpu.cpp", priority=PRIORITY, available=available)
def conv2d_backward_weight(grad, x, weight_shape, stride, padding, dilation, groups):
    return backward_weight("auto", grad, x, weight_shape, stride, padding, dilation, groups)


@register("conv2d_max_pool2d", "cpu.cpp", priority=PRIORITY, available=available)
def conv2d_max_pool2d(x, weight, bias, stride, padding, dilation, groups):
    """One pass where csrc/conv.cpp has one (else None: declined). It stands in for the
    "cpu.cpp" variants of conv2d and max_pool2d, so it declines where another is forced
    (tc.kernels.use), for the two ops to run as asked. Its operands are checked as in
    forward(), written out here: forward() taking the C++ function and its geometry as
    *args cost F.conv2d 0.2-0.3 us a call."""
    if conv2d_op.active("cpu") != "cpu.cpp" or max_pool_op.active("cpu") != "cpu.cpp":
        raise NotImplementedError
    images_4d(x, weight)
    if bias is not None:
        require_float(x, bias)
        bias = contiguous(bias)
    out = _C.conv2d_max_pool2d(image(x, channels_last(x)), contiguous(weight), bias, stride,
                               padding, dilation, groups)
    if out is None:
        raise NotImplementedError
    return out


@register("conv2d_max_pool2d_backward_weight", "cpu.cpp", priority=PRIORITY, available=available)
def conv2d_max_pool2d_backward_weight(grad, taps, x, weight_shape, stride, padding, dilation,
                                      groups):
    """One pass where csrc/conv.cpp has one (else None: declined), standing in for the "cpu.cpp"
    variants of max_pool2d_backward and conv2d_backward_weight as conv2d_max_pool2d does for
    its two."""
    if (backward_weight_op.active("cpu") != "cpu.cpp"
            or max_pool_backward_op.active("cpu") != "cpu.cpp"):
        raise NotImplementedError
    images_4d(grad, x)
    grad, x = gradient_images(grad, x)
    out = _C.conv2d_max_pool2d_backward_weight(grad, contiguous(taps), x, tuple(weight_shape),
                                               stride, padding, dilation, groups)
    if out is None:
        raise NotImplementedError
    return out


# "cpu.cpp"'s choice of kernels without Winograd; ranked after the variants that force it
@register("conv2d", "cpu.direct", priority=PRIORITY - 3, available=available)
def conv2d_direct(x, weight, bias, stride, padding, dilation, groups):
    return forward("direct", x, weight, bias, stride, padding, dilation, groups)


@register("conv2d_backward_input", "cpu.direct", priority=PRIORITY - 3, available=available)
def conv2d_backward_input_direct(grad, weight, x_shape, stride, padding, dilation, groups):
    return backward_input("direct", grad, weight, x_shape, stride, padding, dilation, groups)


@register("conv2d_backward_weight", "cpu.direct", priority=PRIORITY - 3, available=available)
def conv2d_backward_weight_direct(grad, x, weight_shape, stride, padding, dilation, groups):
    return backward_weight("direct", grad, x, weight_shape, stride, padding, dilation, groups)


# "cpu.cpp" already picks Winograd where it pays; "cpu.winograd" forces it wherever it applies
# (for kernel research, tests and benchmarks), so it ranks after "cpu.cpp".
@register("conv2d", "cpu.winograd", priority=PRIORITY - 1, available=available)
def conv2d_winograd(x, weight, bias, stride, padding, dilation, groups):
    winograd_applies(weight.shape, stride, padding, dilation, groups)
    return forward("winograd", x, weight, bias, stride, padding, dilation, groups)


@register("conv2d_backward_input", "cpu.winograd", priority=PRIORITY - 1, available=available)
def conv2d_backward_input_winograd(grad, weight, x_shape, stride, padding, dilation, groups):
    winograd_applies(weight.shape, stride, padding, dilation, groups)
    return backward_input("winograd", grad, weight, x_shape, stride, padding, dilation, groups)


@register("conv2d_backward_weight", "cpu.winograd", priority=PRIORITY - 1, available=available)
def conv2d_backward_weight_winograd(grad, x, weight_shape, stride, padding, dilation, groups):
    winograd_applies(weight_shape, stride, padding, dilation, groups)
    return backward_weight("winograd", grad, x, weight_shape, stride, padding, dilation, groups)


def winograd_rows_applies(x, weight_shape, out_w, stride, dilation, groups):
    """Decline what row-pair Winograd does not handle: it takes NCHW images, 3x3 kernels at
    stride 1 and dilation 1 without groups, and output rows of at least 16 pixels."""
    if (tuple(weight_shape[2:]) != (3, 3) or tuple(stride) != (1, 1)
            or tuple(dilation) != (1, 1) or groups != 1 or x.ndim != 4 or out_w < 16
            or channels_last(x)):
        raise NotImplementedError


# "cpu.cpp" already picks it for few input channels; "cpu.winograd_rows" forces it
@register("conv2d", "cpu.winograd_rows", priority=PRIORITY - 2, available=available)
def conv2d_winograd_rows(x, weight, bias, stride, padding, dilation, groups):
    out_w = x.shape[-1] + padding[2] + padding[3] - 2
    winograd_rows_applies(x, weight.shape, out_w, stride, dilation, groups)
    return forward("winograd_rows", x, weight, bias, stride, padding, dilation, groups)


@register("conv2d_backward_weight", "cpu.winograd_rows", priority=PRIORITY - 2,
          available=available)
def conv2d_backward_weight_winograd_rows(grad, x, weight_shape, stride, padding, dilation,
                                         groups):
    winograd_rows_applies(x, weight_shape, grad.shape[-1], stride, dilation, groups)
    return backward_weight("winograd_rows", grad, x, weight_shape, stride, padding, dilation,
                           groups)
