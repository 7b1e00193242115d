"""The C++ fused kernels ("cpu.cpp"): softmax, log_softmax, cross-entropy and NLL
(csrc/softmax.cpp), bias_act (csrc/bias_act.cpp) and the optimizer steps (csrc/optim.cpp),
against the reference variants and float64 NumPy at odd sizes, on every ISA this CPU runs;
finite-difference gradients with the C++ variants forced; 1 vs 2 threads; bad input."""
import re

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore.ops.activations import bias_activation

from helpers import as_float64, check, misaligned, torch
from test_cpp_kernels import BAD_X, DTYPES, assert_matches, rand, variant, with_operand
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
    assert_matches(ours_back(grad, y, -1), reference_back(*as_float64(grad, y), -1), dtype)


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
            assert_matches(ours(x, -1), reference(*as_float64(x), -1), np.float32)


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
    assert_matches(ours_back(grad, log_probs, target),
                   reference_back(*as_float64(grad, log_probs, target)), dtype)
    for op in ("nll_loss", "nll_loss_backward"):     # exact: they only pick and negate
        args = (log_probs, target) if op == "nll_loss" else (grad, log_probs, target)
        ours, reference = pair(op)
        np.testing.assert_array_equal(ours(*args), reference(*as_float64(*args)))


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


def as_layout(a, layout):
    """A non-contiguous view holding the (rows, cols) a's values: "transposed" (column-major)
    or "strided" (every second row, every third column backwards, of a NaN-filled buffer: a
    kernel reading between the elements picks up NaN)."""
    if layout == "transposed":
        return np.asfortranarray(a)
    buffer = np.full((2 * a.shape[0], 3 * a.shape[1]), np.nan, a.dtype)
    view = buffer[::2, ::-3]
    view[...] = a
    return view


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["transposed", "strided"])
def test_cross_entropy_and_nll_on_non_contiguous_operands(dtype, layout):
    """The "cpu.cpp" variants through the registry copy views to C order: logits, log_probs,
    target and grad all views, against float64 NumPy."""
    rows, classes = 11, 37
    logits = as_layout(rand(rows, classes, dtype=dtype, seed=1, scale=6.0), layout)
    target = np.random.default_rng(2).integers(0, classes, 2 * rows)[::2]
    grad = rand(2 * rows, dtype=dtype, seed=3)[::-2]
    assert not (logits.flags.c_contiguous or target.flags.c_contiguous or grad.flags.c_contiguous)
    expected_lp = np_log_softmax(logits.astype(np.float64), 1)
    picked = (np.arange(rows), target)
    onehot = np.zeros((rows, classes))
    onehot[picked] = 1
    g = grad.astype(np.float64)[:, None]
    ops = ("cross_entropy", "cross_entropy_backward", "nll_loss", "nll_loss_backward")
    with tc.kernels.use(cross_entropy="cpu.cpp", nll_loss="cpu.cpp"):
        kernels = {op: tc.kernels.get(op) for op in ops}
        loss, log_probs = kernels["cross_entropy"](logits, target)
        log_probs_view = as_layout(log_probs, layout)
        dlogits = kernels["cross_entropy_backward"](grad, log_probs_view, target)
        nll = kernels["nll_loss"](log_probs_view, target)
        dlog_probs = kernels["nll_loss_backward"](grad, log_probs_view, target)
        assert all(kernels[op].last.name == "cpu.cpp" for op in ops)
    assert_matches(log_probs, expected_lp.astype(dtype), dtype)
    assert_matches(loss, -expected_lp[picked].astype(dtype), dtype)
    assert_matches(dlogits, (g * (np.exp(expected_lp) - onehot)).astype(dtype), dtype)
    assert_matches(nll, -log_probs[picked], dtype)
    assert_matches(dlog_probs, (-g * onehot).astype(dtype), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_and_nll_of_transposed_tensors(dtype):
    """F.cross_entropy and F.nll_loss of a transposed tensor hand the C++ kernels a
    column-major (N, C) array: losses and input gradients against float64 NumPy."""
    rows, classes = 9, 13
    x = rand(classes, rows, dtype=dtype, seed=1, scale=4.0)       # logits.T
    target = np.random.default_rng(2).integers(0, classes, rows)
    weights = rand(rows, dtype=dtype, seed=3)
    expected_lp = np_log_softmax(x.T.astype(np.float64), 1)
    picked = (np.arange(rows), target)
    onehot = np.zeros((rows, classes))
    onehot[picked] = 1
    w = weights.astype(np.float64)[:, None]
    with tc.kernels.use(cross_entropy="cpu.cpp", nll_loss="cpu.cpp"):
        logits = tc.tensor(x, requires_grad=True)
        loss = F.cross_entropy(logits.T, tc.tensor(target), reduction="none")
        (loss * tc.tensor(weights)).sum().backward()
        assert tc.kernels.get("cross_entropy_backward").last.name == "cpu.cpp"
        log_probs = tc.tensor(np.ascontiguousarray(expected_lp.T).astype(dtype), requires_grad=True)
        nll = F.nll_loss(log_probs.T, tc.tensor(target), reduction="none")
        (nll * tc.tensor(weights)).sum().backward()
        assert tc.kernels.get("nll_loss_backward").last.name == "cpu.cpp"
    assert_matches(loss.numpy(), -expected_lp[picked].astype(dtype), dtype)
    assert_matches(logits.grad.numpy(), (w * (np.exp(expected_lp) - onehot)).T.astype(dtype), dtype)
    assert_matches(nll.numpy(), -expected_lp[picked].astype(dtype), dtype)
    assert_matches(log_probs.grad.numpy(), (-w * onehot).T.astype(dtype), dtype)


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
    expected_dx, expected_dbias = reference_back(*as_float64(grad, y), activation)
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
        y_expected = variant("bias_act", "cpu.reference")(*as_float64(x, bias), activation)
        assert_matches(y, y_expected, np.float32)
        for got, expected in zip(ours_back(grad, y, activation),
                                 reference_back(*as_float64(grad, y), activation)):
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


NP_DERIVATIVES_FROM_Y = {"none": lambda y: np.ones_like(y), "relu": lambda y: (y > 0) * 1.0,
                         "sigmoid": lambda y: y * (1 - y), "tanh": lambda y: 1 - y * y}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["transposed", "strided"])
