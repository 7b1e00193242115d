"""Optimizer updates on the GPU as "cuda.cupy": one fused in-place pass per parameter
(optim.cu). Registered by cupy_variants. Updates are in place, so operands that are not
C-contiguous are declined (a copy would lose the update) and the reference serves them."""
import numpy as np

from .cu_sources import kernel
from .cupy_variants import BLOCK, _dev, _grid_for, _require, _variant

FLOATS = ("float32", "float64")


def _in_place_operands(*arrays):
    _require(FLOATS, *arrays)
    if any(a.shape != arrays[0].shape or not a.flags.c_contiguous for a in arrays):
        raise NotImplementedError


def _launch(name, param, args):
    import cupy
    with cupy.cuda.Device(_dev(param)):
        kernel("optim.cu", name, param.dtype, device_id=_dev(param))(
            (_grid_for(param.size, _dev(param)),), (BLOCK,), args)


@_variant("sgd_step", "cuda.cupy")
def sgd_step(param, grad, velocity, lr, momentum, nesterov, weight_decay):
    _in_place_operands(param, grad, *([] if velocity is None else [velocity]))
    real = param.dtype.type
    _launch("sgd_step", param, (param, grad, param if velocity is None else velocity,
                                np.int32(velocity is not None), np.int64(param.size), real(lr),
                                real(momentum), np.int32(bool(nesterov)), real(weight_decay)))


@_variant("adam_step", "cuda.cupy")
def adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay,
              decoupled):
    _in_place_operands(param, grad, exp_avg, exp_avg_sq)
    real = param.dtype.type
    bias1, sqrt_bias2 = 1 - beta1 ** step, (1 - beta2 ** step) ** 0.5
    _launch("adam_step", param, (param, grad, exp_avg, exp_avg_sq, np.int64(param.size), real(lr),
                                 real(beta1), real(beta2), real(eps), real(weight_decay),
                                 np.int32(bool(decoupled)), real(bias1), real(sqrt_bias2)))
