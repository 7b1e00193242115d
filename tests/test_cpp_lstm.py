"""The C++ LSTM kernels ("cpu.cpp" variants of lstm_cell, lstm_sequence and their backward
passes, csrc/lstm.cpp) against the reference variants and float64 NumPy at odd sizes, on
every ISA this CPU runs; gradients through the ops with the C++ variants forced; PyTorch's
LSTMCell and LSTM with copied weights; thread-count independence; bad input raising."""
import re

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore.kernels import registry
from tensorcore.ops.lstm import lstm_sequence

from helpers import as_float64, assert_close, check, misaligned, rand, torch
from test_fused_ops import np_lstm_sequence
from test_lstm import lstm_inputs, np_lstm_cell

_C = pytest.importorskip("tensorcore._C", reason="the C++ extension is not built")

DTYPES = (np.float32, np.float64)
# (T, B, I, H): every odd size of each dimension at least once; the last is large enough
# (B 4H H >= 2^18) for the sequence's recurrence to split its hidden units between threads,
# 97 of them: blocks of 16 and a partial one
SHAPES = [(1, 1, 1, 1), (2, 3, 5, 3), (9, 7, 33, 7), (2, 33, 127, 33), (9, 1, 127, 3),
          (1, 33, 5, 33), (2, 7, 1, 1), (9, 3, 33, 33), (5, 9, 7, 97)]
BIASES = ["none", "b_ih", "both"]


def variants(op):
    entry = registry.get(op)
    return entry.variants["cpu.cpp"].fn, entry.variants["cpu.reference"].fn


def forward_inputs(steps, batch, inputs, hidden, biases, dtype, seed=0):
    """[x (T, B, I), h0, c0, w_ih, w_hh, b_ih, b_hh] (absent biases None), random."""
    arrays = [rand(steps, batch, inputs, seed=seed), rand(batch, hidden, seed=seed + 1),
              rand(batch, hidden, seed=seed + 2), rand(4 * hidden, inputs, seed=seed + 3),
              rand(4 * hidden, hidden, seed=seed + 4), rand(4 * hidden, seed=seed + 5),
              rand(4 * hidden, seed=seed + 6)]
    if biases == "none":
        arrays[5] = None
    if biases != "both":
        arrays[6] = None
    return [None if a is None else a.astype(dtype) for a in arrays]


def assert_all_close(got, expected, dtype, what):
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g.dtype == np.dtype(dtype), f"{what} output {i}: dtype {g.dtype}"
        assert_close(g, e, dtype, what=f"{what} output {i}")


def cell_case(steps, batch, inputs, hidden, biases, dtype):
    """Forward and backward arguments of one cell step (the first step of the inputs)."""
    x, h, c, w_ih, w_hh, b_ih, b_hh = forward_inputs(steps, batch, inputs, hidden, biases, dtype)
    forward_args = (x[0], h, c, w_ih, w_hh, b_ih, b_hh)
    h_new, c_new, gates = variants("lstm_cell")[1](*forward_args)
    dh, dc = rand(batch, hidden, seed=7).astype(dtype), rand(batch, hidden, seed=8).astype(dtype)
    return forward_args, (dh, dc, x[0], h, c, w_ih, w_hh, gates, c_new)


def sequence_case(steps, batch, inputs, hidden, biases, dtype):
    forward_args = tuple(forward_inputs(steps, batch, inputs, hidden, biases, dtype))
    x, h0, c0, w_ih, w_hh = forward_args[:5]
    out, c_all, gates = variants("lstm_sequence")[1](*forward_args)
    grads = [rand(steps, batch, hidden, seed=7), rand(batch, hidden, seed=8),
             rand(batch, hidden, seed=9)]
    return forward_args, (*(g.astype(dtype) for g in grads), x, h0, c0, w_ih, w_hh, out, c_all,
                          gates)


