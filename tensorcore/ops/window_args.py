"""Argument checks shared by the sliding-window ops: conv2d, max_pool2d, avg_pool2d."""
import numbers

from ..errors import DTypeError, ShapeError
from ..kernels.windows import output_size
from .common import as_tensor


# The largest kernel size, stride, padding, dilation or group count, as the C++ kernels take
# them (every index product stays within 64 bits)
LARGEST = 1 << 30


def is_int(value):
    # a plain int first: the ABC check costs about 0.3 us, ten times per conv2d call
    return type(value) is int or (isinstance(value, numbers.Integral)
                                  and not isinstance(value, bool))


def pair(op, name, value, minimum):
    """``value`` (an int or a pair of ints, as PyTorch takes them) as a pair of ints, each from
    ``minimum`` to LARGEST."""
    # no generators here: three calls per conv2d, on every training step
    if is_int(value):
        first = second = value
    elif (isinstance(value, (tuple, list)) and len(value) == 2 and is_int(value[0])
          and is_int(value[1])):
        first, second = value
    else:
        raise TypeError(f"{op}: expected {name} to be an int or a pair of ints, got {value!r}")
    if not (minimum <= first <= LARGEST and minimum <= second <= LARGEST):
        raise ValueError(f"{op}: expected {name} from {minimum} to 2**30, got {value!r}")
    return (int(first), int(second))


def positive_int(op, name, value, largest=None):
    """``value`` as an int of at least 1 (and at most ``largest`` where given)."""
    if not is_int(value):
        raise TypeError(f"{op}: expected {name} to be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{op}: expected {name} of at least 1, got {value}")
    if largest is not None and value > largest:
        raise ValueError(f"{op}: expected {name} of at most {largest}, got {value}")
    return int(value)


def image_input(op, x):
    """``x`` as a floating-point (N, C, H, W) tensor, and whether it came unbatched (C, H, W)."""
    x = as_tensor(x)
    if x.ndim not in (3, 4):
        raise ShapeError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape "
                         f"{x.shape}")
    if x.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating-point input, got {x.dtype}")
    return (x.unsqueeze(0), True) if x.ndim == 3 else (x, False)


def check_output_size(op, x_shape, kernel, stride, padding, dilation, ceil_mode=False):
    """The output size (OH, OW); ShapeError unless at least one window fits. ``padding`` is
    (top, bottom, left, right)."""
    (H, W), (top, bottom, left, right) = x_shape[2:], padding
    out = (output_size(H, kernel[0], stride[0], top, bottom, dilation[0], ceil_mode),
           output_size(W, kernel[1], stride[1], left, right, dilation[1], ceil_mode))
    if min(out) < 1:
        raise ShapeError(f"{op}: kernel {tuple(kernel)} with dilation {tuple(dilation)} does not "
                         f"fit input of spatial size {(H, W)} padded by {tuple(padding)} (top, "
                         f"bottom, left, right): expected an output size of at least 1, got {out}")
    return out
