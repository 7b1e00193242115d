"""The shared check behind most op tests (tinygrad's helper, in spirit).

    check(tc_fn, inputs, np_fn=..., torch_fn=...)

runs ``tc_fn`` on tensorcore tensors made from ``inputs`` (float64 NumPy arrays, random and
of odd sizes) and checks, in order:
  1. forward in float64 and float32 against ``np_fn`` evaluated in float64;
  2. gradients by finite differences (``tc.autograd.gradcheck``) in float64;
  3. where PyTorch is installed and ``torch_fn`` is given, forward values and the gradients
     of every input against PyTorch, in float64 and float32.
"""
import numpy as np
import pytest

import tensorcore as tc

try:
    import torch
except ImportError:  # the suite runs without PyTorch; the torch comparisons skip
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

TOLERANCE = {np.float64: dict(rtol=1e-7, atol=1e-9), np.float32: dict(rtol=2e-4, atol=2e-5)}


def rand(*shape, seed=None, low=-1.0, high=1.0):
    """Random float64 values, never all zero."""
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, size=shape)


def model_and_layers_one_by_one(model, layers, x, weights):
    """Pairs (the model's, its layers' run one by one) of the output y and of the gradients of
    the tensors ``weights()`` gives (called after the forward pass, which builds Keras
    layers) from (y * y).sum(): for models that run some layers together (nn.Sequential's and
    Keras' conv then max pool as one op)."""
    def one_by_one(x):
        for layer in layers:
            x = layer(x)
        return x
    results = []
    for forward in (model, one_by_one):
        y = forward(x)
        tensors = list(weights())
        for weight in tensors:
            weight.grad = None
        (y * y).sum().backward()
        results.append([y.numpy()] + [weight.grad.numpy() for weight in tensors])
    return zip(*results)


def _as_list(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def as_float64(*args):
    """``args`` with every floating-point array cast to float64, anything else (integer
    indices and targets, shapes, None) as it is: the reference evaluated on these is the
    oracle for a float32 kernel given the same (rounded) inputs."""
    return [a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
            for a in args]


def gelu_tanh_huge_inputs(dtype):
    """x far out on both sides and NaN, and GELU's tanh-approximation slope there: 1 far to the
    right, 0 far to the left, NaN for NaN. x * x overflowing there (past |x| = 1.8e19 in
    float32) made the slope NaN (0 * inf) in the C++, CUDA and reference kernels alike."""
    big = np.finfo(dtype).max / 2
    x = np.array([1e19, 1e20, big, -1e19, -1e20, -big, np.nan], dtype=dtype)
    return x, [1, 1, 1, 0, 0, 0, np.nan]


def misaligned(a):
    """The same values, C-contiguous, at an address one byte past an element boundary."""
    out = np.zeros(a.nbytes + 1, np.uint8)[1:].view(a.dtype).reshape(a.shape)
    out[...] = a
    assert out.flags.c_contiguous and not out.flags.aligned
    return out


def assert_close(got, expected, dtype=np.float64, scale=None, what="value"):
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape, f"{what}: shape {got.shape} != expected {expected.shape}"
    tol = TOLERANCE[np.dtype(dtype).type]
    # absolute tolerance scaled by the result's magnitude: float32 sums over long axes round
    # in proportion to what they sum, not to each result element
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0))) if scale is None else scale
    np.testing.assert_allclose(got, expected, rtol=tol["rtol"], atol=tol["atol"] * scale,
                               err_msg=what)


def tensors(inputs, dtype, requires_grad=True):
    """tensorcore tensors from test inputs: float arrays cast to ``dtype`` (and requiring grad),
    integer arrays (class indices) kept as they are, anything else passed through."""
    return [tc.tensor(a.astype(dtype) if a.dtype.kind == "f" else a,
                      requires_grad=requires_grad and a.dtype.kind == "f")
            if isinstance(a, np.ndarray) else a for a in inputs]


def check(tc_fn, inputs, np_fn=None, torch_fn=None, grad=True, dtypes=(np.float64, np.float32),
          gradcheck_eps=1e-6, gradcheck_atol=1e-5, gradcheck_rtol=1e-3):
    inputs = [np.asarray(a) if isinstance(a, (list, np.ndarray)) else a for a in inputs]
    if np_fn is not None:
        expected = _as_list(np_fn(*inputs))
        for dtype in dtypes:
            got = _as_list(tc_fn(*tensors(inputs, dtype, requires_grad=False)))
            assert len(got) == len(expected)
            for i, (g, e) in enumerate(zip(got, expected)):
                assert g.dtype == np.dtype(dtype) or g.dtype.kind != "f", \
                    f"output {i}: dtype {g.dtype}, expected {np.dtype(dtype)}"
                assert_close(g.numpy(), e, dtype, what=f"forward output {i} ({np.dtype(dtype)})")
    if grad:
        tc.autograd.gradcheck(tc_fn, tensors(inputs, np.float64), eps=gradcheck_eps,
                              atol=gradcheck_atol, rtol=gradcheck_rtol)
    if torch_fn is not None and torch is not None:
        compare_with_torch(tc_fn, torch_fn, inputs, dtypes, grad)


def compare_with_torch(tc_fn, torch_fn, inputs, dtypes=(np.float64, np.float32), grad=True):
    """Forward values and input gradients (for one random cotangent) against PyTorch."""
    for dtype in dtypes:
        ours = tensors(inputs, dtype, requires_grad=grad)
        theirs = [torch.tensor(a.astype(dtype), requires_grad=grad and a.dtype.kind == "f")
                  if isinstance(a, np.ndarray) and a.dtype.kind == "f"
                  else torch.tensor(a) if isinstance(a, np.ndarray) else a for a in inputs]
        our_out, their_out = _as_list(tc_fn(*ours)), _as_list(torch_fn(*theirs))
        assert len(our_out) == len(their_out)
        rng = np.random.default_rng(1)
        our_total = their_total = None
        for i, (o, t) in enumerate(zip(our_out, their_out)):
            assert_close(o.numpy(), t.detach().numpy(), dtype, what=f"output {i} vs torch ({np.dtype(dtype)})")
            if grad and o.requires_grad and o.dtype.kind == "f":
                u = rng.standard_normal(o.shape).astype(dtype)
                our_term = (o * tc.tensor(u)).sum()
                their_term = (t * torch.tensor(u)).sum()
                our_total = our_term if our_total is None else our_total + our_term
                their_total = their_term if their_total is None else their_total + their_term
        if our_total is None:
            continue
        our_total.backward()
        their_total.backward()
        for i, (o, t) in enumerate(zip(ours, theirs)):
            if isinstance(o, tc.Tensor) and o.requires_grad:
                assert (o.grad is None) == (t.grad is None), f"input {i}: gradient presence differs from torch"
                if o.grad is not None:
                    assert_close(o.grad.numpy(), t.grad.numpy(), dtype,
                                 what=f"gradient of input {i} vs torch ({np.dtype(dtype)})")