def check_against_reference(op, case, shape, biases, dtype):
    forward_args, backward_args = case(*shape, biases, dtype)
    for name, args in ((op, forward_args), (op + "_backward", backward_args)):
        ours, reference = variants(name)
        got = ours(*args)
        assert_all_close(got, reference(*args), dtype, f"{name} vs reference")
        # the float64 reference on the same (rounded) inputs is the oracle for float32
        assert_all_close(got, reference(*as_float64(*args)), dtype, f"{name} vs float64")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("biases", BIASES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("op, case", [("lstm_cell", cell_case), ("lstm_sequence", sequence_case)])
def test_kernels_match_reference_and_float64(isa, op, case, shape, biases, dtype):
    check_against_reference(op, case, shape, biases, dtype)


# (T, B, I, H): a size of 1000 in each dimension, the others small; hidden 1000 (w_hh 4000 x
# 1000) splits the recurrence's units between threads in blocks of 16: 62 whole, one of 8
LARGE_SHAPES = [(1000, 1, 3, 3), (3, 1000, 7, 3), (2, 3, 1000, 7), (2, 1, 3, 1000)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", LARGE_SHAPES)
@pytest.mark.parametrize("op, case", [("lstm_cell", cell_case), ("lstm_sequence", sequence_case)])
def test_kernels_match_reference_at_size_1000(op, case, shape, dtype):
    check_against_reference(op, case, shape, "both", dtype)


def test_cell_forward_matches_numpy_formula(isa):
    x, h, c, w_ih, w_hh, b_ih, b_hh = forward_inputs(1, 7, 33, 7, "both", np.float64)
    h_new, c_new, gates = variants("lstm_cell")[0](x[0], h, c, w_ih, w_hh, b_ih, b_hh)
    expected_h, expected_c = np_lstm_cell(x[0], h, c, w_ih, w_hh, b_ih, b_hh)
    assert_close(h_new, expected_h)
    assert_close(c_new, expected_c)
    pre = x[0] @ w_ih.T + h @ w_hh.T + b_ih + b_hh
    assert_close(gates[:, 14:21], np.tanh(pre[:, 14:21]), what="the g gate")


def test_sequence_forward_matches_numpy_loop(isa):
    args = forward_inputs(9, 3, 5, 7, "both", np.float64)
    out, c_all, _ = variants("lstm_sequence")[0](*args)
    expected_out, _, expected_c = np_lstm_sequence(*args)
    assert_close(out, expected_out)
    assert_close(c_all[-1], expected_c)


def strided(a):
    """The same values through a non-contiguous view (every other element of a wider array)."""
    wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
    wide[..., ::2] = a
    return wide[..., ::2]


@pytest.mark.parametrize("op, case", [("lstm_cell", cell_case), ("lstm_sequence", sequence_case)])
def test_non_contiguous_inputs(op, case):
    forward_args, backward_args = case(2, 3, 5, 7, "both", np.float32)
    for name, args in ((op, forward_args), (op + "_backward", backward_args)):
        ours, reference = variants(name)
        views = [None if a is None else strided(a) for a in args]
        views[3] = np.asfortranarray(args[3])
        assert not views[0].flags.c_contiguous
        assert_all_close(ours(*views), reference(*as_float64(*args)), np.float32,
                         f"{name} on views")


def test_float32_stays_accurate_over_a_long_sequence():
    args = forward_inputs(64, 4, 9, 5, "both", np.float32)
    ours, _ = variants("lstm_sequence")
    expected = variants("lstm_sequence")[1](*as_float64(*args))
    assert_all_close(ours(*args), expected, np.float32, "64 steps")


@pytest.mark.parametrize("op, case", [("lstm_cell", cell_case), ("lstm_sequence", sequence_case)])
def test_thread_count_does_not_change_results(threads, op, case):  # noqa: F811
    forward_args, backward_args = case(*SHAPES[-1], "both", np.float32)
    for name, args in ((op, forward_args), (op + "_backward", backward_args)):
        results = []
        for n in (1, 2, 3):     # 3: the cell's four backward products on uneven threads
            threads(n)
            results.append(variants(name)[0](*args))
        for one, other in zip(results[0], zip(*results[1:])):
            for two in other:
                np.testing.assert_allclose(one, two, rtol=1e-6, atol=1e-7)


# --- through the ops, the C++ variants forced ---------------------------------------------

def ran_cpp(*ops):
    return all(registry.get(op).last.name == "cpu.cpp" for op in ops)


def torch_lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh):
    return torch.lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh)


@pytest.mark.parametrize("batch, inputs, hidden", [(1, 1, 1), (3, 5, 7), (7, 33, 3)])
def test_lstm_cell_op_gradients_and_torch(batch, inputs, hidden):
    with tc.kernels.use(lstm="cpu.cpp"):
        check(lambda *args: F.lstm_cell(args[0], args[1:3], *args[3:]),
              lstm_inputs(batch, inputs, hidden), np_fn=np_lstm_cell,
              torch_fn=torch_lstm_cell)
        assert ran_cpp("lstm_cell", "lstm_cell_backward")


def tc_sequence(x, h, c, w_ih, w_hh, b_ih, b_hh):
    out, (h_n, c_n) = lstm_sequence(x, (h, c), w_ih, w_hh, b_ih, b_hh)
    return out, h_n, c_n


