"""DataLoader: batches of a dataset as Tensors, in order or shuffled (torch.utils.data)."""
import numbers

import numpy as np

from .. import rng
from ..tensor import Tensor, from_numpy, tensor
from .dataset import TensorDataset


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size`` samples, collated to Tensors.

    ``shuffle=True`` draws a new order every epoch from ``generator`` (a
    ``numpy.random.Generator``), from a private generator seeded with ``seed``, or else from
    tensorcore's global generator, so ``tc.manual_seed(n)`` makes the order repeat.
    ``drop_last`` drops a final partial batch. ``num_workers`` and ``pin_memory`` are accepted
    for PyTorch code and have no effect: batches are made in this process."""

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, collate_fn=None,
                 generator=None, seed=None, num_workers=0, pin_memory=False):
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: the dataset must have __len__ and __getitem__, got "
                            f"{type(dataset).__name__}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got "
                             f"{batch_size!r}")
        if generator is not None and seed is not None:
            raise ValueError("DataLoader: give generator or seed, not both")
        if not isinstance(num_workers, numbers.Integral) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be a non-negative integer, got "
                             f"{num_workers!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        self.generator = np.random.default_rng(seed) if seed is not None else generator
        self.num_workers, self.pin_memory = num_workers, pin_memory

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            order = (self.generator or rng.generator("cpu")).permutation(n)
        else:
            order = np.arange(n)
        # a TensorDataset whose items are its arrays' rows (a subclass's own __getitem__,
        # a transform, must run)
        fast = (isinstance(self.dataset, TensorDataset) and self.collate_fn is default_collate
                and type(self.dataset).__getitem__ is TensorDataset.__getitem__)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            indices = order[start:start + self.batch_size]
            if fast:     # one gather per array instead of n samples stacked
                yield tuple(from_numpy(a) for a in self.dataset.take(indices))
            else:
                yield self.collate_fn([self.dataset[int(i)] for i in indices])


def default_collate(samples):
    """Stack a list of samples into a batch: tuples/lists and dicts field by field, arrays
    and Tensors along a new first axis, Python numbers into a 1-d Tensor, strings into a list."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in samples):
            raise ValueError(f"default_collate: samples have different numbers of fields: "
                             f"{sorted({len(s) for s in samples})}")
        fields = [default_collate(list(field)) for field in zip(*samples)]
        return type(first)(*fields) if hasattr(first, "_fields") else type(first)(fields)
    if isinstance(first, dict):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    if isinstance(first, str):
        return list(samples)
    if isinstance(first, (Tensor, np.ndarray, np.generic)):
        arrays = [s.numpy() if isinstance(s, Tensor) else np.asarray(s) for s in samples]
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            raise ValueError(f"default_collate: samples in one batch must have one shape, got "
                             f"{sorted(shapes)}")
        return from_numpy(np.stack(arrays))
    if isinstance(first, numbers.Number):
        return tensor(samples)
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}; "
                    f"pass a collate_fn")
