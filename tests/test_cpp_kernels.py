"""The C++ CPU backend (tensorcore._C) against the reference variants, on every ISA this CPU
runs: GEMM over odd sizes, transposed, sliced and batched views; the activations over odd
sizes and special values; thread-count independence; bad input raising, never crashing."""
import os
import subprocess
import sys

import numpy as np
import pytest

import tensorcore as tc

from helpers import as_float64, gelu_tanh_huge_inputs, misaligned

_C = pytest.importorskip("tensorcore._C", reason="the C++ extension is not built")

DTYPES = (np.float32, np.float64)
# relative to the result's largest magnitude: GEMM sums over K round in proportion to it
TOLERANCE = {np.float32: 2e-5, np.float64: 1e-12}


def rand(*shape, dtype=np.float64, seed=0, scale=1.0):
    """Uniform in [-scale, scale), never all zero."""
    return (np.random.default_rng(seed).uniform(-scale, scale, size=shape)).astype(dtype)


def variant(op, name):
    return tc.kernels.get(op).variants[name].fn


def assert_matches(got, expected, dtype):
    assert got.shape == expected.shape and got.dtype == np.dtype(dtype)
    tol = TOLERANCE[dtype]
    scale = max(1.0, float(np.max(np.abs(expected[np.isfinite(expected)]), initial=0.0)))
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * scale, equal_nan=True)


# --- GEMM -------------------------------------------------------------------------------

gemm = variant("matmul", "cpu.gemm")


def gemm_reference(a, b):
    """The reference evaluated in float64 on the same operands: the oracle for float32."""
    return variant("matmul", "cpu.reference")(*as_float64(a, b))


ODD_SHAPES = [(1, 1, 1), (1, 7, 3), (3, 1, 7), (7, 33, 3), (33, 127, 7), (127, 33, 127),
              (33, 7, 127), (127, 127, 33)]


def operand(rows, cols, layout, dtype, seed):
    """A (rows, cols) view laid out as "c" (row-major), "t" (a transposed column-major
    buffer) or "s" (a slice with steps, one of them negative)."""
    if layout == "c":
        return rand(rows, cols, dtype=dtype, seed=seed)
    if layout == "t":
        return rand(cols, rows, dtype=dtype, seed=seed).T
    return rand(2 * rows, 3 * cols, dtype=dtype, seed=seed)[::2, ::-3]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,k,n", ODD_SHAPES)
