"""Elementwise math, reductions, shape ops and indexing: forward against NumPy in float64,
gradients by finite differences, and both against PyTorch where it is installed."""
import numpy as np
import pytest

import tensorcore as tc
from tensorcore.errors import ShapeError, TensorIndexError

from helpers import check, rand, torch


def positive(*shape, seed=None):
    return rand(*shape, seed=seed, low=0.5, high=2.0)


@pytest.mark.parametrize("shape", [(1,), (3, 7), (2, 3, 5)])
@pytest.mark.parametrize("name, fn, np_fn, make", [
    ("neg", lambda x: -x, lambda x: -x, rand),
    ("exp", lambda x: x.exp(), np.exp, rand),
    ("log", lambda x: x.log(), np.log, positive),
    ("sqrt", lambda x: x.sqrt(), np.sqrt, positive),
    ("abs", lambda x: x.abs(), np.abs, rand),
    ("pow scalar", lambda x: x ** 3, lambda x: x ** 3, rand),
    ("rpow", lambda x: 2.0 ** x, lambda x: 2.0 ** x, rand),
    ("rsub", lambda x: 1.5 - x, lambda x: 1.5 - x, rand),
    ("rdiv", lambda x: 2.0 / x, lambda x: 2.0 / x, positive),
    ("clamp", lambda x: x.clamp(-0.4, 0.3), lambda x: np.clip(x, -0.4, 0.3), rand),
    ("clamp min", lambda x: x.clamp(min=0.1), lambda x: np.maximum(x, 0.1), rand),
])
def test_unary(name, fn, np_fn, make, shape):
    check(fn, [make(*shape, seed=7)], np_fn=np_fn, torch_fn=fn)


@pytest.mark.parametrize("fn", [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b,
                                lambda a, b: a / b, lambda a, b: a ** b])
@pytest.mark.parametrize("shapes", [((3, 7), (3, 7)), ((3, 1), (7,)), ((1,), (2, 3, 1))])
def test_binary(fn, shapes):
    check(fn, [positive(*shapes[0], seed=1), positive(*shapes[1], seed=2)], np_fn=fn, torch_fn=fn)


def test_ndarray_on_the_left_defers_to_tensor():
    a = rand(3, 4)
    t = tc.tensor(rand(3, 4), requires_grad=True)
    out = a * t + a
    assert isinstance(out, tc.Tensor)
    out.sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), a)


def test_numpy_scalars_do_not_promote_float32():
    t = tc.ones(3)
    assert (t * np.float64(2.0)).dtype == np.float32 and (np.float64(2.0) * t).dtype == np.float32


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "var", "std"])
def test_reductions(name, axis, keepdims):
    x = rand(3, 7, 5, seed=11)
    if name in ("var", "std"):
        def fn(t):
            return getattr(t, name)(axis=axis, keepdims=keepdims)

        def np_fn(a):
            return getattr(np, name)(a, axis=axis, keepdims=keepdims, ddof=1)
    else:
        def fn(t):
            return getattr(t, name)(axis=axis, keepdims=keepdims)

        def np_fn(a):
            return getattr(np, name)(a, axis=axis, keepdims=keepdims)
    check(fn, [x], np_fn=np_fn)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_reductions_against_torch_with_dim(dim):
    x = rand(4, 7, seed=5)
    check(lambda t: t.sum(dim=dim, keepdim=True), [x], torch_fn=lambda t: t.sum(dim=dim, keepdim=True))
    check(lambda t: t.mean(dim), [x], torch_fn=lambda t: t.mean(dim))
    check(lambda t: t.var(dim=dim), [x], torch_fn=lambda t: t.var(dim=dim))
    check(lambda t: t.std(dim=dim, unbiased=False), [x], torch_fn=lambda t: t.std(dim=dim, unbiased=False))
    check(lambda t: t.max(dim=dim).values, [x], torch_fn=lambda t: t.max(dim=dim).values)
    check(lambda t: t.min(dim=dim)[0], [x], torch_fn=lambda t: t.min(dim=dim)[0])


def test_std_of_equal_elements_has_a_zero_gradient():
    """As PyTorch: the chain rule through sqrt would give 0 * inf = NaN there."""
    x = rand(3, 6, seed=4)
    x[1] = 0.75
    t = tc.tensor(x, requires_grad=True)
    t.std(dim=1).sum().backward()
    assert not np.any(t.grad.numpy()[1]) and np.all(t.grad.numpy()[[0, 2]] != 0)
    if torch is not None:
        p = torch.tensor(x, requires_grad=True)
        p.std(dim=1).sum().backward()
        np.testing.assert_allclose(t.grad.numpy(), p.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["var", "std"])