@pytest.mark.parametrize("activation", list(NP_ACTIVATIONS))
def test_bias_act_on_non_contiguous_operands(dtype, layout, activation):
    """x, bias, grad and y as views through the registry's "cpu.cpp" variants, against
    float64 NumPy."""
    x = as_layout(rand(13, 37, dtype=dtype, seed=1, scale=3.0), layout)
    bias = rand(74, dtype=dtype, seed=2)[::-2]
    grad = as_layout(rand(13, 37, dtype=dtype, seed=3), layout)
    assert not (x.flags.c_contiguous or bias.flags.c_contiguous or grad.flags.c_contiguous)
    with tc.kernels.use(bias_act="cpu.cpp"):
        y = tc.kernels.get("bias_act")(x, bias, activation)
        assert tc.kernels.get("bias_act").last.name == "cpu.cpp"
        dx, dbias = tc.kernels.get("bias_act_backward")(grad, as_layout(y, layout), activation)
        assert tc.kernels.get("bias_act_backward").last.name == "cpu.cpp"
    expected_y = NP_ACTIVATIONS[activation](x.astype(np.float64) + bias.astype(np.float64))
    assert_matches(y, expected_y.astype(dtype), dtype)
    expected_dx = grad.astype(np.float64) * NP_DERIVATIVES_FROM_Y[activation](y.astype(np.float64))
    assert_matches(dx, expected_dx.astype(dtype), dtype)
    assert_matches(dbias, expected_dx.sum(axis=0).astype(dtype), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", list(NP_ACTIVATIONS))
def test_bias_activation_of_transposed_and_strided_tensors(dtype, activation):
    """bias_activation of x.T and bias[::-2] (views all the way to the kernel): values and
    gradients against float64 NumPy."""
    x_data = rand(37, 13, dtype=dtype, seed=1, scale=3.0)               # x.T
    bias_data = rand(74, dtype=dtype, seed=2)
    weights = rand(13, 37, dtype=dtype, seed=3)
    with tc.kernels.use(bias_act="cpu.cpp"):
        x = tc.tensor(x_data, requires_grad=True)
        bias = tc.tensor(bias_data, requires_grad=True)
        y = bias_activation(x.T, bias[::-2], activation)
        (y * tc.tensor(weights)).sum().backward()
        assert tc.kernels.get("bias_act_backward").last.name == "cpu.cpp"
    expected_y = NP_ACTIVATIONS[activation](x_data.T.astype(np.float64)
                                            + bias_data[::-2].astype(np.float64))
    assert_matches(y.numpy(), expected_y.astype(dtype), dtype)
    dz = weights.astype(np.float64) * NP_DERIVATIVES_FROM_Y[activation](expected_y)
    assert_matches(x.grad.numpy(), dz.T.astype(dtype), dtype)
    expected_dbias = np.zeros(74)
    expected_dbias[::-2] = dz.sum(axis=0)
    assert_matches(bias.grad.numpy(), expected_dbias.astype(dtype), dtype)


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


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [7, 70_001])      # one thread; chunks over the threads
@pytest.mark.parametrize("name,args,torch_name,torch_args", OPTIMIZER_CASES)
def test_optimizer_steps_take_the_param_as_its_own_gradient(isa, dtype, size, name, args,
                                                              torch_name, torch_args):
    """grad the param array itself (PyTorch allows p.grad = p.detach(), sharing its memory):
    three steps give the bits of the same steps given a copy of the param as grad."""
    aliased, copied = rand(size, seed=1).astype(dtype), rand(size, seed=1).astype(dtype)
    with tc.kernels.use(**{f"{name}_step": "cpu.cpp"}):
        optimizer_steps(name, args, aliased, [aliased] * 3)
        assert tc.kernels.get(f"{name}_step").last.name == "cpu.cpp"
        optimizer_steps(name, args, copied, (copied.copy() for _ in range(3)))
    assert not np.array_equal(aliased, rand(size, seed=1).astype(dtype))
    np.testing.assert_array_equal(aliased, copied)


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


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("impl", ["cpu.cpp", "cpu.reference"])
def test_centered_rmsprop_where_squares_overflow(isa, dtype, impl):
    """Gradients whose squares overflow: square_avg - grad_avg^2 was inf - inf = NaN where no
    fused multiply-add hid it (the generic ISA, the reference). Those lanes now take no step,
    on every ISA, as in PyTorch; the others step as usual."""
    args = dict(lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=True)
    huge = 1e3 * np.sqrt(np.finfo(dtype).max)        # (1 - alpha)^2 huge^2 overflows too
    param, grads = rand(7, seed=1), [rand(7, seed=10 + t) for t in range(2)]
    for g in grads:
        g[[1, 4]] = huge, -huge
    with np.errstate(over="ignore", invalid="ignore"):
        with tc.kernels.use(rmsprop_step=impl):
            got = optimizer_steps("rmsprop", args, param.astype(dtype), grads)
        expected = np_optimizer_steps("rmsprop", args, param, grads).astype(dtype)
    finite = [0, 2, 3, 5, 6]
    assert np.array_equal(got[[1, 4]], param.astype(dtype)[[1, 4]])
    assert_matches(got[finite], expected[finite], dtype)


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


