"""Tensor creation: zeros, ones, empty, full, *_like, arange, linspace, eye, rand, randn, randint."""
import numpy as np

from . import device as devices
from . import dtypes, rng
from .tensor import _make


def _shape(op, shape):
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: expected integer sizes, got {shape!r}") from None
    if any(s < 0 for s in shape):
        raise ValueError(f"{op}: negative size in shape {shape}")
    return shape


def _finish(op, array, device, requires_grad):
    if device is not None:
        array = devices.move(array, devices.normalize(device, op))
    out = _make(array)
    return out.requires_grad_(True) if requires_grad else out


def _dtype(op, dtype, default=dtypes.default_float):
    return default if dtype is None else dtypes.resolve(dtype, op)


def _filled(op, fill, shape, dtype, device, requires_grad):
    """A new tensor of ``shape`` made on its device directly (no host round trip)."""
    shape, dtype = _shape(op, shape), _dtype(op, dtype)
    device = "cpu" if device is None else devices.normalize(device, op)
    xp = devices.module(device)
    with devices.on(device):
        array = xp.empty(shape, dtype) if fill is None else xp.full(shape, fill, dtype=dtype)
    return _finish(op, array, None, requires_grad)


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    return _filled("zeros", 0, shape, dtype, device, requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad=False):
    return _filled("ones", 1, shape, dtype, device, requires_grad)


def empty(*shape, dtype=None, device=None, requires_grad=False):
    return _filled("empty", None, shape, dtype, device, requires_grad)


def full(shape, fill_value, dtype=None, device=None, requires_grad=False):
    shape = shape if isinstance(shape, (tuple, list)) else (shape,)
    if dtype is None and isinstance(fill_value, (bool, int)) and not isinstance(fill_value, float):
        dtype = dtypes.bool_ if isinstance(fill_value, bool) else dtypes.int64
    return _filled("full", fill_value, (tuple(shape),), dtype, device, requires_grad)


def _like(op, fill, t, dtype, device, requires_grad):
    return _filled(op, fill, (t.shape,), dtype or t.dtype, device or t.device, requires_grad)


def zeros_like(t, dtype=None, device=None, requires_grad=False):
    return _like("zeros_like", 0, t, dtype, device, requires_grad)


def ones_like(t, dtype=None, device=None, requires_grad=False):
    return _like("ones_like", 1, t, dtype, device, requires_grad)


def empty_like(t, dtype=None, device=None, requires_grad=False):
    return _like("empty_like", None, t, dtype, device, requires_grad)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False):
    return _like("full_like", fill_value, t, dtype, device, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """Like torch.arange: int64 for integer arguments, the default float otherwise."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    dtype = _dtype("arange", dtype, dtypes.int64 if integral else dtypes.default_float)
    return _finish("arange", np.arange(start, end, step).astype(dtype), device, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    array = np.linspace(start, end, int(steps)).astype(_dtype("linspace", dtype))
    return _finish("linspace", array, device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    return _finish("eye", np.eye(n, m, dtype=_dtype("eye", dtype)), device, requires_grad)


def rand(*shape, dtype=None, device=None, requires_grad=False):
    """Uniform on [0, 1), from the generator ``tc.manual_seed`` seeds."""
    array = rng.generator().random(_shape("rand", shape)).astype(_dtype("rand", dtype))
    return _finish("rand", array, device, requires_grad)


def randn(*shape, dtype=None, device=None, requires_grad=False):
    """Standard normal, from the generator ``tc.manual_seed`` seeds."""
    array = rng.generator().standard_normal(_shape("randn", shape)).astype(_dtype("randn", dtype))
    return _finish("randn", array, device, requires_grad)


def randint(low, high=None, size=(), dtype=None, device=None):
    if high is None:
        low, high = 0, low
    array = rng.generator().integers(low, high, size=_shape("randint", (size,)))
    return _finish("randint", array.astype(_dtype("randint", dtype, dtypes.int64)), device, False)