def test_var_and_std_of_too_few_elements_are_nan(name):
    """n - correction <= 0: NaN values and gradients, as PyTorch (the backward once raised
    ZeroDivisionError)."""
    t = tc.tensor(rand(1, 4, seed=2), requires_grad=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = getattr(t, name)(dim=0)
        out.sum().backward()
    assert np.all(np.isnan(out.numpy())) and np.all(np.isnan(t.grad.numpy()))


def test_max_with_dim_returns_values_and_indices():
    x = tc.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    values, indices = x.max(dim=1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert x.max(axis=1).tolist() == [5.0, 7.0]          # NumPy spelling: values only
    assert x.argmax(axis=0).tolist() == [1, 0, 1] and x.argmin().item() == 4
    assert x.argmax(dim=1, keepdim=True).shape == (2, 1)


def test_max_with_a_positional_dim_is_pytorchs():
    """x.max(1) as PyTorch spells it (the classic `pred = output.max(1, keepdim=True)[1]`,
    `_, predicted = torch.max(outputs, 1)`): it returned the values, so [1] took a row of
    them, silently."""
    x = tc.tensor([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5]])
    assert x.max(1)[1].tolist() == [1, 0, 2] and x.min(1).indices.tolist() == [2, 1, 0]
    _, predicted = tc.max(x, 1)
    assert predicted.tolist() == [1, 0, 2]
    assert x.max(1, keepdim=True)[1].tolist() == [[1], [0], [2]]
    assert x.max(axis=1).tolist() == pytest.approx([0.9, 0.8, 0.5])       # NumPy's: values
    scalar = tc.tensor(3.0, requires_grad=True)   # a 0-d tensor's dim 0 is itself (PyTorch)
    values, index = scalar.max(0)
    values.backward()
    assert (values.item(), index.item(), scalar.grad.item()) == (3.0, 0, 1.0)
    assert scalar.max(axis=0).item() == 3.0 and scalar.min(-1, keepdim=True).values.shape == ()
    empty = tc.zeros(0, 3).max(1)                 # only a reduced axis must not be empty
    assert empty.values.shape == (0,) and empty.indices.shape == (0,)
    with pytest.raises(ValueError, match=r"max: cannot reduce over an axis of size 0"):
        tc.zeros(0, 3).max(0)


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_with_dim_sends_the_gradient_to_the_index_taken(name, keepdim):
    """As PyTorch: the whole gradient to the returned index (the first of ties); they were
    split across the ties as in the full reduction."""
    data = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0], [-1.0, -1.0, -1.0]])
    weights = rand(3, seed=4).reshape((3, 1) if keepdim else (3,))
    x = tc.tensor(data, requires_grad=True)
    values, indices = getattr(x, name)(dim=1, keepdim=keepdim)
    (values * tc.tensor(weights)).sum().backward()
    expected = np.zeros_like(data)
    np.put_along_axis(expected, indices.numpy().reshape(3, 1), weights.reshape(3, 1), axis=1)
    np.testing.assert_array_equal(x.grad.numpy(), expected)
    assert (expected != 0).sum() == 3
    if torch is not None:
        t = torch.tensor(data, requires_grad=True)
        (getattr(t, name)(dim=1, keepdim=keepdim).values * torch.tensor(weights)).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_pow_gradients_at_zero_base_or_exponent_are_pytorchs():
    """x ** 0 at x = 0 had gradient 0 * 0^-1 = NaN (PyTorch: 0), and 0 ** e at e < 0 had
    exponent gradient inf * 0 = NaN (PyTorch: -inf)."""
    base = np.array([0.0, 0.0, 0.0, 2.0, 0.5])
    exponent = np.array([0.0, -1.0, 2.0, 0.5, -3.0])
    a, e = tc.tensor(base, requires_grad=True), tc.tensor(exponent, requires_grad=True)
    with np.errstate(divide="ignore"):
        (a ** e).sum().backward()
    x = tc.tensor(base, requires_grad=True)
    (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0.0)
    expected_a = [0.0, -np.inf, 0.0, 0.5 * 2 ** -0.5, -3 * 0.5 ** -4]
    expected_e = [0.0, -np.inf, 0.0, np.sqrt(2) * np.log(2), 8 * np.log(0.5)]
    np.testing.assert_allclose(a.grad.numpy(), expected_a, rtol=1e-15)
    np.testing.assert_allclose(e.grad.numpy(), expected_e, rtol=1e-15)
    if torch is not None:
        ta = torch.tensor(base, requires_grad=True)
        te = torch.tensor(exponent, requires_grad=True)
        (ta ** te).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-15)
        np.testing.assert_allclose(e.grad.numpy(), te.grad.numpy(), rtol=1e-15)


