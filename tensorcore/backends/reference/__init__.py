"""Reference kernels: vectorised NumPy/CuPy, the oracle every other variant is checked against.

Each module registers one op family for both devices through ``@reference``.
"""
from . import activations, matmul, softmax  # noqa: F401
