"""tensorcore: a Python tensor engine whose hot ops run on hand-written, swappable kernels."""
__version__ = "0.1.0"

from . import autograd  # noqa: E402  (first: tensor.py and the ops build on it)
from . import dtypes, errors  # noqa: E402,F401
from .dtypes import (bool_ as bool, float16, float32, float64, int8, int16, int32,  # noqa: E402,F401
                     int64, uint8)
from .dtypes import float16 as half, float32 as float, float64 as double  # noqa: E402,F401
from .dtypes import int32 as int, int64 as long  # noqa: E402,F401
from .tensor import SizeInt, Tensor, from_dlpack, from_numpy, is_tensor, tensor  # noqa: E402,F401
from . import kernels  # noqa: E402
from . import backends  # noqa: E402,F401
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: E402,F401
from .creation import (arange, empty, empty_like, eye, full, full_like, linspace,  # noqa: E402,F401
                       ones, ones_like, rand, randint, randn, zeros, zeros_like)
from .rng import manual_seed  # noqa: E402,F401
from .serialization import load, save  # noqa: E402,F401
from .ops.arith import abs, clamp, clip, exp, log, sqrt  # noqa: E402,F401
from .ops.reductions import argmax, argmin, max, mean, min, std, sum, var  # noqa: E402,F401
from .ops.shape import (cat, concatenate, expand, flatten, permute, reshape,  # noqa: E402,F401
                        squeeze, stack, transpose, unsqueeze)
from .ops.matmul import matmul  # noqa: E402,F401
from .ops.activations import relu, sigmoid, tanh  # noqa: E402,F401
from .ops.softmax import log_softmax, softmax  # noqa: E402,F401
from . import nn, optim  # noqa: E402,F401
from .device import cuda_available  # noqa: E402,F401
from . import cuda  # noqa: E402,F401  (tc.cuda: CUDA graphs, synchronize)
from .legacy import (BoolTensor, ByteTensor, DoubleTensor, FloatTensor, HalfTensor,  # noqa: E402,F401
                     IntTensor, LongTensor)

kernels.registry._force_from_env()
