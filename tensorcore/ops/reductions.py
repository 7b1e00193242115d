"""Reductions: sum, mean, max, min, var, std, argmax, argmin.

Each takes NumPy's ``axis=``/``keepdims=`` or PyTorch's ``dim=``/``keepdim=``. ``max``/``min``
given a dim as PyTorch spells it (``x.max(1)``, ``x.max(dim=1)``) return PyTorch's
``(values, indices)`` pair, the gradient going to the index taken; given ``axis=``, or no
axis, they return the values, as NumPy does, ties sharing the gradient.
"""
import builtins
from collections import namedtuple

from ..autograd import Function
from ..device import array_module
from ..tensor import _make
from .common import as_tensor, normalize_axis, pick_axis

MaxMin = namedtuple("MaxMin", ["values", "indices"])


def _count(shape, axis):
    """How many elements each output of a reduction over ``axis`` combines."""
    axes = range(len(shape)) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def _expand_back(g, shape, axis, keepdims):
    """Broadcast a reduced gradient back over the reduced axes of ``shape``."""
    xp = array_module(g)
    if not keepdims and axis is not None:
        g = xp.expand_dims(g, axis)
    return xp.broadcast_to(g, shape)


class Sum(Function):
    def forward(self, a, axis, keepdims):
        self.shape, self.axis, self.keepdims = a.shape, axis, keepdims
        return a.sum(axis=axis, keepdims=keepdims)

    def backward(self, g):
        return _expand_back(g, self.shape, self.axis, self.keepdims), None, None


class Mean(Function):
    def forward(self, a, axis, keepdims):
        self.shape, self.axis, self.keepdims = a.shape, axis, keepdims
        self.count = _count(a.shape, axis)
        return a.mean(axis=axis, keepdims=keepdims)

    def backward(self, g):
        return _expand_back(g / self.count, self.shape, self.axis, self.keepdims), None, None


class Extreme(Function):
    """max or min over ``axis``; ties share the gradient equally, and a NaN result's gradient
    goes to the NaNs (PyTorch's max/min)."""

    def forward(self, a, axis, keepdims, largest):
        xp = array_module(a)
        out = a.max(axis=axis, keepdims=True) if largest else a.min(axis=axis, keepdims=True)
        self.mask = (a == out) | (xp.isnan(a) & xp.isnan(out))
        self.axis, self.keepdims = axis, keepdims
        if keepdims:
            return out
        return out.reshape(()) if axis is None else out.squeeze(axis)

    def backward(self, g):
        xp = array_module(g)
        if not self.keepdims and self.axis is not None:
            g = xp.expand_dims(g, self.axis)
        count = self.mask.sum(axis=self.axis, keepdims=True)
        return g * self.mask / count, None, None, None


class Var(Function):
    def forward(self, a, axis, keepdims, correction):
        self.axis, self.keepdims = axis, keepdims
        self.centered = a - a.mean(axis=axis, keepdims=True)
        n = _count(a.shape, axis)
        self.denominator = builtins.max(n - correction, 0)
        squares = (self.centered * self.centered).sum(axis=axis, keepdims=keepdims)
        return squares / self.denominator if self.denominator else squares * float("nan")

    def backward(self, g):
        xp = array_module(g)
        if not self.keepdims and self.axis is not None:
            g = xp.expand_dims(g, self.axis)
        scale = 2.0 / self.denominator if self.denominator else float("nan")
        return g * scale * self.centered, None, None, None


class Std(Var):
    """sqrt(var); its gradient is 0 where every element is equal (std 0), as PyTorch's, where
    the chain rule through sqrt would give 0 * inf."""

    def forward(self, a, axis, keepdims, correction):
        self.std = array_module(a).sqrt(super().forward(a, axis, keepdims, correction))
        return self.std

    def backward(self, g):
        xp = array_module(g)
        zero = self.std == 0
        return super().backward(xp.where(zero, 0, g / (2 * xp.where(zero, 1, self.std))))


def _reduce_args(op, x, axis, keepdims, dim, keepdim):
    x = as_tensor(x)
    axis = normalize_axis(pick_axis(op, axis, dim), x.ndim, op)
    keepdims = bool(keepdims if keepdim is None else keepdim)
    return x, axis, keepdims


def sum(x, axis=None, keepdims=False, dim=None, keepdim=None):  # noqa: A001
    x, axis, keepdims = _reduce_args("sum", x, axis, keepdims, dim, keepdim)
    return Sum.apply(x, axis, keepdims)


