"""Reference kernels: vectorised NumPy/CuPy, the oracle every other variant is checked against.

Each module registers one op family for both devices through ``@reference``.
"""
from . import activations  # noqa: F401
from . import matmul  # noqa: F401
from . import softmax  # noqa: F401
