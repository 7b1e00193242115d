"""Sliding-window geometry: how many windows conv2d and the pooling ops fit along one axis.

Part of those ops' kernel contracts (catalog.py), shared by the ops that check arguments and
by every kernel variant that sizes its output.
"""


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