def test_gemm_odd_sizes_every_layout(isa, dtype, m, k, n):
    for a_layout in "cts":
        for b_layout in "cts":
            a = operand(m, k, a_layout, dtype, seed=1)
            b = operand(k, n, b_layout, dtype, seed=2)
            assert_matches(gemm(a, b), gemm_reference(a, b), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_large(isa, dtype):
    a, b = rand(1000, 1001, dtype=dtype, seed=1), rand(1001, 999, dtype=dtype, seed=2)
    assert_matches(gemm(a, b), gemm_reference(a, b), dtype)
    assert_matches(gemm(b.T, a.T), gemm_reference(b.T, a.T), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_several_blocks_in_every_dimension(isa, threads, dtype):
    """One thread, so that one cell holds the whole of C: K = 1500 is cut into three blocks
    (the last shorter), M = 100 and N = 1100 each into more than one A and B block on
    AVX-512 (blocks of 96 rows and 1008 columns for float)."""
    threads(1)
    a, b = rand(100, 1500, dtype=dtype, seed=1), rand(1500, 1100, dtype=dtype, seed=2)
    assert_matches(gemm(a, b), gemm_reference(a, b), dtype)
    assert_matches(gemm(b.T, a.T), gemm_reference(b.T, a.T), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1061, 1078, 1090])
def test_gemm_wide_tile_right_edges(isa, dtype, n):
    """N >= 1024 takes the wide tile (3 vectors across on AVX-512); these N leave right-edge
    panels of 5, 22 and 34 float columns (5, 22, 10 double ones), run by 1-, 2- and 3-vector
    kernels."""
    a, b = rand(37, 45, dtype=dtype, seed=1), rand(45, n, dtype=dtype, seed=2)
    assert_matches(gemm(a, b), gemm_reference(a, b), dtype)
    assert_matches(gemm(a, b[:, ::-1]), gemm_reference(a, b[:, ::-1]), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("a_shape,b_shape", [
    ((5, 7, 33), (5, 33, 3)),      # one product per matrix
    ((1, 7, 33), (5, 33, 3)),      # a broadcast over b's batch
    ((5, 7, 33), (1, 33, 3)),      # b broadcast: folded into one tall product
    ((5, 7, 33), (33, 3)),
    ((7, 33), (3, 33, 127)),
    ((3, 127, 7), (3, 7, 33)),     # fewer matrices than 2 threads per matrix
    ((11, 33, 7), (11, 7, 127)),   # many matrices: whole matrices per thread
])
def test_gemm_batched(isa, dtype, a_shape, b_shape):
    a, b = rand(*a_shape, dtype=dtype, seed=1), rand(*b_shape, dtype=dtype, seed=2)
    assert_matches(gemm(a, b), gemm_reference(a, b), dtype)
    # transposed views of the same products, as the autograd backward passes them
    at, bt = a.swapaxes(-1, -2).copy().swapaxes(-1, -2), b.swapaxes(-1, -2).copy().swapaxes(-1, -2)
    assert_matches(gemm(at, bt), gemm_reference(at, bt), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_batched_slices(isa, dtype):
    a = rand(4, 14, 66, dtype=dtype, seed=1)[::-1, ::2, 1::2]   # (4, 7, 33), no fixed row pitch
    b = rand(1, 33, 9, dtype=dtype, seed=2)[:, :, ::3]
    assert_matches(gemm(a, b), gemm_reference(a, b), dtype)
    b_shared = rand(33, 3, dtype=dtype, seed=3)
    assert_matches(gemm(a, b_shared), gemm_reference(a, b_shared), dtype)


def test_gemm_empty_and_zero_depth():
    for a_shape, b_shape in [((0, 3), (3, 4)), ((2, 0), (0, 4)), ((0, 2, 3), (3, 4)),
                             ((2, 3, 0), (0, 5))]:
        a, b = np.ones(a_shape, np.float32), np.ones(b_shape, np.float32)
        np.testing.assert_array_equal(gemm(a, b), np.matmul(a, b))


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_thread_count_does_not_change_results(isa, threads, dtype):
    # threads split M and N, never K: results are bitwise the same for any thread count
    cases = [((257, 300), (300, 129)), ((3, 65, 200), (3, 200, 70)),
             ((9, 40, 60), (9, 60, 50)), ((130, 400), (400, 40))]
    for a_shape, b_shape in cases:
        a, b = rand(*a_shape, dtype=dtype, seed=1), rand(*b_shape, dtype=dtype, seed=2)
        threads(1)
        one = gemm(a, b)
        threads(2)
        two = gemm(a, b)
        np.testing.assert_array_equal(one, two)
        assert_matches(two, gemm_reference(a, b), dtype)


def test_gemm_declines_what_it_does_not_handle():
    matmul = tc.kernels.get("matmul")
    for a, b in [(np.ones((2, 3), np.int64), np.ones((3, 2), np.int64)),
                 (np.ones((2, 3), np.float32), np.ones((3, 2), np.float64)),
                 (np.ones((2, 2, 3, 4)), np.ones((4, 5))),
                 (np.ones((2, 3, 4)), np.ones((3, 4, 5))),
                 (np.ones((2, 3), np.float16), np.ones((3, 2), np.float16))]:
        with pytest.raises(NotImplementedError):
            gemm(a, b)
        if a.ndim == 3 and b.ndim == 3:
            continue   # batch 2 against 3: the reference raises NumPy's error
        np.testing.assert_array_equal(matmul(a, b), np.matmul(a, b))
        assert matmul.last.name == "cpu.reference"


# --- activations ----------------------------------------------------------------------

FORWARD = {   # op -> extra arguments after x
    "relu": (), "leaky_relu": (0.01,), "sigmoid": (), "tanh": (),
    "gelu-none": ("none",), "gelu-tanh": ("tanh",),
}


def op_and_params(key):
    return key.split("-")[0], FORWARD[key]


def forward_pair(op):
    return variant(op, "cpu.cpp"), variant(op, "cpu.reference")


def backward_pair(op):
    return variant(op + "_backward", "cpu.cpp"), variant(op + "_backward", "cpu.reference")


def assert_pair_matches(op, params, x, grad, dtype):
    """The C++ forward and backward of ``op`` agree with the reference evaluated in float64 on
    the same operands: x, then grad, x and the float64 y rounded to dtype."""
    ours, reference = forward_pair(op)
    y = reference(*as_float64(x), *params)
    assert_matches(ours(x, *params), y, dtype)
    y = y.astype(dtype)
    ours_backward, reference_backward = backward_pair(op)
    assert_matches(ours_backward(grad, x, y, *params),
                   reference_backward(*as_float64(grad, x, y), *params), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [1, 3, 7, 33, 127, 1000])
@pytest.mark.parametrize("key", FORWARD)
def test_activation_odd_sizes(isa, dtype, size, key):
    op, params = op_and_params(key)
    x = rand(size, dtype=dtype, seed=size, scale=6.0)
    grad = rand(size, dtype=dtype, seed=size + 1)
    assert_pair_matches(op, params, x, grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("key", FORWARD)
def test_activation_non_contiguous_and_shaped(isa, dtype, key):
    op, params = op_and_params(key)
    x = rand(6, 22, dtype=dtype, seed=1, scale=4.0)[::2, ::-3]      # (3, 8) strided view
    grad = rand(8, 3, dtype=dtype, seed=2).T
    assert_pair_matches(op, params, x, grad, dtype)


def channels_last(a):
    """a (N, C, H, W) as a view of fresh NHWC memory holding its values"""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("key", FORWARD)
def test_activation_keeps_the_channels_last_layout(dtype, key):
    """Operands that share an NHWC layout run in memory order, uncopied, and the results keep
    that layout; mixed layouts are copied (C-contiguous results), with the same values."""
    op, params = op_and_params(key)
    x = rand(2, 5, 3, 7, dtype=dtype, seed=1, scale=4.0)
    grad = rand(2, 5, 3, 7, dtype=dtype, seed=2)
    y = forward_pair(op)[1](*as_float64(x), *params).astype(dtype)
    ours_backward = backward_pair(op)[0]
    assert_pair_matches(op, params, channels_last(x), channels_last(grad), dtype)
    out = forward_pair(op)[0](channels_last(x), *params)
    dx = ours_backward(channels_last(grad), channels_last(x), channels_last(y), *params)
    for result in (out, dx):
        assert result.transpose(0, 2, 3, 1).flags.c_contiguous
    mixed = ours_backward(grad, channels_last(x), channels_last(y), *params)
    assert mixed.flags.c_contiguous
    np.testing.assert_array_equal(mixed, dx)


SPECIAL = [0.0, -0.0, 1e-30, -1e-30, 1e-8, -1e-8, 0.3, -0.3, 0.625, -0.625, 0.7, -0.7,
           5.0, -5.0, 20.0, -20.0, 88.0, -88.0, 100.0, -100.0, 1e4, -1e4, 1e30, -1e30]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("key", FORWARD)
def test_activation_special_values(isa, dtype, key):
    op, params = op_and_params(key)
    x = np.array(SPECIAL + [np.inf, -np.inf], dtype=dtype)
    ours, reference = forward_pair(op)
    with np.errstate(all="ignore"):
        assert_matches(ours(x, *params), reference(*as_float64(x), *params), dtype)
        finite = np.array(SPECIAL, dtype=dtype)
        grad = rand(finite.size, dtype=dtype, seed=3)
        y = reference(finite, *params)
        ours_backward, reference_backward = backward_pair(op)
        assert_matches(ours_backward(grad, finite, y, *params),
                       reference_backward(*as_float64(grad, finite, y), *params), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gelu_tanh_slope_at_huge_inputs(isa, dtype):
    x, expected = gelu_tanh_huge_inputs(dtype)
    grad = np.ones_like(x)
    ours, reference = backward_pair("gelu")
    with np.errstate(all="ignore"):
        y = forward_pair("gelu")[1](x, "tanh")
        for backward in (ours, reference):
            np.testing.assert_allclose(backward(grad, x, y, "tanh"), expected, rtol=0, atol=1e-30)


def test_float32_accuracy_against_float64(isa):
    """float32 polynomials within a few ulp of the float64 result, relative to each value:
    tanh for tiny |x|, sigmoid deep in the tail, gelu where 1 + erf cancels (a looser bound
    for gelu's tail, where x < -5 and its values are below 1e-5: up to 8.5e-6, 70 ulp)."""
    x64 = np.concatenate([np.linspace(-9, 9, 20001), np.geomspace(1e-30, 1, 500),
                          -np.geomspace(1e-30, 1, 500)])
    x32 = x64.astype(np.float32)
    exact = x32.astype(np.float64)
    for key, bound in [("tanh", 4e-7), ("sigmoid", 4e-7), ("gelu-none", 4e-6), ("gelu-tanh", 4e-6)]:
        op, params = op_and_params(key)
        ours, reference = forward_pair(op)
        expected = reference(exact, *params)
        got = ours(x32, *params).astype(np.float64)
        meaningful = np.abs(expected) > 1e-30   # gelu's far tail is subnormal in float32
        error = np.abs(got - expected)[meaningful] / np.abs(expected[meaningful])
        tail = key.startswith("gelu") & (exact[meaningful] < -5)
        assert error[~tail].max() < bound, f"{key}: relative error {error[~tail].max():.2e}"
        assert error[tail].max(initial=0) < 1e-5, f"{key}: tail error {error[tail].max():.2e}"


@pytest.mark.parametrize("key", FORWARD)
def test_activation_thread_count_does_not_change_results(threads, key):
    op, params = op_and_params(key)
    x = rand(100_003, dtype=np.float32, seed=1, scale=5.0)   # past the parallel threshold
    grad = rand(100_003, dtype=np.float32, seed=2)
    ours, _ = forward_pair(op)
    ours_backward, _ = backward_pair(op)
    results = []
    for n in (1, 2):
        threads(n)
        y = ours(x, *params)
        results.append((y, ours_backward(grad, x, y, *params)))
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


def test_activations_decline_other_dtypes():
    relu = tc.kernels.get("relu")
    x = np.arange(-3, 4)
    with pytest.raises(NotImplementedError):
        variant("relu", "cpu.cpp")(x)
    np.testing.assert_array_equal(relu(x), np.maximum(x, 0))
    assert relu.last.name == "cpu.reference"
    with pytest.raises(NotImplementedError):
        variant("relu_backward", "cpu.cpp")(np.ones(3, np.float32), np.ones(3), np.ones(3))


# --- bad input straight into the extension ---------------------------------------------

def test_bad_input_to_extension_raises():
    f32 = np.ones((3, 4), np.float32)
    unaligned = misaligned(np.zeros(3, np.float32))
    odd_stride = np.lib.stride_tricks.as_strided(np.zeros(64, np.float32), (3, 4), (10, 4))
    cases = [
        (TypeError, _C.matmul, (np.ones((3, 4), np.int32), np.ones((4, 2), np.int32))),
        (TypeError, _C.matmul, (f32, np.ones((4, 2)))),
        (TypeError, _C.matmul, (f32.astype(">f4"), np.ones((4, 2), np.float32))),
        (TypeError, _C.matmul, ([[1.0]], [[1.0]])),
        (ValueError, _C.matmul, (np.ones(4, np.float32), f32)),
        (ValueError, _C.matmul, (np.ones((1, 1, 3, 4), np.float32), np.ones((4, 2), np.float32))),
        (ValueError, _C.matmul, (f32, f32)),
        (ValueError, _C.matmul, (np.ones((2, 3, 4)), np.ones((3, 4, 5)))),
        (ValueError, _C.matmul, (odd_stride, np.ones((4, 2), np.float32))),
        (ValueError, _C.matmul, (unaligned.reshape(1, 3), np.ones((3, 1), np.float32))),
        (TypeError, _C.relu, (np.ones(3, np.int64),)),
        (ValueError, _C.relu, (np.ones(6, np.float32)[::2],)),
        (ValueError, _C.sigmoid, (unaligned,)),
        (ValueError, _C.relu_backward, (np.ones(3), np.ones(3), np.ones(4))),
        (TypeError, _C.tanh_backward, (np.ones(3), np.ones(3, np.float32), np.ones(3))),
        (ValueError, _C.gelu, (np.ones(3), "fast")),
        (ValueError, _C.set_isa, ("sse9",)),
        (ValueError, _C.set_num_threads, (0,)),
        (ValueError, _C.set_num_threads, (1025,)),    # libgomp aborts or crashes past thousands
    ]
    for error, fn, args in cases:
        with pytest.raises(error, match=r"\w"):
            fn(*args)


def stride_0(*shape):
    """A float32 array of ``shape`` over one element: sizes that could not be allocated."""
    return np.lib.stride_tricks.as_strided(np.ones(1, np.float32), shape, (0,) * len(shape))


def test_matmul_of_an_impossibly_large_output_raises():
    """The output's shape is checked before NumPy is asked for it (NumPy's own message named
    neither the op nor the shape)."""
    with pytest.raises(ValueError, match=r"matmul: output of shape \(2147483648, 4294967296\) is "
                                         "too large for an array"):
        _C.matmul(stride_0(2**31, 1), stride_0(1, 2**32))
    with pytest.raises(ValueError, match=r"matmul: output of shape \(3, 2147483648, 4294967296\)"):
        _C.matmul(stride_0(3, 2**31, 1), stride_0(1, 2**32))


# bad x for a one-operand binding (the activations' forwards, softmax, log_softmax):
# (error, message after "<op>: ", x)
BAD_X = {
    "int64": (TypeError, r"expected x of dtype float32 or float64, got int64",
              lambda: np.arange(-7, 8).reshape(3, 5)),
    "int32": (TypeError, r"expected x of dtype float32 or float64, got int32",
              lambda: np.arange(15, dtype=np.int32).reshape(3, 5)),
    "float16": (TypeError, r"expected x of dtype float32 or float64, got float16",
                lambda: rand(3, 5, dtype=np.float16)),
    "big_endian": (TypeError, r"expected x of dtype float32 or float64, got >f8",
                   lambda: rand(3, 5).astype(">f8")),
    "transposed": (ValueError, r"expected x to be C-contiguous", lambda: rand(5, 3).T),
    "strided": (ValueError, r"expected x to be C-contiguous", lambda: rand(3, 10)[:, ::2]),
    "misaligned": (ValueError, r"expected x to be C-contiguous and aligned",
                   lambda: misaligned(rand(3, 5))),
}


@pytest.mark.parametrize("case", BAD_X)
@pytest.mark.parametrize("key", FORWARD)
def test_bad_input_to_activation_forward_raises(key, case):
    op, params = op_and_params(key)
    error, message, make_x = BAD_X[case]
    with pytest.raises(error, match=f"^{op}: {message}"):
        getattr(_C, op)(make_x(), *params)


def with_operand(operands, name, value):
    """``operands`` (a dict) with ``name`` replaced by ``value``."""
    return {**operands, name: value}


# bad operands for every activation's backward binding (grad, x, y: float64 (3, 5) when
# good): (error, message after "<op>_backward: ", operands -> the bad operands)
BAD_ACTIVATION_BACKWARD = {
    "int_grad": (TypeError, r"expected grad of dtype float32 or float64, got int32",
                 lambda o: with_operand(o, "grad", np.arange(15, dtype=np.int32).reshape(3, 5))),
    "float32_x": (TypeError, r"expected x of dtype float64 like the first operand, got float32",
                  lambda o: with_operand(o, "x", o["x"].astype(np.float32))),
    "float32_y": (TypeError, r"expected y of dtype float64 like the first operand, got float32",
                  lambda o: with_operand(o, "y", o["y"].astype(np.float32))),
    "float32_grad": (TypeError, r"expected x of dtype float32 like the first operand, got float64",
                     lambda o: with_operand(o, "grad", o["grad"].astype(np.float32))),
    "int_y": (TypeError, r"expected y of dtype float64 like the first operand, got int64",
              lambda o: with_operand(o, "y", np.arange(15).reshape(3, 5))),
    "x_shape": (ValueError, r"expected grad and x of one shape, got \(3, 5\) and \(5, 3\)",
                lambda o: with_operand(o, "x", rand(5, 3, seed=4))),
    "x_size": (ValueError, r"expected grad and x of one shape, got \(3, 5\) and \(15,\)",
               lambda o: with_operand(o, "x", o["x"].reshape(15))),
    "y_shape": (ValueError, r"expected grad and y of one shape, got \(3, 5\) and \(2, 5\)",
                lambda o: with_operand(o, "y", o["y"][:2])),
    "grad_shape": (ValueError, r"expected grad and x of one shape, got \(3, 4\) and \(3, 5\)",
                   lambda o: with_operand(o, "grad", rand(3, 4, seed=5))),
    "transposed_grad": (ValueError, r"expected grad to be C-contiguous",
                        lambda o: with_operand(o, "grad", rand(5, 3, seed=5).T)),
    "strided_x": (ValueError, r"expected x to be C-contiguous",
                  lambda o: with_operand(o, "x", rand(3, 10, seed=6)[:, ::2])),
    "reversed_y": (ValueError, r"expected y to be C-contiguous",
                   lambda o: with_operand(o, "y", rand(3, 5, seed=7)[:, ::-1])),
    "misaligned_y": (ValueError, r"expected y to be C-contiguous and aligned",
                     lambda o: with_operand(o, "y", misaligned(rand(3, 5)))),
}


@pytest.mark.parametrize("case", BAD_ACTIVATION_BACKWARD)
@pytest.mark.parametrize("key", FORWARD)
def test_bad_input_to_activation_backward_raises(key, case):
    op, params = op_and_params(key)
    good = dict(grad=rand(3, 5, seed=1), x=rand(3, 5, seed=2, scale=3.0), y=rand(3, 5, seed=3))
    error, message, spoil = BAD_ACTIVATION_BACKWARD[case]
    bad = spoil(good)
    with pytest.raises(error, match=f"^{op}_backward: {message}"):
        getattr(_C, op + "_backward")(bad["grad"], bad["x"], bad["y"], *params)


@pytest.mark.parametrize("approximate", ["fast", "", "Tanh", "erf"])
def test_gelu_backward_rejects_unknown_approximations(approximate):
    grad, x = rand(3, 5, seed=1), rand(3, 5, seed=2)
    with pytest.raises(ValueError, match=f"^gelu_backward: approximate must be 'none' or "
                                         f"'tanh', got '{approximate}'"):
        _C.gelu_backward(grad, x, x, approximate)


def test_runtime_controls():
    features = _C.cpu_features()
    assert set(features) >= {"avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl",
                             "bmi2", "avx512_halves"}
    assert all(isinstance(v, bool) for v in features.values())
    assert features["avx512f"] or not features["avx512_halves"]
    assert _C.isa() in ("avx512", "avx2", "generic")
    if not (features["avx512f"] and features["avx512bw"] and features["avx512dq"]
            and features["avx512vl"] and features["fma"] and features["bmi2"]):
        with pytest.raises(ValueError, match="avx512"):
            _C.set_isa("avx512")
    assert _C.get_num_threads() >= 1


def run_isolated(code, warnings="always", succeeds=True, **env):
    """Runs `code` in a fresh interpreter (the extension reads its knobs at import) under the
    `warnings` filter; it must exit 0, or with an error where not `succeeds`. The caller's
    TENSORCORE_* and OMP_* variables (OMP_NUM_THREADS sets the default thread count) are
    dropped: the child sees only `env` on top of the rest of this environment."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(tc.__file__)))
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("TENSORCORE_", "OMP_"))}
    environment.update(PYTHONPATH=root, **env)
    done = subprocess.run([sys.executable, "-W", warnings, "-c", code], env=environment,
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode == 0) == succeeds, done.stderr
    return done.stdout.strip(), done.stderr


def test_environment_knobs_at_import():
    code = ("import tensorcore._C as C; "
            "print(C.isa(), C.get_num_threads(), C.cache_limit() >> 20)")
    out, _ = run_isolated(code, TENSORCORE_ISA="generic", TENSORCORE_NUM_THREADS="1",
                          TENSORCORE_CPU_CACHE_MB="5")
    assert out == "generic 1 5"
    best, _ = run_isolated(code)
    out, err = run_isolated(code, TENSORCORE_ISA="sse9", TENSORCORE_NUM_THREADS="lots",
                            TENSORCORE_CPU_CACHE_MB="-3")
    assert out == best     # unusable values warn and leave the defaults
    assert "RuntimeWarning" in err
    for knob in ("TENSORCORE_ISA", "TENSORCORE_NUM_THREADS", "TENSORCORE_CPU_CACHE_MB"):
        assert knob in err


def test_extension_failing_at_import_is_an_error():
    # -W error turns the junk knob's warning into an error inside the extension's import:
    # tensorcore must not carry on silently with the reference kernels
    _, err = run_isolated("import tensorcore", warnings="error", succeeds=False,
                          TENSORCORE_NUM_THREADS="lots")
    assert "TENSORCORE_NUM_THREADS='lots'" in err


@pytest.mark.parametrize("env, threads, warning", [
    (dict(TENSORCORE_NUM_THREADS=" 3 "), "3", None),
    (dict(TENSORCORE_NUM_THREADS="65536"), None,        # too many: warns, keeps the default
     "TENSORCORE_NUM_THREADS='65536' is not a thread count from 1 to 1024"),
    (dict(OMP_NUM_THREADS="4294967296"), "1", None),    # libgomp wraps it to 0
    (dict(OMP_NUM_THREADS="2147483648"), "1", None),    # ... and this one below 0
    (dict(OMP_NUM_THREADS="999999"), "1024", None),
    # without TENSORCORE_NUM_THREADS, OpenMP's OMP_NUM_THREADS sets the count
    (dict(OMP_NUM_THREADS="1"), "1", None),
    (dict(OMP_NUM_THREADS="2"), "2", None),
    (dict(OMP_NUM_THREADS="3"), "3", None),
    (dict(TENSORCORE_NUM_THREADS="", OMP_NUM_THREADS="2"), "2", None),   # empty is unset
    # TENSORCORE_NUM_THREADS wins over OMP_NUM_THREADS, either way round
    (dict(TENSORCORE_NUM_THREADS="1", OMP_NUM_THREADS="2"), "1", None),
    (dict(TENSORCORE_NUM_THREADS="2", OMP_NUM_THREADS="1"), "2", None),
    (dict(TENSORCORE_NUM_THREADS="3", OMP_NUM_THREADS="999999"), "3", None),
    # ... unless it is unusable: then OMP_NUM_THREADS's count stands, with a warning
    (dict(TENSORCORE_NUM_THREADS="lots", OMP_NUM_THREADS="2"), "2",
     "TENSORCORE_NUM_THREADS='lots' is not a thread count from 1 to 1024; using 2 threads"),
    (dict(TENSORCORE_NUM_THREADS="0", OMP_NUM_THREADS="1"), "1",
     "TENSORCORE_NUM_THREADS='0' is not a thread count from 1 to 1024; using 1 threads"),
])
def test_thread_count_from_the_environment_stays_usable(env, threads, warning):
    """In a child whose only thread knobs are `env` (run_isolated drops the caller's)."""
    code = ("import numpy as np, tensorcore._C as C; a = np.ones((300, 300)); "
            "assert (C.matmul(a, a) == 300).all(); C.relu(np.ones(10**6, np.float32)); "
            "print(C.get_num_threads())")
    out, err = run_isolated(code, **env)
    if threads is not None:
        assert out == threads
    if warning is None:
        assert "RuntimeWarning" not in err, err
    else:
        assert warning in err


# --- end to end, with every kernel call re-checked against the reference ----------------

CPP_VARIANTS = dict(matmul="cpu.gemm", relu="cpu.cpp", leaky_relu="cpu.cpp", sigmoid="cpu.cpp",
                    tanh="cpu.cpp", gelu="cpu.cpp")


@pytest.mark.parametrize("dtype", DTYPES)
def test_end_to_end_under_validation(isa, dtype):
    import tensorcore.nn.functional as F
    x = tc.tensor(rand(2, 7, 5, dtype=dtype, seed=1), requires_grad=True)
    w = tc.tensor(rand(6, 5, dtype=dtype, seed=2), requires_grad=True)
    v = tc.tensor(rand(3, 6, dtype=dtype, seed=3), requires_grad=True)
    with tc.kernels.use(**CPP_VARIANTS), tc.kernels.validate():
        h = x @ w.T                                      # (2, 7, 6), b broadcast over batch
        h = F.gelu(h) + F.gelu(h, approximate="tanh") + F.leaky_relu(h, 0.1)
        h = tc.sigmoid(h) * tc.tanh(h) + tc.relu(h)
        out = tc.matmul(h, v.T)                          # (2, 7, 3)
        out.sum().backward()
        assert tc.kernels.get("matmul").last.name == "cpu.gemm"
        assert tc.kernels.get("gelu_backward").last.name == "cpu.cpp"
    for t in (x, w, v):
        assert t.grad is not None and t.grad.dtype == np.dtype(dtype)

