"""tensorcore.train: the Trainer's fit/evaluate/predict, metrics and the progress display."""
import io
import sys

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore.data import DataLoader, TensorDataset
from tensorcore.optim import SGD
from tensorcore.train import Callback, Trainer, metrics
from tensorcore.train.metrics import resolve_metric


class TinyMLP(tc.nn.Module):
    """A two-layer perceptron that records the mode of every forward call."""

    def __init__(self, n_in=4, n_hidden=16, n_out=3):
        super().__init__()
        self.hidden = tc.nn.Linear(n_in, n_hidden)
        self.out = tc.nn.Linear(n_hidden, n_out)
        self.modes = []

    def forward(self, x):
        self.modes.append(self.training)
        return self.out(tc.relu(self.hidden(x)))


class Bare:
    """The least a model needs: callable, with parameters() (no state_dict, no modes)."""

    def __init__(self):
        self.w = (tc.randn(3, 4) * 0.5).requires_grad_()
        self.b = tc.zeros(3, requires_grad=True)

    def parameters(self):
        return [self.w, self.b]

    def __call__(self, x):
        return F.linear(x, self.w, self.b)


def blobs(n=120, n_in=4, classes=3, seed=0):
    """Three separable Gaussian clusters: float32 features, int64 labels."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centres = rng.standard_normal((classes, n_in)) * 3
    x = centres[y] + rng.standard_normal((n, n_in))
    return x.astype(np.float32), y.astype(np.int64)


def cross_entropy(y_pred, y_true):
    return F.cross_entropy(y_pred, y_true)


def make_trainer(lr=0.1, metrics=("accuracy",), **kwargs):
    model = TinyMLP()
    return Trainer(model, cross_entropy, SGD(model.parameters(), lr), metrics=list(metrics),
                   **kwargs)


# ---- fit ----------------------------------------------------------------------------------
def test_fit_learns_and_records_history():
    x, y = blobs()
    trainer = make_trainer()
    history = trainer.fit(x, y, epochs=6, batch_size=16, validation_split=0.25, verbose=0)
    h = history.history
    assert list(h) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert all(len(v) == 6 for v in h.values()) and history.epoch == list(range(6))
    assert h["loss"][-1] < 0.5 * h["loss"][0] and h["val_loss"][-1] < 0.5 * h["val_loss"][0]
    assert h["accuracy"][-1] > 0.9 and h["val_accuracy"][-1] > 0.9
    assert trainer.history is history and history.model is trainer
    assert trainer.evaluate(x, y, verbose=0)["accuracy"] > 0.9


def test_fit_repeats_under_manual_seed():
    x, y = blobs()
    runs = []
    for _ in range(2):
        tc.manual_seed(3)
        runs.append(make_trainer().fit(x, y, epochs=2, batch_size=10, verbose=0).history)
    assert runs[0] == runs[1]


def test_epoch_logs_are_sample_weighted_means_and_split_takes_the_last_fraction():
    """With lr=0 the weights stay put, so the epoch's logs must equal evaluate() on exactly
    the first 70% (train) and the last 30% (validation), batches of 7 not dividing either."""
    x, y = blobs(n=50)
    trainer = make_trainer(lr=0.0)
    h = trainer.fit(x, y, epochs=1, batch_size=7, validation_split=0.3, verbose=0).history
    train_logs = trainer.evaluate(x[:35], y[:35], batch_size=35, verbose=0)
    val_logs = trainer.evaluate(x[35:], y[35:], batch_size=15, verbose=0)
    np.testing.assert_allclose(h["loss"][0], train_logs["loss"], rtol=1e-5)
    np.testing.assert_allclose(h["accuracy"][0], train_logs["accuracy"])
    np.testing.assert_allclose(h["val_loss"][0], val_logs["loss"], rtol=1e-5)
    np.testing.assert_allclose(h["val_accuracy"][0], val_logs["accuracy"])
    assert trainer.evaluate(x[:35], y[:35], batch_size=4, verbose=0)["loss"] == \
        pytest.approx(train_logs["loss"], rel=1e-5)


class RecordBatches(Callback):
    def __init__(self):
        super().__init__()
        self.calls, self.seen = [], []

    def on_train_batch_begin(self, batch, logs=None):
        self.calls.append(("batch", batch))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, sorted(logs)))


def test_shuffle_order():
    x, y = np.arange(20, dtype=np.float32)[:, None].repeat(4, 1), np.zeros(20, np.int64)
    trainer = make_trainer(lr=0.0)
    seen = []
    model = trainer.model
    trainer.model = lambda xb: (seen.append(xb.numpy()[:, 0].astype(int)), model(xb))[1]
    trainer.model.parameters = model.parameters
    trainer.fit(x, y, epochs=1, batch_size=6, shuffle=False, verbose=0)
    assert [list(s) for s in seen] == [list(range(0, 6)), list(range(6, 12)),
                                       list(range(12, 18)), [18, 19]]
    orders = []
    for seed in (1, 1, 2):
        seen.clear()
        tc.manual_seed(seed)
        trainer.fit(x, y, epochs=1, batch_size=6, verbose=0)
        orders.append(np.concatenate(seen))
    assert sorted(orders[0]) == list(range(20)) and list(orders[0]) != list(range(20))
    np.testing.assert_array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[0], orders[2])


def test_hooks_modes_and_initial_epoch():
    x, y = blobs(n=30)
    trainer = make_trainer()
    record = RecordBatches()
    trainer.fit(x, y, epochs=3, initial_epoch=1, batch_size=10, validation_data=(x[:5], y[:5]),
                callbacks=[record], verbose=0)
    assert record.calls == [("batch", 0), ("batch", 1), ("batch", 2),
                            ("epoch_end", 1, ["accuracy", "loss", "val_accuracy", "val_loss"]),
                            ("batch", 0), ("batch", 1), ("batch", 2),
                            ("epoch_end", 2, ["accuracy", "loss", "val_accuracy", "val_loss"])]
    # training batches in train mode, validation in eval mode, the model's mode restored
    assert trainer.model.modes == [True] * 3 + [False] + [True] * 3 + [False]
    assert trainer.model.training is True
    trainer.model.eval()
    trainer.fit(x, y, epochs=1, verbose=0)
    assert trainer.model.training is False


def test_fit_accepts_tensors_and_loaders():
    x, y = blobs(n=40)
    trainer = make_trainer()
    h1 = trainer.fit(tc.tensor(x), tc.tensor(y), epochs=1, batch_size=8, verbose=0).history
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True)
    h2 = trainer.fit(loader, epochs=2, validation_data=DataLoader(TensorDataset(x, y)),
                     verbose=0).history
    assert len(h1["loss"]) == 1 and len(h2["val_loss"]) == 2
    assert h2["loss"][-1] < h1["loss"][0]


def test_only_the_optimizers_parameters_change_and_before_step_runs():
    x, y = blobs(n=32)
    model = TinyMLP()
    frozen, head = model.hidden.weight.numpy().copy(), model.out.weight.numpy().copy()
    calls = []
    trainer = Trainer(model, cross_entropy, SGD(model.out.parameters(), 0.5),
                      before_step=lambda: calls.append(model.out.weight.grad is not None))
    trainer.fit(x, y, epochs=2, batch_size=8, verbose=0)
    np.testing.assert_array_equal(model.hidden.weight.numpy(), frozen)
    assert not np.array_equal(model.out.weight.numpy(), head)
    assert calls == [True] * 8


@pytest.mark.skipif(not tc.cuda_available(), reason="no CUDA device")
def test_fit_on_cuda_matches_cpu():
    x, y = blobs(n=40)
    histories, outputs = [], []
    for device in ("cpu", "cuda"):
        tc.manual_seed(4)
        model = TinyMLP().to(device)
        trainer = Trainer(model, cross_entropy, SGD(model.parameters(), 0.1), ["accuracy"])
        histories.append(trainer.fit(x, y, epochs=2, batch_size=8, validation_split=0.25,
                                     verbose=0).history)
        outputs.append(trainer.predict(x))
        assert model.hidden.weight.device.startswith(device)
    for key in histories[0]:
        np.testing.assert_allclose(histories[1][key], histories[0][key], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(outputs[1], outputs[0], rtol=1e-4, atol=1e-5)


# ---- the other entry points ----------------------------------------------------------------
def test_evaluate_predict_and_batch_methods():
    x, y = blobs(n=25)
    trainer = make_trainer(metrics=["accuracy", "sparse_categorical_accuracy"])
    logs = trainer.evaluate(x, y, batch_size=4, verbose=0)
    expected = trainer.model(tc.tensor(x)).numpy()
    assert set(logs) == {"loss", "accuracy", "sparse_categorical_accuracy"}
    assert logs["accuracy"] == pytest.approx(np.mean(expected.argmax(1) == y))
    np.testing.assert_allclose(trainer.predict(x, batch_size=4), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(trainer.predict_on_batch(x[:3]), expected[:3], rtol=1e-5)
    before = trainer.model.hidden.weight.numpy().copy()
    test_logs = trainer.test_on_batch(x[:10], y[:10])
    np.testing.assert_array_equal(trainer.model.hidden.weight.numpy(), before)
    train_logs = trainer.train_on_batch(x[:10], y[:10])
    assert train_logs["loss"] == pytest.approx(test_logs["loss"], rel=1e-5)
    assert not np.array_equal(trainer.model.hidden.weight.numpy(), before)
    assert trainer.test_on_batch(x[:10], y[:10])["loss"] < test_logs["loss"]


def test_get_and_set_weights_and_save_weights(tmp_path):
    x, y = blobs(n=20)
    trainer = make_trainer()
    weights = trainer.get_weights()
    assert list(weights) == ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    trainer.fit(x, y, epochs=1, batch_size=5, verbose=0)
    trained = trainer.predict(x)
    trainer.save_weights(tmp_path / "w.safetensors")
    trainer.save(tmp_path / "ckpt.safetensors")
    trainer.set_weights(weights)
    np.testing.assert_array_equal(trainer.model.hidden.weight.numpy(),
                                  weights["hidden.weight"].numpy())
    trainer.load_weights(tmp_path / "w.safetensors")
    np.testing.assert_array_equal(trainer.predict(x), trained)
    trainer.set_weights(weights)
    trainer.load(tmp_path / "ckpt.safetensors")
    np.testing.assert_array_equal(trainer.predict(x), trained)
    assert set(tc.load(tmp_path / "ckpt.safetensors")["optimizer"]) == {"state", "param_groups"}


def test_a_bare_model_with_only_parameters(tmp_path):
    x, y = blobs(n=20)
    model = Bare()
    trainer = Trainer(model, cross_entropy, SGD(model.parameters(), 0.1), ["accuracy"])
    weights = trainer.get_weights()
    h = trainer.fit(x, y, epochs=3, batch_size=5, verbose=0).history
    assert h["loss"][-1] < h["loss"][0]
    trainer.save_weights(tmp_path / "w")
    trained = trainer.predict(x)
    trainer.set_weights(weights)
    np.testing.assert_array_equal(model.w.numpy(), weights[0])
    trainer.load_weights(tmp_path / "w")
    np.testing.assert_array_equal(trainer.predict(x), trained)
    with pytest.raises(ValueError, match="has 2 parameters, got 1 arrays"):
        trainer.set_weights(weights[:1])


@pytest.mark.parametrize("call, error, message", [
    (lambda t, x, y: t.fit(x, y[:-1], verbose=0), ValueError, "x has 40 samples, y has 39"),
    (lambda t, x, y: t.fit(x[:0], y[:0], verbose=0), ValueError, "empty"),
    (lambda t, x, y: t.fit(x, y, batch_size=0, verbose=0), ValueError,
     "batch_size must be a positive integer, got 0"),
    (lambda t, x, y: t.evaluate(x, y, batch_size=2.5), ValueError, "batch_size"),
    (lambda t, x, y: t.fit(x, y, epoch=3, nb_epoch=2), TypeError,
     r"fit: unrecognized keyword arguments: \['epoch', 'nb_epoch'\]; accepted: x, y, batch_size"),
    (lambda t, x, y: t.predict(x, steps=3), TypeError, "predict: unrecognized .*'steps'"),
    (lambda t, x, y: t.fit(x, y, validation_split=1.5), ValueError, "validation_split"),
    (lambda t, x, y: t.fit(x[:1], y[:1], validation_split=0.5), ValueError, "not enough"),
    (lambda t, x, y: t.fit(x, y, validation_data=(x, y, y)), ValueError, "sample weights"),
    (lambda t, x, y: t.fit(x, None), ValueError, "y is required"),
    (lambda t, x, y: t.fit(x, y, verbose=3), ValueError, "verbose must be"),
    (lambda t, x, y: t.fit(x, y, epochs=-1), ValueError, "epochs must be"),
    (lambda t, x, y: t.fit(x, y, callbacks=Callback()), TypeError, "list of Callback"),
    (lambda t, x, y: t.fit(x, y, callbacks=[print]), TypeError, "expected Callback objects"),
    (lambda t, x, y: t.fit(DataLoader(TensorDataset(x, y)), y), ValueError, "y must be None"),
])
def test_bad_calls_raise(call, error, message):
    x, y = blobs(n=40)
    with pytest.raises(error, match=message):
        call(make_trainer(), x, y)


def test_bad_trainer_setups_raise():
    x, y = blobs(n=8)
    model = TinyMLP()
    with pytest.raises(RuntimeError, match="no optimizer"):
        Trainer(model, cross_entropy).fit(x, y, verbose=0)
    with pytest.raises(ValueError, match="scalar Tensor, got shape \\(8,\\)"):
        Trainer(model, lambda p, t: F.cross_entropy(p, t, reduction="none"),
                SGD(model.parameters(), 0.1)).fit(x, y, verbose=0)
    with pytest.raises(ValueError, match="unique"):
        Trainer(model, cross_entropy, metrics=["acc", "acc"])
    with pytest.raises(TypeError, match=r"unrecognized keyword arguments: \['optimiser'\]"):
        Trainer(model, cross_entropy, optimiser=None)


# ---- progress display ----------------------------------------------------------------------
class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_lines_when_not_a_terminal(capsys):
    x, y = blobs(n=30)
    trainer = make_trainer()
    for verbose in (1, 2):
        trainer.fit(x, y, epochs=2, batch_size=10, validation_split=0.2, verbose=verbose)
        lines = capsys.readouterr().out.splitlines()
        assert [line.split(":")[0] for line in lines] == ["Epoch 1/2", "Epoch 2/2"]
        assert all("3/3" in line and "val_accuracy: " in line for line in lines)
    trainer.fit(x, y, epochs=2, verbose=0)
    trainer.predict(x)
    assert capsys.readouterr().out == ""
    trainer.evaluate(x, y, batch_size=10)
    assert capsys.readouterr().out.startswith("3/3 - ")


def test_progress_bar_on_a_terminal(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    x, y = blobs(n=30)
    make_trainer().fit(x, y, epochs=2, batch_size=10, verbose=1)
    out = terminal.getvalue()
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "\r" in out
    assert "3/3" in out and "loss: " in out and "accuracy: " in out


# ---- metrics -------------------------------------------------------------------------------
def test_accuracy_functions():
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3]])
    labels = np.array([1, 2, 2, 0])
    np.testing.assert_array_equal(metrics.sparse_categorical_accuracy(labels, scores), [1, 0, 1, 0])
    np.testing.assert_array_equal(metrics.sparse_categorical_accuracy(labels[:, None], scores),
                                  [1, 0, 1, 0])
    np.testing.assert_array_equal(metrics.categorical_accuracy(np.eye(3)[labels], scores),
                                  [1, 0, 1, 0])
    probs, truth = np.array([[0.9], [0.4], [0.51], [0.2]]), np.array([1, 1, 0, 0])
    np.testing.assert_array_equal(metrics.binary_accuracy(truth, probs), [1, 0, 0, 1])
    np.testing.assert_allclose(metrics.mean_squared_error(truth, probs).ravel(),
                               (probs.ravel() - truth) ** 2)


def test_metric_objects_are_sample_weighted():
    m = metrics.SparseCategoricalAccuracy()
    m.update_state(np.array([0, 1, 1]), np.array([[1, 0], [1, 0], [0, 1]]))      # 2 of 3
    m.update_state(np.array([0]), np.array([[0, 1]]))                          # 0 of 1
    assert m.result() == pytest.approx(0.5) and m.name == "sparse_categorical_accuracy"
    m.reset_state()
    assert m.result() == 0.0


@pytest.mark.parametrize("loss, shape, y_true, y_pred, expected", [
    ("binary_crossentropy", (None, 4), [[1, 0, 1, 1]], [[0.9, 0.1, 0.2, 0.8]], 0.75),
    (None, (None, 1), [1, 0], [[0.7], [0.6]], 0.5),
    ("sparse_categorical_crossentropy", None, [2, 0], [[0, 0, 1], [0, 1, 0]], 0.5),
    ("categorical_crossentropy", None, [[0, 0, 1], [0, 1, 0]], [[0, 0, 1], [0, 1, 0]], 1.0),
    ("mse", None, [2, 0, 1], [[0, 0, 1], [0, 1, 0], [0, 1, 0]], 2 / 3),       # by shape: sparse
    ("mse", None, [[0, 0, 1], [1, 0, 0]], [[0, 0, 1], [0, 1, 0]], 0.5),       # by shape: one-hot
])
def test_resolve_accuracy_as_keras(loss, shape, y_true, y_pred, expected):
    for name in ("accuracy", "acc"):
        m = resolve_metric(name, loss_name=loss, output_shape=shape)
        m.update_state(np.array(y_true), np.array(y_pred, dtype=float))
        assert m.name == name and m.result() == pytest.approx(expected)


def test_resolve_other_metrics():
    assert resolve_metric("mae").name == "mae"
    custom = metrics.BinaryAccuracy(threshold=0.3)
    assert resolve_metric(custom) is custom

    def hits(y_true, y_pred):
        return (y_true == y_pred).astype(float)
    m = resolve_metric(hits)
    m.update_state(np.array([1, 2]), np.array([1, 3]))
    assert m.name == "hits" and m.result() == 0.5
    with pytest.raises(ValueError, match="unknown metric 'acuracy'; known metrics: 'accuracy'"):
        resolve_metric("acuracy")
    with pytest.raises(TypeError, match="a metric must be"):
        resolve_metric(3)
