"""LSTM steps and their backward passes. The gate GEMMs go through the "matmul" op so the
fastest registered GEMM serves them; a sequence projects the input of every step in one GEMM
and runs only the recurrent GEMM step by step."""
from ...device import array_module
from ...kernels import registry
from ...kernels.registry import reference
from .activations import sigmoid

matmul = registry.get("matmul")


def _step(pre, c):
    """pre (B, 4H) gate pre-activations, c (B, H) -> h_new, c_new, gates (B, 4H) activated."""
    xp = array_module(pre)
    hidden = c.shape[1]
    gates = sigmoid(pre)
    gates[:, 2 * hidden:3 * hidden] = xp.tanh(pre[:, 2 * hidden:3 * hidden])
    i, f, g, o = (gates[:, k * hidden:(k + 1) * hidden] for k in range(4))   # each (B, H)
    c_new = f * c + i * g
    return o * xp.tanh(c_new), c_new, gates


def _step_backward(dh, dc, c, gates, c_new):
    """Gradients of one step's outputs h_new, c_new -> (dpre (B, 4H), dc_prev (B, H))."""
    xp = array_module(dh)
    hidden = c.shape[1]
    i, f, g, o = (gates[:, k * hidden:(k + 1) * hidden] for k in range(4))   # each (B, H)
    tanh_c = xp.tanh(c_new)
    dc_total = dc + dh * o * (1 - tanh_c * tanh_c)        # (B, H)
    dpre = xp.concatenate([                               # (B, 4H), through each activation
        dc_total * g * i * (1 - i),
        dc_total * c * f * (1 - f),
        dc_total * i * (1 - g * g),
        dh * tanh_c * o * (1 - o)], axis=1)
    return dpre, dc_total * f


def _add_biases(pre, b_ih, b_hh):
    if b_ih is not None:
        pre += b_ih
    if b_hh is not None:
        pre += b_hh
    return pre


@reference("lstm_cell")
def lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh):
    pre = _add_biases(matmul(x, w_ih.T) + matmul(h, w_hh.T), b_ih, b_hh)   # (B, 4H)
    return _step(pre, c)


@reference("lstm_cell_backward")
def lstm_cell_backward(dh, dc, x, h, c, w_ih, w_hh, gates, c_new):
    dpre, dc_prev = _step_backward(dh, dc, c, gates, c_new)                # (B, 4H), (B, H)
    return (matmul(dpre, w_ih), matmul(dpre, w_hh), dc_prev, matmul(dpre.T, x),
            matmul(dpre.T, h), dpre.sum(axis=0))


@reference("lstm_sequence")
def lstm_sequence(x, h0, c0, w_ih, w_hh, b_ih, b_hh):
    xp = array_module(x)
    steps, batch, inputs = x.shape
    hidden = h0.shape[1]
    pre_x = _add_biases(matmul(x.reshape(steps * batch, inputs), w_ih.T), b_ih, b_hh)
    pre_x = pre_x.reshape(steps, batch, 4 * hidden)
    out = xp.empty((steps, batch, hidden), dtype=x.dtype)
    c_all = xp.empty_like(out)
    gates = xp.empty_like(pre_x)
    h, c = h0, c0
    for t in range(steps):
        h, c, gates[t] = _step(pre_x[t] + matmul(h, w_hh.T), c)
        out[t], c_all[t] = h, c
    return out, c_all, gates


@reference("lstm_sequence_backward")
def lstm_sequence_backward(dout, dh_n, dc_n, x, h0, c0, w_ih, w_hh, out, c_all, gates):
    xp = array_module(x)
    steps, batch, inputs = x.shape
    hidden = h0.shape[1]
    dpre = xp.empty_like(gates)                           # (T, B, 4H)
    dh, dc = dh_n, dc_n
    for t in reversed(range(steps)):
        c_prev = c_all[t - 1] if t > 0 else c0
        dpre[t], dc = _step_backward(dout[t] + dh, dc, c_prev, gates[t], c_all[t])
        dh = matmul(dpre[t], w_hh)
    h_prev = xp.concatenate([h0[None], out[:-1]])         # (T, B, H): the h each step read
    dpre_flat = dpre.reshape(steps * batch, 4 * hidden)
    dx = matmul(dpre_flat, w_ih).reshape(steps, batch, inputs)
    dw_ih = matmul(dpre_flat.T, x.reshape(steps * batch, inputs))
    dw_hh = matmul(dpre_flat.T, h_prev.reshape(steps * batch, hidden))
    return dx, dh, dc, dw_ih, dw_hh, dpre_flat.sum(axis=0)
