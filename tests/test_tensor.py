"""Tensor creation, attributes and conversion (SPEC.md "Tensors")."""
import numpy as np
import pytest

import tensorcore as tc
from tensorcore.errors import DeviceError, ShapeError

from helpers import needs_torch, torch


def test_python_data_gets_pytorch_default_dtypes():
    assert tc.tensor(1.5).dtype == np.float32
    assert tc.tensor([[1.0, 2.0], [3.0, 4.5]]).dtype == np.float32
    assert tc.tensor([1, 2, 3]).dtype == np.int64
    assert tc.tensor([True, False]).dtype == np.bool_
    assert tc.tensor([1, 2], dtype="float64").dtype == np.float64
    assert tc.tensor([1, 2], dtype=tc.float64).dtype == np.float64


def test_arrays_keep_their_dtype_and_tensor_copies():
    a = np.random.default_rng(0).standard_normal((3, 5))
    t = tc.tensor(a)
    assert t.dtype == np.float64 and t.shape == (3, 5)
    a[0, 0] = 123.0
    assert t[0, 0].item() != 123.0
    assert tc.tensor(t).dtype == np.float64


def test_from_numpy_shares_memory():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = tc.from_numpy(a)
    a[1, 2] = -7.0
    assert t[1, 2].item() == -7.0
    assert np.shares_memory(np.asarray(t), a)


def test_attributes():
    t = tc.randn(3, 7)
    assert t.shape == (3, 7) and t.ndim == 2 and t.numel() == 21
    assert t.size == 21 and t.size() == (3, 7) and t.size(1) == 7 and t.size(-2) == 3
    assert t.device == "cpu" and t.requires_grad is False and t.grad is None
    assert t.T.shape == (7, 3) and len(t) == 3


def test_creation_functions():
    assert tc.zeros(2, 3).numpy().sum() == 0 and tc.zeros((2, 3)).shape == (2, 3)
    assert tc.ones(4).numpy().tolist() == [1.0, 1.0, 1.0, 1.0]
    assert tc.empty(2, 5).shape == (2, 5)
    assert tc.full((2, 2), 3.5).numpy().tolist() == [[3.5, 3.5], [3.5, 3.5]]
    t = tc.randn(3, 4, dtype=tc.float64)
    assert tc.zeros_like(t).dtype == np.float64 and tc.ones_like(t).shape == (3, 4)
    assert tc.arange(5).numpy().tolist() == [0, 1, 2, 3, 4] and tc.arange(5).dtype == np.int64
    assert tc.arange(0.0, 1.0, 0.25).dtype == np.float32
    np.testing.assert_allclose(tc.arange(1, 7, 2).numpy(), [1, 3, 5])
    r = tc.rand(1000)
    assert r.dtype == np.float32 and 0 <= r.numpy().min() and r.numpy().max() < 1


def test_manual_seed_repeats():
    tc.manual_seed(42)
    a = tc.randn(5).numpy().copy()
    tc.manual_seed(42)
    assert np.array_equal(a, tc.randn(5).numpy())
    assert not np.array_equal(a, tc.randn(5).numpy())


def test_conversions():
    t = tc.tensor([[1.5, -2.0], [3.0, 4.0]])
    assert t.tolist() == [[1.5, -2.0], [3.0, 4.0]]
    assert tc.tensor([2.5]).item() == 2.5 and float(tc.tensor(2.5)) == 2.5
    assert np.asarray(t).shape == (2, 2) and np.asarray(t, dtype=np.float64).dtype == np.float64
    assert t.double().dtype == np.float64 and t.double().float().dtype == np.float32
    assert t.to("float64").dtype == np.float64 and t.to(tc.float64).dtype == np.float64
    assert t.to("cpu") is t and t.cpu() is t
    d = t.detach()
    assert d.requires_grad is False and np.shares_memory(np.asarray(d), np.asarray(t))


def test_cast_is_differentiable():
    x = tc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x.double() * 2).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.numpy().tolist() == [2.0, 2.0, 2.0]


def test_dlpack_roundtrip():
    t = tc.randn(3, 4)
    back = tc.from_dlpack(t)
    assert np.shares_memory(np.asarray(back), np.asarray(t))
    assert np.array_equal(np.from_dlpack(t), t.numpy())


@needs_torch
def test_dlpack_from_torch():
    source = torch.randn(2, 3)
    t = tc.from_dlpack(source)
    assert np.array_equal(t.numpy(), source.numpy())