def mean(x, axis=None, keepdims=False, dim=None, keepdim=None):
    x, axis, keepdims = _reduce_args("mean", x, axis, keepdims, dim, keepdim)
    if x.dtype.kind != "f":
        raise TypeError(f"mean: expected a floating-point tensor, got {x.dtype}")
    return Mean.apply(x, axis, keepdims)


class ExtremeAt(Function):
    """torch.max(x, dim) (or min): values and the index of each along ``axis`` (the first of
    ties, or of NaNs); the gradient goes to that index alone."""

    def forward(self, a, axis, keepdims, largest):
        xp = array_module(a)
        index = xp.expand_dims(a.argmax(axis=axis) if largest else a.argmin(axis=axis), axis)
        values = xp.take_along_axis(a, index, axis)      # the values at the index, no second pass
        self.shape, self.index, self.axis, self.keepdims = a.shape, index, axis, keepdims
        if not keepdims:
            values, index = values.squeeze(axis), index.squeeze(axis)
        return values, index.astype("int64", copy=False)

    def backward(self, g, g_index):
        xp = array_module(g)
        if not self.keepdims:
            g = xp.expand_dims(g, self.axis)
        positions = xp.arange(self.shape[self.axis]).reshape(
            [-1 if d == self.axis else 1 for d in range(len(self.shape))])
        taken = xp.where(positions == self.index, g, 0).astype(g.dtype, copy=False)
        return taken, None, None, None


def _extreme(op, x, axis, keepdims, dim, keepdim, largest):
    x, axis_n, keepdims = _reduce_args(op, x, axis, keepdims, dim, keepdim)
    if x.ndim == 0:           # its one axis is the element itself, as PyTorch reads dim 0
        axis_n, keepdims, x = (None, False, x) if dim is None else (0, False, x.reshape(1))
    if _count(x.shape, axis_n) == 0:
        raise ValueError(f"{op}: cannot reduce over an axis of size 0 (a tensor of shape "
                         f"{x.shape})")
    if dim is None:
        return Extreme.apply(x, axis_n, keepdims, largest)
    if isinstance(axis_n, tuple):
        raise TypeError(f"{op}: expected a single dim, got {dim} (axis={dim} reduces over "
                        f"several, returning the values)")
    return MaxMin(*ExtremeAt.apply(x, axis_n, keepdims, largest))


def max(x, dim=None, keepdim=None, *, axis=None, keepdims=False):  # noqa: A001
    return _extreme("max", x, axis, keepdims, dim, keepdim, True)


def min(x, dim=None, keepdim=None, *, axis=None, keepdims=False):  # noqa: A001
    return _extreme("min", x, axis, keepdims, dim, keepdim, False)


def _arg_extreme(op, x, axis, keepdims, dim, keepdim, largest):
    x, axis, keepdims = _reduce_args(op, x, axis, keepdims, dim, keepdim)
    if isinstance(axis, tuple):
        raise TypeError(f"{op}: expected a single axis, got {axis}")
    data = x._data
    out = data.argmax(axis=axis) if largest else data.argmin(axis=axis)
    if keepdims:
        out = out.reshape((1,) * data.ndim) if axis is None else array_module(data).expand_dims(out, axis)
    return _make(out.astype("int64", copy=False))


def argmax(x, axis=None, keepdims=False, dim=None, keepdim=None):
    return _arg_extreme("argmax", x, axis, keepdims, dim, keepdim, True)


def argmin(x, axis=None, keepdims=False, dim=None, keepdim=None):
    return _arg_extreme("argmin", x, axis, keepdims, dim, keepdim, False)


def _correction(op, correction, unbiased, ddof):
    given = [v for v in (correction, unbiased, ddof) if v is not None]
    if len(given) > 1:
        raise TypeError(f"{op}: pass only one of correction=, unbiased= and ddof=")
    if unbiased is not None:
        return 1 if unbiased else 0
    value = correction if correction is not None else ddof
    return 1 if value is None else value


def var(x, axis=None, keepdims=False, dim=None, keepdim=None, correction=None, unbiased=None,
        ddof=None):
    """Variance; unbiased (correction=1) by default as in PyTorch; ``ddof=0`` for NumPy's."""
    x, axis, keepdims = _reduce_args("var", x, axis, keepdims, dim, keepdim)
    return Var.apply(x, axis, keepdims, _correction("var", correction, unbiased, ddof))


def std(x, axis=None, keepdims=False, dim=None, keepdim=None, correction=None, unbiased=None,
        ddof=None):
    x, axis, keepdims = _reduce_args("std", x, axis, keepdims, dim, keepdim)
    return Std.apply(x, axis, keepdims, _correction("std", correction, unbiased, ddof))
