"""The C++ CPU backend: kernel variants backed by the extension ``tensorcore._C``, one module
per kernel family. Each variant takes native float32/float64 arrays and declines anything else
(NotImplementedError), so the registry falls back to the reference."""
from . import gemm  # noqa: F401
from . import activations  # noqa: F401
from . import pooling  # noqa: F401
from . import softmax  # noqa: F401
from . import fused  # noqa: F401
from . import optim  # noqa: F401
from . import lstm  # noqa: F401
from . import conv  # noqa: F401