def test_max_ties_share_the_gradient():
    x = tc.tensor([2.0, 5.0, 5.0, 1.0], requires_grad=True)
    x.max().backward()
    assert x.grad.tolist() == [0.0, 0.5, 0.5, 0.0]


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_and_min_of_a_nan_send_the_gradient_to_it(name):
    """As PyTorch (the mask x == result once held no element, and the gradient was 0 / 0)."""
    x = tc.tensor([[1.0, np.nan, 2.0], [3.0, 1.0, 3.0]], requires_grad=True)
    getattr(x, name)().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]


@pytest.mark.parametrize("name, fn", [
    ("reshape", lambda t: t.reshape(7, -1) * 2),
    ("view tuple", lambda t: t.view((3, 35)) * 2),
    ("flatten", lambda t: t.flatten(1)),
    ("flatten range", lambda t: t.flatten(0, 1)),
    ("transpose", lambda t: t.transpose(0, 2)),
    ("permute", lambda t: t.permute(2, 0, 1)),
    ("T", lambda t: t.T),
    ("unsqueeze", lambda t: t.unsqueeze(1).unsqueeze(-1)),
    ("squeeze", lambda t: t[:, :1].squeeze(1)),
    ("squeeze all", lambda t: t[:1, :, :1].squeeze()),
    ("expand", lambda t: t[:, :1, :].expand(3, 4, 5)),
    ("expand new dim", lambda t: t[0].expand(2, 7, 5)),
    ("basic index", lambda t: t[1, 2:6:2, ::-1]),
    ("int index", lambda t: t[2]),
    ("ellipsis", lambda t: t[..., 3]),
    ("none", lambda t: t[None, 1]),
    ("array index with repeats", lambda t: t[[0, 2, 0, 0]]),
    ("mixed index", lambda t: t[[1, 2, 1], :, [4, 0, 4]]),
    ("negative", lambda t: t[-1, -2]),
])
@pytest.mark.filterwarnings("ignore:The use of `x.T`:UserWarning")
def test_shape_ops(name, fn):
    # The same lambda works on tensorcore, NumPy (forward) and torch, except where the
    # libraries differ in spelling.
    np_fn = {
        "view tuple": lambda a: a.reshape((3, 35)) * 2,
        "flatten": lambda a: a.reshape(3, -1),
        "flatten range": lambda a: a.reshape(21, 5),
        "transpose": lambda a: a.transpose(2, 1, 0),
        "permute": lambda a: a.transpose(2, 0, 1),
        "unsqueeze": lambda a: a[:, None, :, :, None],
        "expand": lambda a: np.broadcast_to(a[:, :1, :], (3, 4, 5)),
        "expand new dim": lambda a: np.broadcast_to(a[0], (2, 7, 5)),
        "squeeze": lambda a: a[:, :1].squeeze(1),
        "squeeze all": lambda a: a[:1, :, :1].squeeze(),
    }.get(name, fn)
    torch_fn = None if name in ("basic index",) else fn   # torch has no negative steps
    check(fn, [rand(3, 7, 5, seed=3)], np_fn=np_fn, torch_fn=torch_fn)


def test_boolean_mask_index():
    x = rand(4, 5, seed=4)
    mask = x > 0
    check(lambda t: t[tc.tensor(mask)] * 3, [x], np_fn=lambda a: a[mask] * 3)


def test_cat_and_stack():
    a, b, c = rand(2, 3, seed=1), rand(4, 3, seed=2), rand(2, 3, seed=3)
    check(lambda x, y: tc.cat([x, y], dim=0), [a, b], np_fn=lambda x, y: np.concatenate([x, y]),
          torch_fn=lambda x, y: torch.cat([x, y], dim=0))
    check(lambda x, y: tc.cat([x, y], axis=1), [a, c], np_fn=lambda x, y: np.concatenate([x, y], 1))
    check(lambda x, y: tc.stack([x, y], dim=1), [a, c], np_fn=lambda x, y: np.stack([x, y], 1),
          torch_fn=lambda x, y: torch.stack([x, y], dim=1))