GRAD_VIEW_STEPS = {   # op -> (its state's names, (step, param, grad, state, t) -> None)
    "sgd_step": (("velocity",), lambda step, p, g, s, t: step(p, g, *s, 0.05, 0.9, True, 0.01)),
    "adam_step": (("exp_avg", "exp_avg_sq"),
                  lambda step, p, g, s, t: step(p, g, *s, t, 0.01, 0.9, 0.999, 1e-8, 0.1, False)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["transposed", "strided"])
@pytest.mark.parametrize("op", GRAD_VIEW_STEPS)
def test_optimizer_steps_copy_a_non_contiguous_gradient(op, layout, dtype):
    """Three steps of a (7, 33) parameter given grad views: the "cpu.cpp" variant's param
    and state are those of the same steps given np.ascontiguousarray(grad), bit for bit, and
    match the reference variant's in float64; the views are left as they were."""
    names, call = GRAD_VIEW_STEPS[op]
    grads = [as_layout(rand(7, 33, dtype=dtype, seed=10 + t), layout) for t in range(3)]
    assert not any(g.flags.c_contiguous for g in grads)
    before = [g.copy() for g in grads]

    def steps(name, grad_of, wide=False):
        arrays = [rand(7, 33, dtype=dtype, seed=1)] + [np.zeros((7, 33), dtype) for _ in names]
        arrays = as_float64(*arrays) if wide else arrays
        for t, g in enumerate(grads, start=1):
            assert call(variant(op, name), arrays[0], grad_of(g), arrays[1:], t) is None
        return dict(zip(("param",) + names, arrays))

    got = steps("cpu.cpp", lambda g: g)
    copied = steps("cpu.cpp", np.ascontiguousarray)
    # the reference evaluated in float64 from the same (rounded) param and grads
    reference = steps("cpu.reference", lambda g: g.astype(np.float64), wide=True)
    for name, a in got.items():
        np.testing.assert_array_equal(a, copied[name], err_msg=f"{op} {name}")
        assert_matches(a, reference[name], dtype)
    for g, g_before in zip(grads, before):
        np.testing.assert_array_equal(g, g_before)


# --- threads and bad input ---------------------------------------------------------------

def thread_test_data(dtype):
    """257 rows of 1001 columns (257257 elements): past every kernel's parallel threshold
    (1 << 15 elements for the row kernels and bias_act, 1 << 16 for the optimizer steps),
    rows > 1, 16 optimizer chunks of 1 << 14 elements, 3 dbias blocks, and rows of a vector
    and a tail on every ISA."""
    x = rand(257, 1001, dtype=dtype, seed=1, scale=5.0)
    return dict(
        x=x, target=np.random.default_rng(2).integers(0, 1001, 257),
        bias=rand(1001, dtype=dtype, seed=3), grad=rand(257, 1001, dtype=dtype, seed=4),
        row_grad=rand(257, dtype=dtype, seed=5), state=rand(257, 1001, dtype=dtype, seed=6),
        log_probs=np_log_softmax(x.astype(np.float64), 1).astype(dtype))


def _thread_cross_entropy(d):
    loss, log_probs = _C.cross_entropy(d["x"], d["target"])
    return [loss, log_probs, _C.cross_entropy_backward(d["row_grad"], log_probs, d["target"])]


def _thread_row_op(op):
    def run(d):
        y = getattr(_C, op)(d["x"])
        return [y, getattr(_C, op + "_backward")(d["grad"], y)]
    return run


def _thread_nll_loss(d):
    return [_C.nll_loss(d["log_probs"], d["target"]),
            _C.nll_loss_backward(d["row_grad"], d["log_probs"], d["target"])]


def _thread_bias_act(d):
    results = []
    for activation in NP_ACTIVATIONS:
        y = _C.bias_act(d["x"], d["bias"], activation)
        results += [y, *_C.bias_act_backward(d["grad"], y, activation)]
    return results


def _thread_sgd_step(d):
    param, velocity = d["x"].copy(), d["state"].copy()
    _C.sgd_step(param, d["grad"], velocity, 0.05, 0.9, True, 0.01)
    return [param, velocity]


def _thread_adam_step(d):
    param, exp_avg, exp_avg_sq = d["x"].copy(), d["state"].copy(), d["state"] ** 2
    _C.adam_step(param, d["grad"], exp_avg, exp_avg_sq, 3, 1e-3, 0.9, 0.999, 1e-8, 0.01, False)
    return [param, exp_avg, exp_avg_sq]


def _thread_rmsprop_step(d):
    # centered, with momentum and weight decay: square_avg > grad_avg ** 2 keeps it finite
    param, buffer, grad_avg = d["x"].copy(), d["state"].copy(), d["state"].copy()
    square_avg = d["state"] ** 2 + 0.5
    _C.rmsprop_step(param, d["grad"], square_avg, buffer, grad_avg, 0.01, 0.99, 1e-8, 0.01, 0.9)
    return [param, square_avg, buffer, grad_avg]


THREAD_CASES = {   # name -> data -> the arrays it computes (copies of what it updates)
    "cross_entropy": _thread_cross_entropy,
    "softmax": _thread_row_op("softmax"),
    "log_softmax": _thread_row_op("log_softmax"),
    "nll_loss": _thread_nll_loss,
    "bias_act": _thread_bias_act,
    "sgd_step": _thread_sgd_step,
    "adam_step": _thread_adam_step,
    "rmsprop_step": _thread_rmsprop_step,
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", THREAD_CASES)
def test_thread_count_does_not_change_results(threads, case, dtype):
    """Each thread takes whole rows or chunks, never a share of one sum: the same bits for
    1 and 2 threads."""
    data = thread_test_data(dtype)
    results = []
    for n in (1, 2):
        threads(n)
        results.append(THREAD_CASES[case](data))
    for one, two in zip(*results):
        assert one.dtype == np.dtype(dtype)
        assert np.isfinite(one).all() and one.any()    # written everywhere, not all zero
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
         (shared[:4], shared[1:5], np.ones(4), np.ones(4), 1, 0.1, 0.9, 0.999, 1e-8, 0.0, False)),
        (ValueError, "sgd_step: velocity and param share memory", _C.sgd_step,
         (shared[:4], np.ones(4), shared[:4], 0.1, 0.9, False, 0.0)),
    ]
    for error, message, fn, args in cases:
        with pytest.raises(error, match=message):
            fn(*args)


