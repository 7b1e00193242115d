"""Callbacks: History, EarlyStopping, ModelCheckpoint, TerminateOnNaN, CSVLogger."""
import csv
import math

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore.optim import SGD
from tensorcore.train import (Callback, CallbackList, CSVLogger, EarlyStopping, History,
                              ModelCheckpoint, TerminateOnNaN, Trainer)

from test_train import TinyMLP, blobs, make_trainer


class Scripted:
    """A stand-in for the model callbacks see: weights are a counter we can compare."""

    def __init__(self):
        self.stop_training, self.weights, self.saved = False, 0, []

    def get_weights(self):
        return self.weights

    def set_weights(self, weights):
        self.weights = weights

    def save(self, path):
        self.saved.append(("model", path))

    def save_weights(self, path):
        self.saved.append(("weights", path))


def run_epochs(callback, values, monitor="val_loss"):
    """Feed ``values`` of ``monitor`` epoch by epoch until the callback stops training;
    returns the model and the number of epochs run."""
    model = Scripted()
    callbacks = CallbackList([callback], model=model, params={"epochs": len(values)})
    callbacks.on_train_begin()
    epochs = 0
    for epoch, value in enumerate(values):
        model.weights = epoch
        callbacks.on_epoch_end(epoch, {"loss": 1.0, monitor: value})
        epochs += 1
        if model.stop_training:
            break
    callbacks.on_train_end()
    return model, epochs


# ---- EarlyStopping ------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, values, epochs", [
    ({}, [3, 2, 2.5, 1], 3),                                 # patience 0: first non-improvement
    ({"patience": 2}, [3, 2, 2.5, 2.4, 1], 4),
    ({"patience": 2}, [3, 2, 2.5, 1.9, 1.8, 1.7], 6),        # improvements reset the wait
    ({"min_delta": 0.5}, [3, 2.8, 2.9], 2),                  # 0.2 is not enough
    ({"patience": 1, "baseline": 1.0}, [3, 2, 1.5], 2),      # never under the baseline
    ({"patience": 1, "start_from_epoch": 3}, [3, 4, 5, 6, 7], 5),
])
def test_early_stopping_minimises(kwargs, values, epochs):
    assert run_epochs(EarlyStopping(**kwargs), values)[1] == epochs


def test_early_stopping_maximises_accuracy_and_restores_the_best_weights(capsys):
    stopper = EarlyStopping(monitor="val_accuracy", patience=2, restore_best_weights=True,
                            verbose=1)
    model, epochs = run_epochs(stopper, [0.5, 0.8, 0.7, 0.75, 0.9], monitor="val_accuracy")
    assert epochs == 4 and stopper.mode == "max" and stopper.best == 0.8
    assert model.weights == 1                                 # epoch 2's weights put back
    out = capsys.readouterr().out
    assert "Epoch 4: early stopping" in out and "best epoch: 2." in out
    assert run_epochs(EarlyStopping(mode="max"), [1, 2, 3])[1] == 3


def test_early_stopping_warns_about_a_missing_monitor():
    with pytest.warns(RuntimeWarning, match="'val_auc', which is not in the logs; available: "
                                            "loss, val_loss"):
        assert run_epochs(EarlyStopping(monitor="val_auc"), [1, 2, 3])[1] == 3