def torch_sequence(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """torch.nn.LSTM with the same weights (copied in, so their gradients flow back)."""
    module = torch.nn.LSTM(x.shape[2], h.shape[1]).to(x.dtype)
    del module.weight_ih_l0, module.weight_hh_l0, module.bias_ih_l0, module.bias_hh_l0
    module.weight_ih_l0, module.weight_hh_l0 = w_ih, w_hh
    module.bias_ih_l0, module.bias_hh_l0 = b_ih, b_hh
    out, (h_n, c_n) = module(x, (h[None], c[None]))
    return out, h_n[0], c_n[0]


@pytest.mark.parametrize("steps, batch, inputs, hidden", [(1, 1, 1, 1), (2, 3, 5, 7), (9, 7, 3, 3)])
def test_lstm_sequence_op_gradients_and_torch(steps, batch, inputs, hidden):
    args = [a * 0.5 for a in forward_inputs(steps, batch, inputs, hidden, "both", np.float64)]
    with tc.kernels.use(lstm="cpu.cpp"):
        check(tc_sequence, args, np_fn=np_lstm_sequence,
              torch_fn=None if torch is None else torch_sequence)
        assert ran_cpp("lstm_sequence", "lstm_sequence_backward")


def test_lstm_sequence_without_biases_gradients():
    x, h, c, w_ih, w_hh = (tc.tensor(a, requires_grad=True)
                           for a in forward_inputs(3, 2, 3, 5, "none", np.float64)[:5])
    with tc.kernels.use(lstm="cpu.cpp"):
        tc.autograd.gradcheck(lambda *a: tc_sequence(*a, None, None), (x, h, c, w_ih, w_hh))
        assert ran_cpp("lstm_sequence", "lstm_sequence_backward")


# --- bad input -----------------------------------------------------------------------------

def test_variants_decline_other_dtypes():
    forward_args, _ = cell_case(1, 2, 3, 4, "both", np.float16)
    with pytest.raises(NotImplementedError):
        variants("lstm_cell")[0](*forward_args)
    mixed = list(forward_args)
    mixed[3] = mixed[3].astype(np.float64)
    with pytest.raises(NotImplementedError):
        variants("lstm_cell")[0](*mixed)


@pytest.mark.parametrize("position, shape, expected", [
    (0, (2, 1, 3), r"x of shape \(B, I\), got \(2, 1, 3\)"),
    (1, (2, 5), r"h of shape \(B, H\) = \(2, 4\), got \(2, 5\)"),
    (2, (3, 4), r"c of shape \(B, H\) = \(2, 4\), got \(3, 4\)"),
    (3, (16, 2), r"w_ih of shape \(4H, I\) = \(16, 3\), got \(16, 2\)"),
    (4, (16,), r"w_hh of shape \(4H, H\), got \(16,\)"),
    (5, (15,), r"b_ih of shape \(4H,\) = \(16,\), got \(15,\)"),
    (6, (16, 1), r"b_hh of shape \(4H,\) = \(16,\), got \(16, 1\)"),
])
def test_cell_bad_shapes_raise(position, shape, expected):
    args = list(cell_case(1, 2, 3, 4, "both", np.float32)[0])
    args[position] = np.ones(shape, dtype=np.float32)
    with pytest.raises(ValueError, match="lstm_cell: expected " + expected):
        _C.lstm_cell(*args)


def test_sequence_bad_shapes_raise():
    forward_args, backward_args = sequence_case(3, 2, 3, 4, "both", np.float32)
    args = list(forward_args)
    args[0] = args[0][0]
    with pytest.raises(ValueError, match=r"lstm_sequence: expected x of shape \(T, B, I\), "):
        _C.lstm_sequence(*args)
    args = list(backward_args)
    args[-1] = args[-1][:2]
    with pytest.raises(ValueError, match=r"lstm_sequence_backward: expected gates of shape "
                                         r"\(T, B, 4H\) = \(3, 2, 16\), got \(2, 2, 16\)"):
        _C.lstm_sequence_backward(*args)
    args = list(backward_args)
    args[0] = args[0][:, :, :3]
    with pytest.raises(ValueError, match=r"lstm_sequence_backward: expected dout of shape"):
        _C.lstm_sequence_backward(*args)


# Every binding's arguments in order, each with the shape the C++ checks name; x and w_hh
# define B, I (and T) and H, so only their rank (and w_hh's 4H rows) can be wrong on their own.
# The bad-input cases run at T, B, I, H = 3, 2, 3, 4.
ARGUMENTS = {
    "lstm_cell": [("x", "(B, I)"), ("h", "(B, H)"), ("c", "(B, H)"), ("w_ih", "(4H, I)"),
                  ("w_hh", "(4H, H)"), ("b_ih", "(4H,)"), ("b_hh", "(4H,)")],
    "lstm_cell_backward": [("dh", "(B, H)"), ("dc", "(B, H)"), ("x", "(B, I)"),
                           ("h", "(B, H)"), ("c", "(B, H)"), ("w_ih", "(4H, I)"),
                           ("w_hh", "(4H, H)"), ("gates", "(B, 4H)"), ("c_new", "(B, H)")],
    "lstm_sequence": [("x", "(T, B, I)"), ("h0", "(B, H)"), ("c0", "(B, H)"),
                      ("w_ih", "(4H, I)"), ("w_hh", "(4H, H)"), ("b_ih", "(4H,)"),
                      ("b_hh", "(4H,)")],
    "lstm_sequence_backward": [("dout", "(T, B, H)"), ("dh_n", "(B, H)"), ("dc_n", "(B, H)"),
                               ("x", "(T, B, I)"), ("h0", "(B, H)"), ("c0", "(B, H)"),
                               ("w_ih", "(4H, I)"), ("w_hh", "(4H, H)"),
                               ("out", "(T, B, H)"), ("c_all", "(T, B, H)"),
                               ("gates", "(T, B, 4H)")],
}
ARGUMENT_CASES = [(op, position) for op, names in ARGUMENTS.items()
                  for position in range(len(names))]


def valid_args(op):
    """Float32 arguments of `op` that it accepts (T, B, I, H = 3, 2, 3, 4, both biases)."""
    case = cell_case if op.startswith("lstm_cell") else sequence_case
    forward_args, backward_args = case(3, 2, 3, 4, "both", np.float32)
    return list(backward_args if op.endswith("_backward") else forward_args)


def shape_text(shape):
    """A shape as the C++ messages write it: "(2, 4)", "(16,)", "()"."""
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def bad_shapes(op, position):
    """(bad shape, expected message) for one argument: a rank more and a rank less, and, where
    the argument's sizes are not its own to choose, its last size one more and its first one
    less."""
    name, dims = ARGUMENTS[op][position]
    shape = valid_args(op)[position].shape
    wrong = [(1,) + shape, shape[1:]]
    if name != "x":
        wrong.append((shape[0] - 1,) + shape[1:])      # for w_hh: 4H - 1 rows, H unchanged
    if name not in ("x", "w_hh"):
        wrong.append(shape[:-1] + (shape[-1] + 1,))
    for bad in wrong:
        # x's and w_hh's rank is checked before any size is read: no expected sizes yet
        rank_only = name in ("x", "w_hh") and len(bad) != len(shape)
        given = "" if rank_only else " = " + shape_text(shape)
        yield bad, f"{op}: expected {name} of shape {dims}{given}, got {shape_text(bad)}"


@pytest.mark.parametrize("op", list(ARGUMENTS))
def test_bad_input_cases_start_from_accepted_arguments(op):
    """The bad-input tests below change one argument of these: unchanged, the binding runs."""
    args = valid_args(op)
    assert len(args) == len(ARGUMENTS[op])
    results = getattr(_C, op)(*args)
    assert all(np.all(np.isfinite(r)) for r in results)


@pytest.mark.parametrize("op, position", ARGUMENT_CASES)
def test_every_argument_with_a_bad_shape_raises(op, position):
    for bad, message in bad_shapes(op, position):
        args = valid_args(op)
        args[position] = rand(*bad, seed=position).astype(np.float32)
        with pytest.raises(ValueError, match=re.escape(message)):
            getattr(_C, op)(*args)


@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.float16])
@pytest.mark.parametrize("op, position", ARGUMENT_CASES)
def test_every_argument_with_a_bad_dtype_raises(op, position, dtype):
    """The first argument fixes the float type: another float type elsewhere is a mix, named
    with both types; a non-float first argument is named itself. A float64 first argument
    makes the (float32) second one the mismatch."""
    names = [name for name, _ in ARGUMENTS[op]]
    args = valid_args(op)
    args[position] = args[position].astype(dtype)
    dtype_name = np.dtype(dtype).name
    if position > 0:
        message = f"{op}: expected {names[position]} of dtype float32 like the first operand, " \
                  f"got {dtype_name}"
    elif dtype == np.float64:
        message = f"{op}: expected {names[1]} of dtype float64 like the first operand, got float32"
    else:
        message = f"{op}: expected {names[0]} of dtype float32 or float64, got {dtype_name}"
    with pytest.raises(TypeError, match=re.escape(message)):
        getattr(_C, op)(*args)


