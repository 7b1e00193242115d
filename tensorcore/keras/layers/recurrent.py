"""LSTM over (N, T, features) as Keras; weights held in the lstm_sequence op's layout
(4U, F) / (4U, U) and shown in Keras' (F, 4U) / (U, 4U). Gate order i, f, c, o is the same."""

from ... import creation
from ...nn import functional as F
from ...ops.lstm import lstm_sequence
from ...ops.shape import stack
from .base import Layer


def _transposed(w):
    return w.T


class LSTM(Layer):
    def __init__(self, units, return_sequences=False, return_state=False, use_bias=True,
                 unit_forget_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", dropout=0.0,
                 recurrent_dropout=0.0, **kwargs):
        for name, default in (("activation", "tanh"), ("recurrent_activation", "sigmoid")):
            if kwargs.pop(name, default) != default:
                raise ValueError(f"LSTM: only {name}={default!r} is supported")
        super().__init__(**kwargs)
        self.units, self.return_sequences, self.return_state = int(units), return_sequences, return_state
        self.use_bias, self.unit_forget_bias = use_bias, unit_forget_bias
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self.initializers = (kernel_initializer, recurrent_initializer, bias_initializer)

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: '
                             f"expected ndim=3 (N, T, features), received input shape "
                             f"{(None,) + tuple(input_shape)}")
        kernel_init, recurrent_init, bias_init = self.initializers
        self.add_weight("kernel", (input_shape[-1], 4 * self.units), kernel_init,
                        from_keras=_transposed)
        self.add_weight("recurrent_kernel", (self.units, 4 * self.units), recurrent_init,
                        from_keras=_transposed)
        if self.use_bias:
            self.add_weight("bias", (4 * self.units,), bias_init)
            if self.unit_forget_bias:
                self.bias._data[self.units:2 * self.units] = 1.0

    def call(self, x):
        bias = self.bias if self.use_bias else None
        if self.training and self.dropout > 0:         # one mask for every step, as Keras
            x = x * self._mask(x, (x.shape[0], 1, x.shape[2]), self.dropout)
        if self.training and self.recurrent_dropout > 0:
            out, h, c = self._steps_with_recurrent_dropout(x, bias)
        else:                                          # the fused sequence kernel
            out, (h, c) = lstm_sequence(x.transpose(0, 1), None, self.kernel,
                                        self.recurrent_kernel, bias)
            out = out.transpose(0, 1)
        result = out if self.return_sequences else h    # (N, T, U) or (N, U)
        return [result, h, c] if self.return_state else result

    @staticmethod
    def _mask(x, shape, rate):
        return F.dropout(creation.ones(*shape, dtype=x.dtype, device=x.device), p=rate)

    def _steps_with_recurrent_dropout(self, x, bias):
        """Step by step: the state h entering each step's recurrent GEMM is dropped with one
        mask for the whole sequence, which the fused kernel has no place for."""
        n = x.shape[0]
        h = c = creation.zeros(n, self.units, dtype=x.dtype, device=x.device)
        mask = self._mask(x, (n, self.units), self.recurrent_dropout)
        outs = []
        for t in range(x.shape[1]):
            h, c = F.lstm_cell(x[:, t], (h * mask, c), self.kernel, self.recurrent_kernel, bias)
            outs.append(h)
        return stack(outs, 1), h, c

    def keras_weights(self):
        weights = [("kernel", _transposed, _transposed),
                   ("recurrent_kernel", _transposed, _transposed)]
        return weights + ([("bias", None, None)] if self.use_bias else [])

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "return_sequences": self.return_sequences, "return_state": self.return_state,
                "use_bias": self.use_bias, "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout}