# bad x for softmax and log_softmax: the one-operand cases, and a scalar (they take rows)
BAD_ROW_X = {**BAD_X, "scalar": (ValueError, r"expected x with at least one dimension, got a "
                                 r"scalar", lambda: np.array(0.5))}


@pytest.mark.parametrize("case", BAD_ROW_X)
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_bad_input_to_softmax_forward_raises(op, case):
    error, message, make_x = BAD_ROW_X[case]
    with pytest.raises(error, match=f"^{op}: {message}"):
        getattr(_C, op)(make_x())


# bad (grad, y) for softmax_backward and log_softmax_backward (float64 (3, 5) when good):
# (error, message after "<op>_backward: ", operands -> the bad operands)
BAD_ROW_BACKWARD = {
    "int_grad": (TypeError, r"expected grad of dtype float32 or float64, got int64",
                 lambda o: with_operand(o, "grad", np.arange(15).reshape(3, 5))),
    "float32_y": (TypeError, r"expected y of dtype float64 like the first operand, got float32",
                  lambda o: with_operand(o, "y", o["y"].astype(np.float32))),
    "float32_grad": (TypeError, r"expected y of dtype float32 like the first operand, got float64",
                     lambda o: with_operand(o, "grad", o["grad"].astype(np.float32))),
    "y_shape": (ValueError, r"expected grad and y of one shape, got \(3, 5\) and \(5, 3\)",
                lambda o: with_operand(o, "y", rand(5, 3, seed=4))),
    "y_rows": (ValueError, r"expected grad and y of one shape, got \(3, 5\) and \(2, 5\)",
               lambda o: with_operand(o, "y", o["y"][:2])),
    "y_flat": (ValueError, r"expected grad and y of one shape, got \(3, 5\) and \(15,\)",
               lambda o: with_operand(o, "y", o["y"].reshape(15))),
    "transposed_grad": (ValueError, r"expected grad to be C-contiguous",
                        lambda o: with_operand(o, "grad", rand(5, 3, seed=5).T)),
    "strided_y": (ValueError, r"expected y to be C-contiguous",
                  lambda o: with_operand(o, "y", rand(3, 10, seed=6)[:, ::2])),
    "misaligned_y": (ValueError, r"expected y to be C-contiguous and aligned",
                     lambda o: with_operand(o, "y", misaligned(rand(3, 5)))),
    "scalar_grad": (ValueError, r"expected grad with at least one dimension, got a scalar",
                    lambda o: dict(grad=np.array(0.5), y=np.array(0.5))),
}


