"""conv2d reference: im2col windows and one GEMM per group, written once for NumPy and CuPy.

The GEMMs go through the "matmul" kernel op, so the fastest matmul variant serves conv too.
Shapes: x (N, C, H, W), weight (O, C/g, kh, kw), grad and y (N, O, OH, OW), g groups.
"""
from ...device import array_module
from ...kernels import registry
from ...kernels.registry import reference
from ...kernels.windows import POOL_2X2, output_size, window_indices, window_taps
from .im2col import col2im, im2col

matmul = registry.get("matmul")
conv2d_kernel = registry.get("conv2d")
max_pool_kernel = registry.get("max_pool2d")
max_pool_backward_kernel = registry.get("max_pool2d_backward")
backward_weight_kernel = registry.get("conv2d_backward_weight")


def columns(x, kernel, padding, stride, dilation, groups):
    """The windows of x as one matrix per group: cols (g, C/g*kh*kw, N*OH*OW), and (OH, OW)."""
    windows = im2col(x, kernel, padding, stride, dilation)      # (N, C, kh, kw, OH, OW)
    N, C, kh, kw, OH, OW = windows.shape
    cols = windows.transpose(1, 2, 3, 0, 4, 5)                  # (C, kh, kw, N, OH, OW)
    return cols.reshape(groups, C // groups * kh * kw, N * OH * OW), (OH, OW)


def group_rows(grad, groups):
    """grad (N, O, OH, OW) as one matrix per group: (g, O/g, N*OH*OW)."""
    N, O, OH, OW = grad.shape
    return grad.transpose(1, 0, 2, 3).reshape(groups, O // groups, N * OH * OW)


@reference("conv2d")
def conv2d(x, weight, bias, stride, padding, dilation, groups):
    N, O = x.shape[0], weight.shape[0]
    cols, (OH, OW) = columns(x, weight.shape[2:], padding, stride, dilation, groups)
    y = matmul(weight.reshape(groups, O // groups, -1), cols)  # (g, O/g, N*OH*OW)
    y = y.reshape(O, N, OH, OW).transpose(1, 0, 2, 3)           # (N, O, OH, OW)
    if bias is not None:
        y = y + bias[:, None, None]
    return array_module(x).ascontiguousarray(y)


@reference("conv2d_backward_input")
def conv2d_backward_input(grad, weight, x_shape, stride, padding, dilation, groups):
    N, C = x_shape[:2]
    O, _, kh, kw = weight.shape
    OH, OW = grad.shape[2:]
    weight_rows = weight.reshape(groups, O // groups, -1)       # (g, O/g, C/g*kh*kw)
    dcols = matmul(weight_rows.swapaxes(1, 2), group_rows(grad, groups))  # (g, C/g*kh*kw, N*OH*OW)
    dcols = dcols.reshape(C, kh, kw, N, OH, OW).transpose(3, 0, 1, 2, 4, 5)
    return col2im(dcols, x_shape[2:], padding, stride, dilation)


@reference("conv2d_backward_weight")
def conv2d_backward_weight(grad, x, weight_shape, stride, padding, dilation, groups):
    cols, _ = columns(x, weight_shape[2:], padding, stride, dilation, groups)
    dweight = matmul(group_rows(grad, groups), cols.swapaxes(1, 2))  # (g, O/g, C/g*kh*kw)
    return dweight.reshape(weight_shape), grad.sum(axis=(0, 2, 3))


@reference("conv2d_max_pool2d")
def conv2d_max_pool2d(x, weight, bias, stride, padding, dilation, groups):
    y = conv2d_kernel(x, weight, bias, stride, padding, dilation, groups)
    pooled, indices = max_pool_kernel(y, **POOL_2X2)
    return pooled, window_taps(indices, y.shape[3])


@reference("conv2d_max_pool2d_backward_weight")
def conv2d_max_pool2d_backward_weight(grad, taps, x, weight_shape, stride, padding, dilation,
                                      groups):
    if (taps > 3).any():
        raise ValueError("conv2d_max_pool2d_backward_weight: expected taps of 0 to 3, got one "
                         "past 3")
    conv_h, conv_w = (output_size(x.shape[2 + a], weight_shape[2 + a], stride[a], padding[2 * a],
                                  padding[2 * a + 1], dilation[a]) for a in (0, 1))
    conv_grad = max_pool_backward_kernel(grad, window_indices(taps, conv_w),
                                         (x.shape[0], weight_shape[0], conv_h, conv_w))
    return backward_weight_kernel(conv_grad, x, weight_shape, stride, padding, dilation, groups)
