"""Callbacks in Keras' shape: the training loop calls their ``on_*`` hooks and nothing else.

A callback's ``model`` is the object the trainer hands to ``set_model`` (the Keras model, or
the ``Trainer`` itself). What callbacks use of it:
  - ``stop_training``: set True to end training after the current batch;
  - weights, for ``restore_best_weights``: ``get_weights()``/``set_weights(w)``, or else
    ``state_dict()``/``load_state_dict(d)``;
  - ``save(path)`` / ``save_weights(path)`` for ``ModelCheckpoint``.
"""
import csv
import math
import os
import warnings

import numpy as np

from ..tensor import Tensor, tensor
from .arguments import reject_unknown

HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
         "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
         "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
         "on_predict_batch_begin", "on_predict_batch_end")


class Callback:
    """Base class: every hook does nothing. ``params`` holds epochs, steps and verbose."""

    def __init__(self):
        self.model, self.params = None, {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass
    def on_batch_begin(self, batch, logs=None): pass       # the Keras 2 names of the
    def on_batch_end(self, batch, logs=None): pass         # training-batch hooks

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)


class CallbackList:
    """Calls each hook on every callback, in order."""

    def __init__(self, callbacks=(), model=None, params=None):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback) and not all(hasattr(cb, h) for h in HOOKS):
                raise TypeError(f"callbacks: expected Callback objects, got "
                                f"{type(cb).__name__} {cb!r}")
            if model is not None:
                cb.set_model(model)
            if params is not None:
                cb.set_params(params)


def _dispatch(hook):
    def call(self, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(*args)
    call.__name__ = hook
    return call


for _hook in HOOKS:
    setattr(CallbackList, _hook, _dispatch(_hook))


class History(Callback):
    """Records each epoch's logs: ``history`` (name -> list of values) and ``epoch``."""

    def __init__(self):
        super().__init__()
        self.history, self.epoch = {}, []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        self.model.history = self


# ---- weights and monitoring, shared by EarlyStopping and ModelCheckpoint -----------------
def get_weights(model):
    """A copy of ``model``'s weights, by whichever protocol it has."""
    if hasattr(model, "get_weights"):
        return model.get_weights()
    if hasattr(model, "state_dict"):
        return {k: tensor(v) if isinstance(v, Tensor) else np.array(v, copy=True)
                for k, v in model.state_dict().items()}
    raise TypeError(f"{type(model).__name__} has neither get_weights() nor state_dict(): "
                    f"restore_best_weights cannot copy its weights")


def set_weights(model, weights):
    if hasattr(model, "set_weights"):
        model.set_weights(weights)
    else:
        model.load_state_dict(weights)


def _improvement_test(where, mode, monitor):
    """``better(current, reference)`` for ``mode``; "auto" maximises accuracies and AUC."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{where}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        mode = "max" if monitor.endswith(("acc", "accuracy", "auc")) else "min"
    return (lambda a, b: a > b) if mode == "max" else (lambda a, b: a < b), mode


def _missing_monitor(where, monitor, logs):
    warnings.warn(f"{where} is conditioned on '{monitor}', which is not in the logs; available: "
                  f"{', '.join(logs) or 'none'}", RuntimeWarning, stacklevel=3)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs; optionally put back the weights of the best epoch when training ends."""

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0, **kwargs):
        super().__init__()
        reject_unknown("EarlyStopping", kwargs, EarlyStopping.__init__)
        self.monitor, self.patience, self.verbose = monitor, patience, verbose
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = start_from_epoch
        better, self.mode = _improvement_test("EarlyStopping", mode, monitor)
        delta = abs(min_delta)
        self.min_delta = delta
        self._better = (lambda a, b: better(a - delta, b)) if self.mode == "max" else \
            (lambda a, b: better(a + delta, b))

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best = -math.inf if self.mode == "max" else math.inf
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        current = logs.get(self.monitor)
        if current is None:
            _missing_monitor("EarlyStopping", self.monitor, logs)
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = get_weights(self.model)       # the first epoch is the best yet
        self.wait += 1
        if self._better(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = get_weights(self.model)
            if self.baseline is None or self._better(current, self.baseline):
                self.wait = 0
                return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            set_weights(self.model, self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model (``model.save``) or its weights (``model.save_weights``) at the end of
    epochs, to ``filepath`` formatted with ``epoch`` (1-based) and the logs, e.g.
    ``"ckpt-{epoch:02d}-{val_loss:.2f}.safetensors"``. With ``save_best_only`` only when
    ``monitor`` improves. An epoch whose loss is NaN or infinite is never saved, so the last
    good checkpoint stays."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None, **kwargs):
        super().__init__()
        reject_unknown("ModelCheckpoint", kwargs, ModelCheckpoint.__init__)
        if save_freq != "epoch":
            raise ValueError(f"ModelCheckpoint: only save_freq='epoch' is supported, got "
                             f"{save_freq!r}")
        self.filepath, self.monitor, self.verbose = os.fspath(filepath), monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self._better, self.mode = _improvement_test("ModelCheckpoint", mode, monitor)
        worst = -math.inf if self.mode == "max" else math.inf
        self.best = worst if initial_value_threshold is None else initial_value_threshold

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(loss):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: loss is {loss}, not saving a checkpoint")
            return
        path = self._format(epoch, logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                _missing_monitor("ModelCheckpoint", self.monitor, logs)
                return
            if not self._better(current, self.best):
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from "
                          f"{self.best:.5f}")
                return
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        saver = "save_weights" if self.save_weights_only else "save"
        if not hasattr(self.model, saver):
            raise TypeError(f"ModelCheckpoint: {type(self.model).__name__} has no {saver}(path)")
        getattr(self.model, saver)(path)

    def _format(self, epoch, logs):
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(f"ModelCheckpoint: cannot format the filepath {self.filepath!r} "
                             f"({type(e).__name__}: {e}); available keys: epoch, "
                             f"{', '.join(logs)}") from None


class TerminateOnNaN(Callback):
    """Stop training at the first batch whose loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class CSVLogger(Callback):
    """Write each epoch's logs as a row of ``filename``: ``epoch`` then the log names sorted."""

    def __init__(self, filename, separator=",", append=False, **kwargs):
        super().__init__()
        reject_unknown("CSVLogger", kwargs, CSVLogger.__init__)
        self.filename, self.separator, self.append = os.fspath(filename), separator, append
        self.keys, self.file, self.writer = None, None, None

    def on_train_begin(self, logs=None):
        has_rows = self.append and os.path.exists(self.filename) \
            and os.path.getsize(self.filename) > 0
        self.write_header = not has_rows
        self.file = open(self.filename, "a" if self.append else "w", newline="")
        self.keys, self.writer = None, None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            self.writer = csv.DictWriter(self.file, fieldnames=["epoch", *self.keys],
                                         delimiter=self.separator)
            if self.write_header:
                self.writer.writeheader()
        self.writer.writerow({"epoch": epoch, **{k: logs.get(k, "NA") for k in self.keys}})
        self.file.flush()

    def on_train_end(self, logs=None):
        if self.file is not None:
            self.file.close()
            self.file, self.writer = None, None
