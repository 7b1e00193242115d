"""Keras-style metrics: objects with ``update_state(y_true, y_pred)``, ``result()``,
``reset_state()`` and ``name``, accumulating sample-weighted means over batches.

Values are NumPy arrays (the trainer hands over ``y_pred`` detached, on the host).
"""
import numpy as np

from ..tensor import Tensor


def _host(a):
    return a.numpy() if isinstance(a, Tensor) else np.asarray(a)


class Mean:
    """The running mean of the values given, each with a weight (a batch's size)."""

    def __init__(self, name="mean"):
        self.name = name
        self.reset_state()

    def reset_state(self):
        self.total, self.count = 0.0, 0.0

    def update_state(self, value, weight=1.0):
        self.total += float(value) * weight
        self.count += weight

    def result(self):
        return self.total / self.count if self.count else 0.0


class MeanMetricWrapper(Mean):
    """The mean over samples of ``fn(y_true, y_pred)``, a per-sample value (shape (n,))."""

    def __init__(self, fn, name=None, **fn_kwargs):
        super().__init__(name or fn.__name__)
        self.fn, self.fn_kwargs = fn, fn_kwargs

    def update_state(self, y_true, y_pred):
        values = np.asarray(self.fn(_host(y_true), _host(y_pred), **self.fn_kwargs),
                            dtype=np.float64)
        self.total += float(values.sum())
        self.count += values.size


def _match_rank(y_true, y_pred):
    """Labels as (n,) against predictions (n, 1): compare like with like, as Keras does."""
    if y_true.ndim == y_pred.ndim - 1:
        y_true = y_true[..., None]
    return y_true


def binary_accuracy(y_true, y_pred, threshold=0.5):
    y_true = _match_rank(y_true, y_pred)
    hits = (y_pred > threshold) == (y_true > 0.5)
    return hits.reshape(len(hits), -1).mean(axis=1)


def categorical_accuracy(y_true, y_pred):
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float64)


def sparse_categorical_accuracy(y_true, y_pred):
    if y_true.ndim == y_pred.ndim:          # labels (n, 1) against scores (n, classes)
        y_true = y_true.squeeze(-1)
    return (y_true.astype(np.int64) == np.argmax(y_pred, axis=-1)).astype(np.float64)


def mean_squared_error(y_true, y_pred):
    diff = y_pred - _match_rank(y_true, y_pred)
    return (diff ** 2).reshape(len(diff), -1).mean(axis=1)


def mean_absolute_error(y_true, y_pred):
    diff = y_pred - _match_rank(y_true, y_pred)
    return np.abs(diff).reshape(len(diff), -1).mean(axis=1)


def accuracy_by_shape(y_true, y_pred):
    """Keras 3's choice for "accuracy" when the loss does not decide it: binary for one
    output unit, sparse when the labels have a lower rank (or one column), else categorical."""
    if y_pred.shape[-1] == 1 or y_pred.ndim == 1:
        return binary_accuracy(y_true, y_pred)
    if y_true.ndim < y_pred.ndim or y_true.shape[-1] == 1:
        return sparse_categorical_accuracy(y_true, y_pred)
    return categorical_accuracy(y_true, y_pred)


class BinaryAccuracy(MeanMetricWrapper):
    def __init__(self, name="binary_accuracy", threshold=0.5):
        super().__init__(binary_accuracy, name, threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name="categorical_accuracy"):
        super().__init__(categorical_accuracy, name)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name="sparse_categorical_accuracy"):
        super().__init__(sparse_categorical_accuracy, name)


class MeanSquaredError(MeanMetricWrapper):
    def __init__(self, name="mean_squared_error"):
        super().__init__(mean_squared_error, name)


class MeanAbsoluteError(MeanMetricWrapper):
    def __init__(self, name="mean_absolute_error"):
        super().__init__(mean_absolute_error, name)


_BY_NAME = {
    "binary_accuracy": binary_accuracy, "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "mse": mean_squared_error, "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error,
}
_ACCURACY_FOR_LOSS = {
    "binary_crossentropy": binary_accuracy, "bce": binary_accuracy,
    "sparse_categorical_crossentropy": sparse_categorical_accuracy,
    "categorical_crossentropy": categorical_accuracy,
}


def resolve_metric(metric, loss_name=None, output_shape=None):
    """A metric object from what a user passed to ``compile(metrics=[...])``.

    ``"accuracy"``/``"acc"`` become binary accuracy when the loss is binary cross-entropy or
    the model has one output unit, sparse categorical for sparse categorical cross-entropy,
    categorical for categorical cross-entropy, and otherwise are chosen from the shapes of
    each batch (Keras 3's rule); the metric keeps the name the user wrote. Other names:
    binary/categorical/sparse_categorical_accuracy, mse, mae (and their long names). A metric
    object passes through; a function ``fn(y_true, y_pred) -> per-sample values`` is wrapped
    under its ``__name__``."""
    if hasattr(metric, "update_state") and hasattr(metric, "result"):
        return metric
    if isinstance(metric, str):
        if metric in ("accuracy", "acc"):
            if loss_name in _ACCURACY_FOR_LOSS:
                return MeanMetricWrapper(_ACCURACY_FOR_LOSS[loss_name], metric)
            if output_shape is not None and tuple(output_shape)[-1:] == (1,):
                return MeanMetricWrapper(binary_accuracy, metric)
            return MeanMetricWrapper(accuracy_by_shape, metric)
        if metric in _BY_NAME:
            return MeanMetricWrapper(_BY_NAME[metric], metric)
        known = ", ".join(repr(k) for k in ["accuracy", "acc", *_BY_NAME])
        raise ValueError(f"unknown metric {metric!r}; known metrics: {known}, a metric object "
                         f"or a function fn(y_true, y_pred)")
    if callable(metric):
        return MeanMetricWrapper(metric, getattr(metric, "__name__", type(metric).__name__))
    raise TypeError(f"a metric must be a name, a metric object or a function, got "
                    f"{type(metric).__name__} {metric!r}")
