"""matmul reference: NumPy's (OpenBLAS) or CuPy's (cuBLAS) matmul — also the vendor baseline."""
from ...device import array_module
from ...kernels.registry import reference


@reference("matmul")
def matmul(a, b):
    return array_module(a).matmul(a, b)
