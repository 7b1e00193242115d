"""The C++ fused kernels ("cpu.cpp"): softmax, log_softmax, cross-entropy and NLL
(csrc/softmax.cpp), bias_act (csrc/bias_act.cpp) and the optimizer steps (csrc/optim.cpp),
against the reference variants and float64 NumPy at odd sizes, on every ISA this CPU runs;
finite-difference gradients with the C++ variants forced; 1 vs 2 threads; bad input."""
import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore.ops.activations import bias_activation

from helpers import check, torch
from test_cpp_kernels import DTYPES, assert_matches, rand, variant
from test_fused_ops import NP_ACTIVATIONS, OPTIMIZER_CASES, np_optimizer_steps, optimizer_steps

_C = pytest.importorskip("tensorcore._C", reason="the C++ extension is not built")

SIZES = [1, 3, 7, 33, 127, 1000]


def pair(op):
    return variant(op, "cpu.cpp"), variant(op, "cpu.reference")


def np_log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


# --- softmax, log_softmax ---------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cols", SIZES)
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_rows(isa, dtype, cols, op):
    x = rand(5, cols, dtype=dtype, seed=cols, scale=8.0)
    grad = rand(5, cols, dtype=dtype, seed=cols + 1)
    ours, reference = pair(op)
    expected = np_log_softmax(x.astype(np.float64), -1)
    expected = np.exp(expected) if op == "softmax" else expected
    assert_matches(ours(x, -1), expected.astype(dtype), dtype)
    y = reference(x, -1)
    ours_back, reference_back = pair(op + "_backward")
    assert_matches(ours_back(grad, y, -1), reference_back(grad, y, -1), dtype)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_other_axes_and_views(op):
    ours, reference = pair(op)
    ours_back, reference_back = pair(op + "_backward")
    x = rand(4, 9, 66, seed=1, scale=5.0)[:, ::2, ::-3]     # (4, 5, 22) strided view
    grad = rand(4, 5, 22, seed=2)
    for axis in (0, 1, 2, -1):
        assert_matches(ours(x, axis), reference(x, axis), np.float64)
        y = reference(x, axis)
        assert_matches(ours_back(grad, y, axis), reference_back(grad, y, axis), np.float64)


def test_softmax_extreme_values(isa):
    x = np.array([[1e4, -1e4, 0.0], [-np.inf, 0.0, 1.0], [88.0, 89.0, -104.0]], np.float32)
    for op in ("softmax", "log_softmax"):
        ours, reference = pair(op)
        with np.errstate(all="ignore"):
            assert_matches(ours(x, -1), reference(x, -1), np.float32)


# --- cross-entropy, nll -------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("classes", SIZES)
def test_cross_entropy_and_nll(isa, dtype, classes):
    rows = 9
    logits = rand(rows, classes, dtype=dtype, seed=classes, scale=6.0)
    target = np.random.default_rng(classes).integers(0, classes, rows)
    grad = rand(rows, dtype=dtype, seed=3)
    ours, reference = pair("cross_entropy")
    loss, log_probs = ours(logits, target)
    expected_lp = np_log_softmax(logits.astype(np.float64), 1)
    assert_matches(log_probs, expected_lp.astype(dtype), dtype)
    assert_matches(loss, -expected_lp[np.arange(rows), target].astype(dtype), dtype)
    ours_back, reference_back = pair("cross_entropy_backward")
    assert_matches(ours_back(grad, log_probs, target), reference_back(grad, log_probs, target), dtype)
    for op in ("nll_loss", "nll_loss_backward"):
        args = (log_probs, target) if op == "nll_loss" else (grad, log_probs, target)
        ours, reference = pair(op)
        np.testing.assert_array_equal(ours(*args), reference(*args))


@pytest.mark.parametrize("case", [
    lambda x: F.softmax(x, axis=-1),
    lambda x: F.log_softmax(x, axis=0),
    lambda x: F.cross_entropy(x, tc.tensor(np.array([0, 4, 2]))),
    lambda x: F.nll_loss(F.log_softmax(x, axis=1), tc.tensor(np.array([1, 0, 3]))),
])
def test_gradients_through_the_cpp_softmax_kernels(case):
    ops = ("softmax", "log_softmax", "cross_entropy", "nll_loss")
    with tc.kernels.use(**{op: "cpu.cpp" for op in ops}):
        check(case, [rand(3, 5, seed=1, scale=3.0)])


# --- bias_act ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("features", SIZES)
@pytest.mark.parametrize("activation", list(NP_ACTIVATIONS))
def test_bias_act(isa, dtype, features, activation):
    x = rand(13, features, dtype=dtype, seed=features, scale=4.0)
    bias = rand(features, dtype=dtype, seed=features + 1)
    grad = rand(13, features, dtype=dtype, seed=features + 2)
    ours, reference = pair("bias_act")
    y = ours(x, bias, activation)
    assert_matches(y, NP_ACTIVATIONS[activation](x.astype(np.float64) + bias).astype(dtype), dtype)
    ours_back, reference_back = pair("bias_act_backward")
    dx, dbias = ours_back(grad, y, activation)
    expected_dx, expected_dbias = reference_back(grad, y, activation)
    assert_matches(dx, expected_dx, dtype)
    assert_matches(dbias, expected_dbias, dtype)


