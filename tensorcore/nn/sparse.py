"""Embedding: a lookup table of num_embeddings rows of size embedding_dim."""
from .. import creation
from .. import device as devices
from ..autograd import Function, no_grad
from ..device import array_module
from ..errors import DTypeError, TensorIndexError
from ..ops.common import as_tensor
from ..ops.window_args import positive_int
from . import init
from .module import Module
from .parameter import Parameter


class EmbeddingLookup(Function):
    """weight (V, D), indices (...) integer -> (..., D); the gradient of a row is the sum of
    the gradients of every position that picked it (the padding row gets none)."""

    def forward(self, weight, indices, padding_idx):
        self.shape, self.indices, self.padding_idx = weight.shape, indices, padding_idx
        return weight[indices]

    def backward(self, g):
        xp = array_module(g)
        dweight = xp.zeros(self.shape, dtype=g.dtype)
        xp.add.at(dweight, self.indices.reshape(-1), g.reshape(-1, self.shape[1]))
        if self.padding_idx is not None:
            dweight[self.padding_idx] = 0
        return dweight, None, None


class Embedding(Module):
    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None):
        super().__init__()
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise NotImplementedError("Embedding: max_norm, scale_grad_by_freq and sparse are "
                                      "not supported")
        self.num_embeddings = positive_int("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = positive_int("Embedding", "embedding_dim", embedding_dim)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx must be within num_embeddings "
                                 f"({num_embeddings}), got {padding_idx}")
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        if _weight is None:
            self.weight = Parameter(creation.empty(num_embeddings, embedding_dim, dtype=dtype,
                                                   device=device), requires_grad=not _freeze)
            self.reset_parameters()
        else:
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight._data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None):
        embeddings = as_tensor(embeddings)
        rows, dim = embeddings.shape
        return cls(rows, dim, padding_idx, _weight=embeddings.detach(), _freeze=freeze)

    def forward(self, indices):
        indices = as_tensor(indices)
        if indices.dtype.kind not in "iu":
            raise DTypeError(f"Embedding: expected integer indices, got {indices.dtype}")
        data = indices._data
        if data.size and (int(data.min()) < 0 or int(data.max()) >= self.num_embeddings):
            raise TensorIndexError(f"Embedding: indices must be in [0, {self.num_embeddings}), "
                                   f"got values from {int(data.min())} to {int(data.max())}")
        data = devices.move(data, self.weight.device)
        return EmbeddingLookup.apply(self.weight, data, self.padding_idx)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
