"""The CUDA backend: kernel variants for device "cuda", one module per kernel source
(Numba kernels in tensorcore/kernels/numba/, CUDA C++ in tensorcore/kernels/cuda/ through
CuPy). Each module registers its variants with an availability check, so without a GPU (or
without CuPy/Numba) they are listed as unavailable and the reference serves."""
from . import numba_variants  # noqa: F401
from . import cupy_variants  # noqa: F401
