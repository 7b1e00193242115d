"""Sliding windows over NCHW images as strided views (im2col) and their adjoint (col2im),
written once for NumPy and CuPy."""
from ...device import array_module


def im2col(x, kernel, padding, stride, dilation, fill=0):
    """The windows of x (N, C, H, W) padded by (top, bottom, left, right) with ``fill``:
    a view (N, C, kh, kw, OH, OW) whose [n, c, i, j, oh, ow] is
    padded[n, c, oh*sh + i*dh, ow*sw + j*dw], for every window that fits in the padded image.
    Copies only to pad."""
    xp = array_module(x)
    top, bottom, left, right = padding
    if any(padding):
        x = xp.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=fill)
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    N, C, H, W = x.shape
    OH, OW = (H - dh * (kh - 1) - 1) // sh + 1, (W - dw * (kw - 1) - 1) // sw + 1
    n_step, c_step, row_step, col_step = x.strides
    return xp.lib.stride_tricks.as_strided(
        x, shape=(N, C, kh, kw, OH, OW),
        strides=(n_step, c_step, dh * row_step, dw * col_step, sh * row_step, sw * col_step))


def col2im(cols, size, padding, stride, dilation):
    """The adjoint of ``im2col``: sums cols (N, C, kh, kw, OH, OW) back onto the positions
    their windows read, dropping the padding -> (N, C, H, W) with (H, W) = ``size``.
    One strided slice per kernel tap; overlapping windows add up."""
    xp = array_module(cols)
    N, C, kh, kw, OH, OW = cols.shape
    (H, W), (top, bottom, left, right) = size, padding
    (sh, sw), (dh, dw) = stride, dilation
    padded = xp.zeros((N, C, H + top + bottom, W + left + right), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            padded[:, :, i * dh:i * dh + sh * (OH - 1) + 1:sh,
                   j * dw:j * dw + sw * (OW - 1) + 1:sw] += cols[:, :, i, j]
    return padded[:, :, top:top + H, left:left + W]
