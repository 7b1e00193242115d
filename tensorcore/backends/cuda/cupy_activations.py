"""Activation, softmax and cross-entropy variants on the GPU: "cuda.cupy" from elementwise.cu
and softmax.cu, "cuda.cupy_ops" as single-pass CuPy ElementwiseKernels (CuPy's own baseline).
Registered by cupy_variants; priorities and availability are explained there."""
import functools

import numpy as np

from ...device import cuda_available
from ...kernels.registry import register
from .cu_sources import kernel
from .cupy_variants import BLOCK, PRIORITY, _cupy, _dev, _grid_for, _require

FLOATS = ("float32", "float64")


def _variant(op, name):
    return register(op, name, priority=PRIORITY[name], available=cuda_available)


def _flat_operands(*arrays):
    """Decline unless the arrays share one float dtype and shape and are C-contiguous and
    16-byte aligned (the vector loads need both)."""
    _require(FLOATS, *arrays)
    for a in arrays:
        if a.shape != arrays[0].shape or not a.flags.c_contiguous or a.data.ptr % 16:
            raise NotImplementedError


def _launch(name, x, args):
    cupy = _cupy()
    vec = 16 // x.itemsize
    with cupy.cuda.Device(_dev(x)):
        kernel("elementwise.cu", name, x.dtype, device_id=_dev(x))(
            (_grid_for(-(-x.size // vec), _dev(x)),), (BLOCK,), args)


_PARAMETERS = {"relu": (), "sigmoid": (), "tanh": (), "leaky_relu": ("negative_slope",),
               "gelu": ("approximate",)}   # each op's parameters after its arrays (catalog.py)
GELU_KERNELS = {"none": "gelu", "tanh": "gelu_tanh"}


def _kernel_and_param(op, params):
    """The elementwise.cu kernel prefix for ``op`` with ``params``, and its scalar ``param``."""
    if op == "gelu":
        if params["approximate"] not in GELU_KERNELS:
            raise NotImplementedError       # the reference names the bad value
        return GELU_KERNELS[params["approximate"]], 0.0
    return op, params.get("negative_slope", 0.0)


def _register_activation(op):
    """"cuda.cupy" variants of ``op`` (x, *params) and ``op``_backward (grad, x, y, *params)."""
    def forward(x, *args, **params):
        params.update(zip(_PARAMETERS[op], args))
        _flat_operands(x)
        name, param = _kernel_and_param(op, params)
        y = _cupy().empty_like(x)
        _launch(name + "_forward", x, (x, y, np.int64(x.size), x.dtype.type(param)))
        return y

    def backward(grad, x, y, *args, **params):
        params.update(zip(_PARAMETERS[op], args))
        _flat_operands(grad, x, y)
        name, param = _kernel_and_param(op, params)
        dx = _cupy().empty_like(x)
        _launch(name + "_backward", x, (grad, x, y, dx, np.int64(x.size), x.dtype.type(param)))
        return dx

    _variant(op, "cuda.cupy")(forward)
    _variant(op + "_backward", "cuda.cupy")(backward)


for _name in _PARAMETERS:
    _register_activation(_name)


# ---- CuPy's own single-pass elementwise kernels, the baseline for ours ----

_CUPY_OPS = {   # op: (inputs, expression for the output "out")
    "relu": ("T x", "out = x > 0 ? x : (T)0"),
    "relu_backward": ("T g, T x, T y", "out = y > 0 ? g : (T)0"),
    "sigmoid": ("T x", "T e = exp(-fabs(x)); out = x >= 0 ? 1 / (1 + e) : e / (1 + e)"),
    "sigmoid_backward": ("T g, T x, T y", "out = g * y * (1 - y)"),
    "tanh": ("T x", "out = tanh(x)"),
    "tanh_backward": ("T g, T x, T y", "out = g * (1 - y * y)"),
}


@functools.lru_cache(maxsize=None)
def _cupy_op(op):
    inputs, body = _CUPY_OPS[op]
    return _cupy().ElementwiseKernel(inputs, "T out", body, f"tensorcore_{op}")


def _register_cupy_op(op):
    def run(*arrays):
        _require(FLOATS, *arrays)
        return _cupy_op(op)(*arrays)
    _variant(op, "cuda.cupy_ops")(run)


for _op in _CUPY_OPS:
    _register_cupy_op(_op)


# ---- softmax, log_softmax, cross-entropy: softmax.cu ----

def _row_launch(name, x, rows, cols, args):
    """A warp per row for up to 1024 columns (8 rows per block), else a block per row."""
    cupy = _cupy()
    threads = 32 if cols <= 1024 else 256 if cols <= 16384 else 1024
    per_block = 8 if threads == 32 else 1
    with cupy.cuda.Device(_dev(x)):
        kernel("softmax.cu", name, x.dtype, device_id=_dev(x))(
            (-(-rows // per_block),), (threads, per_block), args)


def _rows_last(x, axis):
    """x with ``axis`` moved last, C-contiguous, and the (rows, cols) it is viewed as."""
    cupy = _cupy()
    axis = axis % x.ndim
    moved = cupy.ascontiguousarray(cupy.moveaxis(x, axis, -1))
    cols = moved.shape[-1] if moved.ndim else 1
    if moved.size == 0 or cols >= 2**31:
        raise NotImplementedError
    return moved, moved.size // cols, cols


def _softmax_forward(log_output):
    def run(x, axis):
        _require(FLOATS, x)
        if x.ndim == 0:
            raise NotImplementedError
        moved, rows, cols = _rows_last(x, axis)
        y = _cupy().empty_like(moved)
        _row_launch("softmax_forward", x, rows, cols,
                    (moved, y, np.int64(rows), np.int32(cols), np.int32(log_output)))
        return _cupy().moveaxis(y, -1, axis)
    return run


def _softmax_backward(log_output):
    def run(grad, y, axis):
        _require(FLOATS, grad, y)
        if y.ndim == 0 or grad.shape != y.shape:
            raise NotImplementedError
        (g, rows, cols), (y_rows, _, _) = _rows_last(grad, axis), _rows_last(y, axis)
        dx = _cupy().empty_like(g)
        _row_launch("softmax_backward", y, rows, cols,
                    (g, y_rows, dx, np.int64(rows), np.int32(cols), np.int32(log_output)))
        return _cupy().moveaxis(dx, -1, axis)
    return run


for _log, _name in ((0, "softmax"), (1, "log_softmax")):
    _variant(_name, "cuda.cupy")(_softmax_forward(_log))
    _variant(_name + "_backward", "cuda.cupy")(_softmax_backward(_log))


def _class_rows(logits, target):
    _require(FLOATS, logits)
    if logits.ndim != 2 or target.dtype != np.int64 or target.shape != logits.shape[:1]:
        raise NotImplementedError
    cupy = _cupy()
    return cupy.ascontiguousarray(logits), cupy.ascontiguousarray(target), *logits.shape


@_variant("cross_entropy", "cuda.cupy")
def cross_entropy(logits, target):
    logits, target, rows, cols = _class_rows(logits, target)
    if rows == 0 or cols == 0:
        raise NotImplementedError
    loss, log_probs = _cupy().empty(rows, logits.dtype), _cupy().empty_like(logits)
    _row_launch("cross_entropy_forward", logits, rows, cols,
                (logits, target, loss, log_probs, np.int64(rows), np.int32(cols)))
    return loss, log_probs


@_variant("cross_entropy_backward", "cuda.cupy")
def cross_entropy_backward(grad, log_probs, target):
    log_probs, target, rows, cols = _class_rows(log_probs, target)
    _require(FLOATS, grad, log_probs)
    if rows == 0 or cols == 0 or grad.shape != (rows,):
        raise NotImplementedError
    dlogits = _cupy().empty_like(log_probs)
    _row_launch("cross_entropy_backward", log_probs, rows, cols,
                (_cupy().ascontiguousarray(grad), log_probs, target, dlogits, np.int64(rows),
                 np.int32(cols)))
    return dlogits


# ---- bias_act: bias + activation in one pass (elementwise.cu); its backward reuses the
# activation's backward kernel with y for x ----

BIAS_ACTIVATIONS = ("none", "relu", "sigmoid", "tanh")


@_variant("bias_act", "cuda.cupy")
def bias_act(x, bias, activation):
    _require(FLOATS, x, bias)
    if activation not in BIAS_ACTIVATIONS or x.ndim == 0 or bias.shape != x.shape[-1:]:
        raise NotImplementedError
    x, bias = _cupy().ascontiguousarray(x), _cupy().ascontiguousarray(bias)
    y = _cupy().empty_like(x)
    if y.size:
        _launch(f"bias_{activation}_forward", x,
                (x, bias, y, np.int64(x.size), np.int32(x.shape[-1])))
    return y


@_variant("bias_act_backward", "cuda.cupy")
def bias_act_backward(grad, y, activation):
    if activation not in BIAS_ACTIVATIONS:
        raise NotImplementedError
    if activation == "none":
        dx = grad.copy()
    else:
        _flat_operands(grad, y)
        dx = _cupy().empty_like(y)
        _launch(activation + "_backward", y,
                (grad, y, y, dx, np.int64(y.size), y.dtype.type(0)))
    return dx, dx.reshape(-1, dx.shape[-1]).sum(axis=0)
