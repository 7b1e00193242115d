"""Layer: a tc.nn.Module that builds its weights on first use from the input's shape, with
Keras' names, ``trainable`` flag, weight layouts and error messages."""
import itertools
import re

import numpy as np

from ... import dtypes
from ...nn import Module, Parameter
from ...ops.common import as_tensor
from ...tensor import tensor
from .. import initializers
from ...train.arguments import reject_unknown

_counters = {}


def unique_name(cls_name):
    """'dense', 'dense_1', ... per layer class, as Keras names layers."""
    base = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", cls_name).lower().replace("2_d", "2d")
    counter = _counters.setdefault(base, itertools.count())
    n = next(counter)
    return base if n == 0 else f"{base}_{n}"


class Layer(Module):
    """Subclasses define build(input_shape) (shape without the batch axis) creating weights with
    add_weight, call(x), and optionally keras_weights() for Keras' weight order and layouts."""

    def __init__(self, input_shape=None, input_dim=None, name=None, trainable=True, dtype=None,
                 **kwargs):
        reject_unknown(type(self).__name__, kwargs)
        super().__init__()
        self.name = name or unique_name(type(self).__name__)
        self.trainable = trainable
        self.built = False
        self.dtype = dtypes.resolve(dtype) if dtype is not None else dtypes.default_float
        if input_shape is not None:
            self.batch_input_shape = (None,) + tuple(input_shape)
        elif input_dim is not None:
            self.batch_input_shape = (None, int(input_dim))
        else:
            self.batch_input_shape = None

    def build(self, input_shape):
        """Create the weights for inputs of ``input_shape`` (no batch axis)."""

    def call(self, x):
        raise NotImplementedError

    def cast_input(self, x):
        """Keras casts inputs (uint8 images too) to the layer's dtype."""
        return x if x.dtype == self.dtype else x.to(self.dtype)

    def forward(self, x):
        return self.call(self.prepare_input(x))

    def prepare_input(self, x):
        """``x`` as a tensor of the layer's dtype, checked against its input shape; the
        weights are built on first use."""
        x = self.cast_input(as_tensor(x))
        if not self.built:
            if self.batch_input_shape is not None:
                self.check_input(x, self.batch_input_shape)
            self.build(tuple(x.shape[1:]))
            self.built = True
            self.batch_input_shape = (None,) + tuple(x.shape[1:])
        self.check_input(x, self.batch_input_shape)
        return x

    def check_input(self, x, expected):
        if x.ndim != len(expected) or any(e is not None and e != r
                                          for e, r in zip(expected[1:], x.shape[1:])):
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: '
                             f"expected shape={expected}, received input with shape {x.shape}")

    def add_weight(self, name, shape, initializer, trainable=True, from_keras=None):
        """A weight initialised in Keras' layout ``shape`` (the initialisers' fans follow it),
        held as from_keras(values) when the op wants another layout."""
        values = initializers.get(initializer)(tuple(shape))
        values = np.ascontiguousarray(from_keras(values) if from_keras else values, dtype=self.dtype)
        if trainable:
            setattr(self, name, Parameter(tensor(values)))
        else:
            self.register_buffer(name, tensor(values))
        return getattr(self, name)

    # Keras' weight list: (attribute, to Keras layout, from Keras layout) per weight, in order
    def keras_weights(self):
        return [(name, None, None) for name, _ in self.named_parameters(recurse=False)]

    @property
    def weights(self):
        return [getattr(self, name) for name, _, _ in self.keras_weights()]

    def get_weights(self):
        out = []
        for name, to_keras, _ in self.keras_weights():
            value = getattr(self, name).numpy().copy()
            out.append(to_keras(value) if to_keras else value)
        return out

    def set_weights(self, weights):
        expected = self.keras_weights()
        weights = list(weights)
        if len(weights) != len(expected):
            raise ValueError(f'Layer "{self.name}" expects {len(expected)} weights, but the '
                             f"given list has {len(weights)}")
        for (name, _, from_keras), value in zip(expected, weights):
            target = getattr(self, name)
            value = np.asarray(value)
            value = from_keras(value) if from_keras else value
            if value.shape != target.shape:
                raise ValueError(f'Layer "{self.name}" weight "{name}": expected shape '
                                 f"{target.shape}, received {value.shape}")
            target._data[...] = value

    def count_params(self):
        return sum(int(np.prod(w.shape)) for w in self.weights)

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        if self.batch_input_shape is not None:
            config["input_shape"] = list(self.batch_input_shape[1:])
        return config

    def __call__(self, x, *args, **kwargs):
        from ..engine import KerasTensor            # symbolic inputs build a functional model
        if isinstance(x, KerasTensor):
            return x.through(self)
        return super().__call__(x, *args, **kwargs)
