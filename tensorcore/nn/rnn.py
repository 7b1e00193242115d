"""LSTMCell and LSTM with torch's parameter names, shapes and gate order (i, f, g, o)."""
import math

from .. import creation
from ..errors import ShapeError
from ..ops.common import as_tensor
from ..ops.dropout import dropout
from ..ops.lstm import lstm_cell, lstm_sequence
from ..ops.shape import stack
from ..ops.window_args import positive_int
from . import init
from .module import Module
from .parameter import Parameter


def _lstm_weights(module, suffix, input_size, hidden_size, bias, device, dtype):
    """Register weight_ih{suffix} (4H, I), weight_hh{suffix} (4H, H) and the two biases."""
    def new(*shape):
        return Parameter(creation.empty(*shape, dtype=dtype, device=device))
    module.register_parameter(f"weight_ih{suffix}", new(4 * hidden_size, input_size))
    module.register_parameter(f"weight_hh{suffix}", new(4 * hidden_size, hidden_size))
    for name in (f"bias_ih{suffix}", f"bias_hh{suffix}"):
        module.register_parameter(name, new(4 * hidden_size) if bias else None)


def _reset_uniform(module):
    """Every parameter from U(-1/sqrt(H), 1/sqrt(H)), as torch's recurrent layers."""
    bound = 1 / math.sqrt(module.hidden_size)
    for param in module.parameters():
        init.uniform_(param, -bound, bound)


class LSTMCell(Module):
    """x (B, I) or (I,), hx = (h, c) each (B, H) or (H,), or None for zeros -> (h', c')."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        self.input_size = positive_int("LSTMCell", "input_size", input_size)
        self.hidden_size = positive_int("LSTMCell", "hidden_size", hidden_size)
        self.bias = bias
        _lstm_weights(self, "", input_size, hidden_size, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        _reset_uniform(self)

    def forward(self, x, hx=None):
        x = as_tensor(x)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ShapeError(f"LSTMCell: expected input of shape (B, {self.input_size}) or "
                             f"({self.input_size},), received shape {tuple(x.shape)}")
        return lstm_cell(x, hx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class LSTM(Module):
    """Stacked LSTM. x (T, B, I) ((B, T, I) with batch_first, (T, I) unbatched);
    hx = (h0, c0) each (num_layers, B, H) or None -> (out (T, B, H), (h_n, c_n)).
    Each layer runs as one lstm_sequence call (the fused sequence kernel where present);
    ``dropout`` applies to every layer's output but the last while training."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        if bidirectional or proj_size:
            raise NotImplementedError("LSTM: bidirectional=True and proj_size > 0 are not "
                                      "supported")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"LSTM: dropout must be in [0, 1], got {dropout}")
        self.input_size = positive_int("LSTM", "input_size", input_size)
        self.hidden_size = positive_int("LSTM", "hidden_size", hidden_size)
        self.num_layers = positive_int("LSTM", "num_layers", num_layers)
        self.bias, self.batch_first, self.dropout = bias, batch_first, dropout
        for layer in range(num_layers):
            size = input_size if layer == 0 else hidden_size
            _lstm_weights(self, f"_l{layer}", size, hidden_size, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        _reset_uniform(self)

    def _layer_weights(self, layer):
        return [getattr(self, f"{name}_l{layer}")
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]

    def _check(self, x, hx):
        layout = "(B, T, I)" if self.batch_first else "(T, B, I)"
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ShapeError(f"LSTM: expected input of shape {layout} or (T, I) with I = "
                             f"{self.input_size}, received shape {tuple(x.shape)}")
        if hx is None:
            return
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TypeError(f"LSTM: expected hx to be a pair (h0, c0) or None, got "
                            f"{type(hx).__name__}")
        batch = x.shape[0 if self.batch_first else 1] if x.ndim == 3 else None
        expected = (self.num_layers,) + ((batch,) if batch is not None else ()) \
            + (self.hidden_size,)
        for name, state in zip(("h0", "c0"), hx):
            if tuple(as_tensor(state).shape) != expected:
                raise ShapeError(f"LSTM: expected {name} of shape {expected}, received shape "
                                 f"{tuple(as_tensor(state).shape)}")

    def forward(self, x, hx=None):
        x = as_tensor(x)
        self._check(x, hx)
        unbatched = x.ndim == 2
        if unbatched:
            x = x.unsqueeze(1)
            hx = None if hx is None else tuple(as_tensor(s).unsqueeze(1) for s in hx)
        elif self.batch_first:
            x = x.transpose(0, 1)
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            state = None if hx is None else (hx[0][layer], hx[1][layer])
            x, (h, c) = lstm_sequence(x, state, *self._layer_weights(layer))
            h_n.append(h)
            c_n.append(c)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = dropout(x, self.dropout)
        h_n, c_n = stack(h_n), stack(c_n)
        if unbatched:
            return x.squeeze(1), (h_n.squeeze(1), c_n.squeeze(1))
        return (x.transpose(0, 1) if self.batch_first else x), (h_n, c_n)

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        return text
