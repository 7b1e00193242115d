"""conv2d: 2-D convolution (cross-correlation) of NCHW images, as torch.nn.functional.conv2d."""
from ..autograd import Function
from ..errors import ShapeError
from ..kernels import registry
from ..kernels.windows import POOL_2X2, window_indices
from .common import as_tensor
from .matmul import check_operands
from .window_args import LARGEST, check_output_size, image_input, pair, positive_int

conv2d_kernel = registry.get("conv2d")
backward_input_kernel = registry.get("conv2d_backward_input")
backward_weight_kernel = registry.get("conv2d_backward_weight")
conv2d_max_pool_kernel = registry.get("conv2d_max_pool2d")
max_pooled_backward_weight_kernel = registry.get("conv2d_max_pool2d_backward_weight")
max_pool_kernel = registry.get("max_pool2d")
max_pool_backward_kernel = registry.get("max_pool2d_backward")


class Conv2d(Function):
    """x (N, C, H, W), weight (O, C/groups, kh, kw), bias (O,) or None -> (N, O, OH, OW);
    ``geometry`` holds stride, padding (top, bottom, left, right), dilation and groups."""

    def forward(self, x, weight, bias, **geometry):
        self.x, self.weight, self.geometry = x, weight, geometry
        return conv2d_kernel(x, weight, bias, **geometry)

    def backward(self, g):
        gx = gw = gb = None
        if self.needs_grad(0):
            gx = backward_input_kernel(g, self.weight, self.x.shape, **self.geometry)
        if self.needs_grad(1):
            gw, gb = backward_weight_kernel(g, self.x, self.weight.shape, **self.geometry)
        elif self.needs_grad(2):
            gb = g.sum(axis=(0, 2, 3))
        return gx, gw, gb


def conv_padding(padding, kernel, stride, dilation):
    """(top, bottom, left, right) from an int, a pair, "valid" or "same" (which, as PyTorch,
    puts the odd pixel of an even kernel's padding at the bottom/right)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"conv2d: padding='same' needs stride 1, got stride {stride}")
            (total_h, total_w) = (d * (k - 1) for k, d in zip(kernel, dilation))
            return (total_h // 2, total_h - total_h // 2, total_w // 2, total_w - total_w // 2)
        raise ValueError(f"conv2d: expected padding to be an int, a pair of ints, 'same' or "
                         f"'valid', got {padding!r}")
    ph, pw = pair("conv2d", "padding", padding, 0)
    return (ph, ph, pw, pw)


class Conv2dMaxPool2d(Conv2d):
    """Conv2d, then a max pool of 2x2 windows at stride 2: x (N, C, H, W) -> (N, O, OH // 2,
    OW // 2), by one kernel where one pools as it convolves, else as the two ops (as the
    reference composes them, but keeping the pool's indices for the backward pass, not taps)."""

    def forward(self, x, weight, bias, conv_size, **geometry):
        self.x, self.weight, self.geometry = x, weight, geometry
        self.conv_shape = (x.shape[0], weight.shape[0], *conv_size)
        pooled = conv2d_max_pool_kernel.unless_reference(x, weight, bias, **geometry)
        if pooled is None:
            self.taps = None
            y, self.indices = max_pool_kernel(conv2d_kernel(x, weight, bias, **geometry),
                                              **POOL_2X2)
            return y
        y, self.taps = pooled
        return y

    def backward(self, g):
        one_pass = self.taps is not None
        if one_pass and self.needs_grad(1) and not self.needs_grad(0):   # a first layer: no dx
            dweight, dbias = max_pooled_backward_weight_kernel(
                g, self.taps, self.x, self.weight.shape, **self.geometry)
            return None, dweight, dbias
        indices = window_indices(self.taps, self.conv_shape[3]) if one_pass else self.indices
        return super().backward(max_pool_backward_kernel(g, indices, self.conv_shape))


def conv_arguments(x, weight, bias, stride, padding, dilation, groups):
    """conv2d's arguments checked: x as (N, C, H, W), whether it came unbatched, weight, bias,
    the geometry Conv2d.apply takes (stride, padding, dilation, groups) and the output size
    (OH, OW)."""
    x, unbatched = image_input("conv2d", x)
    weight = as_tensor(weight)
    check_operands("conv2d", x, weight)
    if weight.ndim != 4:
        raise ShapeError(f"conv2d: expected a 4-D weight (out_channels, in_channels/groups, kh, "
                         f"kw), got shape {weight.shape}")
    stride = pair("conv2d", "stride", stride, 1)
    dilation = pair("conv2d", "dilation", dilation, 1)
    groups = positive_int("conv2d", "groups", groups, LARGEST)
    C, (O, group_channels, kh, kw) = x.shape[1], weight.shape
    if C % groups or O % groups:
        raise ShapeError(f"conv2d: expected in_channels and out_channels divisible by groups="
                         f"{groups}, got input {x.shape} and weight {weight.shape}")
    if C != group_channels * groups:
        raise ShapeError(f"conv2d: expected input with {group_channels * groups} channels "
                         f"(weight {weight.shape}, groups={groups}), got input {x.shape} with "
                         f"{C} channels")
    if bias is not None:
        bias = as_tensor(bias)
        check_operands("conv2d", x, bias)
        if bias.shape != (O,):
            raise ShapeError(f"conv2d: expected bias of shape ({O},), got {bias.shape}")
    padding = conv_padding(padding, (kh, kw), stride, dilation)
    out_size = check_output_size("conv2d", x.shape, (kh, kw), stride, padding, dilation)
    return x, unbatched, weight, bias, stride, padding, dilation, groups, out_size


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    x, unbatched, weight, bias, stride, padding, dilation, groups, _ = conv_arguments(
        x, weight, bias, stride, padding, dilation, groups)
    y = Conv2d.apply(x, weight, bias, stride=stride, padding=padding, dilation=dilation,
                     groups=groups)
    return y.squeeze(0) if unbatched else y


def conv2d_max_pool2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """max_pool2d(conv2d(x, weight, bias, ...), 2): the same values and gradients, faster where
    a kernel pools as it convolves (one input channel: the first layer of a CNN on images)."""
    x, unbatched, weight, bias, stride, padding, dilation, groups, conv_size = conv_arguments(
        x, weight, bias, stride, padding, dilation, groups)
    check_output_size("max_pool2d", (None, None, *conv_size), (2, 2), (2, 2), (0, 0, 0, 0),
                      (1, 1))
    y = Conv2dMaxPool2d.apply(x, weight, bias, conv_size=conv_size, stride=stride,
                              padding=padding, dilation=dilation, groups=groups)
    return y.squeeze(0) if unbatched else y
