"""``t[index]`` with basic (ints, slices, None, Ellipsis) and integer/boolean-array indices.

Backward scatters the gradient into zeros shaped like the input; with array indices the
same element may be picked twice, so it adds with ``add.at`` rather than assigning.
"""
import numpy as np

from ..autograd import Function, is_grad_enabled
from ..device import array_module
from ..errors import TensorIndexError
from ..tensor import Tensor


class GetItem(Function):
    def forward(self, a, index, basic):
        self.shape, self.dtype, self.index, self.basic = a.shape, a.dtype, index, basic
        return a[index]

    def backward(self, g):
        xp = array_module(g)
        full = xp.zeros(self.shape, dtype=g.dtype)
        if self.basic:
            full[self.index] = g
        else:
            xp.add.at(full, self.index, g)
        return full, None, None


def _normalize(index, xp):
    """The index with tensors replaced by arrays, and whether it is basic indexing only."""
    parts = index if isinstance(index, tuple) else (index,)
    converted, basic = [], True
    for part in parts:
        if isinstance(part, Tensor):
            part = part._data if part.ndim else part._data.item()
        if isinstance(part, list) or (hasattr(part, "shape") and hasattr(part, "dtype")
                                      and getattr(part, "ndim", 0) > 0):
            part = xp.asarray(part)
            if part.dtype.kind not in "iub":
                raise TypeError(f"getitem: index arrays must be integer or boolean, got {part.dtype}")
            basic = False
        elif isinstance(part, np.generic):
            part = part.item()
        elif not (part is None or part is Ellipsis or isinstance(part, (int, slice))):
            raise TypeError(f"getitem: unsupported index {part!r} of type {type(part).__name__}")
        converted.append(part)
    return (tuple(converted) if isinstance(index, tuple) else converted[0]), basic


def getitem(x, index):
    xp = array_module(x._data)
    index, basic = _normalize(index, xp)
    try:
        return GetItem.apply(x, index, basic)
    except IndexError as e:
        raise TensorIndexError(f"getitem: index {index!r} is out of range for a tensor of "
                               f"shape {x.shape} ({e})") from None


def setitem(x, index, value):
    """In-place assignment, allowed where no gradient could be wrong: on tensors that do not
    require grad, or under ``no_grad`` (parameter initialisation)."""
    if x.requires_grad and is_grad_enabled():
        raise RuntimeError("setitem: in-place assignment to a tensor that requires grad; "
                           "wrap it in tc.no_grad() or assign to a detached copy")
    if isinstance(value, Tensor) and value.requires_grad and is_grad_enabled():
        # PyTorch records this (x then requires grad); here the gradient would be lost
        raise RuntimeError("setitem: the value requires grad, and assignment does not pass "
                           "gradients on; build the tensor with tc.stack or tc.cat instead "
                           "(or assign value.detach() where no gradient is wanted)")
    xp = array_module(x._data)
    index, _ = _normalize(index, xp)
    value = value._data if isinstance(value, Tensor) else value
    try:
        x._data[index] = value
    except IndexError as e:
        raise TensorIndexError(f"setitem: index {index!r} is out of range for a tensor of "
                               f"shape {x.shape} ({e})") from None
    except ValueError as e:
        raise ValueError(f"setitem: cannot assign a value of shape {np.shape(value)} to "
                         f"index {index!r} of a tensor of shape {x.shape} ({e})") from None
