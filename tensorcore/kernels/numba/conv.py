"""conv2d and its two backward passes as implicit GEMMs on gemm.py's tiled skeleton: the
image windows are read in place by the operand loads (no im2col buffer), one GEMM per group
(grid z). x (N, C, H, W), weight (O, C/g, kh, kw), y and grad (N, O, OH, OW), g groups;
Cg = C/g, Og = O/g, taps = kh*kw.

    forward          y[n, o, oh, ow]     M = Og rows o,  N = N*OH*OW columns, K = Cg*taps
    backward_input   dx[n, c, h, w]      M = Cg rows c,  N = N*H*W columns,   K = Og*taps
                     (a gather: tap (i, j) of output (oh, ow) reads x at (oh*sh - top + i*dh,
                     ...), so x's (h, w) meets the outputs with oh*sh = h + top - i*dh)
    backward_weight  dweight[o, c, i, j] M = Og rows o,  N = Cg*taps columns, K = N*OH*OW
"""
from . import common
from .common import kernel_cache, numba_cuda, require_float, scalar_type
from .gemm import build_gemm, launch
from .reduce import channel_sum

cuda = None     # numba.cuda once a kernel is built: a module global, which the simulator swaps


def geometry(x_shape, weight_shape, out_hw, stride, padding, dilation, groups):
    """The tuple every conv load and store reads (passed by value to the kernels)."""
    (_, C, H, W), (O, _, kh, kw), (OH, OW) = x_shape, weight_shape, out_hw
    top, _, left, _ = padding
    return (H, W, OH, OW, kh, kw, stride[0], stride[1], top, left, dilation[0], dilation[1],
            C // groups, O // groups)


def window_reader(T):
    """A device function x_at(x, g, z, ct, pos): x's element under channel-tap ct (channel
    ct // taps of group z, tap ct % taps) of the window of output position pos (n, oh, ow
    flattened), zero in the padding. The forward GEMM reads it as (k, col), backward_weight
    as (col, k)."""
    @cuda.jit(device=True)
    def x_at(x, g, z, ct, pos):
        H, W, OH, OW, kh, kw, sh, sw, top, left, dh, dw, Cg = g[:13]
        tap, spot = ct % (kh * kw), pos % (OH * OW)
        h = spot // OW * sh - top + tap // kw * dh
        w = spot % OW * sw - left + tap % kw * dw
        if 0 <= h < H and 0 <= w < W:
            return x[pos // (OH * OW), z * Cg + ct // (kh * kw), h, w]
        return T(0)

    return x_at


@kernel_cache
def forward_kernel(dtype, tiles, has_bias):
    global cuda
    cuda = numba_cuda()
    T = scalar_type(dtype)

    @cuda.jit(device=True)
    def load_weight(w, g, z, row, k):
        kh, kw, Og = g[4], g[5], g[13]
        tap = k % (kh * kw)
        return w[z * Og + row, k // (kh * kw), tap // kw, tap % kw]

    load_window = window_reader(T)                  # (x, g, z, k, col)

    @cuda.jit(device=True)
    def store(y, bias, g, z, row, col, value):
        OH, OW, Og = g[2], g[3], g[13]
        o, spot = z * Og + row, col % (OH * OW)
        if has_bias:
            value += bias[o]
        y[col // (OH * OW), o, spot // OW, spot % OW] = value

    return build_gemm(dtype, tiles, load_weight, load_window, store)


@kernel_cache
def backward_input_kernel(dtype, tiles):
    global cuda
    cuda = numba_cuda()
    T = scalar_type(dtype)

    @cuda.jit(device=True)
    def load_weight(w, g, z, row, k):
        kh, kw, Og = g[4], g[5], g[13]
        tap = k % (kh * kw)
        return w[z * Og + k // (kh * kw), row, tap // kw, tap % kw]

    @cuda.jit(device=True)
    def load_grad(grad, g, z, k, col):
        H, W, OH, OW, kh, kw, sh, sw, top, left, dh, dw, Cg, Og = g
        tap, spot = k % (kh * kw), col % (H * W)
        rh = spot // W + top - tap // kw * dh          # = oh * sh when (h, w) is in window oh
        rw = spot % W + left - tap % kw * dw
        if rh >= 0 and rw >= 0 and rh % sh == 0 and rw % sw == 0:
            oh, ow = rh // sh, rw // sw
            if oh < OH and ow < OW:
                return grad[col // (H * W), z * Og + k // (kh * kw), oh, ow]
        return T(0)

    @cuda.jit(device=True)
    def store(dx, extra, g, z, row, col, value):
        H, W, Cg = g[0], g[1], g[12]
        spot = col % (H * W)
        dx[col // (H * W), z * Cg + row, spot // W, spot % W] = value

    return build_gemm(dtype, tiles, load_weight, load_grad, store)


@kernel_cache
def backward_weight_kernel(dtype, tiles):
    global cuda
    cuda = numba_cuda()
    T = scalar_type(dtype)

    @cuda.jit(device=True)
    def load_grad(grad, g, z, row, k):
        OH, OW, Og = g[2], g[3], g[13]
        spot = k % (OH * OW)
        return grad[k // (OH * OW), z * Og + row, spot // OW, spot % OW]

    x_at = window_reader(T)

    @cuda.jit(device=True)
    def load_window(x, g, z, k, col):
        return x_at(x, g, z, col, k)

    @cuda.jit(device=True)
    def store(dweight, extra, g, z, row, col, value):
        kh, kw, Og = g[4], g[5], g[13]
        tap = col % (kh * kw)
        dweight[z * Og + row, col // (kh * kw), tap // kw, tap % kw] = value

    return build_gemm(dtype, tiles, load_grad, load_window, store)


def conv2d(x, weight, bias, stride, padding, dilation, groups):
    require_float("conv2d", x, weight, *([] if bias is None else [bias]))
    N, C, H, W = x.shape
    O, Cg, kh, kw = weight.shape
    OH = (H + padding[0] + padding[1] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    OW = (W + padding[2] + padding[3] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    y = common.empty(x, (N, O, OH, OW))
    if y.size == 0:
        return y
    g = geometry(x.shape, weight.shape, (OH, OW), stride, padding, dilation, groups)
    tiles = common.config.gemm_tiles
    kernel = forward_kernel(x.dtype, tiles, bias is not None)
    launch(kernel, tiles, weight, x, y, weight if bias is None else bias, g,
           O // groups, N * OH * OW, Cg * kh * kw, groups)
    return y


def conv2d_backward_input(grad, weight, x_shape, stride, padding, dilation, groups):
    require_float("conv2d_backward_input", grad, weight)
    N, C, H, W = x_shape
    O, Cg, kh, kw = weight.shape
    dx = common.empty(grad, tuple(x_shape))
    if dx.size == 0:
        return dx
    if grad.size == 0:
        dx[...] = 0
        return dx
    g = geometry(x_shape, weight.shape, grad.shape[2:], stride, padding, dilation, groups)
    tiles = common.config.gemm_tiles
    launch(backward_input_kernel(grad.dtype, tiles), tiles, weight, grad, dx, weight, g,
           Cg, N * H * W, O // groups * kh * kw, groups)
    return dx


def conv2d_backward_weight(grad, x, weight_shape, stride, padding, dilation, groups):
    require_float("conv2d_backward_weight", grad, x)
    N, O, OH, OW = grad.shape
    _, Cg, kh, kw = weight_shape
    dweight = common.zeros(grad, tuple(weight_shape)) if grad.size == 0 else \
        common.empty(grad, tuple(weight_shape))
    if grad.size and dweight.size:
        g = geometry(x.shape, weight_shape, (OH, OW), stride, padding, dilation, groups)
        tiles = common.config.gemm_tiles
        launch(backward_weight_kernel(grad.dtype, tiles), tiles, grad, x, dweight, grad, g,
               O // groups, Cg * kh * kw, N * OH * OW, groups)
    return dweight, channel_sum(grad.reshape(N, O, OH * OW))
