"""Helpers shared by the op families: operand conversion, broadcasting, axes, devices."""
import numpy as np

from .. import device as devices
from ..autograd import is_grad_enabled
from ..errors import DeviceError, ShapeError
from ..tensor import Tensor, tensor


def as_tensor(x, like=None):
    """``x`` as a Tensor (no copy for a Tensor), on the device of ``like`` when given."""
    if isinstance(x, Tensor):
        return x
    t = tensor(x, dtype=like.dtype if like is not None and not isinstance(x, np.ndarray) else None)
    return t if like is None else t.to(like.device)


def write_in_place(x, y):
    """What an op's ``inplace=True`` returns: ``y`` written into ``x`` when no graph is being
    recorded for ``x``; while autograd records it, ``y`` itself (the tape cannot be rewritten
    in place)."""
    if x.requires_grad and is_grad_enabled():
        return y
    x._data[...] = y._data
    return x


def scalar_operand(x):
    """A binary op's non-tensor operand: NumPy scalars become Python scalars so that, as in
    PyTorch, ``float32_tensor * np.float64(2)`` stays float32."""
    return x.item() if isinstance(x, np.generic) else x


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes broadcasting added or stretched, back to ``shape``."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def normalize_axis(axis, ndim, op):
    """``axis`` (int, tuple or None) with negatives resolved; ShapeError when out of range."""
    if axis is None:
        return None
    if isinstance(axis, (tuple, list)):
        return tuple(normalize_axis(a, ndim, op) for a in axis)
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int or a tuple of ints, got {axis!r}")
    if not -max(ndim, 1) <= axis < max(ndim, 1):
        raise ShapeError(f"{op}: axis {axis} is out of range for a tensor of {ndim} dimensions "
                         f"(expected {-max(ndim, 1)} <= axis < {max(ndim, 1)})")
    return int(axis) % max(ndim, 1)


def pick_axis(op, axis, dim, default=None):
    """Accept NumPy's ``axis=`` or PyTorch's ``dim=`` (not both)."""
    if axis is not None and dim is not None:
        raise TypeError(f"{op}: pass axis= or dim=, not both (got axis={axis}, dim={dim})")
    return default if axis is None and dim is None else (dim if axis is None else axis)


def broadcast_error(op, *operands):
    """The error for operands that failed an elementwise op: devices first, then shapes."""
    arrays = [o for o in operands if hasattr(o, "shape")]
    places = {devices.of(a) for a in arrays if devices.is_device_array(a)}
    if len(places) > 1:
        return DeviceError(f"{op}: operands are on different devices: {sorted(places)}")
    shapes = " and ".join(str(tuple(a.shape)) for a in arrays)
    return ShapeError(f"{op}: shapes {shapes} are not broadcastable")


def check_same_device(op, *arrays):
    """Raise DeviceError unless all arrays (None skipped) live on one device."""
    first = None
    for a in arrays:
        if a is None:
            continue
        if first is None:
            first = a
        elif type(a) is not type(first) or (type(a) is not np.ndarray and a.device != first.device):
            raise DeviceError(f"{op}: expected all tensors on one device, got "
                              f"{devices.of(first)} and {devices.of(a)}")
