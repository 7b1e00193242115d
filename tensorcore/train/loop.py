"""The training loop behind fit/evaluate/predict (Keras 3's trainer, in small).

One ``Trainer`` owns the loops and talks to callbacks only through their ``on_*`` hooks;
the progress bar and the history are callbacks like any other.
"""
import contextlib

import numpy as np

from .. import autograd
from ..serialization import load as load_file, save as save_file
from ..tensor import Tensor, tensor
from . import inputs
from .arguments import reject_unknown
from .callbacks import Callback, CallbackList, History, get_weights as _get_weights, \
    set_weights as _set_weights
from .metrics import Mean, resolve_metric
from .progress import ProgressBar


class Trainer:
    """Fits ``model`` with ``optimizer`` to minimise ``loss``, reporting ``metrics``.

    model      callable on a batch Tensor -> Tensor, with ``parameters()`` (and, if it has
               them, ``train()``/``eval()``, ``state_dict()``/``load_state_dict()``)
    loss       ``loss(y_pred, y_true) -> scalar Tensor``, or None for a trainer that only predicts
    optimizer  ``zero_grad()`` and ``step()``; only the parameters it holds are updated
    metrics    metric objects or names (see ``metrics.resolve_metric``)
    callback_model  what callbacks see as ``self.model`` (default: this trainer); the loop
               reads ``callback_model.stop_training`` after every batch and epoch
    before_step     called with no arguments after ``backward()`` and before
               ``optimizer.step()`` (gradient clipping, freezing)
    """

    def __init__(self, model, loss, optimizer=None, metrics=(), callback_model=None,
                 before_step=None, **kwargs):
        reject_unknown("Trainer", kwargs, Trainer.__init__)
        if not callable(model):
            raise TypeError(f"Trainer: the model must be callable, got {type(model).__name__}")
        if loss is not None and not callable(loss):
            raise TypeError(f"Trainer: the loss must be callable as loss(y_pred, y_true) (or None "
                            f"to only predict), got {type(loss).__name__}")
        self.model, self.loss, self.optimizer = model, loss, optimizer
        self.metrics = [resolve_metric(m) for m in (metrics or ())]
        names = ["loss"] + [m.name for m in self.metrics]
        if len(set(names)) != len(names):
            raise ValueError(f"Trainer: metric names must be unique and not 'loss', got {names}")
        self.loss_tracker = Mean("loss")
        self.callback_model = self if callback_model is None else callback_model
        self.before_step = before_step
        self.stop_training = False
        self.history = None

    # ---- one batch ------------------------------------------------------------------------
    def train_step(self, x, y):
        """Forward, backward and one optimizer step on a batch; returns ``(y_pred, loss)``."""
        y_pred = self.model(x)
        loss = self._scalar_loss(y_pred, y)
        self.optimizer.zero_grad()      # before backward: also clears grads from other models
        loss.backward()
        if self.before_step is not None:
            self.before_step()
        self.optimizer.step()
        return y_pred, loss

    def test_step(self, x, y):
        y_pred = self.model(x)
        return y_pred, self._scalar_loss(y_pred, y)

    def _scalar_loss(self, y_pred, y):
        if self.loss is None:
            raise RuntimeError("Trainer: this trainer has no loss; it can only predict")
        loss = self.loss(y_pred, y)
        if not isinstance(loss, Tensor) or loss.numel() != 1:
            got = f"shape {loss.shape}" if isinstance(loss, Tensor) else type(loss).__name__
            raise ValueError(f"Trainer: the loss must return a scalar Tensor, got {got}")
        return loss

    def _record(self, y_pred, loss, y):
        """Add a batch to the running loss and metrics; returns the logs so far."""
        n = len(y) if y.ndim else 1
        self.loss_tracker.update_state(loss.item(), n)
        if self.metrics:
            y_host, pred_host = y.numpy(), y_pred.detach().numpy()
            for metric in self.metrics:
                metric.update_state(y_host, pred_host)
        return self._results()

    def _results(self):
        return {"loss": self.loss_tracker.result(),
                **{m.name: float(m.result()) for m in self.metrics}}

    def _reset_metrics(self):
        for metric in [self.loss_tracker, *self.metrics]:
            metric.reset_state()

    def train_on_batch(self, x, y):
        """One training step on the batch ``(x, y)``; returns its logs (loss, metrics)."""
        self._need_optimizer("train_on_batch")
        self._reset_metrics()
        x, y = self._batch_tensors("train_on_batch", x, y)
        with self._mode(training=True):
            return self._record(*self.train_step(x, y), y)

    def test_on_batch(self, x, y):
        self._reset_metrics()
        x, y = self._batch_tensors("test_on_batch", x, y)
        with self._mode(training=False), autograd.no_grad():
            return self._record(*self.test_step(x, y), y)

    def predict_on_batch(self, x):
        (x,) = self._batch_tensors("predict_on_batch", x)
        with self._mode(training=False), autograd.no_grad():
            return _to_host(self.model(x))

    # ---- whole datasets -------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0,
            **kwargs):
        """Train for epochs ``initial_epoch .. epochs-1``; returns the ``History``.

        ``x``/``y``: arrays or Tensors with one sample per row, or ``x`` a DataLoader (or any
        iterable of ``(x, y)`` batches) and ``y`` None. ``validation_split`` holds out the
        last fraction of the samples (before shuffling); ``validation_data`` is ``(x, y)`` or
        a loader. Each epoch logs loss, the metrics, and val_* of both."""
        reject_unknown("fit", kwargs, Trainer.fit)
        self._need_optimizer("fit")
        for name, value in (("epochs", epochs), ("initial_epoch", initial_epoch)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"fit: {name} must be a non-negative integer, got {value!r}")
        if validation_split and validation_data is None:
            (x, y), validation_data = inputs.split("fit", x, y, validation_split)
        train = self._batches("fit", x, y, batch_size, shuffle)
        val = None
        if validation_data is not None:
            val = self._batches("fit (validation_data)", *inputs.pair(validation_data), batch_size,
                                False)
        self.history = History()
        callbacks = self._callbacks(callbacks, verbose, self.history, epochs=epochs,
                                    steps=inputs.length(train))
        self.callback_model.stop_training = False
        callbacks.on_train_begin()
        epoch_logs = {}
        for epoch in range(initial_epoch, epochs):
            self._reset_metrics()
            callbacks.on_epoch_begin(epoch)
            with self._mode(training=True):
                for step, (xb, yb) in enumerate(train):
                    callbacks.on_train_batch_begin(step)
                    logs = self._record(*self.train_step(xb, yb), yb)
                    callbacks.on_train_batch_end(step, logs)
                    if self._stopping():
                        break
            epoch_logs = self._results()
            if val is not None:
                val_logs = self._evaluate(val, callbacks)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            callbacks.on_epoch_end(epoch, epoch_logs)
            if self._stopping():
                break
        callbacks.on_train_end(epoch_logs)
        return self.history

    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, callbacks=None, **kwargs):
        """The loss and metrics over ``(x, y)`` (or a loader), as a dict."""
        reject_unknown("evaluate", kwargs, Trainer.evaluate)
        batches = self._batches("evaluate", x, y, batch_size, False)
        return self._evaluate(batches, self._callbacks(callbacks, verbose, steps=inputs.length(batches)))

    def _evaluate(self, batches, callbacks):
        self._reset_metrics()
        callbacks.on_test_begin()
        with self._mode(training=False), autograd.no_grad():
            for step, (xb, yb) in enumerate(batches):
                callbacks.on_test_batch_begin(step)
                logs = self._record(*self.test_step(xb, yb), yb)
                callbacks.on_test_batch_end(step, logs)
        logs = self._results()
        callbacks.on_test_end(logs)
        return logs

    def predict(self, x, batch_size=None, verbose=0, callbacks=None, **kwargs):
        """The model's outputs for every sample of ``x``, concatenated, as a NumPy array (a
        list of arrays for a model with several outputs)."""
        reject_unknown("predict", kwargs, Trainer.predict)
        batches = self._batches("predict", x, None, batch_size, False, need_y=False)
        callbacks = self._callbacks(callbacks, verbose, steps=inputs.length(batches))
        outputs = []
        callbacks.on_predict_begin()
        with self._mode(training=False), autograd.no_grad():
            for step, batch in enumerate(batches):
                callbacks.on_predict_batch_begin(step)
                outputs.append(_to_host(self.model(batch[0])))
                callbacks.on_predict_batch_end(step, {"outputs": outputs[-1]})
        callbacks.on_predict_end()
        if not outputs:
            raise ValueError("predict: the data gave no batches")
        if isinstance(outputs[0], list):
            return [np.concatenate(parts) for parts in zip(*outputs)]
        return np.concatenate(outputs)

    # ---- weights --------------------------------------------------------------------------
    def get_weights(self):
        """A copy of the model's weights (its state dict, or a list of parameter arrays)."""
        if hasattr(self.model, "get_weights") or hasattr(self.model, "state_dict"):
            return _get_weights(self.model)
        return [p.numpy().copy() for p in self.model.parameters()]

    def set_weights(self, weights):
        if hasattr(self.model, "set_weights") or hasattr(self.model, "load_state_dict"):
            return _set_weights(self.model, weights)
        params = list(self.model.parameters())
        if len(weights) != len(params):
            raise ValueError(f"set_weights: the model has {len(params)} parameters, got "
                             f"{len(weights)} arrays")
        for p, w in zip(params, weights):
            p.data = tensor(w, dtype=p.dtype, device=p.device)

    def save_weights(self, path):
        """The model's weights as a safetensors file (``tc.save``: atomic)."""
        save_file(self._state(), path)

    def load_weights(self, path):
        self._load_state(load_file(path))

    def save(self, path):
        """A checkpoint: ``{"model": weights, "optimizer": its state_dict() if it has one}``."""
        checkpoint = {"model": self._state()}
        if hasattr(self.optimizer, "state_dict"):
            checkpoint["optimizer"] = self.optimizer.state_dict()
        save_file(checkpoint, path)

    def load(self, path):
        """Restore a checkpoint written by ``save``: the weights, and the optimizer's state
        when the file has it and the optimizer can take it."""
        checkpoint = load_file(path)
        self._load_state(checkpoint["model"])
        if "optimizer" in checkpoint and hasattr(self.optimizer, "load_state_dict"):
            self.optimizer.load_state_dict(checkpoint["optimizer"])

    def _state(self):
        if hasattr(self.model, "state_dict"):
            return self.model.state_dict()
        return {str(i): p for i, p in enumerate(self.model.parameters())}

    def _load_state(self, state):
        if hasattr(self.model, "load_state_dict"):
            self.model.load_state_dict(state)
        else:
            self.set_weights([state[str(i)] for i in range(len(state))])

    # ---- plumbing -------------------------------------------------------------------------
    def _need_optimizer(self, where):
        if self.optimizer is None:
            raise RuntimeError(f"{where}: this Trainer has no optimizer")

    def _stopping(self):
        return bool(getattr(self.callback_model, "stop_training", False))

    @contextlib.contextmanager
    def _mode(self, training):
        """Put the model in training or inference mode, and back to its mode after."""
        was = getattr(self.model, "training", None)
        switch = getattr(self.model, "train" if training else "eval", None)
        if switch is not None:
            switch()
        try:
            yield
        finally:
            if was is not None and was != training:
                self.model.train() if was else self.model.eval()

    def _device(self):
        for p in self.model.parameters():
            return p.device
        return "cpu"

    def _batch_tensors(self, where, *arrays):
        device = self._device()
        return [inputs.to_device(a if isinstance(a, Tensor) else inputs.host_array(where, a),
                                 device) for a in arrays]

    def _batches(self, where, x, y, batch_size, shuffle, need_y=True):
        return inputs.batches(where, x, y, batch_size, shuffle, self._device(), need_y)

    def _callbacks(self, callbacks, verbose, history=None, **params):
        if verbose == "auto":
            verbose = 1
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
        if isinstance(callbacks, Callback) or (callbacks is not None
                                               and not isinstance(callbacks, (list, tuple))):
            raise TypeError(f"callbacks must be a list of Callback objects, got "
                            f"{type(callbacks).__name__}")
        callbacks = list(callbacks or [])
        if verbose and not any(isinstance(c, ProgressBar) for c in callbacks):
            callbacks.insert(0, ProgressBar(verbose))
        if history is not None:
            callbacks.append(history)
        return CallbackList(callbacks, model=self.callback_model,
                            params={"verbose": verbose, **params})


def _to_host(out):
    """Model outputs as NumPy: an array, or a list of them for several outputs."""
    if isinstance(out, (tuple, list)):
        return [o.detach().numpy() for o in out]
    return out.detach().numpy()
