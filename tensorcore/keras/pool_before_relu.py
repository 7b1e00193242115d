"""A Conv2D or Activation layer ending in ReLU, then MaxPooling2D, run as the layer before its
activation, the pool, then the ReLU: the same values and gradients, the ReLU's passes on a
quarter of the memory (as tc.nn.Sequential does for ReLU then MaxPool2d, where the reasons
are). A Conv2D, linear or ending in ReLU, then a 2x2 max pool at stride 2 runs as one op that
pools as it convolves (Conv2D.max_pooled), as tc.nn.Sequential runs Conv2d then MaxPool2d(2).
(Other activations do not commute with the max: GELU is not monotonic, softmax mixes the
channels.) Sequential and the functional Model both run their layers through it."""
from . import activations
from .layers import Activation, Conv2D, MaxPooling2D


def _max_pool_2x2(layer):
    return type(layer) is MaxPooling2D and layer.pool_size == layer.strides == (2, 2)


def pools_before_activation(layer, following):
    """Whether ``layer`` then ``following`` may run as ``pool_before_activation`` does."""
    if (type(layer) is Conv2D and layer.activation is activations.ACTIVATIONS["linear"]
            and _max_pool_2x2(following)):
        return True
    return (type(layer) in (Conv2D, Activation)
            and layer.activation is activations.ACTIVATIONS["relu"]
            and type(following) is MaxPooling2D)


def pool_before_activation(layer, pool, x):
    """``pool(layer(x))`` with the pool run before the layer's activation; a Conv2D's conv and
    2x2 max pool as one op once the pool has been built (by a call of its own: its checks and
    its config's input shape)."""
    x = layer.prepare_input(x)
    if type(layer) is Conv2D and _max_pool_2x2(pool) and pool.built:
        return layer.activation(layer.max_pooled(x))
    return layer.activation(pool(layer.before_activation(x)))
