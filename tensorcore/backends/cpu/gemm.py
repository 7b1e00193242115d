"""matmul as "cpu.gemm": the packed, register-blocked GEMM of csrc/matmul.cpp, reading any
strided or transposed view in place."""
from ...kernels.registry import register
from .common import PRIORITY, _C, available, require_float


@register("matmul", "cpu.gemm", priority=PRIORITY, available=available)
def matmul(a, b):
    require_float(a, b)
    if not (2 <= a.ndim <= 3 and 2 <= b.ndim <= 3) or a.shape[-1] != b.shape[-2]:
        raise NotImplementedError
    if a.ndim == b.ndim == 3 and a.shape[0] != b.shape[0] and 1 not in (a.shape[0], b.shape[0]):
        raise NotImplementedError
    if not (a.flags.aligned and b.flags.aligned):
        raise NotImplementedError
    return _C.matmul(a, b)
