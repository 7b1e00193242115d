"""max_pool2d and avg_pool2d references over im2col windows, written once for NumPy and CuPy.

Shapes: x (N, C, H, W), y and grad (N, C, OH, OW); pooling padding is (ph, pw) on both sides.
"""
from ...device import array_module
from ...kernels.registry import reference
from ...kernels.windows import output_size
from .im2col import col2im, im2col


def geometry(x_shape, kernel, stride, padding, dilation, ceil_mode):
    """(OH, OW) and the padding (top, bottom, left, right) that holds every window: bottom and
    right grow past (ph, pw) where ceil_mode's last windows reach beyond the padded input."""
    out, pads = [], []
    for size, k, s, p, d in zip(x_shape[2:], kernel, stride, padding, dilation):
        count = output_size(size, k, s, p, p, d, ceil_mode)
        reach = (count - 1) * s + d * (k - 1) + 1           # padded extent the windows touch
        out.append(count)
        pads += [p, max(p, reach - size - p)]
    return tuple(out), tuple(pads)


def first_inside(xp, count, size, kernel, stride, pad, dilation):
    """Along one axis, the position in x of each window's first tap inside [0, size), or -1
    for a window of padding only (dilation can step over a small input)."""
    start = xp.arange(count) * stride - pad
    skip = xp.maximum(dilation - 1 - start, 0) // dilation * dilation    # taps in the padding
    first = start + skip
    return xp.where((first < size) & (skip <= dilation * (kernel - 1)), first, -1)


@reference("max_pool2d")
def max_pool2d(x, kernel, stride, padding, dilation, ceil_mode):
    xp = array_module(x)
    N, C, H, W = x.shape
    (OH, OW), pads = geometry(x.shape, kernel, stride, padding, dilation, ceil_mode)
    windows = im2col(x, kernel, pads, stride, dilation, fill=-xp.inf)   # (N, C, kh, kw, OH, OW)
    taps = windows.reshape(N, C, -1, OH, OW)                             # (N, C, kh*kw, OH, OW)
    # the first maximum of each window, as PyTorch; of several NaNs the first too (PyTorch's
    # CPU kernel takes the last: the value is NaN either way)
    tap = taps.argmax(axis=2)[:, :, None]
    y = xp.take_along_axis(taps, tap, axis=2)[:, :, 0]
    tap = tap[:, :, 0]                                                   # (N, C, OH, OW)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    rows = xp.arange(OH)[:, None] * sh - ph + tap // kw * dh            # in x, unpadded
    cols = xp.arange(OW) * sw - pw + tap % kw * dw
    # A window whose maximum is -inf may have picked a padding tap: it points at its first
    # element inside x instead, as PyTorch does, or at -1 when it holds none.
    first_row = first_inside(xp, OH, H, kh, sh, ph, dh)[:, None]
    first_col = first_inside(xp, OW, W, kw, sw, pw, dw)
    first = xp.where((first_row >= 0) & (first_col >= 0), first_row * W + first_col, -1)
    return y, xp.where(y == -xp.inf, first, rows * W + cols).astype(xp.int64)


@reference("max_pool2d_backward")
def max_pool2d_backward(grad, indices, x_shape):
    xp = array_module(grad)
    N, C, H, W = x_shape
    planes = xp.arange(N * C, dtype=xp.int64).reshape(N, C, 1, 1) * (H * W)
    inside = indices >= 0                   # windows of padding only credit no element
    # bincount sums the gradients of windows that picked the same element
    dx = xp.bincount((indices + planes)[inside], weights=grad[inside], minlength=N * C * H * W)
    return dx.astype(grad.dtype, copy=False).reshape(x_shape)


def divisor(xp, x_shape, out, kernel, stride, padding, count_include_pad, divisor_override, dtype):
    """What each window's sum is divided by: divisor_override, or the window's element count,
    clipped to the padded input (count_include_pad) or to the input -> (OH, OW) or a number."""
    if divisor_override is not None:
        return divisor_override
    counts = []
    for size, count, k, s, p in zip(x_shape[2:], out, kernel, stride, padding):
        start = xp.arange(count) * s - p                    # window starts in x's coordinates
        low, high = (-p, size + p) if count_include_pad else (0, size)
        counts.append(xp.minimum(start + k, high) - xp.maximum(start, low))
    return (counts[0][:, None] * counts[1]).astype(dtype)


@reference("avg_pool2d")
def avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    xp = array_module(x)
    out, pads = geometry(x.shape, kernel, stride, padding, (1, 1), ceil_mode)
    sums = im2col(x, kernel, pads, stride, (1, 1)).sum(axis=(2, 3))     # (N, C, OH, OW)
    return sums / divisor(xp, x.shape, out, kernel, stride, padding, count_include_pad,
                          divisor_override, x.dtype)


@reference("avg_pool2d_backward")
def avg_pool2d_backward(grad, x_shape, kernel, stride, padding, ceil_mode, count_include_pad,
                        divisor_override):
    xp = array_module(grad)
    out, pads = geometry(x_shape, kernel, stride, padding, (1, 1), ceil_mode)
    share = grad / divisor(xp, x_shape, out, kernel, stride, padding, count_include_pad,
                           divisor_override, grad.dtype)                 # (N, C, OH, OW)
    # every tap of a window receives the same share: (N, C, kh, kw, OH, OW) without a copy
    taps = xp.broadcast_to(share[:, :, None, None], share.shape[:2] + tuple(kernel) + out)
    return col2im(taps, x_shape[2:], pads, stride, (1, 1))
