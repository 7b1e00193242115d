"""Parameter: a Tensor that a Module registers as a trainable weight when assigned to it."""
from ..tensor import Tensor, tensor


class Parameter(Tensor):
    """``Parameter(data, requires_grad=True)`` shares ``data``'s storage (as torch's does).
    Ops on a Parameter give plain Tensors; only assignment to a Module attribute registers it."""
    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = tensor([])
        elif not isinstance(data, Tensor):
            data = tensor(data)
        self._data, self._node, self._index, self.grad = data._data, None, 0, None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (Parameter, (Tensor.detach(self), self.requires_grad))
