"""Kernel backends: reference (NumPy/CuPy), cpu (the C++ extension tensorcore._C), cuda."""
from . import reference  # noqa: F401
