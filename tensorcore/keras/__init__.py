"""The Keras face: code written for keras / tf.keras runs after
``from tensorcore import keras``. Layers take channels-last images and hold Keras' weight
layouts; training runs through tensorcore.train."""
from . import (activations, backend, callbacks, datasets, initializers, layers, losses,  # noqa: F401
               optimizers, utils)
from .engine import Input  # noqa: F401
from .models import Model, Sequential  # noqa: F401
from . import models  # noqa: F401
