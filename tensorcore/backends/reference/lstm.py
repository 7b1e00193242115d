"""One LSTM cell step and its backward pass; the gate GEMMs go through the "matmul" op so the
fastest registered GEMM serves them."""
from ...device import array_module
from ...kernels import registry
from ...kernels.registry import reference
from .activations import sigmoid

matmul = registry.get("matmul")


@reference("lstm_cell")
def lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh):
    xp = array_module(x)
    hidden = h.shape[1]
    pre = matmul(x, w_ih.T) + matmul(h, w_hh.T)          # (B, 4H), gates i, f, g, o
    if b_ih is not None:
        pre += b_ih
    if b_hh is not None:
        pre += b_hh
    gates = sigmoid(pre)                                  # (B, 4H)
    gates[:, 2 * hidden:3 * hidden] = xp.tanh(pre[:, 2 * hidden:3 * hidden])
    i, f, g, o = (gates[:, k * hidden:(k + 1) * hidden] for k in range(4))   # each (B, H)
    c_new = f * c + i * g
    h_new = o * xp.tanh(c_new)
    return h_new, c_new, gates


@reference("lstm_cell_backward")
def lstm_cell_backward(dh, dc, x, h, c, w_ih, w_hh, gates, c_new):
    xp = array_module(x)
    hidden = h.shape[1]
    i, f, g, o = (gates[:, k * hidden:(k + 1) * hidden] for k in range(4))   # each (B, H)
    tanh_c = xp.tanh(c_new)
    dc_total = dc + dh * o * (1 - tanh_c * tanh_c)        # (B, H)
    dpre = xp.concatenate([                               # (B, 4H), through each activation
        dc_total * g * i * (1 - i),
        dc_total * c * f * (1 - f),
        dc_total * i * (1 - g * g),
        dh * tanh_c * o * (1 - o)], axis=1)
    dx = matmul(dpre, w_ih)                               # (B, I)
    dh_prev = matmul(dpre, w_hh)                          # (B, H)
    dw_ih = matmul(dpre.T, x)                             # (4H, I)
    dw_hh = matmul(dpre.T, h)                             # (4H, H)
    return dx, dh_prev, dc_total * f, dw_ih, dw_hh, dpre.sum(axis=0)
