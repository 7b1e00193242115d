"""Short training runs written as PyTorch programs: an MLP on sklearn digits, a small CNN, an
LSTM on a toy sequence task and a DCGAN-style loop. Each must learn within a few seconds."""
import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn, optim
import tensorcore.nn.functional as F


@pytest.fixture(autouse=True)
def seed():
    tc.manual_seed(0)


def digits(n=600):
    datasets = pytest.importorskip("sklearn.datasets")
    x, y = datasets.load_digits(return_X_y=True)
    return (x[:n] / 16.0).astype(np.float32), y[:n].astype(np.int64)


def fit(model, optimizer, loss_fn, x, y, epochs, batch_size=64):
    """A PyTorch-style loop; returns the loss of the full data before and after."""
    def full_loss():
        model.eval()
        with tc.no_grad():
            value = float(loss_fn(model(tc.tensor(x)), tc.tensor(y)))
        model.train()
        return value
    before = full_loss()
    order = np.random.default_rng(0)
    for _ in range(epochs):
        perm = order.permutation(len(x))
        for start in range(0, len(x), batch_size):
            idx = perm[start:start + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(tc.tensor(x[idx])), tc.tensor(y[idx]))
            loss.backward()
            optimizer.step()
    return before, full_loss()


@pytest.mark.parametrize("make_optimizer", [
    lambda params: optim.SGD(params, lr=0.1, momentum=0.9),
    lambda params: optim.Adam(params, lr=1e-2),
    lambda params: optim.RMSprop(params, lr=1e-3),
])
def test_mlp_learns_digits(make_optimizer):
    x, y = digits()
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, 10))
    before, after = fit(model, make_optimizer(model.parameters()), nn.CrossEntropyLoss(), x, y,
                        epochs=8)
    assert after < 0.35 * before
    model.eval()
    accuracy = (model(tc.tensor(x)).argmax(dim=1).numpy() == y).mean()
    assert accuracy > 0.9


def test_cnn_learns_digits():
    x, y = digits(400)
    images = x.reshape(-1, 1, 8, 8)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 4 * 4, 10))
    before, after = fit(model, optim.Adam(model.parameters(), lr=5e-3), nn.CrossEntropyLoss(),
                        images, y, epochs=5)
    assert after < 0.4 * before


class SequenceSum(nn.Module):
    """Predicts the running sum's sign of a random +-1 sequence at every step."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(1, 16, num_layers=2, batch_first=True)
        self.out = nn.Linear(16, 1)

    def forward(self, x):
        features, _ = self.lstm(x)
        return self.out(features)


def test_lstm_learns_a_sequence_task():
    rng = np.random.default_rng(1)
    x = rng.choice([-1.0, 1.0], size=(256, 10, 1)).astype(np.float32)
    # +1 when the count of +1 so far is at least half (ties broken towards +1)
    y = (np.cumsum(x, axis=1) >= 0).astype(np.float32)
    model = SequenceSum()
    before, after = fit(model, optim.Adam(model.parameters(), lr=2e-2), nn.BCEWithLogitsLoss(),
                        x, y, epochs=15, batch_size=32)
    assert after < 0.5 * before


def test_gan_loop_runs_like_pytorch():
    latent, features = 4, 6
    G = nn.Sequential(nn.Linear(latent, 16), nn.LeakyReLU(0.2), nn.Linear(16, features),
                      nn.Tanh())
    D = nn.Sequential(nn.Linear(features, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1),
                      nn.Sigmoid())
    criterion = nn.BCELoss()
    optimizer_g = optim.Adam(G.parameters(), lr=0.0002 * 10, betas=(0.5, 0.999))
    optimizer_d = optim.Adam(D.parameters(), lr=0.0002 * 10, betas=(0.5, 0.999))
    rng = np.random.default_rng(2)
    d_losses, g_losses = [], []
    for _ in range(30):
        real = tc.tensor(0.5 + 0.1 * rng.standard_normal((16, features)).astype(np.float32))
        ones, zeros = tc.ones(16, 1), tc.zeros(16, 1)
        # discriminator: real as 1, generated (detached from G) as 0
        optimizer_d.zero_grad()
        g_grads = [None if p.grad is None else p.grad.numpy().copy() for p in G.parameters()]
        fake = G(tc.randn(16, latent))
        loss_d = criterion(D(real), ones) + criterion(D(fake.detach()), zeros)
        loss_d.backward()
        optimizer_d.step()
        for p, before in zip(G.parameters(), g_grads):       # detach kept G out of it
            assert (p.grad is None) if before is None else np.array_equal(p.grad.numpy(), before)
        # generator: make D call the fakes real
        optimizer_g.zero_grad()
        loss_g = criterion(D(fake), ones)
        loss_g.backward()
        optimizer_g.step()
        d_losses.append(float(loss_d))
        g_losses.append(float(loss_g))
    assert np.isfinite(d_losses).all() and np.isfinite(g_losses).all()
    assert np.std(d_losses) > 1e-3
    assert d_losses[-1] < d_losses[0]


def test_functional_api_is_the_torch_spelling():
    x = tc.randn(3, 4, requires_grad=True)
    loss = F.cross_entropy(F.relu(F.linear(x, tc.randn(5, 4))), tc.tensor([0, 4, 2]))
    loss.backward()
    assert x.grad.shape == (3, 4)
