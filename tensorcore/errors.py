"""Exceptions raised for bad input.

Shape and device errors subclass both ``ValueError`` (the Python convention) and
``RuntimeError`` (what PyTorch raises for the same mistakes), so code written for either
catches them. Messages name the op and the expected and received values.
"""


class ShapeError(ValueError, RuntimeError):
    """Shapes that do not fit the op: wrong rank, mismatched or non-broadcastable sizes."""


class DeviceError(ValueError, RuntimeError):
    """An unknown or unavailable device, or tensors on different devices in one op."""


class TensorIndexError(IndexError, ValueError):
    """An index out of range for the tensor's shape."""


class KernelMismatchError(RuntimeError):
    """``TENSORCORE_VALIDATE=1`` found a kernel variant disagreeing with the reference."""


class DTypeError(TypeError, RuntimeError):
    """A dtype the op does not take, or operands whose dtypes must agree and do not."""


class OutOfMemoryError(MemoryError, RuntimeError):
    """A kernel ran out of device (or host) memory; the message names the op and the device."""