def test_repr_shows_values_and_grad_state():
    text = repr(tc.tensor([1.0, 2.0], requires_grad=True))
    assert "tensor([1., 2.]" in text and "requires_grad=True" in text
    assert "dtype=float64" in repr(tc.tensor([1.0], dtype="float64"))
    assert "grad_fn=<Mul>" in repr(tc.tensor([1.0], requires_grad=True) * 2)


def test_comparisons_give_boolean_tensors():
    a, b = tc.tensor([1.0, 2.0, 3.0]), tc.tensor([3.0, 2.0, 1.0])
    assert (a < b).tolist() == [True, False, False] and (a == b).dtype == np.bool_
    assert (a >= 2).tolist() == [False, True, True]


@pytest.mark.parametrize("bad", ["abc", b"abc", {"a": 1}, [[1, 2], [3]], object()])
def test_tensor_rejects_non_numeric_data(bad):
    with pytest.raises((TypeError, ValueError), match="tensor"):
        tc.tensor(bad)


@pytest.mark.parametrize("dtype", ["float99", "complex", object, "torch.nothing"])
def test_unknown_dtype(dtype):
    with pytest.raises(TypeError, match="dtype"):
        tc.tensor([1.0], dtype=dtype)


@pytest.mark.parametrize("device", ["tpu", "cuda:x", "gpu0", 3])
def test_unknown_device(device):
    with pytest.raises(DeviceError, match="device"):
        tc.tensor([1.0], device=device)
    if isinstance(device, str):
        with pytest.raises((TypeError, DeviceError), match="device"):
            tc.ones(1).to(device)


@pytest.mark.skipif(tc.cuda_available(), reason="a GPU is present")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(DeviceError, match="CUDA is not available"):
        tc.tensor([1.0]).to("cuda")
    with pytest.raises(DeviceError):
        tc.zeros(2, device="cuda")


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating"):
        tc.tensor([1, 2], requires_grad=True)


def test_item_and_bool_need_one_element():
    with pytest.raises(ShapeError, match="item"):
        tc.ones(3).item()
    with pytest.raises(ShapeError, match="ambiguous"):
        bool(tc.ones(3))


def test_setitem_in_place_and_guarded():
    t = tc.zeros(3, 4)
    t[1, 2] = 5.0
    t[0] = tc.ones(4)
    assert t.numpy()[1, 2] == 5.0 and t.numpy()[0].tolist() == [1, 1, 1, 1]
    w = tc.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        w[0] = 1.0
    with tc.no_grad():
        w[0] = 1.0
    assert w.numpy()[0] == 1.0
    h = tc.tensor([1.0, 2.0], requires_grad=True).exp()     # an op's output: exp saved it
    with pytest.raises(RuntimeError, match="requires grad"):
        h[0] = 1.0


def test_setitem_records_values_that_require_grad():
    """As PyTorch's CopySlices: a value with a graph assigned into a tensor makes that tensor
    carry it (its gradient was dropped silently), further assignments into it chain, and a
    constant assigned over part of it stops that part's gradient. The RNN idiom out[t] = h
    against the same steps collected with tc.stack."""
    rng = np.random.default_rng(0)
    w_data, xs = rng.standard_normal((3, 3)), rng.standard_normal((4, 2, 3))

    def run(collect):
        w = tc.tensor(w_data, requires_grad=True)
        h, steps = tc.zeros(2, 3, dtype="float64"), []
        for x in xs:
            h = tc.tanh(tc.tensor(x) @ w + h @ w)
            steps.append(h)
        out = collect(steps)
        assert out.requires_grad
        (out * tc.tensor(rng.standard_normal(out.shape))).sum().backward()
        return out.numpy(), w.grad.numpy()

    def assigned(steps):
        out = tc.zeros(4, 2, 3, dtype="float64")
        for t, h in enumerate(steps):
            out[t] = h
        out[1, 0] = 0.0
        return out

    def stacked(steps):
        steps[1] = tc.stack([steps[1][0] * 0, steps[1][1]])
        return tc.stack(steps)

    rng = np.random.default_rng(1)
    got = run(assigned)
    rng = np.random.default_rng(1)
    expected = run(stacked)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-14)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-12)
    with tc.no_grad():                    # not recorded: the tensor keeps no graph
        buf = tc.zeros(2)
        buf[0] = tc.ones(1, requires_grad=True)[0] * 3
    assert buf.tolist() == [3.0, 0.0] and not buf.requires_grad