@pytest.mark.parametrize("case", BAD_ROW_BACKWARD)
@pytest.mark.parametrize("op", ["softmax_backward", "log_softmax_backward"])
def test_bad_input_to_softmax_backward_raises(op, case):
    good = dict(grad=rand(3, 5, seed=1), y=rand(3, 5, seed=2))
    error, message, spoil = BAD_ROW_BACKWARD[case]
    bad = spoil(good)
    with pytest.raises(error, match=f"^{op}: {message}"):
        getattr(_C, op)(bad["grad"], bad["y"])


CLASS_OPS = {   # op -> its scores operand's name; the backward ops take grad (N,) first
    "cross_entropy": "logits", "cross_entropy_backward": "log_probs",
    "nll_loss": "log_probs", "nll_loss_backward": "log_probs",
}


def call_class_op(op, operands):
    args = (operands["scores"], operands["target"])
    return getattr(_C, op)(*((operands["grad"],) + args if op.endswith("_backward") else args))


# bad target for all four (scores float64 (3, 5), target [0, 3, 4] when good): an index
# out of [0, C) would be read or written past its row
BAD_TARGETS = {
    "negative": (ValueError, r"target\[1\] = -1 is not a class index in \[0, 5\)",
                 lambda o: with_operand(o, "target", np.array([0, -1, 4]))),
    "most_negative": (ValueError, r"target\[0\] = -9223372036854775808 is not a class index",
                      lambda o: with_operand(o, "target", np.array([-2 ** 63, 3, 4]))),
    "classes": (ValueError, r"target\[2\] = 5 is not a class index in \[0, 5\)",
                lambda o: with_operand(o, "target", np.array([0, 3, 5]))),
    "huge": (ValueError, r"target\[0\] = 1099511627776 is not a class index in \[0, 5\)",
             lambda o: with_operand(o, "target", np.array([2 ** 40, 3, 4]))),
    "no_classes": (ValueError, r"target\[0\] = 0 is not a class index in \[0, 0\)",
                   lambda o: with_operand(o, "scores", np.ones((3, 0)))),
    "int32": (TypeError, r"expected target of dtype int64, got int32",
              lambda o: with_operand(o, "target", o["target"].astype(np.int32))),
    "uint64": (TypeError, r"expected target of dtype int64, got uint64",
               lambda o: with_operand(o, "target", o["target"].astype(np.uint64))),
    "float": (TypeError, r"expected target of dtype int64, got float64",
              lambda o: with_operand(o, "target", o["target"].astype(np.float64))),
    "strided": (ValueError, r"expected target to be C-contiguous",
                lambda o: with_operand(o, "target", np.array([0, 1, 3, 1, 4, 1])[::2])),
    "short": (ValueError, r"expected target of shape \(3,\), got \(2,\)",
              lambda o: with_operand(o, "target", o["target"][:2])),
    "two_dimensional": (ValueError, r"expected target of shape \(3,\), got \(1, 3\)",
                        lambda o: with_operand(o, "target", o["target"][None])),
}


