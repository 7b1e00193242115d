"""tensorcore.data: datasets and batching (PyTorch's torch.utils.data, in small), and loaders
for MNIST and scikit-learn's 8x8 digits (``tensorcore.data.datasets``)."""
from . import datasets  # noqa: F401
from .dataset import Dataset, TensorDataset  # noqa: F401
from .loader import DataLoader, default_collate  # noqa: F401
