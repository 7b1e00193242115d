"""Shape ops: reshape, flatten, transpose, permute, squeeze, unsqueeze, expand, cat, stack.

Forward returns NumPy/CuPy views where possible; backward undoes the rearrangement.
"""
import math

import numpy as np

from ..autograd import Function
from ..device import array_module
from ..errors import ShapeError
from .common import as_tensor, check_same_device, normalize_axis, pick_axis, unbroadcast


class Reshape(Function):
    def forward(self, a, shape):
        self.shape = a.shape
        return a.reshape(shape)

    def backward(self, g):
        return g.reshape(self.shape), None


class Permute(Function):
    def forward(self, a, dims):
        self.inverse = tuple(np.argsort(dims))
        return a.transpose(dims)

    def backward(self, g):
        return g.transpose(self.inverse), None


class Expand(Function):
    def forward(self, a, shape):
        self.shape = a.shape
        return array_module(a).broadcast_to(a, shape)

    def backward(self, g):
        return unbroadcast(g, self.shape), None


class Concatenate(Function):
    """cat along an existing axis; stack is cat of inputs given a new axis of length 1."""

    def forward(self, *arrays, axis):
        self.axis = axis
        self.bounds = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return array_module(arrays[0]).concatenate(arrays, axis=axis)

    def backward(self, g):
        xp = array_module(g)
        return tuple(xp.split(g, self.bounds, axis=self.axis))


def _shape_arg(shape):
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def reshape(x, *shape):
    x = as_tensor(x)
    shape = _shape_arg(shape)
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if (shape.count(-1) > 1 or any(s < -1 for s in shape)
            or (-1 in shape and (known == 0 or x.numel() % known))
            or (-1 not in shape and known != x.numel())):
        raise ShapeError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                         f"({x.numel()} elements) to {shape}")
    return Reshape.apply(x, shape)


def view(x, *shape):
    """reshape that never copies: as PyTorch's view, an error where the strides allow no
    view of that shape (a copy would not see later writes to x, nor x to it)."""
    x = as_tensor(x)
    y = reshape(x, *shape)
    if y.numel() and not array_module(x._data).may_share_memory(x._data, y._data):
        raise ShapeError(f"view: a tensor of shape {x.shape} and strides "
                         f"{x._data.strides} has no view of shape {y.shape}; use .reshape(...) "
                         f"(which copies) or .contiguous().view(...)")
    return y


def flatten(x, start_dim=0, end_dim=-1):
    x = as_tensor(x)
    if x.ndim == 0:
        return reshape(x, 1)
    start = normalize_axis(start_dim, x.ndim, "flatten")
    end = normalize_axis(end_dim, x.ndim, "flatten")
    if start > end:
        raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for "
                         f"shape {x.shape}")
    return reshape(x, x.shape[:start] + (math.prod(x.shape[start:end + 1]),) + x.shape[end + 1:])


def permute(x, *dims):
    x = as_tensor(x)
    dims = _shape_arg(dims)
    resolved = tuple(normalize_axis(d, x.ndim, "permute") for d in dims)
    if sorted(resolved) != list(range(x.ndim)):
        raise ShapeError(f"permute: dims {dims} are not a permutation of the {x.ndim} "
                         f"dimensions of shape {x.shape}")
    return Permute.apply(x, resolved)


def transpose(x, dim0, dim1):
    x = as_tensor(x)
    dims = list(range(x.ndim))
    d0, d1 = normalize_axis(dim0, x.ndim, "transpose"), normalize_axis(dim1, x.ndim, "transpose")
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Permute.apply(x, tuple(dims))


def squeeze(x, dim=None, axis=None):
    x = as_tensor(x)
    dim = pick_axis("squeeze", axis, dim)
    if dim is None:
        return reshape(x, tuple(s for s in x.shape if s != 1))
    dims = normalize_axis(dim if isinstance(dim, (tuple, list)) else (dim,), x.ndim, "squeeze")
    return reshape(x, tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1)))


def unsqueeze(x, dim):
    x = as_tensor(x)
    d = normalize_axis(dim, x.ndim + 1, "unsqueeze")
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def expand(x, *sizes):
    x = as_tensor(x)
    sizes = _shape_arg(sizes)
    if len(sizes) < x.ndim:
        raise ShapeError(f"expand: {len(sizes)} sizes given for a tensor of {x.ndim} dimensions "
                         f"(shape {x.shape})")
    lead = len(sizes) - x.ndim
    target = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    for i, s in enumerate(x.shape):
        if s != 1 and s != target[lead + i]:
            raise ShapeError(f"expand: cannot expand shape {x.shape} to {sizes}: dimension "
                             f"{lead + i} has size {s}, which is not 1")
    if any(s < 0 for s in target):
        raise ShapeError(f"expand: invalid sizes {sizes} for shape {x.shape}")
    return Expand.apply(x, target)


def _sequence(op, tensors):
    if isinstance(tensors, (str, bytes)) or not hasattr(tensors, "__iter__"):
        raise TypeError(f"{op}: expected a sequence of tensors, got {type(tensors).__name__}")
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty sequence of tensors")
    check_same_device(op, *(t._data for t in tensors))
    return tensors


def cat(tensors, dim=None, axis=None):
    tensors = _sequence("cat", tensors)
    ndim = tensors[0].ndim
    if ndim == 0:
        raise ShapeError("cat: zero-dimensional tensors cannot be concatenated; use stack")
    axis = normalize_axis(pick_axis("cat", axis, dim, 0), ndim, "cat")
    for t in tensors:
        if t.ndim != ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, tensors[0].shape))
                                 if i != axis):
            raise ShapeError(f"cat: shapes {[t.shape for t in tensors]} differ outside "
                             f"dimension {axis}")
    return Concatenate.apply(*tensors, axis=axis)


concatenate = cat


def stack(tensors, dim=None, axis=None):
    tensors = _sequence("stack", tensors)
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ShapeError(f"stack: expected tensors of one shape, got {[t.shape for t in tensors]}")
    axis = normalize_axis(pick_axis("stack", axis, dim, 0), tensors[0].ndim + 1, "stack")
    return cat([unsqueeze(t, axis) for t in tensors], axis)
