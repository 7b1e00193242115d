"""keras.datasets.mnist.load_data() -> ((x_train, y_train), (x_test, y_test)), uint8 arrays
(60000, 28, 28), (60000,), (10000, 28, 28), (10000,)."""
from ...data.datasets import load_mnist


def load_data(path=None):
    return load_mnist() if path is None else load_mnist(path)
