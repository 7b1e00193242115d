"""The tape: accumulation, broadcasting, no_grad, detach, multi-use, deep graphs, gradcheck."""
import gc
import weakref

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore.autograd import Function, GradcheckError
from tensorcore.errors import ShapeError

from helpers import check, rand


def test_gradients_accumulate_until_zeroed():
    x = tc.tensor(rand(3, 4), requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((3, 4), 6.0))
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy())


def test_tensor_used_twice_sums_both_paths():
    x = tc.tensor(rand(5), requires_grad=True)
    y = x * x + x.exp() * x
    y.sum().backward()
    a = x.numpy().astype(np.float64)
    np.testing.assert_allclose(x.grad.numpy(), 2 * a + np.exp(a) * (1 + a), rtol=1e-5)


@pytest.mark.parametrize("shape_a, shape_b", [((3, 1), (1, 4)), ((7,), (3, 7)), ((2, 1, 3), (4, 1)),
                                              ((), (3, 3)), ((1,), (1, 1, 5))])
def test_broadcasting_sums_gradients_back_to_each_shape(shape_a, shape_b):
    def fn(a, b):
        return a * b + a - b / 2
    check(fn, [rand(*shape_a, seed=1), rand(*shape_b, seed=2)], np_fn=fn, torch_fn=fn)
    a = tc.tensor(rand(*shape_a), requires_grad=True)
    b = tc.tensor(rand(*shape_b), requires_grad=True)
    fn(a, b).sum().backward()
    assert a.grad.shape == shape_a and b.grad.shape == shape_b


def test_no_grad_and_detach_cut_the_graph():
    x = tc.tensor(rand(3), requires_grad=True)
    with tc.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    z = (x * 2).detach()
    assert not z.requires_grad
    assert tc.is_grad_enabled()

    @tc.no_grad()
    def f(t):
        return t * 2
    assert not f(x).requires_grad


def test_backward_on_non_scalar_needs_a_gradient():
    x = tc.tensor(rand(2, 3), requires_grad=True)
    y = x * 2
    with pytest.raises(ShapeError, match="non-scalar"):
        y.backward()
    with pytest.raises(ShapeError, match="gradient shape"):
        y.backward(tc.ones(3, 2))
    y.backward(tc.ones(2, 3))
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 3), 2.0))


def test_backward_without_graph_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tc.ones(3).sum().backward()


def test_deep_graph_does_not_hit_recursion_limit():
    x = tc.tensor([1.0], requires_grad=True, dtype="float64")
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0001 ** 5000], rtol=1e-9)


def test_multi_output_function_with_one_output_unused():
    class SplitHalves(Function):
        def forward(self, a):
            return a[:2] * 2, a[2:] * 3

        def backward(self, g_first, g_second):
            parts = [np.zeros(2) if g_first is None else g_first * 2,
                     np.zeros(2) if g_second is None else g_second * 3]
            return np.concatenate(parts)

    x = tc.tensor([1.0, 2.0, 3.0, 4.0], dtype="float64", requires_grad=True)
    first, second = SplitHalves.apply(x)
    second.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0, 0, 3, 3])


def test_gradcheck_passes_on_correct_and_fails_on_wrong_gradients():
    x = tc.tensor(rand(3, 2, seed=3), dtype="float64", requires_grad=True)
    assert tc.autograd.gradcheck(lambda t: (t * t).exp(), (x,))

    class WrongSquare(Function):
        def forward(self, a):
            self.a = a
            return a * a

        def backward(self, g):
            return g * self.a   # missing the factor 2

    with pytest.raises(GradcheckError, match="input 0"):
        tc.autograd.gradcheck(lambda t: WrongSquare.apply(t), (x,))
    assert tc.autograd.gradcheck(lambda t: WrongSquare.apply(t), (x,), raise_exception=False) is False


def test_gradcheck_wants_float64():
    with pytest.raises(TypeError, match="float64"):
        tc.autograd.gradcheck(lambda t: t * 2, (tc.ones(2, requires_grad=True),))


def test_leaf_gradient_has_leaf_dtype():
    x = tc.tensor(rand(3), dtype="float32", requires_grad=True)
    (x * tc.tensor(rand(3), dtype="float64")).sum().backward()
    assert x.grad.dtype == np.float32


def test_graph_does_not_keep_intermediate_results_backward_does_not_need():
    # As in PyTorch, the graph keeps what each op saved for backward, not its inputs' data:
    # add and sum save nothing of theirs, so y's array is freed once y is dropped.
    x = tc.tensor(rand(4, 3), dtype="float64", requires_grad=True)
    y = x + 1.0
    loss = (y + y).sum()
    freed = weakref.ref(y._data)
    del y
    gc.collect()
    assert freed() is None
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((4, 3), 2.0))


def test_conv_output_is_freed_before_backward():
    # conv -> max pool: the pool saves its argmax indices, not the conv's output
    x = tc.tensor(rand(2, 1, 9, 9, seed=4), dtype="float64")
    w = tc.tensor(rand(3, 1, 3, 3, seed=5), dtype="float64", requires_grad=True)
    conv = F.conv2d(x, w)
    loss = F.max_pool2d(conv, 2).sum()
    freed = weakref.ref(conv._data)
    conv_leaf = tc.tensor(conv.numpy().copy(), requires_grad=True)
    del conv
    gc.collect()
    assert freed() is None
    loss.backward()
    F.max_pool2d(conv_leaf, 2).sum().backward()
    windows = np.lib.stride_tricks.sliding_window_view(x.numpy()[:, 0], (3, 3), axis=(1, 2))
    expected = np.einsum("nohw,nhwij->oij", conv_leaf.grad.numpy(), windows)
    np.testing.assert_allclose(w.grad.numpy()[:, 0], expected, rtol=1e-12)
