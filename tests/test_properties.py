"""Property tests over generated shapes: broadcasting gradients and reductions hold for any
shapes, not only the ones written down elsewhere."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorcore as tc

from helpers import assert_close

dims = st.integers(min_value=1, max_value=4)


@st.composite
def broadcastable_pair(draw):
    """Two shapes that broadcast: a common shape with some axes set to 1 or dropped."""
    shape = draw(st.lists(dims, min_size=0, max_size=4))

    def variant():
        kept = shape[draw(st.integers(0, len(shape))):]
        return tuple(1 if draw(st.booleans()) else s for s in kept)
    return variant(), variant()


@settings(max_examples=40, deadline=None)
@given(broadcastable_pair(), st.integers(0, 2**31 - 1))
def test_broadcast_gradients_match_explicit_sums(shapes, seed):
    rng = np.random.default_rng(seed)
    a_np, b_np = rng.uniform(0.5, 2, shapes[0]), rng.uniform(0.5, 2, shapes[1])
    a = tc.tensor(a_np, requires_grad=True)
    b = tc.tensor(b_np, requires_grad=True)
    out = a * b / (a + b)
    u = rng.standard_normal(out.shape)
    out.backward(tc.tensor(u))
    full = out.shape
    ab, bb = np.broadcast_to(a_np, full), np.broadcast_to(b_np, full)
    da = u * (bb * bb) / (ab + bb) ** 2          # d(ab/(a+b))/da, elementwise on the full shape

    def reduce_to(g, shape):
        g = g.sum(axis=tuple(range(g.ndim - len(shape)))) if g.ndim > len(shape) else g
        return g.sum(axis=tuple(i for i, s in enumerate(shape) if s == 1), keepdims=True)
    assert_close(a.grad.numpy(), reduce_to(da, shapes[0]).reshape(shapes[0]))
    assert b.grad.shape == shapes[1]


@settings(max_examples=40, deadline=None)
@given(st.lists(dims, min_size=1, max_size=4), st.data())
def test_reductions_match_numpy_for_any_axes(shape, data):
    axes = data.draw(st.lists(st.integers(0, len(shape) - 1), unique=True, max_size=len(shape)))
    axis = tuple(axes) if axes else None
    keepdims = data.draw(st.booleans())
    x_np = np.random.default_rng(len(shape)).standard_normal(shape)
    x = tc.tensor(x_np, requires_grad=True)
    for name in ("sum", "mean", "max"):
        got = getattr(x, name)(axis=axis, keepdims=keepdims)
        assert_close(got.numpy(), getattr(np, name)(x_np, axis=axis, keepdims=keepdims))
    x.mean(axis=axis, keepdims=keepdims).sum().backward()
    count = x_np.size if axis is None else int(np.prod([shape[i] for i in axis]))
    assert_close(x.grad.numpy(), np.full(shape, 1.0 / count))