def test_bias_act_large_and_shaped(isa):
    """Past the parallel threshold and with several row blocks in the dbias reduction."""
    x = rand(3, 700, 129, dtype=np.float32, seed=1)
    bias = rand(129, dtype=np.float32, seed=2)
    grad = rand(3, 700, 129, dtype=np.float32, seed=3)
    ours_back, reference_back = pair("bias_act_backward")
    for activation in NP_ACTIVATIONS:
        y = variant("bias_act", "cpu.cpp")(x, bias, activation)
        assert_matches(y, variant("bias_act", "cpu.reference")(x, bias, activation), np.float32)
        for got, expected in zip(ours_back(grad, y, activation), reference_back(grad, y, activation)):
            assert_matches(got, expected, np.float32)


def test_bias_act_empty():
    for shape in [(0, 5), (4, 0)]:
        x = np.ones(shape, np.float32)
        y = _C.bias_act(x, np.ones(shape[1], np.float32), "relu")
        dx, dbias = _C.bias_act_backward(x, y, "relu")
        assert y.shape == dx.shape == shape
        np.testing.assert_array_equal(dbias, np.zeros(shape[1], np.float32))


@pytest.mark.parametrize("activation", list(NP_ACTIVATIONS))
def test_bias_act_gradients_through_the_cpp_kernels(activation):
    with tc.kernels.use(bias_act="cpu.cpp"):
        check(lambda x, b: bias_activation(x, b, activation),
              [rand(2, 5, 7, seed=1) + 0.05, rand(7, seed=2)],
              np_fn=lambda x, b: NP_ACTIVATIONS[activation](x + b))
        assert tc.kernels.get("bias_act_backward").last.name == "cpu.cpp"


# --- optimizer steps ----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name,args,torch_name,torch_args", OPTIMIZER_CASES)
def test_optimizer_steps(isa, dtype, size, name, args, torch_name, torch_args):
    """Four steps with state kept: the C++ variant (forced) against float64 NumPy."""
    param = rand(size, seed=1)
    grads = [rand(size, seed=10 + t) for t in range(4)]
    with tc.kernels.use(**{f"{name}_step": "cpu.cpp"}):
        got = optimizer_steps(name, args, param.astype(dtype), grads)
        assert tc.kernels.get(f"{name}_step").last.name == "cpu.cpp"
    assert_matches(got, np_optimizer_steps(name, args, param, grads).astype(dtype), dtype)


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("name,args,torch_name,torch_args", OPTIMIZER_CASES)
def test_optimizer_steps_match_torch_on_a_large_tensor(name, args, torch_name, torch_args):
    param, grads = rand(300_007, seed=1), [rand(300_007, seed=10 + t) for t in range(3)]
    with tc.kernels.use(**{f"{name}_step": "cpu.cpp"}):
        got = optimizer_steps(name, args, param.astype(np.float32), grads)
    p = torch.nn.Parameter(torch.tensor(param.astype(np.float32)))
    optimizer = getattr(torch.optim, torch_name)([p], **torch_args)
    for g in grads:
        p.grad = torch.tensor(g.astype(np.float32))
        optimizer.step()
    assert_matches(got, p.detach().numpy(), np.float32)


def test_optimizer_steps_decline_what_they_cannot_update_in_place():
    param = np.ones((4, 6))
    step = variant("sgd_step", "cpu.cpp")
    for p, g, v in [(param[:, ::2], np.ones((4, 3)), None),             # strided parameter
                    (param, np.ones((4, 6), np.float32), None),        # mixed dtypes
                    (param, np.ones((4, 6)), np.ones((4, 6)).T.copy().T),  # F-ordered state
                    (param.astype(np.float16), np.ones((4, 6), np.float16), None)]:
        with pytest.raises(NotImplementedError):
            step(p, g, v, 0.1, 0.9 if v is not None else 0.0, False, 0.0)
    p = param[:, ::2]
    tc.kernels.get("sgd_step")(p, np.ones((4, 3)), None, 0.5, 0.0, False, 0.0)
    np.testing.assert_array_equal(param[:, ::2], 0.5)     # the reference updated the view
    np.testing.assert_array_equal(param[:, 1::2], 1.0)


# --- threads and bad input ---------------------------------------------------------------

def test_thread_count_does_not_change_results(threads):
    x = rand(256, 1000, dtype=np.float32, seed=1, scale=5.0)
    target = np.random.default_rng(2).integers(0, 1000, 256)
    bias = rand(1000, dtype=np.float32, seed=3)
    results = []
    for n in (1, 2):
        threads(n)
        loss, log_probs = _C.cross_entropy(x, target)
        y = _C.bias_act(x, bias, "tanh")
        param, m, v = x.copy(), np.zeros_like(x), np.zeros_like(x)
        _C.adam_step(param, y, m, v, 1, 1e-3, 0.9, 0.999, 1e-8, 0.0, False)
        results.append([loss, log_probs, _C.softmax(x), *_C.bias_act_backward(x, y, "tanh"),
                        _C.cross_entropy_backward(loss, log_probs, target), param, m, v])
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