def test_early_stopping_in_fit_restores_weights():
    """The weights after fit are those of the epoch with the lowest val_loss."""
    x, y = blobs(n=60)
    snapshots = []

    class Snapshot(Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append((logs["val_loss"], self.model.get_weights()))
    trainer = make_trainer(lr=2.0)                           # too high: val_loss jumps about
    trainer.fit(x, y, epochs=8, batch_size=10, validation_split=0.3, verbose=0,
                callbacks=[Snapshot(), EarlyStopping(patience=8, restore_best_weights=True)])
    best = min(snapshots, key=lambda s: s[0])[1]
    weights = trainer.get_weights()
    assert list(weights) == list(best)
    for key, expected in best.items():
        np.testing.assert_array_equal(weights[key].numpy(), expected.numpy())


# ---- ModelCheckpoint ----------------------------------------------------------------------
def test_checkpoint_filepath_and_best_only(tmp_path, capsys):
    saver = ModelCheckpoint(str(tmp_path / "sub" / "m-{epoch:02d}-{val_loss:.2f}.st"),
                            save_best_only=True, verbose=1)
    model, _ = run_epochs(saver, [0.5, 0.7, 0.25])
    assert model.saved == [("model", str(tmp_path / "sub" / "m-01-0.50.st")),
                           ("model", str(tmp_path / "sub" / "m-03-0.25.st"))]
    assert (tmp_path / "sub").is_dir()
    out = capsys.readouterr().out
    assert "val_loss improved from inf to 0.50000" in out and "did not improve from 0.5" in out
    every = ModelCheckpoint(str(tmp_path / "w.st"), save_weights_only=True,
                            monitor="val_accuracy")
    assert every.mode == "max"
    model, _ = run_epochs(every, [0.5, 0.4])
    assert model.saved == [("weights", str(tmp_path / "w.st"))] * 2


def test_checkpoint_errors(tmp_path):
    with pytest.raises(ValueError, match="cannot format the filepath .*available keys: epoch, "
                                         "loss, val_loss"):
        run_epochs(ModelCheckpoint(str(tmp_path / "{val_acc:.2f}")), [1.0])
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint("x", save_freq=10)
    with pytest.raises(ValueError, match="mode must be 'auto', 'min' or 'max', got 'best'"):
        ModelCheckpoint("x", mode="best")


def test_checkpoint_files_from_fit_load_back(tmp_path):
    x, y = blobs(n=40)
    trainer = make_trainer()
    trainer.fit(x, y, epochs=2, batch_size=10, verbose=0,
                callbacks=[ModelCheckpoint(str(tmp_path / "w{epoch}.safetensors"),
                                           save_weights_only=True),
                           ModelCheckpoint(str(tmp_path / "ckpt.safetensors"), monitor="loss",
                                           save_best_only=True)])
    weights = tc.load(tmp_path / "w2.safetensors")
    np.testing.assert_array_equal(weights["hidden.weight"].numpy(),
                                  trainer.model.hidden.weight.numpy())
    checkpoint = tc.load(tmp_path / "ckpt.safetensors")
    np.testing.assert_array_equal(checkpoint["model"]["out.bias"].numpy(),
                                  trainer.model.out.bias.numpy())


# ---- TerminateOnNaN -----------------------------------------------------------------------
def test_terminate_on_nan_stops_and_keeps_the_last_good_checkpoint(tmp_path, capsys):
    x, y = blobs(n=40)
    model = TinyMLP()
    batches = []

    def loss(y_pred, y_true):             # finite for the first epoch's 4 batches, then NaN
        batches.append(len(batches))
        value = F.cross_entropy(y_pred, y_true)
        return value * float("nan") if len(batches) == 6 else value
    trainer = Trainer(model, loss, SGD(model.parameters(), 0.1))
    path = tmp_path / "last.safetensors"
    history = trainer.fit(x, y, epochs=5, batch_size=10, verbose=0,
                          callbacks=[TerminateOnNaN(), ModelCheckpoint(str(path),
                                                                       save_weights_only=True)])
    assert len(batches) == 6 and "Batch 1: Invalid loss, terminating training" in \
        capsys.readouterr().out
    assert len(history.history["loss"]) == 2 and math.isnan(history.history["loss"][1])
    assert np.isnan(model.hidden.weight.numpy()).all()
    saved = tc.load(path)["hidden.weight"].numpy()                     # epoch 1's weights, whole
    assert np.isfinite(saved).all()


# ---- CSVLogger and History ----------------------------------------------------------------
def test_csv_logger(tmp_path):
    x, y = blobs(n=30)
    path = tmp_path / "log.csv"
    trainer = make_trainer()
    h = trainer.fit(x, y, epochs=2, batch_size=10, validation_split=0.2, verbose=0,
                    callbacks=[CSVLogger(str(path))]).history
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1"]
    assert float(rows[2][2]) == pytest.approx(h["loss"][1])
    trainer.fit(x, y, epochs=1, batch_size=10, validation_split=0.2, verbose=0,
                callbacks=[CSVLogger(str(path), separator=";", append=True)])
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and lines[3].startswith("0;") and lines[3].count(";") == 4
    trainer.fit(x, y, epochs=1, verbose=0, callbacks=[CSVLogger(path)])
    assert path.read_text().splitlines()[0] == "epoch,accuracy,loss"


def test_history_and_callback_base():
    history = History()
    history.set_model(Scripted())
    history.on_train_begin()
    history.on_epoch_end(0, {"loss": 2.0})
    history.on_epoch_end(1, {"loss": 1.0, "val_loss": 3.0})
    assert history.history == {"loss": [2.0, 1.0], "val_loss": [3.0]}
    assert history.epoch == [0, 1] and history.model.history is history

    class Legacy(Callback):          # Keras 2 callbacks override on_batch_end
        ends = []

        def on_batch_end(self, batch, logs=None):
            self.ends.append(batch)
    x, y = blobs(n=20)
    make_trainer().fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[Legacy()])
    assert Legacy.ends == [0, 1, 2]


@pytest.mark.parametrize("make, message", [
    (lambda: EarlyStopping(monitr="loss", patiense=3),
     r"EarlyStopping: unrecognized keyword arguments: \['monitr', 'patiense'\]; accepted: monitor"),
    (lambda: ModelCheckpoint("x", save_best=True), "ModelCheckpoint: .*'save_best'"),
    (lambda: CSVLogger("x", sep=";"), "CSVLogger: .*'sep'"),
])
def test_unknown_keywords(make, message):
    with pytest.raises(TypeError, match=message):
        make()
