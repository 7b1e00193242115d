"""Keras' default initialisers, drawn from tensorcore's generator (tc.manual_seed repeats)."""
import math

import numpy as np

from .. import rng
from .arguments import lookup


def _fans(shape):
    """fan_in, fan_out of a Keras-layout kernel: (in, out) or (kh, kw, in, out)."""
    if len(shape) < 2:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


def glorot_uniform(shape):
    fan_in, fan_out = _fans(shape)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.generator().uniform(-limit, limit, size=shape)


def he_uniform(shape):
    limit = math.sqrt(6.0 / _fans(shape)[0])
    return rng.generator().uniform(-limit, limit, size=shape)


def orthogonal(shape):
    """(rows, cols) with orthonormal rows or columns, as Keras' recurrent kernels."""
    rows, cols = shape
    a = rng.generator().standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))                 # a uniform draw over orthogonal matrices
    return q if rows >= cols else q.T


def random_uniform(shape):
    return rng.generator().uniform(-0.05, 0.05, size=shape)


def zeros(shape):
    return np.zeros(shape)


def ones(shape):
    return np.ones(shape)


INITIALIZERS = {f.__name__: f for f in (glorot_uniform, he_uniform, orthogonal, random_uniform,
                                        zeros, ones)}


def get(identifier):
    return identifier if callable(identifier) else lookup("initializer", INITIALIZERS, identifier)