@pytest.mark.parametrize("op, position, layout", [
    (op, position, layout) for op, position in ARGUMENT_CASES
    for layout in ("strided", "fortran", "misaligned")
    # a 1-D array (a bias) is both C- and Fortran-contiguous
    if layout != "fortran" or not ARGUMENTS[op][position][1].endswith(",)")])
def test_every_argument_not_c_contiguous_raises(op, position, layout):
    """The extension takes C-contiguous, aligned arrays only (the "cpu.cpp" variants copy
    others first, test_non_contiguous_inputs): any other reaching it raises."""
    name = ARGUMENTS[op][position][0]
    args = valid_args(op)
    a = args[position]
    args[position] = {"strided": strided, "fortran": np.asfortranarray,
                      "misaligned": misaligned}[layout](a)
    np.testing.assert_array_equal(args[position], a)
    with pytest.raises(ValueError, match=re.escape(f"{op}: expected {name} to be C-contiguous "
                                                   "and aligned")):
        getattr(_C, op)(*args)


def test_extension_rejects_bad_dtypes_and_layouts():
    args = list(cell_case(1, 2, 3, 4, "both", np.float32)[0])
    with pytest.raises(TypeError, match="lstm_cell: expected x of dtype float32 or float64"):
        _C.lstm_cell(args[0].astype(np.int32), *args[1:])
    bad = list(args)
    bad[4] = bad[4].astype(np.float64)
    with pytest.raises(TypeError, match="lstm_cell: expected w_hh of dtype float32"):
        _C.lstm_cell(*bad)
    bad = list(args)
    bad[3] = np.asfortranarray(bad[3])
    with pytest.raises(ValueError, match="lstm_cell: expected w_ih to be C-contiguous"):
        _C.lstm_cell(*bad)


