"""A Conv2D or Activation layer ending in ReLU, then MaxPooling2D, run as the layer before its
activation, the pool, then the ReLU: the same values and gradients, the ReLU's passes on a
quarter of the memory (as tc.nn.Sequential does for ReLU then MaxPool2d, where the reasons
are). Sequential and the functional Model both run their layers through it."""
from . import activations
from .layers import Activation, Conv2D, MaxPooling2D


def pools_before_activation(layer, following):
    """Whether ``layer`` then ``following`` may run as ``pool_before_activation`` does."""
    return (type(layer) in (Conv2D, Activation)
            and layer.activation is activations.ACTIVATIONS["relu"]
            and type(following) is MaxPooling2D)


def pool_before_activation(layer, pool, x):
    """``pool(layer(x))`` with the pool run before the layer's ReLU."""
    return layer.activation(pool(layer.before_activation(layer.prepare_input(x))))
