"""Activations: NumPy float64 values, finite-difference gradients, PyTorch, in-place, errors."""
import math

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F

from helpers import check, rand, torch

np_erf = np.vectorize(math.erf)


def away_from_zero(*shape, seed=None):
    """Values with 0.05 <= |x| <= 1 and random signs. relu and leaky_relu have a kink at 0:
    a central difference (eps 1e-6) whose two probes straddle it measures neither side's
    slope, so inputs for the finite-difference check keep well clear of it."""
    signs = np.where(rand(*shape, seed=seed) < 0, -1.0, 1.0)
    return signs * rand(*shape, seed=None if seed is None else seed + 1, low=0.05, high=1.0)


def wide(*shape, seed=None):
    """Smooth activations: a range that reaches their tails."""
    return rand(*shape, seed=seed, low=-4.0, high=4.0)


def np_leaky_relu(slope):
    return lambda x: np.where(x > 0, x, slope * x)


def np_gelu(x):
    return 0.5 * x * (1 + np_erf(x / math.sqrt(2)))


def np_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def np_sigmoid(x):
    return np.exp(-np.logaddexp(0, -x))     # no overflow for large |x|


# (name, tensorcore fn, NumPy float64 reference, torch fn, input maker); the torch fns run
# only where torch is installed.
ACTIVATIONS = [
    ("F.relu", F.relu, lambda x: np.maximum(x, 0), lambda x: torch.nn.functional.relu(x),
     away_from_zero),
    ("F.leaky_relu default slope", F.leaky_relu, np_leaky_relu(0.01),
     lambda x: torch.nn.functional.leaky_relu(x), away_from_zero),
    ("F.leaky_relu slope 0.2", lambda x: F.leaky_relu(x, negative_slope=0.2), np_leaky_relu(0.2),
     lambda x: torch.nn.functional.leaky_relu(x, negative_slope=0.2), away_from_zero),
    ("F.leaky_relu slope 1.5", lambda x: F.leaky_relu(x, 1.5), np_leaky_relu(1.5),
     lambda x: torch.nn.functional.leaky_relu(x, 1.5), away_from_zero),
    ("F.sigmoid", F.sigmoid, np_sigmoid, lambda x: torch.sigmoid(x), wide),
    ("F.tanh", F.tanh, np.tanh, lambda x: torch.tanh(x), wide),
    ("F.gelu exact", F.gelu, np_gelu, lambda x: torch.nn.functional.gelu(x), wide),
    ("F.gelu approximate none", lambda x: F.gelu(x, approximate="none"), np_gelu,
     lambda x: torch.nn.functional.gelu(x, approximate="none"), wide),
    ("F.gelu approximate tanh", lambda x: F.gelu(x, approximate="tanh"), np_gelu_tanh,
     lambda x: torch.nn.functional.gelu(x, approximate="tanh"), wide),
    ("Tensor.relu", lambda x: x.relu(), lambda x: np.maximum(x, 0), lambda x: x.relu(),
     away_from_zero),
    ("Tensor.sigmoid", lambda x: x.sigmoid(), np_sigmoid, lambda x: x.sigmoid(), wide),
    ("Tensor.tanh", lambda x: x.tanh(), np.tanh, lambda x: x.tanh(), wide),
    ("tc.relu", tc.relu, lambda x: np.maximum(x, 0), lambda x: torch.relu(x), away_from_zero),
    ("tc.sigmoid", tc.sigmoid, np_sigmoid, lambda x: torch.sigmoid(x), wide),
    ("tc.tanh", tc.tanh, np.tanh, lambda x: torch.tanh(x), wide),
]
IDS = [a[0] for a in ACTIVATIONS]


@pytest.mark.parametrize("shape", [(1,), (3, 7), (2, 3, 5)])
@pytest.mark.parametrize("name, fn, np_fn, torch_fn, make", ACTIVATIONS, ids=IDS)
def test_activation(name, fn, np_fn, torch_fn, make, shape):
    check(fn, [make(*shape, seed=3)], np_fn=np_fn, torch_fn=torch_fn)


@pytest.mark.parametrize("name, fn, np_fn, torch_fn, make", ACTIVATIONS, ids=IDS)
def test_activation_large_forward(name, fn, np_fn, torch_fn, make):
    """A larger, odd shape: forward only (finite differences are O(elements))."""
    check(fn, [make(33, 127, seed=5)], np_fn=np_fn, torch_fn=torch_fn, grad=False)


