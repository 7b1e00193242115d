"""Reference kernels: vectorised NumPy/CuPy, the oracle every other variant is checked against.

Each module registers one op family for both devices through ``@reference``.
"""
from . import activations  # noqa: F401
from . import conv  # noqa: F401
from . import dropout  # noqa: F401
from . import losses  # noqa: F401
from . import lstm  # noqa: F401
from . import matmul  # noqa: F401
from . import optim  # noqa: F401
from . import pooling  # noqa: F401
from . import softmax  # noqa: F401
