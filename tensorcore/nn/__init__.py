"""tensorcore.nn: layers and the functional API (PyTorch style)."""
from . import functional  # noqa: F401
