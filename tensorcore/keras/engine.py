"""Symbolic inputs for the functional API: ``x = keras.Input(shape); y = layer(x)`` records
which layer produced what, and ``keras.Model(inputs=x, outputs=y)`` replays it."""
from .pool_before_relu import pool_before_activation, pools_before_activation


class KerasTensor:
    """A placeholder of shape (None, *shape): the model input or a layer applied to another
    KerasTensor."""

    def __init__(self, shape, layer=None, parent=None, index=None):
        self.shape = (None,) + tuple(shape)
        self.layer, self.parent, self.index = layer, parent, index

    def through(self, layer):
        """layer(self), shape found by running the layer on a zero batch of one."""
        from .. import no_grad, zeros
        training = layer.training
        layer.eval()                    # no dropout, no moving-statistics update
        with no_grad():
            out = layer(zeros(1, *self.shape[1:]))
        layer.train(training)
        if isinstance(out, (list, tuple)):
            return [KerasTensor(o.shape[1:], layer, self, i) for i, o in enumerate(out)]
        return KerasTensor(out.shape[1:], layer, self)

    def evaluate(self, values):
        """This tensor's value, given {id(input KerasTensor): Tensor}; memoised in values. A
        ReLU layer's output that only feeds this max pool is not made: pool_before_relu."""
        key = id(self)
        if key not in values:
            parent = self.parent
            if (parent.layer is not None and parent.index is None and id(parent) not in values
                    and pools_before_activation(parent.layer, self.layer)):
                out = pool_before_activation(parent.layer, self.layer,
                                             parent.parent.evaluate(values))
            else:
                out = self.layer(parent.evaluate(values))
            values[key] = out if self.index is None else out[self.index]
        return values[key]

    def layers(self):
        """The layers between the input and this tensor, first to last."""
        chain = [] if self.parent is None else self.parent.layers()
        return chain + [self.layer] if self.layer is not None and self.layer not in chain else chain

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}>"


def Input(shape=None, batch_size=None, name=None, dtype=None):
    if shape is None:
        raise ValueError("Input: a shape is required, e.g. keras.Input(shape=(784,))")
    return KerasTensor(tuple(shape))