def check_class_op_raises(op, bad_cases, case):
    """`op` on good operands (3 rows, 5 classes) spoiled by bad_cases[case] raises its error."""
    good = dict(grad=rand(3, seed=1), scores=rand(3, 5, seed=2), target=np.array([0, 3, 4]))
    error, message, spoil = bad_cases[case]
    with pytest.raises(error, match=f"^{op}: {message}"):
        call_class_op(op, spoil(good))


@pytest.mark.parametrize("case", BAD_TARGETS)
@pytest.mark.parametrize("op", CLASS_OPS)
def test_bad_target_to_class_kernels_raises(op, case):
    check_class_op_raises(op, BAD_TARGETS, case)


# bad scores for cross_entropy and nll_loss ({scores}: logits or log_probs, as CLASS_OPS names)
BAD_CLASS_FORWARD = {
    "int_scores": (TypeError, r"expected {scores} of dtype float32 or float64, got int64",
                   lambda o: with_operand(o, "scores", np.arange(15).reshape(3, 5))),
    "transposed_scores": (ValueError, r"expected {scores} to be C-contiguous",
                          lambda o: with_operand(o, "scores", rand(5, 3, seed=4).T)),
    "misaligned_scores": (ValueError, r"expected {scores} to be C-contiguous and aligned",
                          lambda o: with_operand(o, "scores", misaligned(rand(3, 5)))),
    "flat_scores": (ValueError, r"expected {scores} of shape \(N, C\), got \(5,\)",
                    lambda o: with_operand(o, "scores", rand(5, seed=4))),
    "scalar_scores": (ValueError, r"expected {scores} of shape \(N, C\), got \(\)",
                      lambda o: with_operand(o, "scores", np.array(0.5))),
}


@pytest.mark.parametrize("case", BAD_CLASS_FORWARD)
@pytest.mark.parametrize("op", ["cross_entropy", "nll_loss"])
def test_bad_input_to_class_forward_kernels_raises(op, case):
    error, message, spoil = BAD_CLASS_FORWARD[case]
    bad_cases = {case: (error, message.format(scores=CLASS_OPS[op]), spoil)}
    check_class_op_raises(op, bad_cases, case)


# bad grad or log_probs for cross_entropy_backward and nll_loss_backward
BAD_CLASS_BACKWARD = {
    "float32_grad": (TypeError,
                     r"expected grad of dtype float64 like the first operand, got float32",
                     lambda o: with_operand(o, "grad", o["grad"].astype(np.float32))),
    "int_grad": (TypeError, r"expected grad of dtype float64 like the first operand, got int64",
                 lambda o: with_operand(o, "grad", np.arange(3))),
    "float32_log_probs": (TypeError, r"expected grad of dtype float32 like the first operand",
                          lambda o: with_operand(o, "scores", o["scores"].astype(np.float32))),
    "int_log_probs": (TypeError, r"expected log_probs of dtype float32 or float64, got int64",
                      lambda o: with_operand(o, "scores", np.arange(15).reshape(3, 5))),
    "long_grad": (ValueError, r"expected grad of shape \(3,\), got \(4,\)",
                  lambda o: with_operand(o, "grad", rand(4, seed=3))),
    "short_grad": (ValueError, r"expected grad of shape \(3,\), got \(2,\)",
                   lambda o: with_operand(o, "grad", o["grad"][:2])),
    "column_grad": (ValueError, r"expected grad of shape \(3,\), got \(3, 1\)",
                    lambda o: with_operand(o, "grad", o["grad"][:, None])),
    "scalar_grad": (ValueError, r"expected grad of shape \(3,\), got \(\)",
                    lambda o: with_operand(o, "grad", np.array(0.5))),
    "strided_grad": (ValueError, r"expected grad to be C-contiguous",
                     lambda o: with_operand(o, "grad", rand(6, seed=3)[::2])),
    "transposed_log_probs": (ValueError, r"expected log_probs to be C-contiguous",
                             lambda o: with_operand(o, "scores", rand(5, 3, seed=4).T)),
    "misaligned_log_probs": (ValueError, r"expected log_probs to be C-contiguous and aligned",
                             lambda o: with_operand(o, "scores", misaligned(rand(3, 5)))),
    "flat_log_probs": (ValueError, r"expected log_probs of shape \(N, C\), got \(5,\)",
                       lambda o: with_operand(o, "scores", rand(5, seed=4))),
    "batched_log_probs": (ValueError, r"expected log_probs of shape \(N, C\), got \(1, 3, 5\)",
                          lambda o: with_operand(o, "scores", o["scores"][None])),
}