def test_legacy_tensor_types_and_variable():
    """The classic PyTorch GAN's spellings: Tensor = torch.FloatTensor, Tensor(n, 1).fill_(1.0),
    Variable(...), imgs.type(Tensor), Tensor(numpy_array)."""
    Tensor = tc.cuda.FloatTensor if tc.cuda.is_available() else tc.FloatTensor
    valid = tc.autograd.Variable(Tensor(4, 1).fill_(1.0), requires_grad=False)
    assert valid.dtype == np.float32 and valid.shape == (4, 1) and valid.numpy().tolist() == [[1.0]] * 4
    noise = np.random.default_rng(0).normal(0, 1, (3, 2))
    z = tc.autograd.Variable(Tensor(noise))
    assert z.dtype == np.float32 and np.allclose(z.numpy(), noise.astype(np.float32))
    images = tc.tensor(np.arange(6, dtype=np.uint8).reshape(2, 3))
    assert images.type(tc.FloatTensor).dtype == np.float32
    assert images.type(tc.LongTensor).numpy().tolist() == [[0, 1, 2], [3, 4, 5]]
    assert tc.autograd.Variable(tc.zeros(2), requires_grad=True).requires_grad
    assert tc.ones(3).zero_().numpy().tolist() == [0, 0, 0]


def test_torch_spellings_of_classic_scripts():
    """pytorch/examples' MNIST loop: torch.device, .to(device), argmax(dim, keepdim),
    pred.eq(target.view_as(pred)), is_tensor."""
    device = tc.device("cuda" if tc.cuda.is_available() else "cpu")
    assert device in ("cpu", "cuda") and tc.device("cuda", 1) == "cuda:1"
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        tc.device("tpu")
    output = tc.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]).to(tc.device("cpu"))
    target = tc.tensor([1, 1, 1])
    pred = output.argmax(dim=1, keepdim=True)
    assert pred.shape == (3, 1) and pred.eq(target.view_as(pred)).sum().item() == 2
    assert output.gt(0.5).numpy().tolist() == (output.numpy() > 0.5).tolist()
    assert tc.is_tensor(output) and not tc.is_tensor(output.numpy())


def test_view_never_copies_and_contiguous_makes_one():
    """view was reshape: on a transposed tensor it copied, so writes through it no longer
    reached the tensor (PyTorch raises there); contiguous() returned self, so PyTorch's
    x.t().contiguous().view(-1) would now fail."""
    x = tc.tensor(np.arange(6.0).reshape(2, 3))
    v = x.view(3, 2)
    v[0, 0] = 100.0
    assert x.numpy()[0, 0] == 100.0 and x.view_as(tc.zeros(6)).shape == (6,)
    with pytest.raises(ShapeError, match=r"view: a tensor of shape \(3, 2\) .* has no view of "
                                         r"shape \(6,\); use .reshape"):
        x.t().view(-1)
    flat = x.t().contiguous().view(-1)
    assert flat.numpy().tolist() == [100.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    assert x.contiguous() is x and x.t().reshape(-1).shape == (6,)


def test_shape_edge_cases_as_pytorch():
    assert tc.zeros(0, 3).flatten(0, 1).shape == (0,) and tc.zeros(2, 0, 4).flatten().shape == (0,)
    assert tc.zeros(2, 0, 4).flatten(1).shape == (2, 0)
    with pytest.raises(ShapeError, match=r"t: expected a tensor of at most 2 dimensions, got "
                                         r"shape \(2, 3, 4\)"):
        tc.zeros(2, 3, 4).t()
    assert tc.zeros(5).t().shape == (5,)
    # min > max: every element max, no gradient (PyTorch); this raised
    x = tc.tensor([0.5, 2.0, -1.0], requires_grad=True)
    y = tc.clamp(x, 1.0, 0.0)
    y.sum().backward()
    assert y.tolist() == [0.0, 0.0, 0.0] and x.grad.tolist() == [0.0, 0.0, 0.0]


def test_fill_and_zero_guard_tensors_that_require_grad():
    w = tc.ones(3, requires_grad=True)
    for change in (lambda: w.fill_(2.0), w.zero_):
        with pytest.raises(RuntimeError, match="in-place change of a tensor that requires grad"):
            change()
    assert w.tolist() == [1.0, 1.0, 1.0]
    with tc.no_grad():
        w.zero_()
    assert w.tolist() == [0.0, 0.0, 0.0]
