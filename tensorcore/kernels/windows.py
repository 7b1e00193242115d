"""Sliding-window geometry: how many windows conv2d and the pooling ops fit along one axis.

Part of those ops' kernel contracts (catalog.py), shared by the ops that check arguments and
by every kernel variant that sizes its output; and where in its 2x2 window each maximum of a 2x2
max pool at stride 2 lies ("taps", conv2d_max_pool2d's) against max_pool2d's flat indices.
"""
from ..device import array_module


def output_size(size, kernel, stride, pad_before, pad_after, dilation=1, ceil_mode=False):
    """Windows of ``kernel`` taps, ``dilation`` apart, every ``stride`` positions along an axis
    of ``size`` padded by ``pad_before`` and ``pad_after``, as PyTorch counts them. With
    ``ceil_mode`` a last, partial window counts when it starts inside the input or the
    before-padding. Below 1 when the kernel does not fit."""
    span = size + pad_before + pad_after - dilation * (kernel - 1) - 1   # room to slide in
    count = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (count - 1) * stride >= size + pad_before:
        count -= 1
    return count


# max_pool2d's arguments for 2x2 windows at stride 2, as conv2d_max_pool2d pools
POOL_2X2 = {"kernel": (2, 2), "stride": (2, 2), "padding": (0, 0), "dilation": (1, 1),
            "ceil_mode": False}


def _window_starts(xp, out_h, out_w, width):
    """(out_h, out_w): the flat index of each 2x2 window's first (top-left) element."""
    return 2 * width * xp.arange(out_h).reshape(out_h, 1) + 2 * xp.arange(out_w)


def window_taps(indices, width):
    """max_pool2d's flat ``indices`` (N, C, OH, OW) of 2x2 windows at stride 2, in planes
    ``width`` wide, as taps: 2 * row + column within each window, uint8. (Offsets 0, 1, width,
    width + 1 from the window's start: no integer division, which NumPy runs slowly.)"""
    xp = array_module(indices)
    offset = indices - _window_starts(xp, *indices.shape[2:], width)
    offset -= (width - 2) * (offset >= width)
    return offset.astype(xp.uint8)


def window_indices(taps, width):
    """The flat indices of ``taps`` (N, C, OH, OW) in planes ``width`` wide: window_taps undone."""
    xp = array_module(taps)
    starts = _window_starts(xp, *taps.shape[2:], width)
    return starts + taps.astype(xp.int64) + (width - 2) * (taps >= 2)
