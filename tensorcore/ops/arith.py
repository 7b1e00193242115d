"""Elementwise arithmetic and math with NumPy broadcasting.

These run straight on the storage arrays (NumPy or CuPy): one library call each, nothing for
a hand-written kernel to fuse. Backward sums each gradient back to its input's shape.
"""
import math

import numpy as np

from ..autograd import Function
from ..device import array_module as _xp
from .common import as_tensor, broadcast_error, unbroadcast


class _Binary(Function):
    """Shared forward for the broadcasting binary ops: the error message on bad operands."""
    name = "binary op"

    def forward(self, a, b):
        try:
            return self.compute(a, b)
        except (ValueError, TypeError):
            raise broadcast_error(self.name, a, b) from None

    def grad_shape(self, i):
        target = self.inputs[i]     # a leaf tensor, or a (Function, index, shape) edge
        return target[2] if type(target) is tuple else target.shape


class Add(_Binary):
    name = "add"

    def compute(self, a, b):
        return a + b

    def backward(self, g):
        return (unbroadcast(g, self.grad_shape(0)) if self.needs_grad(0) else None,
                unbroadcast(g, self.grad_shape(1)) if self.needs_grad(1) else None)


class Sub(_Binary):
    name = "sub"

    def compute(self, a, b):
        return a - b

    def backward(self, g):
        return (unbroadcast(g, self.grad_shape(0)) if self.needs_grad(0) else None,
                unbroadcast(-g, self.grad_shape(1)) if self.needs_grad(1) else None)


class Mul(_Binary):
    name = "mul"

    def compute(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        return (unbroadcast(g * self.b, self.grad_shape(0)) if self.needs_grad(0) else None,
                unbroadcast(g * self.a, self.grad_shape(1)) if self.needs_grad(1) else None)


class Div(_Binary):
    name = "div"

    def compute(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        ga = gb = None
        if self.needs_grad(0):
            ga = unbroadcast(g / self.b, self.grad_shape(0))
        if self.needs_grad(1):
            gb = unbroadcast(-g * self.a / (self.b * self.b), self.grad_shape(1))
        return ga, gb


class Pow(_Binary):
    name = "pow"

    def compute(self, a, b):
        self.a, self.b = a, b
        self.out = a ** b
        return self.out

    def backward(self, g):
        # as PyTorch: d/da = b a^(b-1), taken as 0 where b == 0 (0 * 0^-1 would be NaN);
        # d/db = a^b log a, taken as 0 where a == 0 and b >= 0 (0 * -inf), -inf * g where
        # a == 0 and b < 0
        # (a Python number operand stays one: CuPy's where takes no Python bool, and an array
        # of it would promote float32 to float64)
        xp = _xp(self.out)
        a, b = self.a, self.b
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.needs_grad(0):
                da = b * a ** (b - 1)
                da = (0 if b == 0 else da) if _is_number(b) else xp.where(b == 0, 0, da)
                ga = unbroadcast(g * da, self.grad_shape(0))
            if self.needs_grad(1):
                db = self.out * (_log_number(a) if _is_number(a) else xp.log(a))
                gb = unbroadcast(g * xp.where((a == 0) & (b >= 0), 0, db), self.grad_shape(1))
        return ga, gb


def _is_number(x):
    return not hasattr(x, "shape")


def _log_number(x):
    """log of a Python number as NumPy's log of an array would give it: -inf at 0, NaN below."""
    return math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan)


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


class Exp(Function):
    def forward(self, a):
        self.out = _xp(a).exp(a)
        return self.out

    def backward(self, g):
        return g * self.out


class Log(Function):
    def forward(self, a):
        self.a = a
        return _xp(a).log(a)

    def backward(self, g):
        return g / self.a


class Sqrt(Function):
    def forward(self, a):
        self.out = _xp(a).sqrt(a)
        return self.out

    def backward(self, g):
        return g / (2 * self.out)


class Abs(Function):
    def forward(self, a):
        self.a = a
        return _xp(a).abs(a)

    def backward(self, g):
        return g * _xp(self.a).sign(self.a)


class Clamp(Function):
    """Gradient passes where ``low <= a <= high`` (PyTorch's convention at the bounds)."""

    def forward(self, a, low, high):
        xp = _xp(a)
        self.inside = xp.ones(a.shape, dtype=bool)
        if low is not None:
            self.inside &= a >= low
        if high is not None:
            self.inside &= a <= high
        # min > max: every element max (as PyTorch and NumPy's clip; some CuPy clips differ)
        out = a if low is None else xp.maximum(a, low)
        return out if high is None else xp.minimum(out, high)

    def backward(self, g):
        return g * self.inside, None, None


def exp(x):
    return Exp.apply(as_tensor(x))


def log(x):
    return Log.apply(as_tensor(x))


def sqrt(x):
    return Sqrt.apply(as_tensor(x))


def abs(x):  # noqa: A001  (tc.abs, as torch.abs)
    return Abs.apply(as_tensor(x))


def clamp(x, min=None, max=None):  # noqa: A002  (PyTorch's keyword names)
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    return Clamp.apply(as_tensor(x), min, max)


clip = clamp
