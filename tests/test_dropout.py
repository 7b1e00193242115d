"""dropout: statistics of the mask, the mask reused by backward, seeding, the identity cases,
and bad arguments."""
import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore.errors import DTypeError

from helpers import check, rand

needs_cuda = pytest.mark.skipif(not tc.cuda_available(), reason="no CUDA device")
DEVICES = ["cpu", pytest.param("cuda", marks=needs_cuda)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics(device, p):
    """About a fraction p is zeroed; the rest is scaled by 1 / (1 - p), so the mean holds."""
    x = tc.tensor(rand(200_000, seed=1, low=1, high=2), device=device)
    y = F.dropout(x, p).numpy()
    dropped = y == 0
    assert abs(dropped.mean() - p) < 0.01
    np.testing.assert_allclose(y[~dropped], x.numpy()[~dropped] / (1 - p), rtol=1e-12)
    assert abs(y.mean() / x.numpy().mean() - 1) < 0.02


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_backward_reuses_the_mask(dtype):
    x = tc.tensor(rand(3, 33, seed=1, low=1, high=2).astype(dtype), requires_grad=True)
    y = F.dropout(x, 0.3)
    g = rand(3, 33, seed=2).astype(dtype)
    y.backward(g)
    assert y.dtype == x.grad.dtype == dtype
    mask = y.numpy() / x.numpy()                  # 0 or 1 / 0.7 per element
    np.testing.assert_allclose(x.grad.numpy(), g * mask, rtol=1e-6)


def test_dropout_gradcheck_with_a_fixed_mask():
    def reseeded_dropout(x):
        tc.manual_seed(7)
        return F.dropout(x, 0.4)
    check(reseeded_dropout, [rand(7, 3, seed=1)])


def test_dropout_seeding_repeats_and_draws_differ():
    x = tc.tensor(rand(1000, seed=1, low=1, high=2))
    tc.manual_seed(3)
    first, second = F.dropout(x, 0.5).numpy(), F.dropout(x, 0.5).numpy()
    tc.manual_seed(3)
    np.testing.assert_array_equal(F.dropout(x, 0.5).numpy(), first)
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("kwargs", [dict(training=False), dict(p=0.0), dict(p=0, training=True)])
def test_dropout_identity(kwargs):
    x = tc.tensor(rand(4, 7, seed=1), requires_grad=True)
    y = F.dropout(x, **kwargs)
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((4, 7)))


def test_dropout_p_one_zeroes_everything():
    x = tc.tensor(rand(4, 7, seed=1), requires_grad=True)
    y = F.dropout(x, 1.0)
    np.testing.assert_array_equal(y.numpy(), np.zeros((4, 7)))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((4, 7)))


def test_dropout_inplace():
    """Writes into x when no graph is recorded; while recording, returns a new tensor."""
    x = tc.tensor(rand(50, seed=1, low=1, high=2))
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x and (x.numpy() == 0).any()
    w = tc.tensor(rand(50, seed=1, low=1, high=2), requires_grad=True)
    before = w.numpy().copy()
    out = F.dropout(w, 0.5, inplace=True)
    np.testing.assert_array_equal(w.numpy(), before)
    assert out is not w and (out.numpy() == 0).any()


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_probability_out_of_range(p):
    with pytest.raises(ValueError, match=rf"dropout: probability p must be in \[0, 1\], got {p}"):
        F.dropout(tc.ones(3), p)


def test_dropout_needs_floats():
    with pytest.raises(DTypeError, match="dropout: expected a floating-point tensor, got int64"):
        F.dropout(tc.tensor([1, 2, 3]), 0.5)
