"""max_pool2d and avg_pool2d, forward and backward, one thread per output (forward) or per
input element (avg backward: a gather over the windows that hold it, no atomics) in
grid-stride loops. max_pool2d_backward has only the indices, not the window geometry, so it
scatters each gradient to its index with an atomic add (overlapping windows add up).
x and dx (N, C, H, W), y, indices and grad (N, C, OH, OW); padding (ph, pw) on both sides.
"""
import numpy as np

from ...backends.reference.pooling import geometry as window_geometry
from . import common
from .common import blocks, kernel_cache, numba_cuda, require_float, scalar_type

cuda = None     # numba.cuda once a kernel is built: a module global, which the simulator swaps


@kernel_cache
def max_pool_kernel(dtype):
    global cuda
    cuda = numba_cuda()
    T = scalar_type(dtype)

    @cuda.jit
    def max_pool(x, y, indices, g):
        C, H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw = g
        for e in range(cuda.grid(1), y.size, cuda.gridsize(1)):
            ow, oh, c, n = e % OW, e // OW % OH, e // (OH * OW) % C, e // (C * OH * OW)
            best, best_at = T(-np.inf), -1        # a window of padding only: -inf, index -1
            for i in range(kh):
                h = oh * sh - ph + i * dh
                if 0 <= h < H:
                    for j in range(kw):
                        w = ow * sw - pw + j * dw
                        if 0 <= w < W:
                            v = x[n, c, h, w]
                            # the first maximum in row-major order; the first NaN sticks
                            if best_at < 0 or (best == best and (v > best or v != v)):
                                best, best_at = v, h * W + w
            y[n, c, oh, ow] = best
            indices[n, c, oh, ow] = best_at

    return max_pool


@kernel_cache
def max_pool_backward_kernel(dtype):
    global cuda
    cuda = numba_cuda()

    @cuda.jit
    def max_pool_backward(grad, indices, dx):
        C, OH, OW, W = grad.shape[1], grad.shape[2], grad.shape[3], dx.shape[3]
        for e in range(cuda.grid(1), grad.size, cuda.gridsize(1)):
            ow, oh, c, n = e % OW, e // OW % OH, e // (OH * OW) % C, e // (C * OH * OW)
            at = indices[n, c, oh, ow]
            if at >= 0:
                cuda.atomic.add(dx, (n, c, at // W, at % W), grad[n, c, oh, ow])

    return max_pool_backward


def make_divisor(cuda):
    @cuda.jit(device=True)
    def divisor(g, oh, ow):
        """What window (oh, ow)'s sum is divided by: the override, or its element count
        clipped to the padded input (count_include_pad) or to the input."""
        H, W, kh, kw, sh, sw, ph, pw = g[1], g[2], g[5], g[6], g[7], g[8], g[9], g[10]
        include_pad, override = g[11], g[12]
        if override:
            return override
        h0, w0 = oh * sh - ph, ow * sw - pw
        low_h, high_h = (-ph, H + ph) if include_pad else (0, H)
        low_w, high_w = (-pw, W + pw) if include_pad else (0, W)
        return (min(h0 + kh, high_h) - max(h0, low_h)) * (min(w0 + kw, high_w) - max(w0, low_w))
    return divisor


@kernel_cache
def avg_pool_kernel(dtype):
    global cuda
    cuda = numba_cuda()
    T = scalar_type(dtype)
    divisor = make_divisor(cuda)

    @cuda.jit
    def avg_pool(x, y, g):
        C, H, W, OH, OW, kh, kw, sh, sw, ph, pw = g[:11]
        for e in range(cuda.grid(1), y.size, cuda.gridsize(1)):
            ow, oh, c, n = e % OW, e // OW % OH, e // (OH * OW) % C, e // (C * OH * OW)
            total = T(0)
            for h in range(max(oh * sh - ph, 0), min(oh * sh - ph + kh, H)):
                for w in range(max(ow * sw - pw, 0), min(ow * sw - pw + kw, W)):
                    total += x[n, c, h, w]
            y[n, c, oh, ow] = total / T(divisor(g, oh, ow))

    return avg_pool


@kernel_cache
def avg_pool_backward_kernel(dtype):
    global cuda
    cuda = numba_cuda()
    T = scalar_type(dtype)
    divisor = make_divisor(cuda)

    @cuda.jit
    def avg_pool_backward(grad, dx, g):
        C, H, W, OH, OW, kh, kw, sh, sw, ph, pw = g[:11]
        for e in range(cuda.grid(1), dx.size, cuda.gridsize(1)):
            w, h, c, n = e % W, e // W % H, e // (H * W) % C, e // (C * H * W)
            total = T(0)
            for i in range(kh):                 # windows oh with oh*sh - ph + i == h
                rh = h + ph - i
                if rh >= 0 and rh % sh == 0 and rh // sh < OH:
                    for j in range(kw):
                        rw = w + pw - j
                        if rw >= 0 and rw % sw == 0 and rw // sw < OW:
                            oh, ow = rh // sh, rw // sw
                            total += grad[n, c, oh, ow] / T(divisor(g, oh, ow))
            dx[n, c, h, w] = total

    return avg_pool_backward


def _launch_over(n, kernel, *args):
    threads = common.config.elementwise_threads
    common.launch(kernel, blocks(n, threads), threads, *args)


def max_pool2d(x, kernel, stride, padding, dilation, ceil_mode):
    require_float("max_pool2d", x)
    N, C, H, W = x.shape
    (OH, OW), _ = window_geometry(x.shape, kernel, stride, padding, dilation, ceil_mode)
    y = common.empty(x, (N, C, OH, OW))
    indices = common.empty(x, (N, C, OH, OW), dtype=np.int64)
    if y.size:
        g = (C, H, W, OH, OW, *kernel, *stride, *padding, *dilation)
        _launch_over(y.size, max_pool_kernel(x.dtype), x, y, indices, g)
    return y, indices


def max_pool2d_backward(grad, indices, x_shape):
    require_float("max_pool2d_backward", grad)
    dx = common.zeros(grad, tuple(x_shape))
    if grad.size and dx.size:
        _launch_over(grad.size, max_pool_backward_kernel(grad.dtype), grad, indices, dx)
    return dx


def _avg_geometry(x_shape, kernel, stride, padding, ceil_mode, count_include_pad,
                  divisor_override):
    (OH, OW), _ = window_geometry(x_shape, kernel, stride, padding, (1, 1), ceil_mode)
    C, H, W = x_shape[1:]
    return (OH, OW), (C, H, W, OH, OW, *kernel, *stride, *padding, int(count_include_pad),
                      int(divisor_override or 0))


def avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    require_float("avg_pool2d", x)
    (OH, OW), g = _avg_geometry(x.shape, kernel, stride, padding, ceil_mode, count_include_pad,
                                divisor_override)
    y = common.empty(x, x.shape[:2] + (OH, OW))
    if y.size:
        _launch_over(y.size, avg_pool_kernel(x.dtype), x, y, g)
    return y


def avg_pool2d_backward(grad, x_shape, kernel, stride, padding, ceil_mode, count_include_pad,
                        divisor_override):
    require_float("avg_pool2d_backward", grad)
    _, g = _avg_geometry(x_shape, kernel, stride, padding, ceil_mode, count_include_pad,
                         divisor_override)
    dx = common.empty(grad, tuple(x_shape))
    if dx.size:
        _launch_over(dx.size, avg_pool_backward_kernel(grad.dtype), grad, dx, g)
    return dx
