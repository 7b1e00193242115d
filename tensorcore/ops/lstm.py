"""lstm_cell: one LSTM step as torch.nn.LSTMCell computes it (gate order i, f, g, o)."""
from ..autograd import Function
from ..device import array_module
from ..errors import DTypeError, ShapeError
from ..kernels import registry
from ..tensor import _make
from .common import as_tensor, check_same_device

lstm_cell_kernel = registry.get("lstm_cell")
lstm_cell_backward_kernel = registry.get("lstm_cell_backward")


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


def _check_shape(name, t, expected):
    if t.shape != expected:
        raise ShapeError(f"lstm_cell: expected {name} of shape {expected}, got {t.shape}")


def lstm_cell(x, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """x (B, I) or unbatched (I,); hx = (h, c), each (B, H) or (H,), or None for zeros.
    Returns (h_new, c_new) shaped like h."""
    x, w_ih, w_hh = as_tensor(x), as_tensor(w_ih), as_tensor(w_hh)
    biases = [None if b is None else as_tensor(b) for b in (b_ih, b_hh)]
    if x.dtype.kind != "f":
        raise DTypeError(f"lstm_cell: expected a floating-point input, got {x.dtype}")
    if x.ndim not in (1, 2):
        raise ShapeError(f"lstm_cell: expected input of shape (B, I) or (I,), got {x.shape}")
    if w_hh.ndim != 2:
        raise ShapeError(f"lstm_cell: expected w_hh of shape (4H, H), got {w_hh.shape}")
    hidden = w_hh.shape[1]
    _check_shape("w_hh (4H, H)", w_hh, (4 * hidden, hidden))
    _check_shape("w_ih (4H, I)", w_ih, (4 * hidden, x.shape[-1]))
    for name, b in zip(("b_ih", "b_hh"), biases):
        if b is not None:
            _check_shape(f"{name} (4H,)", b, (4 * hidden,))
    state_shape = x.shape[:-1] + (hidden,)
    if hx is None:
        h = c = _make(array_module(x._data).zeros_like(x._data, shape=state_shape))
    elif isinstance(hx, (tuple, list)) and len(hx) == 2:
        h, c = as_tensor(hx[0]), as_tensor(hx[1])
        _check_shape("h (B, H)" if x.ndim == 2 else "h (H,)", h, state_shape)
        _check_shape("c (B, H)" if x.ndim == 2 else "c (H,)", c, state_shape)
    else:
        raise TypeError(f"lstm_cell: expected hx to be a pair (h, c) or None, got "
                        f"{type(hx).__name__}")
    operands = [x, h, c, w_ih, w_hh] + biases
    present = [t for t in operands if t is not None]
    check_same_device("lstm_cell", *(t._data for t in present))
    if any(t.dtype != x.dtype for t in present):
        raise DTypeError(f"lstm_cell: expected every tensor to have the input's dtype {x.dtype}, "
                         f"got {[str(t.dtype) for t in present]}")
    if x.ndim == 1:
        h_new, c_new = LSTMCell.apply(x.unsqueeze(0), h.unsqueeze(0), c.unsqueeze(0), *operands[3:])
        return h_new.squeeze(0), c_new.squeeze(0)
    return LSTMCell.apply(*operands)
