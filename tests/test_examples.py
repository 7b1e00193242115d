"""The classic programs in examples/ run with the import swapped and learn: each example's
main() at a few epochs on small data (the scripts' defaults are the full runs)."""
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="the examples fall back to scikit-learn's digits")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))

import cnn  # noqa: E402
import keras_gan  # noqa: E402
import lstm  # noqa: E402
import mlp  # noqa: E402
import mnist_classifier  # noqa: E402
import torch_gan  # noqa: E402

from _data import images  # noqa: E402


@pytest.fixture(autouse=True)
def offline_digits(monkeypatch):
    """Examples prefer MNIST; the tests use the bundled digits and never touch the network."""
    for module in (mlp, cnn, mnist_classifier):
        monkeypatch.setattr(module, "images", lambda prefer_mnist=True, limit=None:
                            images(prefer_mnist=False, limit=limit))


def improved(values):
    return values[-1] < values[0]


def test_keras_mlp_learns():
    history, accuracy = mlp.main(epochs=3, limit=600, verbose=0)
    assert improved(history.history["loss"]) and improved(history.history["val_loss"])
    assert accuracy > 0.3                         # 10 classes: chance is 0.1


def test_keras_cnn_learns():
    history, accuracy = cnn.main(epochs=3, limit=600, verbose=0)
    assert improved(history.history["val_loss"]) and accuracy > 0.5


def test_stacked_lstm_learns():
    history, accuracy = lstm.main(epochs=3, samples=128, steps=20, features=10, verbose=0)
    assert improved(history.history["loss"]) and accuracy > 0.8


def test_keras_gan_trains_both_players():
    _, _, losses = keras_gan.main(steps=40, batch_size=32, report_every=0)
    assert np.isfinite(losses).all()
    d_loss, g_loss = losses[:, 0], losses[:, 2]
    assert d_loss[-10:].mean() < d_loss[:10].mean()          # the discriminator learns
    assert not np.allclose(g_loss[-10:], g_loss[:10])        # the generator's loss moves


def test_pytorch_style_gan_trains():
    _, _, history = torch_gan.main(epochs=2, batch_size=64, limit=512)
    assert np.isfinite(history).all() and history[-5:, 0].mean() < history[:5, 0].mean()


def test_pytorch_style_mnist_classifier_learns():
    _, accuracy = mnist_classifier.main(epochs=2, limit=600)
    assert accuracy > 0.25
