"""keras.layers: the layers of the Keras face (channels-last images, Keras weight layouts)."""
from .base import Layer  # noqa: F401
from .conv import AveragePooling2D, Conv2D, MaxPooling2D  # noqa: F401
from .core import (Activation, Dense, Dropout, Flatten, InputLayer, LeakyReLU,  # noqa: F401
                   Reshape)
from .embedding import Embedding  # noqa: F401
from .normalization import BatchNormalization  # noqa: F401
from .recurrent import LSTM  # noqa: F401

MaxPool2D, AvgPool2D = MaxPooling2D, AveragePooling2D
