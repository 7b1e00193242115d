"""Conv2d over NCHW images."""
import math

from .. import creation
from ..errors import ShapeError
from ..ops.common import as_tensor
from ..ops.conv import conv2d, conv2d_max_pool2d
from ..ops.window_args import pair, positive_int
from . import init
from .linear import uniform_bias_
from .module import Module
from .parameter import Parameter


class Conv2d(Module):
    """x (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, OH, OW); weight
    (C_out, C_in / groups, kh, kw). padding is an int, a pair, "valid" or "same"."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        if padding_mode != "zeros":
            raise NotImplementedError(f"Conv2d: padding_mode {padding_mode!r} is not supported "
                                      "(only 'zeros')")
        self.in_channels = positive_int("Conv2d", "in_channels", in_channels)
        self.out_channels = positive_int("Conv2d", "out_channels", out_channels)
        self.groups = positive_int("Conv2d", "groups", groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must both be divisible by groups ({groups})")
        self.kernel_size = pair("Conv2d", "kernel_size", kernel_size, 1)
        self.stride = pair("Conv2d", "stride", stride, 1)
        self.dilation = pair("Conv2d", "dilation", dilation, 1)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Conv2d: padding must be an int, a pair, 'same' or 'valid', "
                                 f"got {padding!r}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError("Conv2d: padding='same' is not supported for strided "
                                 f"convolutions (stride {self.stride})")
            self.padding = padding
        else:
            self.padding = pair("Conv2d", "padding", padding, 0)
        self.padding_mode = padding_mode
        self.weight = Parameter(creation.empty(out_channels, in_channels // groups,
                                               *self.kernel_size, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            uniform_bias_(self.bias, init._calculate_fan_in_and_fan_out(self.weight)[0])

    def forward(self, x):
        return conv2d(self.checked_input(x), self.weight, self.bias, self.stride, self.padding,
                      self.dilation, self.groups)

    def forward_max_pooled(self, x):
        """max_pool2d(self(x), 2) by one kernel where one pools as it convolves: how
        nn.Sequential runs this layer followed by MaxPool2d(2)."""
        return conv2d_max_pool2d(self.checked_input(x), self.weight, self.bias, self.stride,
                                 self.padding, self.dilation, self.groups)

    def checked_input(self, x):
        x = as_tensor(x)
        if x.ndim not in (3, 4) or x.shape[-3] != self.in_channels:
            raise ShapeError(f"Conv2d: expected input of shape (N, {self.in_channels}, H, W) "
                             f"or ({self.in_channels}, H, W), received shape {tuple(x.shape)}")
        return x

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding!r}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text