def test_empty_sequence_and_batch():
    for steps, batch in ((0, 3), (2, 0)):
        forward_args = forward_inputs(steps, batch, 3, 2, "both", np.float64)
        ours, reference = variants("lstm_sequence")
        out, c_all, gates = ours(*forward_args)
        assert out.shape == (steps, batch, 2) and gates.shape == (steps, batch, 8)
        grads = [np.ones((steps, batch, 2)), np.full((batch, 2), 0.5), np.full((batch, 2), 0.25)]
        backward = variants("lstm_sequence_backward")[0]
        dx, dh0, dc0, dw_ih, dw_hh, dbias = backward(*grads, *forward_args[:5], out, c_all, gates)
        assert dx.shape == (steps, batch, 3) and dh0.shape == dc0.shape == (batch, 2)
        if steps == 0:          # no step: the final state's gradients pass straight through
            np.testing.assert_array_equal(dh0, grads[1])
            np.testing.assert_array_equal(dc0, grads[2])
        for d in (dw_ih, dw_hh, dbias):     # no step or no batch row: nothing to sum
            np.testing.assert_array_equal(d, np.zeros_like(d))


@pytest.mark.parametrize("batch, inputs", [(0, 3), (4, 0)])
def test_empty_batch_or_inputs_cell(batch, inputs):
    """A cell with no batch rows (its weight gradients are products of depth 0) or no
    inputs (x @ w_ih^T has depth 0) runs like the reference."""
    forward_args, backward_args = cell_case(1, batch, inputs, 2, "both", np.float64)
    ours, reference = variants("lstm_cell")
    assert_all_close(ours(*forward_args), reference(*forward_args), np.float64, "forward")
    ours, reference = variants("lstm_cell_backward")
    assert_all_close(ours(*backward_args), reference(*backward_args), np.float64, "backward")


@pytest.mark.parametrize("op, case", [("lstm_cell", cell_case), ("lstm_sequence", sequence_case)])
def test_no_hidden_units(op, case):
    """H = 0 (w_hh (0, 0)): empty states and gates, and an input gradient of zeros, a product
    of depth 0 written into a buffer that starts as NaN (conftest's cache poison)."""
    forward_args, backward_args = case(2, 3, 5, 0, "both", np.float64)
    for name, args in ((op, forward_args), (op + "_backward", backward_args)):
        ours, reference = variants(name)
        assert_all_close(ours(*args), reference(*args), np.float64, name)
    dx = variants(op + "_backward")[0](*backward_args)[0]
    assert dx.size > 0
    np.testing.assert_array_equal(dx, np.zeros_like(dx))
