"""Dropout: keep each element with probability 1 - p and scale the kept ones by 1 / (1 - p)."""
import numpy as np

from ...kernels.registry import reference


@reference("dropout")
def dropout(x, p, generator):
    scale = 1.0 / (1.0 - p) if p < 1 else 0.0
    keep = generator.random(x.shape, dtype=np.float32) >= p
    mask = keep.astype(x.dtype) * scale                  # stays x.dtype: scale is a Python float
    return x * mask, mask