@pytest.mark.parametrize("case", BAD_CLASS_BACKWARD)
@pytest.mark.parametrize("op", ["cross_entropy_backward", "nll_loss_backward"])
def test_bad_input_to_class_backward_kernels_raises(op, case):
    check_class_op_raises(op, BAD_CLASS_BACKWARD, case)


# bad (x, bias) for bias_act (float64 (3, 5) and (5,), "relu" when good): x as the row ops
# reject it (BAD_ROW_X), and bad biases
BAD_BIAS_ACT = {
    **{f"{case}_x": (error, message, lambda o, make_x=make_x: with_operand(o, "x", make_x()))
       for case, (error, message, make_x) in BAD_ROW_X.items()},
    "matrix_bias": (ValueError,
                    r"expected bias of shape \(5,\) for x of shape \(3, 5\), got \(1, 5\)",
                    lambda o: with_operand(o, "bias", o["bias"][None])),
    "strided_bias": (ValueError, r"expected bias to be C-contiguous",
                     lambda o: with_operand(o, "bias", rand(10, seed=3)[::2])),
    "int_bias": (TypeError, r"expected bias of dtype float64 like the first operand, got int64",
                 lambda o: with_operand(o, "bias", np.arange(5))),
}


@pytest.mark.parametrize("case", BAD_BIAS_ACT)
def test_bad_input_to_bias_act_forward_raises(case):
    good = dict(x=rand(3, 5, seed=1), bias=rand(5, seed=2), activation="relu")
    error, message, spoil = BAD_BIAS_ACT[case]
    bad = spoil(good)
    with pytest.raises(error, match=f"^bias_act: {message}"):
        _C.bias_act(bad["x"], bad["bias"], bad["activation"])


# bad (grad, y, activation) for bias_act_backward (float64 (3, 5), "tanh" when good)
BAD_BIAS_ACT_BACKWARD = {
    "gelu": (ValueError, r"activation must be 'none', 'relu', 'sigmoid' or 'tanh', got 'gelu'",
             lambda o: with_operand(o, "activation", "gelu")),
    "upper_case": (ValueError, r"activation must be .*, got 'RELU'",
                   lambda o: with_operand(o, "activation", "RELU")),
    "empty_name": (ValueError, r"activation must be .*, got ''",
                   lambda o: with_operand(o, "activation", "")),
    "int_grad": (TypeError, r"expected grad of dtype float32 or float64, got int32",
                 lambda o: with_operand(o, "grad", np.arange(15, dtype=np.int32).reshape(3, 5))),
    "float16_grad": (TypeError, r"expected grad of dtype float32 or float64, got float16",
                     lambda o: {**o, "grad": o["grad"].astype(np.float16),
                                "y": o["y"].astype(np.float16)}),
    "float32_y": (TypeError, r"expected y of dtype float64 like the first operand, got float32",
                  lambda o: with_operand(o, "y", o["y"].astype(np.float32))),
    "float32_grad": (TypeError, r"expected y of dtype float32 like the first operand, got float64",
                     lambda o: with_operand(o, "grad", o["grad"].astype(np.float32))),
    "int_y": (TypeError, r"expected y of dtype float64 like the first operand, got int64",
              lambda o: with_operand(o, "y", np.arange(15).reshape(3, 5))),
    "y_shape": (ValueError, r"expected grad and y of one shape, got \(3, 5\) and \(5, 3\)",
                lambda o: with_operand(o, "y", rand(5, 3, seed=3))),
    "strided_y": (ValueError, r"expected y to be C-contiguous",
                  lambda o: with_operand(o, "y", rand(3, 10, seed=3)[:, ::2])),
    "scalar": (ValueError, r"expected grad with at least one dimension, got a scalar",
               lambda o: {**o, "grad": np.array(0.5), "y": np.array(0.5)}),
}


