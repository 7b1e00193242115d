"""``t[index]`` with basic (ints, slices, None, Ellipsis) and integer/boolean-array indices.

Backward scatters the gradient into zeros shaped like the input; with array indices the
same element may be picked twice, so it adds with ``add.at`` rather than assigning.
"""
import numpy as np

from ..autograd import Function, is_grad_enabled
from ..device import array_module
from ..errors import TensorIndexError
from ..tensor import Tensor
from .common import unbroadcast


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


class SetItem(Function):
    """x[index] = value recorded for backward (PyTorch's CopySlices): x's array is written in
    place and x takes this node. value's gradient is the gradient at x[index]; the x before
    the assignment gets the rest (zero at index)."""

    def forward(self, base, value, index):
        self.index, self.value_shape = index, getattr(value, "shape", ())
        base[index] = value
        return base

    def backward(self, g):
        g_base = g_value = None
        if self.needs_grad(0):
            g_base = g.copy()
            g_base[self.index] = 0
        if self.needs_grad(1):
            g_value = unbroadcast(g[self.index], self.value_shape)
        return g_base, g_value, None


def setitem(x, index, value):
    """In-place assignment. While autograd records, assigning a value that requires grad is
    recorded (x then requires grad), as are further assignments into such an x; a leaf that
    requires grad (a parameter) or another op's output (which that op may have saved for its
    backward) refuses them: tc.no_grad() for initialisation."""
    recorded = is_grad_enabled() and (
        x.requires_grad or (isinstance(value, Tensor) and value.requires_grad))
    if recorded and x.requires_grad and not isinstance(x._node, SetItem):
        raise RuntimeError("setitem: in-place assignment to a tensor that requires grad (a "
                           "parameter, or an op's output the op may have saved for backward); "
                           "wrap it in tc.no_grad() or assign to a detached copy")
    xp = array_module(x._data)
    index, _ = _normalize(index, xp)
    try:
        if recorded:
            out = SetItem.apply(x, value, index)
            x._node, x._index, x.requires_grad = out._node, out._index, True
        else:
            x._data[index] = value._data if isinstance(value, Tensor) else value
    except IndexError as e:
        raise TensorIndexError(f"setitem: index {index!r} is out of range for a tensor of "
                               f"shape {x.shape} ({e})") from None
    except ValueError as e:
        raise ValueError(f"setitem: cannot assign a value of shape {np.shape(value)} to "
                         f"index {index!r} of a tensor of shape {x.shape} ({e})") from None
