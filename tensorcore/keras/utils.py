"""keras.utils: to_categorical, set_random_seed (and the legacy np_utils namespace)."""
import random
from types import SimpleNamespace

import numpy as np

from .. import rng


def to_categorical(y, num_classes=None, dtype="float32"):
    """Integer class labels of any shape -> one-hot rows, shape y.shape + (num_classes,)
    (a trailing axis of 1 is dropped first, as Keras does)."""
    y = np.asarray(y)
    if y.dtype.kind not in "iub" and not (y.dtype.kind == "f" and np.all(y == np.round(y))):
        raise ValueError(f"to_categorical: expected integer class labels, received dtype {y.dtype}")
    y = y.astype(np.int64)
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y[..., 0]
    if y.size and y.min() < 0:
        raise ValueError(f"to_categorical: labels must be >= 0, received {int(y.min())}")
    top = int(y.max()) + 1 if y.size else 0
    num_classes = top if num_classes is None else int(num_classes)
    if top > num_classes:
        raise ValueError(f"to_categorical: label {top - 1} does not fit num_classes={num_classes}")
    out = np.zeros(y.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(out, y[..., None], 1, axis=-1)
    return out


def set_random_seed(seed):
    """Seed Python's, NumPy's and tensorcore's generators, as keras.utils.set_random_seed."""
    random.seed(seed)
    np.random.seed(seed)
    rng.manual_seed(seed)


np_utils = SimpleNamespace(to_categorical=to_categorical)     # `from keras.utils import np_utils`
