"""CUDA variants from the CUDA C++ kernels of tensorcore/kernels/cuda/ (loaded by cu_sources),
plus the vendor and CuPy baselines named as variants:

    cuda.cupy      our kernels: sgemm.cu, conv2d.cu, lstm_cell.cu, elementwise.cu, softmax.cu
    cuda.tf32      matmul on the tensor cores in TF32 (gemm_tf32.cu): ~1e-3 relative error,
                   below every exact variant, so it runs only when chosen:
                   tc.kernels.use(matmul="cuda.tf32")
    cuda.cublas    matmul through cupy.matmul (cuBLAS), the vendor baseline
    cuda.cupy_ops  activations as single-pass CuPy ElementwiseKernels, CuPy's own baseline

Priorities are the design's expectation until the H200 benchmark (benchmarks/cuda_kernels.py)
measures them: cuBLAS's fp32 GEMM is expected to beat our SGEMM, so it leads matmul; our fused
and vectorised kernels lead the other ops. Every variant declines (NotImplementedError) what it
does not handle -- other dtypes, non-contiguous elementwise operands -- and the next one runs.
"""
import numpy as np

from ...device import cuda_available
from ...kernels import registry
from ...kernels.registry import register
from . import cu_sources
from .cu_sources import kernel, multiprocessors

PRIORITY = {"cuda.cublas": 30, "cuda.cupy": 20, "cuda.cupy_ops": 15, "cuda.tf32": -10}
TF32_RTOL = 5e-3    # 10-bit mantissas: ~2^-11 per rounded input, summed over K in fp32
BLOCK = 256         # threads per block of the elementwise and LSTM kernels
matmul_op = registry.get("matmul")


def _cupy():
    import cupy
    return cupy


def _variant(op, name, **kwargs):
    return register(op, name, priority=PRIORITY[name], available=cuda_available, **kwargs)


def _require(dtypes, *arrays):
    """Decline unless every array has one dtype among ``dtypes``."""
    dtype = arrays[0].dtype
    if dtype.name not in dtypes or any(a.dtype != dtype for a in arrays[1:]):
        raise NotImplementedError


def _dev(a):
    return a.device.id