def test_bad_input_to_fused_kernels_raises():
    f32 = np.ones((3, 4), np.float32)
    target = np.array([0, 1, 2])
    read_only = np.ones(4, np.float32)
    read_only.flags.writeable = False
    shared = np.ones(8)
    cases = [
        (TypeError, "softmax: expected x of dtype", _C.softmax, (np.ones(3, np.int64),)),
        (ValueError, "softmax: expected x to be C-contiguous", _C.softmax, (f32.T,)),
        (ValueError, r"log_softmax_backward: expected grad and y of one shape, got \(3, 4\) and \(4, 3\)",
         _C.log_softmax_backward, (f32, f32.T.copy())),
        (ValueError, r"cross_entropy: target\[1\] = 4 is not a class index in \[0, 4\)",
         _C.cross_entropy, (f32, np.array([0, 4, 1]))),
        (ValueError, r"cross_entropy: target\[0\] = -1", _C.cross_entropy, (f32, np.array([-1, 0, 1]))),
        (TypeError, "cross_entropy: expected target of dtype int64", _C.cross_entropy,
         (f32, target.astype(np.int32))),
        (ValueError, r"cross_entropy: expected target of shape \(3,\), got \(2,\)",
         _C.cross_entropy, (f32, target[:2])),
        (ValueError, r"cross_entropy: expected logits of shape \(N, C\)", _C.cross_entropy,
         (f32[None], target)),
        (ValueError, r"cross_entropy_backward: expected grad of shape \(3,\)",
         _C.cross_entropy_backward, (np.ones(4, np.float32), f32, target)),
        (ValueError, r"nll_loss: target\[2\] = 7", _C.nll_loss, (f32, np.array([0, 1, 7]))),
        (ValueError, r"bias_act: expected bias of shape \(4,\) for x of shape \(3, 4\), got \(3,\)",
         _C.bias_act, (f32, np.ones(3, np.float32), "relu")),
        (ValueError, "bias_act: activation must be", _C.bias_act, (f32, np.ones(4, np.float32), "gelu")),
        (TypeError, "bias_act: expected bias of dtype float32", _C.bias_act, (f32, np.ones(4), "none")),
        (ValueError, "bias_act_backward: expected grad and y of one shape", _C.bias_act_backward,
         (f32, f32[:2], "relu")),
        (ValueError, r"sgd_step: expected grad of shape \(4,\) like param, got \(3,\)",
         _C.sgd_step, (np.ones(4), np.ones(3), None, 0.1, 0.0, False, 0.0)),
        (TypeError, "sgd_step: expected velocity of dtype float64", _C.sgd_step,
         (np.ones(4), np.ones(4), np.ones(4, np.float32), 0.1, 0.9, False, 0.0)),
        (ValueError, "adam_step: param is updated in place but is read-only", _C.adam_step,
         (read_only, np.ones(4, np.float32), np.ones(4, np.float32), np.ones(4, np.float32), 1,
          0.1, 0.9, 0.999, 1e-8, 0.0, False)),
        (ValueError, "adam_step: expected step >= 1", _C.adam_step,
         (np.ones(4), np.ones(4), np.ones(4), np.ones(4), 0, 0.1, 0.9, 0.999, 1e-8, 0.0, False)),
        (ValueError, "rmsprop_step: expected square_avg to be C-contiguous", _C.rmsprop_step,
         (np.ones(4), np.ones(4), np.ones(8)[::2], None, None, 0.1, 0.9, 1e-8, 0.0, 0.0)),
        # a momentum without its buffer would be dropped silently
        (ValueError, "sgd_step: a non-zero momentum needs velocity, got None", _C.sgd_step,
         (np.ones(4), np.ones(4), None, 0.1, 0.9, False, 0.0)),
        (ValueError, "rmsprop_step: a non-zero momentum needs momentum_buffer, got None",
         _C.rmsprop_step, (np.ones(4), np.ones(4), np.ones(4), None, None, 0.1, 0.9, 1e-8, 0.0,
                           0.5)),
        # updated in place, element by element: no two operands may overlap
        (ValueError, "sgd_step: velocity and param share memory", _C.sgd_step,
         (shared[:4], np.ones(4), shared[2:6], 0.1, 0.9, False, 0.0)),
        (ValueError, "adam_step: exp_avg_sq and exp_avg share memory", _C.adam_step,
         (np.ones(4), np.ones(4), shared[:4], shared[3:7], 1, 0.1, 0.9, 0.999, 1e-8, 0.0,
          False)),
        (ValueError, "adam_step: grad and param share memory", _C.adam_step,
         (shared[:4], shared[:4], np.ones(4), np.ones(4), 1, 0.1, 0.9, 0.999, 1e-8, 0.0, False)),
    ]
    for error, message, fn, args in cases:
        with pytest.raises(error, match=message):
            fn(*args)
