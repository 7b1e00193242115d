"""What fit/evaluate/predict accept as data, turned into batches of Tensors on a device.

Arrays (NumPy, Tensors, lists) with one sample per row are batched through a DataLoader
(seeded shuffling from tensorcore's generator); a DataLoader or any other iterable of
``(x, y)`` batches is used as it is.
"""
import math

import numpy as np

from ..data import DataLoader, TensorDataset
from ..tensor import Tensor, tensor
from .arguments import positive_int


def batches(where, x, y, batch_size, shuffle, device, need_y=True):
    """An iterable of ``(x, y)`` batches (``(x,)`` when ``y`` is None) on ``device``."""
    batch_size = positive_int(where, "batch_size", 32 if batch_size is None else batch_size)
    if x is None:
        raise ValueError(f"{where}: x is required")
    if not array_like(x):                          # a DataLoader or other iterable
        if y is not None:
            raise ValueError(f"{where}: x is a {type(x).__name__} of batches, so y must be "
                             f"None (the batches carry the targets)")
        return OnDevice(x, device)
    if need_y and y is None:
        raise ValueError(f"{where}: y is required when x is an array")
    arrays = [host_array(where, x)] + ([] if y is None else [host_array(where, y)])
    if len(arrays) == 2 and len(arrays[0]) != len(arrays[1]):
        raise ValueError(f"{where}: x has {len(arrays[0])} samples, y has {len(arrays[1])}; "
                         f"they must have the same number of samples (first dimension)")
    if len(arrays[0]) == 0:
        raise ValueError(f"{where}: the data is empty (x has 0 samples)")
    return OnDevice(DataLoader(TensorDataset(*arrays), batch_size=batch_size, shuffle=shuffle),
                    device)


class OnDevice:
    """Batches of ``loader`` as tuples of Tensors on ``device``."""

    def __init__(self, loader, device):
        self.loader, self.device = loader, device

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for batch in self.loader:
            batch = batch if isinstance(batch, (tuple, list)) else (batch,)
            yield tuple(to_device(t, self.device) for t in batch)


def to_device(t, device):
    t = t if isinstance(t, Tensor) else tensor(np.asarray(t))
    return t if t.device == device else t.to(device)


def length(batches):
    """The number of batches, or None for an iterable without a length."""
    try:
        return len(batches)
    except TypeError:
        return None


def array_like(x):
    return isinstance(x, (np.ndarray, Tensor, list, tuple))


def host_array(where, a):
    array = a.numpy() if isinstance(a, Tensor) else np.asarray(a)
    if array.ndim == 0:
        raise ValueError(f"{where}: expected an array with one sample per row, got a scalar")
    return array


def pair(validation_data):
    """``(x_val, y_val)`` from fit's validation_data (a loader comes back as ``(loader, None)``)."""
    if not array_like(validation_data):
        return validation_data, None
    if isinstance(validation_data, (tuple, list)) and len(validation_data) == 2:
        return validation_data
    raise ValueError(f"fit: validation_data must be (x_val, y_val) or a loader of batches, got "
                     f"{type(validation_data).__name__} of length {len(validation_data)}"
                     + ("; sample weights are not supported" if len(validation_data) == 3
                        else ""))


def split(where, x, y, fraction):
    """Keras' validation_split: the last ``fraction`` of the samples, before shuffling."""
    if not 0 < fraction < 1:
        raise ValueError(f"{where}: validation_split must be in [0, 1), got {fraction!r}")
    if not array_like(x):
        raise ValueError(f"{where}: validation_split needs arrays, not a "
                         f"{type(x).__name__}; pass validation_data instead")
    x, y = host_array(where, x), None if y is None else host_array(where, y)
    n = len(x)
    split_at = int(math.floor(n * (1.0 - fraction)))
    if split_at in (0, n):
        raise ValueError(f"{where}: {n} samples are not enough to hold out "
                         f"validation_split={fraction} of them for validation")
    if y is None:
        return (x[:split_at], None), (x[split_at:], None)
    return (x[:split_at], y[:split_at]), (x[split_at:], y[split_at:])