@pytest.mark.parametrize("name, fn, np_fn, torch_fn, make",
                         [a for a in ACTIVATIONS if a[0].startswith("F.")],
                         ids=[i for i in IDS if i.startswith("F.")])
def test_activation_extreme_inputs(name, fn, np_fn, torch_fn, make):
    """Far out in the tails: finite, and equal to the reference (sigmoid must not overflow)."""
    x = np.array([-1000.0, -60.0, -20.0, -5.0, 5.0, 20.0, 60.0, 1000.0])
    check(fn, [x], np_fn=np_fn, torch_fn=torch_fn, grad=False)
    for dtype in (np.float64, np.float32):
        t = tc.tensor(x.astype(dtype), requires_grad=True)
        y = fn(t)
        y.sum().backward()
        assert np.isfinite(y.numpy()).all() and np.isfinite(t.grad.numpy()).all()


@pytest.mark.parametrize("fn, expected_grad", [
    (F.relu, [0.0, 0.0, 1.0]),
    (lambda x: F.leaky_relu(x, 0.2), [0.2, 0.2, 1.0]),
])
def test_kink_gradient_at_zero_follows_torch(fn, expected_grad):
    """At exactly 0, PyTorch takes the left slope: relu's 0, leaky_relu's negative_slope."""
    x = tc.tensor([-1.0, 0.0, 2.0], dtype="float64", requires_grad=True)
    fn(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), expected_grad)


# (name, fn, slope left of 0): relu is leaky_relu with slope 0
INPLACE = [
    ("relu", lambda x, **kw: F.relu(x, **kw), 0.0),
    ("leaky_relu", lambda x, **kw: F.leaky_relu(x, 0.2, **kw), 0.2),
]


@pytest.mark.parametrize("name, fn, slope", INPLACE, ids=[i[0] for i in INPLACE])
def test_inplace_returns_the_out_of_place_result(name, fn, slope):
    x = rand(3, 7, seed=2)
    y = fn(tc.tensor(x, dtype="float64"), inplace=True)
    np.testing.assert_allclose(y.numpy(), np_leaky_relu(slope)(x), rtol=1e-15)


@pytest.mark.parametrize("name, fn, slope", INPLACE, ids=[i[0] for i in INPLACE])
def test_inplace_writes_into_the_input(name, fn, slope):
    """As torch, and as F.dropout's inplace: with no graph recorded, x holds the result."""
    x = rand(3, 7, seed=2)
    t = tc.tensor(x, dtype="float64")
    assert fn(t, inplace=True) is t
    np.testing.assert_allclose(t.numpy(), np_leaky_relu(slope)(x), rtol=1e-15)


@pytest.mark.parametrize("name, fn, slope", INPLACE, ids=[i[0] for i in INPLACE])
def test_inplace_while_recording_leaves_the_input_and_its_gradient(name, fn, slope):
    """F.dropout's convention: while autograd records for x, a new tensor comes back, x is
    unchanged and the gradient reaches it (torch would refuse an in-place op on such a leaf)."""
    x = away_from_zero(3, 7, seed=2)
    t = tc.tensor(x, dtype="float64", requires_grad=True)
    y = fn(t, inplace=True)
    assert y is not t
    np.testing.assert_array_equal(t.numpy(), x)
    np.testing.assert_allclose(y.numpy(), np_leaky_relu(slope)(x), rtol=1e-15)
    y.sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), np.where(x > 0, 1.0, slope))


@pytest.mark.parametrize("approximate", ["exact", "Tanh", "", None])
def test_gelu_bad_approximate(approximate):
    with pytest.raises(ValueError, match=r"gelu: approximate must be 'none' or 'tanh', got "):
        F.gelu(tc.ones(3), approximate=approximate)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_reference_in_float32_keeps_its_left_tail(approximate):
    """The reference (the kernels' oracle) takes Phi as erfc(-x / sqrt 2) / 2 and
    (1 + tanh u) / 2 as sigmoid(2u): as 1 + erf and 1 + tanh they cancelled for negative x
    (at x = -5.4 the tanh form was 12x off in float32)."""
    x = np.linspace(-9, -3, 601).astype(np.float32)
    exact_x = x.astype(np.float64)
    exact_cdf = (np.vectorize(math.erfc)(-exact_x / math.sqrt(2)) / 2 if approximate == "none"
                 else np_sigmoid(2 * math.sqrt(2 / math.pi) * (exact_x + 0.044715 * exact_x ** 3)))
    forward = tc.kernels.get("gelu").reference("cpu").fn
    np.testing.assert_allclose(forward(x, approximate), exact_x * exact_cdf, rtol=1e-5)
