"""The LSTM cell, fused: both gate GEMMs run on gemm.py's tiled kernel into one (B, 4H)
buffer (the second accumulating onto the first), then one pointwise kernel applies biases,
activations and the state update per (b, j). Backward: one pointwise kernel gives the gate
gradients dpre (B, 4H) and dc_prev, then four GEMMs and a channel sum for the bias.
Gate order i, f, g, o (PyTorch's); x (B, I), h and c (B, H), w_ih (4H, I), w_hh (4H, H).
"""
import math

from . import common
from .activations import scalar_functions
from .common import blocks, kernel_cache, numba_cuda, require_float
from .gemm import matmul_into
from .reduce import channel_sum

cuda = None     # numba.cuda once a kernel is built: a module global, which the simulator swaps


@kernel_cache
def cell_kernel(dtype, has_b_ih, has_b_hh):
    global cuda
    sigmoid, _ = scalar_functions()["sigmoid"]
    cuda = numba_cuda()

    @cuda.jit
    def cell(pre, b_ih, b_hh, c, gates, c_new, h_new):
        B, H = c.shape
        for e in range(cuda.grid(1), B * H, cuda.gridsize(1)):
            b, j = e // H, e % H
            for k in range(4):
                p = pre[b, k * H + j]
                if has_b_ih:
                    p += b_ih[k * H + j]
                if has_b_hh:
                    p += b_hh[k * H + j]
                gates[b, k * H + j] = math.tanh(p) if k == 2 else sigmoid(p, 0)
            i, f, g, o = gates[b, j], gates[b, H + j], gates[b, 2 * H + j], gates[b, 3 * H + j]
            state = f * c[b, j] + i * g
            c_new[b, j] = state
            h_new[b, j] = o * math.tanh(state)

    return cell


@kernel_cache
def cell_backward_kernel(dtype):
    global cuda
    cuda = numba_cuda()

    @cuda.jit
    def cell_backward(dh, dc, c, gates, c_new, dpre, dc_prev):
        B, H = c.shape
        for e in range(cuda.grid(1), B * H, cuda.gridsize(1)):
            b, j = e // H, e % H
            i, f, g, o = gates[b, j], gates[b, H + j], gates[b, 2 * H + j], gates[b, 3 * H + j]
            tanh_c = math.tanh(c_new[b, j])
            dc_total = dc[b, j] + dh[b, j] * o * (1 - tanh_c * tanh_c)
            dpre[b, j] = dc_total * g * i * (1 - i)
            dpre[b, H + j] = dc_total * c[b, j] * f * (1 - f)
            dpre[b, 2 * H + j] = dc_total * i * (1 - g * g)
            dpre[b, 3 * H + j] = dh[b, j] * tanh_c * o * (1 - o)
            dc_prev[b, j] = dc_total * f

    return cell_backward


def _launch_pointwise(kernel, n, *args):
    threads = common.config.elementwise_threads
    common.launch(kernel, blocks(n, threads), threads, *args)


def lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh):
    require_float("lstm_cell", x, h, c, w_ih, w_hh,
                  *[b for b in (b_ih, b_hh) if b is not None])
    B, H = h.shape
    pre = common.empty(x, (B, 4 * H))
    matmul_into(x[None], w_ih.T[None], pre[None])                    # (B, 4H) = x w_ih^T
    matmul_into(h[None], w_hh.T[None], pre[None], accumulate=True)  # += h w_hh^T
    gates, c_new, h_new = common.empty(x, (B, 4 * H)), common.empty(x, (B, H)), common.empty(x, (B, H))
    kernel = cell_kernel(x.dtype, b_ih is not None, b_hh is not None)
    unused = w_ih[0]        # stands in for a missing bias (never read)
    _launch_pointwise(kernel, B * H, pre, unused if b_ih is None else b_ih,
                      unused if b_hh is None else b_hh, c, gates, c_new, h_new)
    return h_new, c_new, gates


def lstm_cell_backward(dh, dc, x, h, c, w_ih, w_hh, gates, c_new):
    require_float("lstm_cell_backward", dh, dc, x, h, c, w_ih, w_hh, gates, c_new)
    B, H = h.shape
    dpre, dc_prev = common.empty(x, (B, 4 * H)), common.empty(x, (B, H))
    _launch_pointwise(cell_backward_kernel(x.dtype), B * H, dh, dc, c, gates, c_new, dpre,
                      dc_prev)
    dx, dh_prev = common.empty(x, x.shape), common.empty(x, (B, H))
    dw_ih, dw_hh = common.empty(x, w_ih.shape), common.empty(x, w_hh.shape)
    matmul_into(dpre[None], w_ih[None], dx[None])           # (B, I)
    matmul_into(dpre[None], w_hh[None], dh_prev[None])      # (B, H)
    matmul_into(dpre.T[None], x[None], dw_ih[None])         # (4H, I)
    matmul_into(dpre.T[None], h[None], dw_hh[None])         # (4H, H)
    return dx, dh_prev, dc_prev, dw_ih, dw_hh, channel_sum(dpre.reshape(B, 4 * H, 1))