def test_iteration_yields_differentiable_rows():
    x = tc.tensor(rand(3, 2), requires_grad=True)
    total = sum((row * (i + 1)).sum() for i, row in enumerate(x))
    total.backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1, 1], [2, 2], [3, 3]])


@pytest.mark.parametrize("shapes", [((7,), (7,)), ((3, 7), (7,)), ((7,), (7, 5)), ((3, 7), (7, 5)),
                                    ((2, 3, 7), (7, 5)), ((2, 1, 3, 7), (4, 7, 1)),
                                    ((1, 1), (1, 33)), ((33, 1), (1, 1))])
def test_matmul(shapes):
    a, b = rand(*shapes[0], seed=1), rand(*shapes[1], seed=2)
    check(lambda x, y: x @ y, [a, b], np_fn=np.matmul, torch_fn=lambda x, y: x @ y)


@pytest.mark.parametrize("x_shape", [(7, 3), (3,), (2, 5, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(x_shape, bias):
    import tensorcore.nn.functional as F
    inputs = [rand(*x_shape, seed=1), rand(4, 3, seed=2)] + ([rand(4, seed=3)] if bias else [])

    def np_fn(x, w, b=None):
        return x @ w.T + (0 if b is None else b)
    check(lambda *t: F.linear(*t), inputs, np_fn=np_fn,
          torch_fn=lambda *t: torch.nn.functional.linear(*t))


def test_linear_with_no_input_features_is_the_bias():
    """in = 0 (NumPy's reshape(-1, 0) is ambiguous and raised): the bias, zero gradients."""
    import tensorcore.nn.functional as F
    x, w = tc.ones(2, 0, requires_grad=True), tc.ones(3, 0, requires_grad=True)
    b = tc.tensor(rand(3, seed=1).astype(np.float32), requires_grad=True)
    y = F.linear(x, w, b)
    y.sum().backward()
    np.testing.assert_array_equal(y.numpy(), np.broadcast_to(b.numpy(), (2, 3)))
    assert x.grad.shape == (2, 0) and w.grad.shape == (3, 0) and b.grad.tolist() == [2.0] * 3


@pytest.mark.parametrize("a_shape, b_shape", [((3, 4), (5, 2)), ((4,), (3,)), ((2, 3, 4), (3, 5, 2))])
def test_matmul_bad_shapes(a_shape, b_shape):
    with pytest.raises(ShapeError, match="matmul"):
        tc.ones(*a_shape) @ tc.ones(*b_shape)


def test_matmul_dtype_mismatch():
    with pytest.raises(TypeError, match="matmul.*float32.*float64"):
        tc.ones(2, 2) @ tc.ones(2, 2, dtype="float64")


def test_non_broadcastable_shapes():
    with pytest.raises(ShapeError, match=r"add: shapes \(3,\) and \(4,\)"):
        tc.ones(3) + tc.ones(4)
    with pytest.raises(ShapeError, match="mul"):
        tc.ones(2, 3) * tc.ones(3, 2)


@pytest.mark.parametrize("shape", [(5,), (4, -1, 2), (-1, -1), (7, 3)])
def test_reshape_to_wrong_size(shape):
    with pytest.raises(ShapeError, match="reshape"):
        tc.ones(4, 3).reshape(*shape)


@pytest.mark.parametrize("index", [5, (0, 3), -6, [0, 9]])
def test_out_of_range_index(index):
    with pytest.raises(TensorIndexError, match="out of range"):
        tc.ones(5, 3)[index]


def test_bad_axes():
    with pytest.raises(ShapeError, match="sum: axis 2 is out of range"):
        tc.ones(2, 3).sum(axis=2)
    with pytest.raises(TypeError, match="not both"):
        tc.ones(2, 3).sum(axis=0, dim=1)
    with pytest.raises(ShapeError, match="permute"):
        tc.ones(2, 3).permute(0, 0)
    with pytest.raises(ShapeError, match="expand"):
        tc.ones(2, 3).expand(4, 3)
    with pytest.raises(ShapeError, match="cat"):
        tc.cat([tc.ones(2, 3), tc.ones(2, 4)])
    with pytest.raises(ShapeError, match="stack"):
        tc.stack([tc.ones(2, 3), tc.ones(3, 2)])
