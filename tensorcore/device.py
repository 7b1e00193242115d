"""Devices: "cpu" holds NumPy arrays, "cuda" / "cuda:N" hold CuPy arrays.

CuPy is imported only when a CUDA device is asked for, so the CPU path never pays for it.
"""
import contextlib
import functools
import sys
import types

import numpy as np

from .errors import DeviceError
from .extension import load_extension

_extension = load_extension()
# without the extension (or one built before owns_buffer) there are no kernel buffers
_owns_kernel_buffer = getattr(_extension, "owns_buffer", lambda array: False)


@functools.lru_cache(maxsize=None)
def cupy_or_none():
    """The cupy module when CuPy imports and sees at least one GPU, else None."""
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() > 0:
            return cupy
    except Exception:  # no CuPy, no driver, or no device: CUDA is simply unavailable
        pass
    return None


def cuda_available():
    return cupy_or_none() is not None


def normalize(device, op="tensor"):
    """"cpu" or "cuda:N" for a device spelling ("cpu", "cuda", "cuda:1", or an object whose
    str() is one, such as torch.device); raises DeviceError naming ``op``."""
    name = str(device)
    if name == "cpu":
        return "cpu"
    if name == "cuda" or name.startswith("cuda:"):
        index = name[5:] or "0"
        if not index.isdigit():
            raise DeviceError(f"{op}: unknown device {device!r}; expected 'cpu', 'cuda' or 'cuda:N'")
        cupy = cupy_or_none()
        if cupy is None:
            raise DeviceError(f"{op}: device {device!r} requested but CUDA is not available "
                              "(no CuPy installed or no GPU found); use device='cpu'")
        count = cupy.cuda.runtime.getDeviceCount()
        if int(index) >= count:
            raise DeviceError(f"{op}: device {device!r} requested but only {count} GPU(s) found")
        return f"cuda:{int(index)}"
    raise DeviceError(f"{op}: unknown device {device!r}; expected 'cpu', 'cuda' or 'cuda:N'")


def of(array):
    """The device string of a NumPy or CuPy array."""
    if isinstance(array, (np.ndarray, np.generic)):
        return "cpu"
    return f"cuda:{array.device.id}"


def array_module(array):
    """numpy for host arrays (and the scalars NumPy returns for 0-d results), cupy for
    device arrays."""
    if isinstance(array, (np.ndarray, np.generic)):
        return np
    return cupy_or_none()


def owns_memory(array):
    """Whether ``array`` is not a view: NumPy or CuPy allocated its memory for it, or it is a
    C++ kernel's output array over its own buffer."""
    return array.flags.owndata or _owns_kernel_buffer(array)


def move(array, device):
    """``array`` on ``device`` (a normalized device string); no copy when already there."""
    if device == "cpu":
        return array if isinstance(array, np.ndarray) else array.get()
    cupy = cupy_or_none()
    with cupy.cuda.Device(int(device[5:])):
        return cupy.asarray(array)


def is_device_array(obj):
    """True for arrays tensorcore can hold as storage: NumPy or CuPy ndarrays."""
    if isinstance(obj, np.ndarray):
        return True
    return type(obj).__module__.startswith("cupy") and hasattr(obj, "__cuda_array_interface__")


def module(device):
    """numpy for "cpu", cupy for "cuda:N" (a normalized device string)."""
    return np if device == "cpu" else cupy_or_none()


def on(device):
    """A context in which new CuPy arrays land on ``device``; does nothing for the cpu."""
    if device == "cpu":
        return contextlib.nullcontext()
    return cupy_or_none().cuda.Device(int(device[5:]))


class _CallableModule(types.ModuleType):
    """``tc.device`` is this module and, like ``torch.device``, callable: ``tc.device("cuda")``
    or ``tc.device("cuda", 1)`` gives the device's name, which every ``.to()`` takes. (Asking
    for a GPU is checked when a tensor moves there, as in PyTorch.)"""

    def __call__(self, type, index=None):
        name = str(type) if index is None else f"{type}:{index}"
        if name != "cpu" and name != "cuda" and not (name.startswith("cuda:") and name[5:].isdigit()):
            raise DeviceError(f"device: unknown device {name!r}; expected 'cpu', 'cuda' or 'cuda:N'")
        return name


sys.modules[__name__].__class__ = _CallableModule
