"""Keras losses: ``loss(y_true, y_pred) -> scalar Tensor``, the batch mean as Keras reports it.
Probabilities are clipped to [EPSILON, 1 - EPSILON] before the log, as Keras does."""
import numpy as np

from ..nn import functional as F
from ..ops.common import as_tensor
from .arguments import lookup

EPSILON = 1e-7


def _same_shape(name, y_true, y_pred):
    if y_true.shape != y_pred.shape:
        hint = (" (integer class labels need loss='sparse_categorical_crossentropy' or "
                "keras.utils.to_categorical)" if "categorical" in name and y_true.ndim < y_pred.ndim
                else "")
        raise ValueError(f"{name}: arguments `target` and `output` must have the same shape. "
                         f"Received: target.shape={y_true.shape}, output.shape={y_pred.shape}{hint}")


def _targets(y_true, y_pred):
    """y_true as a float tensor of y_pred's dtype, a trailing axis added to match (N,) vs (N, 1)."""
    y_true = as_tensor(y_true)
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        y_true = y_true.unsqueeze(-1)
    return y_true.to(y_pred.dtype) if y_true.dtype != y_pred.dtype else y_true


def mean_squared_error(y_true, y_pred):
    y_true = _targets(y_true, y_pred)
    _same_shape("mean_squared_error", y_true, y_pred)
    return F.mse_loss(y_pred, y_true)


def mean_absolute_error(y_true, y_pred):
    y_true = _targets(y_true, y_pred)
    _same_shape("mean_absolute_error", y_true, y_pred)
    return (y_pred - y_true).abs().mean()


def binary_crossentropy(y_true, y_pred):
    y_true = _targets(y_true, y_pred)
    _same_shape("binary_crossentropy", y_true, y_pred)
    return F.binary_cross_entropy(y_pred.clip(EPSILON, 1 - EPSILON), y_true)


def categorical_crossentropy(y_true, y_pred):
    y_true = _targets(y_true, y_pred)
    _same_shape("categorical_crossentropy", y_true, y_pred)
    p = (y_pred / y_pred.sum(axis=-1, keepdims=True)).clip(EPSILON, 1 - EPSILON)
    return -(y_true * p.log()).sum(axis=-1).mean()


def sparse_categorical_crossentropy(y_true, y_pred):
    labels = np.asarray(as_tensor(y_true).numpy())
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.shape != y_pred.shape[:-1]:
        raise ValueError(f"sparse_categorical_crossentropy: expected integer labels of shape "
                         f"{y_pred.shape[:-1]} for output of shape {y_pred.shape}, received "
                         f"shape {labels.shape}")
    if labels.dtype.kind == "f" and not np.all(labels == np.round(labels)):
        raise ValueError("sparse_categorical_crossentropy: expected integer class labels, "
                         "received fractional values (one-hot targets need "
                         "loss='categorical_crossentropy')")
    log_p = y_pred.clip(EPSILON, 1 - EPSILON).log().reshape(-1, y_pred.shape[-1])
    return F.nll_loss(log_p, labels.reshape(-1).astype(np.int64))


LOSSES = {
    "mse": mean_squared_error, "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error,
    "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
}


def get(identifier):
    return identifier if callable(identifier) else lookup("loss", LOSSES, identifier)


def name_of(loss):
    """The canonical Keras name of a loss (what metric resolution keys on), or None."""
    for name, fn in LOSSES.items():
        if fn is loss and len(name) > 3:
            return name
    return getattr(loss, "__name__", None)
