"""Datasets: anything with ``__len__`` and ``__getitem__(i)`` returning one sample."""
import numpy as np

from ..tensor import Tensor


class Dataset:
    """Base class of map-style datasets (``torch.utils.data.Dataset``)."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


class TensorDataset(Dataset):
    """Samples are rows of equally long arrays: ``ds[i] == (a[i], b[i], ...)``.

    Takes Tensors or array-likes; ``take(indices)`` gathers a whole batch in one indexing
    operation, which ``DataLoader`` uses instead of stacking samples one by one."""

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset: needs at least one array")
        self.arrays = tuple(a.numpy() if isinstance(a, Tensor) else np.asarray(a) for a in arrays)
        lengths = [a.shape[0] if a.ndim else None for a in self.arrays]
        if None in lengths or len(set(lengths)) != 1:
            shown = ", ".join("a scalar" if n is None else f"{n} samples" for n in lengths)
            raise ValueError(f"TensorDataset: every array needs the same number of samples "
                             f"(first dimension); got {shown}")

    def __len__(self):
        return self.arrays[0].shape[0]

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)

    def take(self, indices):
        """The samples at ``indices`` (an integer array or a slice), batched."""
        return tuple(a[indices] for a in self.arrays)