def _grid_for(n_items, device_id):
    """Blocks for a grid-stride loop over n_items: enough to fill every SM (8 resident blocks
    of 256 threads each), no more."""
    return max(1, min(-(-n_items // BLOCK), multiprocessors(device_id) * 8))


# ---- matmul: sgemm.cu, gemm_tf32.cu, cuBLAS ----

def _operand(m):
    """(array, leading dimension, transposed) for the last two axes of m, read in place when
    one of them is contiguous, else from a contiguous copy."""
    s_row, s_col = (s // m.itemsize for s in m.strides[-2:])
    if any(s % m.itemsize or s < 0 for s in m.strides):
        return _operand(_cupy().ascontiguousarray(m))
    if s_col == 1:
        return m, s_row, False
    if s_row == 1:
        return m, s_col, True
    return _operand(_cupy().ascontiguousarray(m))


def _batch_stride(m, batch):
    return 0 if m.ndim == 2 or m.shape[0] == 1 else m.strides[0] // m.itemsize


def _aligned(m, ld, batch_stride):
    return int(m.data.ptr % 16 == 0 and ld % 4 == 0 and batch_stride % 4 == 0)


def _gemm(file, config, a, b):
    """a (M, K) or (B, M, K) @ b (K, N) or (B, K, N), fp32, with a batch of 1 broadcasting."""
    cupy = _cupy()
    _require(("float32",), a, b)
    if not (2 <= a.ndim <= 3 and 2 <= b.ndim <= 3) or a.shape[-1] != b.shape[-2]:
        raise NotImplementedError
    batches = {a.shape[0] if a.ndim == 3 else 1, b.shape[0] if b.ndim == 3 else 1}
    batch = max(batches)
    if len(batches - {1}) > 1 or batch > 65535:
        raise NotImplementedError
    (M, K), N = a.shape[-2:], b.shape[-1]
    out_shape = ((batch,) if max(a.ndim, b.ndim) == 3 else ()) + (M, N)
    if 0 in (M, N, K):
        return cupy.zeros(out_shape, dtype=a.dtype)
    c = cupy.empty(out_shape, dtype=a.dtype)
    a, lda, trans_a = _operand(a)
    b, ldb, trans_b = _operand(b)
    sa, sb, sc = _batch_stride(a, batch), _batch_stride(b, batch), M * N if c.ndim == 3 else 0
    if file == "sgemm.cu" and config is None:     # small tiles when large ones leave SMs idle
        large_blocks = -(-M // 128) * -(-N // 128) * batch
        config = "large" if large_blocks >= multiprocessors(_dev(a)) else "small"
    tiles = cu_sources.CONFIGS[file][config]
    grid = (-(-N // tiles["BN"]), -(-M // tiles["BM"]), batch)
    name = file.removesuffix(".cu")
    with cupy.cuda.Device(_dev(a)):
        kernel(file, name, "float32", config, _dev(a))(
            grid, (cu_sources.threads_per_block(file, config),),
            (a, b, c, np.int32(M), np.int32(N), np.int32(K), np.int64(lda), np.int64(ldb),
             np.int64(N), np.int64(sa), np.int64(sb), np.int64(sc), np.int32(trans_a),
             np.int32(trans_b), np.int32(_aligned(a, lda, sa)), np.int32(_aligned(b, ldb, sb)),
             np.int32(_aligned(c, N, sc))))
    return c


@_variant("matmul", "cuda.cupy")
def matmul_sgemm(a, b):
    return _gemm("sgemm.cu", None, a, b)


@_variant("matmul", "cuda.tf32", rtol=TF32_RTOL)
def matmul_tf32(a, b):
    return _gemm("gemm_tf32.cu", "default", a, b)


@_variant("matmul", "cuda.cublas")
def matmul_cublas(a, b):
    return _cupy().matmul(a, b)


# ---- conv2d: conv2d.cu ----

def _geometry(x_shape, w_shape, out_hw, stride, padding, dilation, groups):
    (N, C, H, W), (O, _, KH, KW) = x_shape, w_shape
    top, _, left, _ = padding
    return [np.int32(v) for v in (N, C, H, W, O, KH, KW, *out_hw, *stride, top, left,
                                  *dilation, groups)]


def _conv_launch(name, dtype, device_id, grid, args):
    _require(("float32", "float64"), *[a for a in args if hasattr(a, "dtype") and a.ndim])
    threads = cu_sources.threads_per_block("conv2d.cu", "default")
    kernel("conv2d.cu", name, dtype, "default", device_id)(grid, (threads,), args)


def _tiles():
    t = cu_sources.CONFIGS["conv2d.cu"]["default"]
    return t["BM"], t["BN"], t["BK"]


@_variant("conv2d", "cuda.cupy")
def conv2d(x, weight, bias, stride, padding, dilation, groups):
    cupy = _cupy()
    _require(("float32", "float64"), x, weight, *([] if bias is None else [bias]))
    (N, _, H, W), (O, _, KH, KW) = x.shape, weight.shape
    (sh, sw), (dh, dw), (top, bottom, left, right) = stride, dilation, padding
    OH = (H + top + bottom - dh * (KH - 1) - 1) // sh + 1
    OW = (W + left + right - dw * (KW - 1) - 1) // sw + 1
    if min(OH, OW, N, O) <= 0:
        raise NotImplementedError
    x, weight = cupy.ascontiguousarray(x), cupy.ascontiguousarray(weight)
    y = cupy.empty((N, O, OH, OW), dtype=x.dtype)
    bias_arg = weight if bias is None else cupy.ascontiguousarray(bias)     # unread without bias
    BM, BN, _ = _tiles()
    grid = (-(-N * OH * OW // BN), -(-(O // groups) // BM), groups)
    with cupy.cuda.Device(_dev(x)):
        _conv_launch("conv2d_forward", x.dtype, _dev(x), grid,
                     (x, weight, bias_arg, np.int32(bias is not None), y,
                      *_geometry(x.shape, weight.shape, (OH, OW), stride, padding, dilation,
                                 groups)))
    return y


@_variant("conv2d_backward_input", "cuda.cupy")
def conv2d_backward_input(grad, weight, x_shape, stride, padding, dilation, groups):
    cupy = _cupy()
    _require(("float32", "float64"), grad, weight)
    grad, weight = cupy.ascontiguousarray(grad), cupy.ascontiguousarray(weight)
    N, C, H, W = x_shape
    dx = cupy.empty(tuple(x_shape), dtype=grad.dtype)
    if dx.size == 0:
        return dx
    BM, BN, _ = _tiles()
    grid = (-(-N * H * W // BN), -(-(C // groups) // BM), groups)
    with cupy.cuda.Device(_dev(grad)):
        _conv_launch("conv2d_backward_input", grad.dtype, _dev(grad), grid,
                     (grad, weight, dx, *_geometry(x_shape, weight.shape, grad.shape[2:], stride,
                                                   padding, dilation, groups)))
    return dx


@_variant("conv2d_backward_weight", "cuda.cupy")
def conv2d_backward_weight(grad, x, weight_shape, stride, padding, dilation, groups):
    cupy = _cupy()
    _require(("float32", "float64"), grad, x)
    grad, x = cupy.ascontiguousarray(grad), cupy.ascontiguousarray(x)
    O, Cg, KH, KW = weight_shape
    N, _, OH, OW = grad.shape
    BM, BN, BK = _tiles()
    tiles = -(-Cg * KH * KW // BN) * -(-(O // groups) // BM) * groups
    # split the long K = N*OH*OW over blocks until ~2 waves fill the SMs, each split keeping
    # at least 16 slices of BK so the atomics stay few
    splits = max(1, min(2 * multiprocessors(_dev(x)) // tiles, N * OH * OW // (16 * BK)))
    dw = (cupy.zeros if splits > 1 else cupy.empty)(tuple(weight_shape), dtype=x.dtype)
    grid = (-(-Cg * KH * KW // BN), -(-(O // groups) // BM), groups * splits)
    with cupy.cuda.Device(_dev(x)):
        _conv_launch("conv2d_backward_weight", x.dtype, _dev(x), grid,
                     (grad, x, dw, np.int32(splits),
                      *_geometry(x.shape, weight_shape, (OH, OW), stride, padding, dilation,
                                 groups)))
    return dw, grad.sum(axis=(0, 2, 3))


# ---- lstm_cell: gate GEMMs through the matmul op, pointwise part fused (lstm_cell.cu) ----

@_variant("lstm_cell", "cuda.cupy")
def lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh):
    cupy = _cupy()
    _require(("float32", "float64"), x, h, c, w_ih, w_hh)
    B, H = h.shape
    pre_x, pre_h = matmul_op(x, w_ih.T), matmul_op(h, w_hh.T)         # each (B, 4H)
    biases = [b for b in (b_ih, b_hh) if b is not None]
    bias = sum(biases[1:], biases[0]) if biases else pre_x                # unread without bias
    outs = [cupy.empty(shape, x.dtype) for shape in ((B, H), (B, H), (B, 4 * H))]
    with cupy.cuda.Device(_dev(x)):
        kernel("lstm_cell.cu", "lstm_cell_forward", x.dtype, device_id=_dev(x))(
            (_grid_for(B * H, _dev(x)),), (BLOCK,),
            (cupy.ascontiguousarray(pre_x), cupy.ascontiguousarray(pre_h),
             cupy.ascontiguousarray(bias), np.int32(bool(biases)), cupy.ascontiguousarray(c),
             *outs, np.int32(B), np.int32(H)))
    return tuple(outs)


@_variant("lstm_cell_backward", "cuda.cupy")
def lstm_cell_backward(dh, dc, x, h, c, w_ih, w_hh, gates, c_new):
    cupy = _cupy()
    _require(("float32", "float64"), dh, dc, x, h, c, w_ih, w_hh, gates, c_new)
    B, H = h.shape
    dpre, dc_prev = cupy.empty((B, 4 * H), x.dtype), cupy.empty((B, H), x.dtype)
    contiguous = [cupy.ascontiguousarray(a) for a in (dh, dc, c, gates, c_new)]
    with cupy.cuda.Device(_dev(x)):
        kernel("lstm_cell.cu", "lstm_cell_backward", x.dtype, device_id=_dev(x))(
            (_grid_for(B * H, _dev(x)),), (BLOCK,),
            (*contiguous, dpre, dc_prev, np.int32(B), np.int32(H)))
    return (matmul_op(dpre, w_ih), matmul_op(dpre, w_hh), dc_prev,
            matmul_op(dpre.T, x), matmul_op(dpre.T, h), dpre.sum(axis=0))


from . import cupy_activations  # noqa: E402,F401  (activations, softmax, cross-entropy)
from . import cupy_optim  # noqa: E402,F401  (sgd_step, adam_step)
