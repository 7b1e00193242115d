"""Handwritten digits for the examples: MNIST (28x28) when its files are cached or can be
downloaded, else scikit-learn's bundled 8x8 digits, so every example runs offline."""
import numpy as np

from tensorcore.data.datasets import load_digits, load_mnist


def images(prefer_mnist=True, limit=None):
    """((x_train, y_train), (x_test, y_test), name): x float32 in [0, 1], shape (N, H, W);
    y int64 labels. ``limit`` keeps the first samples of each split (quick runs)."""
    data, name = None, "digits (8x8, scikit-learn)"
    if prefer_mnist:
        try:
            data, name = load_mnist(), "MNIST (28x28)"
        except (OSError, RuntimeError) as error:
            print(f"MNIST not available ({str(error).splitlines()[0]}); using scikit-learn's digits")
    if data is None:
        data = load_digits()
    (x_train, y_train), (x_test, y_test) = data
    scale = 255.0 if x_train.max() > 16 else 16.0
    prepared = [(x[:limit].astype(np.float32) / scale, y[:limit].astype(np.int64))
                for x, y in ((x_train, y_train), (x_test, y_test))]
    return prepared[0], prepared[1], name