@pytest.mark.parametrize("case", BAD_BIAS_ACT_BACKWARD)
def test_bad_input_to_bias_act_backward_raises(case):
    good = dict(grad=rand(3, 5, seed=1), y=rand(3, 5, seed=2), activation="tanh")
    error, message, spoil = BAD_BIAS_ACT_BACKWARD[case]
    bad = spoil(good)
    with pytest.raises(error, match=f"^bias_act_backward: {message}"):
        _C.bias_act_backward(bad["grad"], bad["y"], bad["activation"])


# each optimizer step's operands after param, and the step on a dict of them
STEP_OPERANDS = {
    "sgd_step": ("grad", "velocity"),
    "adam_step": ("grad", "exp_avg", "exp_avg_sq"),
    "rmsprop_step": ("grad", "square_avg", "momentum_buffer", "grad_avg"),
}
STEP_CALLS = {
    "sgd_step": lambda a: _C.sgd_step(a["param"], a["grad"], a["velocity"], 0.1, 0.9, False, 0.0),
    "adam_step": lambda a: _C.adam_step(a["param"], a["grad"], a["exp_avg"], a["exp_avg_sq"], 1,
                                        1e-3, 0.9, 0.999, 1e-8, 0.0, False),
    "rmsprop_step": lambda a: _C.rmsprop_step(a["param"], a["grad"], a["square_avg"],
                                              a["momentum_buffer"], a["grad_avg"], 0.01, 0.99,
                                              1e-8, 0.0, 0.9),
}
STEP_OPERAND_CASES = [pytest.param(op, name, id=f"{op}-{name}")
                      for op, names in STEP_OPERANDS.items() for name in names]


def step_operands(op, dtype):
    """Good operands of shape (7,): random, the square averages positive."""
    operands = {name: rand(7, dtype=dtype, seed=i)
                for i, name in enumerate(("param",) + STEP_OPERANDS[op])}
    for name in ("exp_avg_sq", "square_avg"):
        if name in operands:
            operands[name] = operands[name] ** 2 + 0.5
    return operands


def assert_step_raises_and_updates_nothing(op, operands, error, message):
    before = {name: a.copy() for name, a in operands.items()}
    with pytest.raises(error, match=message):
        STEP_CALLS[op](operands)
    for name, a in operands.items():
        np.testing.assert_array_equal(a, before[name], err_msg=f"{op} updated {name}")


@pytest.mark.parametrize("bad_shape", [(6,), (8,), (7, 1), (1, 7), ()])
@pytest.mark.parametrize("op, name", STEP_OPERAND_CASES)
def test_optimizer_steps_reject_an_operand_of_another_shape(op, name, bad_shape):
    operands = step_operands(op, np.float64)
    operands[name] = rand(*bad_shape, seed=20) if bad_shape else np.array(0.5)
    assert_step_raises_and_updates_nothing(   # a tuple's repr is the message's shape
        op, operands, ValueError,
        rf"^{op}: expected {name} of shape \(7,\) like param, got {re.escape(str(bad_shape))}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op, name", STEP_OPERAND_CASES)
def test_optimizer_steps_reject_an_operand_of_another_dtype(op, name, dtype):
    other = np.float64 if dtype == np.float32 else np.float32
    for bad in (other, np.int64):
        operands = step_operands(op, dtype)
        operands[name] = operands[name].astype(bad)
        assert_step_raises_and_updates_nothing(
            op, operands, TypeError, rf"^{op}: expected {name} of dtype {np.dtype(dtype)} like "
                                     rf"the first operand, got {np.dtype(bad)}")


@pytest.mark.parametrize("op", STEP_OPERANDS)
def test_optimizer_steps_reject_a_param_of_no_float_dtype(op):
    for bad in (np.int64, np.float16):
        operands = step_operands(op, bad)
        assert_step_raises_and_updates_nothing(
            op, operands, TypeError,
            rf"^{op}: expected param of dtype float32 or float64, got {np.dtype(bad)}")
