"""Numba CUDA kernels for the hot ops, one module per op family.

Each module exposes the op under its catalog name (``matmul.matmul(a, b)``, ...) taking and
returning device arrays: CuPy arrays on a GPU, or NumPy arrays under Numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``), which is how the tests run them on a machine without a GPU.
Outputs are allocated with the array module of the inputs, so the same code serves both.

Numba is optional: nothing here imports it until a kernel is first built, so importing these
modules never fails without it. tensorcore/backends/cuda/numba_variants.py registers them as
the "cuda.numba" variants.
"""
