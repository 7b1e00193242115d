"""max_pool2d and avg_pool2d over NCHW images, as torch.nn.functional's."""
from ..autograd import Function
from ..errors import ShapeError
from ..kernels import registry
from .window_args import LARGEST, check_output_size, image_input, is_int, pair

max_pool_kernel = registry.get("max_pool2d")
max_pool_backward_kernel = registry.get("max_pool2d_backward")
avg_pool_kernel = registry.get("avg_pool2d")
avg_pool_backward_kernel = registry.get("avg_pool2d_backward")


class MaxPool2d(Function):
    """x (N, C, H, W) -> (y (N, C, OH, OW), indices (N, C, OH, OW) int64 into the H*W plane)."""

    def forward(self, x, **geometry):
        y, self.indices = max_pool_kernel(x, **geometry)
        self.x_shape = x.shape
        return y, self.indices

    def backward(self, g, g_indices):
        return max_pool_backward_kernel(g, self.indices, self.x_shape)


class AvgPool2d(Function):
    """x (N, C, H, W) -> (N, C, OH, OW)."""

    def forward(self, x, **geometry):
        self.x_shape, self.geometry = x.shape, geometry
        return avg_pool_kernel(x, **geometry)

    def backward(self, g):
        return avg_pool_backward_kernel(g, self.x_shape, **self.geometry)


def pool_geometry(op, x, kernel_size, stride, padding, dilation, ceil_mode):
    """Checked (kernel, stride, padding, dilation) pairs; stride defaults to the kernel."""
    if 0 in x.shape[1:]:     # as PyTorch: an empty batch is fine, an empty image is not
        raise ShapeError(f"{op}: expected an input with non-zero channels, height and width, "
                         f"got shape {x.shape}")
    kernel = pair(op, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None else pair(op, "stride", stride, 1)
    padding = pair(op, "padding", padding, 0)
    dilation = pair(op, "dilation", dilation, 1)
    if any(p > k // 2 for k, p in zip(kernel, padding)):
        raise ValueError(f"{op}: pad should be at most half of kernel size, got "
                         f"padding={padding} and kernel_size={kernel}")
    (ph, pw) = padding
    check_output_size(op, x.shape, kernel, stride, (ph, ph, pw, pw), dilation, ceil_mode)
    return kernel, stride, padding, dilation


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    x, unbatched = image_input("max_pool2d", x)
    kernel, stride, padding, dilation = pool_geometry("max_pool2d", x, kernel_size, stride,
                                                      padding, dilation, ceil_mode)
    y, indices = MaxPool2d.apply(x, kernel=kernel, stride=stride, padding=padding,
                                 dilation=dilation, ceil_mode=bool(ceil_mode))
    if unbatched:
        y, indices = y.squeeze(0), indices.squeeze(0)
    return (y, indices) if return_indices else y


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    x, unbatched = image_input("avg_pool2d", x)
    kernel, stride, padding, _ = pool_geometry("avg_pool2d", x, kernel_size, stride, padding, 1,
                                               ceil_mode)
    if divisor_override is not None:
        if not is_int(divisor_override):
            raise TypeError(f"avg_pool2d: expected divisor_override to be an int or None, got "
                            f"{divisor_override!r}")
        if divisor_override == 0 or not -LARGEST <= divisor_override <= LARGEST:
            raise ValueError(f"avg_pool2d: expected a non-zero divisor_override within "
                             f"+-2**30, got {divisor_override}")
        divisor_override = int(divisor_override)
    y = AvgPool2d.apply(x, kernel=kernel, stride=stride, padding=padding,
                        ceil_mode=bool(ceil_mode), count_include_pad=bool(count_include_pad),
                        divisor_override=divisor_override)
    return y.squeeze(0) if unbatched else y
