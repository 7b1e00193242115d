"""LSTM over (N, T, features) as Keras; weights held in the lstm_sequence op's layout
(4U, F) / (4U, U) and shown in Keras' (F, 4U) / (U, 4U). Gate order i, f, c, o is the same."""

from ...ops.lstm import lstm_sequence
from .base import Layer


def _transposed(w):
    return w.T


class LSTM(Layer):
    def __init__(self, units, return_sequences=False, return_state=False, use_bias=True,
                 unit_forget_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", **kwargs):
        for name, default in (("activation", "tanh"), ("recurrent_activation", "sigmoid")):
            if kwargs.pop(name, default) != default:
                raise ValueError(f"LSTM: only {name}={default!r} is supported")
        super().__init__(**kwargs)
        self.units, self.return_sequences, self.return_state = int(units), return_sequences, return_state
        self.use_bias, self.unit_forget_bias = use_bias, unit_forget_bias
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
        out, (h, c) = lstm_sequence(x.transpose(0, 1), None, self.kernel, self.recurrent_kernel,
                                    self.bias if self.use_bias else None)
        result = out.transpose(0, 1) if self.return_sequences else h    # (N, T, U) or (N, U)
        return [result, h, c] if self.return_state else result

    def keras_weights(self):
        weights = [("kernel", _transposed, _transposed),
                   ("recurrent_kernel", _transposed, _transposed)]
        return weights + ([("bias", None, None)] if self.use_bias else [])

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "return_sequences": self.return_sequences, "return_state": self.return_state,
                "use_bias": self.use_bias}


