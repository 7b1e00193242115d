"""lstm_cell: one LSTM step as torch.nn.LSTMCell computes it (gate order i, f, g, o);
lstm_sequence: a whole sequence through one layer, as one layer of torch.nn.LSTM."""
from ..autograd import Function
from ..device import array_module
from ..errors import DTypeError, ShapeError
from ..kernels import registry
from ..tensor import _make
from .common import as_tensor, check_same_device

lstm_cell_kernel = registry.get("lstm_cell")
lstm_cell_backward_kernel = registry.get("lstm_cell_backward")
lstm_sequence_kernel = registry.get("lstm_sequence")
lstm_sequence_backward_kernel = registry.get("lstm_sequence_backward")


class LSTMCell(Function):
    """x (B, I), h (B, H), c (B, H), w_ih (4H, I), w_hh (4H, H), b_ih, b_hh (4H,) or None
    -> h_new (B, H), c_new (B, H)."""

    def forward(self, x, h, c, w_ih, w_hh, b_ih, b_hh):
        h_new, c_new, gates = lstm_cell_kernel(x, h, c, w_ih, w_hh, b_ih, b_hh)
        self.saved = (x, h, c, w_ih, w_hh, gates, c_new)
        return h_new, c_new

    def backward(self, dh, dc):
        h = self.saved[1]                                   # (B, H)
        dh = array_module(h).zeros_like(h) if dh is None else dh
        dc = array_module(h).zeros_like(h) if dc is None else dc
        dx, dh_prev, dc_prev, dw_ih, dw_hh, dbias = lstm_cell_backward_kernel(dh, dc, *self.saved)
        return dx, dh_prev, dc_prev, dw_ih, dw_hh, dbias, dbias


class LSTMSequence(Function):
    """x (T, B, I), h0, c0 (B, H), weights as LSTMCell -> out (T, B, H), h_n, c_n (B, H)."""

    def forward(self, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        out, c_all, gates = lstm_sequence_kernel(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
        self.saved = (x, h0, c0, w_ih, w_hh, out, c_all, gates)
        return out, out[-1].copy(), c_all[-1].copy()

    def backward(self, dout, dh_n, dc_n):
        x, h0 = self.saved[:2]
        xp = array_module(x)
        dout = xp.zeros_like(self.saved[5]) if dout is None else dout
        dh_n = xp.zeros_like(h0) if dh_n is None else dh_n
        dc_n = xp.zeros_like(h0) if dc_n is None else dc_n
        dx, dh0, dc0, dw_ih, dw_hh, dbias = lstm_sequence_backward_kernel(dout, dh_n, dc_n,
                                                                           *self.saved)
        return dx, dh0, dc0, dw_ih, dw_hh, dbias, dbias


def _check_shape(op, name, t, expected):
    if t.shape != expected:
        raise ShapeError(f"{op}: expected {name} of shape {expected}, got {t.shape}")


def _operands(op, x, hx, w_ih, w_hh, b_ih, b_hh):
    """Checked tensors [x, h, c, w_ih, w_hh, b_ih, b_hh] (biases may be None); hx = (h, c)
    shaped x.shape[:-1] + (H,) ((B, H) or (H,) for a cell, (B, H) for a sequence) or None."""
    x, w_ih, w_hh = as_tensor(x), as_tensor(w_ih), as_tensor(w_hh)
    biases = [None if b is None else as_tensor(b) for b in (b_ih, b_hh)]
    if x.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating-point input, got {x.dtype}")
    if w_hh.ndim != 2:
        raise ShapeError(f"{op}: expected w_hh of shape (4H, H), got {w_hh.shape}")
    hidden = w_hh.shape[1]
    _check_shape(op, "w_hh (4H, H)", w_hh, (4 * hidden, hidden))
    _check_shape(op, "w_ih (4H, I)", w_ih, (4 * hidden, x.shape[-1]))
    for name, b in zip(("b_ih", "b_hh"), biases):
        if b is not None:
            _check_shape(op, f"{name} (4H,)", b, (4 * hidden,))
    state_shape = (x.shape[:-1] if x.ndim < 3 else x.shape[1:2]) + (hidden,)
    if hx is None:
        h = c = _make(array_module(x._data).zeros_like(x._data, shape=state_shape))
    elif isinstance(hx, (tuple, list)) and len(hx) == 2:
        h, c = as_tensor(hx[0]), as_tensor(hx[1])
        expected = "(H,)" if len(state_shape) == 1 else "(B, H)"
        _check_shape(op, f"h {expected}", h, state_shape)
        _check_shape(op, f"c {expected}", c, state_shape)
    else:
        raise TypeError(f"{op}: expected hx to be a pair (h, c) or None, got "
                        f"{type(hx).__name__}")
    operands = [x, h, c, w_ih, w_hh] + biases
    present = [t for t in operands if t is not None]
    check_same_device(op, *(t._data for t in present))
    if any(t.dtype != x.dtype for t in present):
        raise DTypeError(f"{op}: expected every tensor to have the input's dtype {x.dtype}, "
                         f"got {[str(t.dtype) for t in present]}")
    return operands


def lstm_cell(x, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """x (B, I) or unbatched (I,); hx = (h, c), each (B, H) or (H,), or None for zeros.
    Returns (h_new, c_new) shaped like h."""
    x = as_tensor(x)
    if x.ndim not in (1, 2):
        raise ShapeError(f"lstm_cell: expected input of shape (B, I) or (I,), got {x.shape}")
    operands = _operands("lstm_cell", x, hx, w_ih, w_hh, b_ih, b_hh)
    if x.ndim == 1:
        x, h, c = (t.unsqueeze(0) for t in operands[:3])
        h_new, c_new = LSTMCell.apply(x, h, c, *operands[3:])
        return h_new.squeeze(0), c_new.squeeze(0)
    return LSTMCell.apply(*operands)


def lstm_sequence(x, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """T LSTM steps over x (T, B, I) from hx = (h0, c0), each (B, H), or None for zeros.
    Returns (out (T, B, H), (h_n, c_n)): one layer of torch.nn.LSTM, time-major."""
    x = as_tensor(x)
    if x.ndim != 3 or x.shape[0] == 0:
        raise ShapeError(f"lstm_sequence: expected input of shape (T, B, I) with T >= 1 (as "
                         f"torch.nn.LSTM), got {x.shape}")
    out, h_n, c_n = LSTMSequence.apply(*_operands("lstm_sequence", x, hx, w_ih, w_hh, b_ih, b_hh))
    return out, (h_n, c_n)
