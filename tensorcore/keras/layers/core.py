"""Dense, Activation, Flatten, Dropout, InputLayer."""

from ...nn import functional as F
from ...ops.activations import bias_activation
from .. import activations
from .base import Layer


class Dense(Layer):
    """y = activation(x @ kernel + bias) on the last axis; kernel (in, units) as Keras."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.units, self.use_bias = int(units), use_bias
        self.activation_name = activations.name_of(activation)
        self.activation = activations.get(activation)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer

    def build(self, input_shape):
        self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer)

    def call(self, x):
        z = x @ self.kernel                                      # (..., units)
        fused = activations.FUSED.get(self.activation_name)
        if self.use_bias and fused is not None:
            return bias_activation(z, self.bias, fused)
        return self.activation(z + self.bias if self.use_bias else z)

    def check_input(self, x, expected):
        if x.ndim < 2 or (expected[-1] is not None and x.shape[-1] != expected[-1]):
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: '
                             f"expected axis -1 of input shape to have value {expected[-1]}, "
                             f"but received input with shape {x.shape}")

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation_name,
                "use_bias": self.use_bias}


class Activation(Layer):
    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation_name = activations.name_of(activation)
        self.activation = activations.get(activation)

    def call(self, x):
        return self.activation(x)

    def before_activation(self, x):
        return x

    def get_config(self):
        return {**super().get_config(), "activation": self.activation_name}


class Flatten(Layer):
    """(N, ...) -> (N, prod(...)) in row-major order of the (channels-last) input."""

    def call(self, x):
        return x.reshape(x.shape[0], -1)


class Dropout(Layer):
    def __init__(self, rate, **kwargs):
        super().__init__(**kwargs)
        self.rate = float(rate)

    def call(self, x):
        return F.dropout(x, p=self.rate, training=self.training)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


class InputLayer(Layer):
    """Fixes the model's input shape; passes its input through."""

    def __init__(self, shape=None, input_shape=None, **kwargs):
        shape = shape if shape is not None else input_shape
        super().__init__(input_shape=shape, **kwargs)

    def call(self, x):
        return x

    def get_config(self):
        return {**super().get_config(), "shape": list(self.batch_input_shape[1:])}




class LeakyReLU(Layer):
    """x if x > 0 else negative_slope * x; ``alpha=`` is the legacy Keras name."""

    def __init__(self, negative_slope=0.3, alpha=None, **kwargs):
        super().__init__(**kwargs)
        self.negative_slope = float(negative_slope if alpha is None else alpha)

    def call(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class Reshape(Layer):
    """(N, ...) -> (N, *target_shape); one entry may be -1."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)

    def call(self, x):
        return x.reshape(x.shape[0], *self.target_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}
