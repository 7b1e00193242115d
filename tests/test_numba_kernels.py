"""The Numba CUDA kernels (tensorcore/kernels/numba/) against the float64 NumPy reference.

On a machine whose CUDA driver sees a GPU they run there (on CuPy arrays when CuPy is
installed); elsewhere conftest.py switches Numba to its CUDA simulator, which runs every GPU
thread as a Python thread: shapes stay tiny, the launch configuration shrinks to small blocks
(the same code, still several tiles, strided loads and reduction steps) and the interpreter
switches threads more often, which the simulator's barriers wait on. Under the simulator,
strided inputs are copied to contiguous buffers at launch (host arrays transfer whole), so the
in-place strided reads run only on the GPU.
"""
import subprocess
import sys
import threading
import traceback

import numpy as np
import pytest

import tensorcore as tc
from tensorcore.device import cupy_or_none
from tensorcore.kernels.windows import output_size

from helpers import gelu_tanh_huge_inputs

pytest.importorskip("numba", reason="Numba is not installed")
from numba import cuda  # noqa: E402

from tensorcore.kernels.numba import (activations, common, conv, lstm, matmul,  # noqa: E402
                                      optim, pooling, softmax)

SIMULATED = common.simulator_enabled()
if not SIMULATED and not cuda.is_available():
    pytest.skip("numba.cuda finds no GPU and the CUDA simulator is off", allow_module_level=True)


def lock_simulator_shared_arrays():
    """Numba's CUDA simulator gives a block's threads one shared array per call site, made by
    the first thread to get there, but looks it up and inserts it without a lock: two threads
    arriving together each make one, and the loser computes on a private copy (its writes
    lost to the others, its reads uninitialised). On a loaded machine that failed 3 of 8 runs
    of this module (numba-cuda 0.30.4, wrong sums and values like 1e243). Here the same
    lookup runs under a lock; left alone if the simulator's internals differ."""
    from numba.core import types
    from numba.cuda.simulator import kernelapi
    from numba.np import numpy_support

    shared = kernelapi.FakeCUDAShared
    if not isinstance(getattr(shared(0), "_allocations", None), dict):
        return
    unlocked, lock = shared.array, threading.Lock()

    def array(self, shape, dtype, alignment=None):
        if shape == 0 or alignment is not None:    # dynamic shared memory, or its error
            return unlocked(self, shape, dtype, alignment)
        caller = traceback.extract_stack(sys._getframe())[-2][0:2]   # the kernel's line
        if isinstance(dtype, types.Type):
            dtype = numpy_support.as_dtype(dtype)
        with lock:
            if caller not in self._allocations:
                self._allocations[caller] = np.empty(shape, dtype)
            return self._allocations[caller]

    shared.array = array


if SIMULATED:
    lock_simulator_shared_arrays()

DTYPES = (np.float64, np.float32)
TOLERANCE = {np.float64: 1e-10, np.float32: 2e-5}   # relative to the result's largest magnitude
cupy = None if SIMULATED else cupy_or_none()


@pytest.fixture(autouse=True, scope="module")
def small_launches():
    """Small blocks and fast thread switches under the simulator; the GPU's own otherwise."""
    if not SIMULATED:
        yield
        return
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    common.config.set(**common.LaunchConfig.SMALL)
    yield
    common.config.set(**common.LaunchConfig.GPU)
    sys.setswitchinterval(interval)


def rand(*shape, seed=0, scale=1.0):
    """float64 uniform in [-scale, scale), never all zero."""
    return np.random.default_rng(seed).uniform(-scale, scale, size=shape)


def dev(a, dtype=None):
    """A test input on the kernels' side: CuPy on a GPU with CuPy, else NumPy. astype keeps a
    transposed layout (order "K"), and so does cupy.asarray (column-major stays so)."""
    a = a if dtype is None else a.astype(dtype)
    return a if cupy is None else cupy.asarray(a)


def host(a):
    return a.get() if hasattr(a, "get") else np.asarray(a)


def reference(op):
    return tc.kernels.get(op).variants["cpu.reference"].fn


def assert_matches(got, expected, dtype, what=""):
    got = host(got)
    assert got.shape == expected.shape, f"{what}: shape {got.shape} != {expected.shape}"
    if expected.dtype.kind != "f":
        assert got.dtype == expected.dtype and np.array_equal(got, expected), what
        return
    assert got.dtype == np.dtype(dtype), f"{what}: dtype {got.dtype}, expected {dtype}"
    tol = TOLERANCE[dtype]
    finite = expected[np.isfinite(expected)]
    scale = max(1.0, float(np.max(np.abs(finite), initial=0.0)))
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * scale, equal_nan=True,
                               err_msg=what)


def run_both(op, kernel, args, dtype, float_args):
    """``kernel`` on the float args cast to ``dtype`` (on the device) against the reference on
    the float64 originals; ``float_args`` are the positions of float arrays."""
    expected = reference(op)(*args)
    cast = [dev(a, dtype) if i in float_args else (dev(a) if isinstance(a, np.ndarray) else a)
            for i, a in enumerate(args)]
    got = kernel(*cast)
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = got if isinstance(got, tuple) else (got,)
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert_matches(g, np.asarray(e), dtype, f"{op} output {i} ({np.dtype(dtype)})")
    return got


# --- matmul --------------------------------------------------------------------------------

MATMUL_SHAPES = [((7, 5), (5, 9)), ((1, 1), (1, 1)), ((3, 13), (13, 2)),
                 ((3, 2, 4), (3, 4, 5)), ((2, 1, 3, 4), (3, 4, 5)), ((1, 3, 4), (2, 4, 3))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("a_shape,b_shape", MATMUL_SHAPES)
def test_matmul(a_shape, b_shape, dtype):
    run_both("matmul", matmul.matmul, (rand(*a_shape, seed=1), rand(*b_shape, seed=2)), dtype,
             {0, 1})


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_transposed_and_sliced(dtype):
    a = rand(9, 7, seed=1).T                        # (7, 9), column-major
    b = rand(9, 12, seed=2)[:, ::-2]                # (9, 6), negative step
    run_both("matmul", matmul.matmul, (a, b), dtype, {0, 1})


def test_matmul_gpu_tiles():
    """The GPU's 64 x 64 tiles: several row and column tiles and two K steps."""
    saved = dict(gemm_tiles=common.config.gemm_tiles,
                 elementwise_threads=common.config.elementwise_threads,
                 reduce_threads=common.config.reduce_threads,
                 max_row_blocks=common.config.max_row_blocks)
    common.config.set(**dict(saved, gemm_tiles=common.LaunchConfig.GPU["gemm_tiles"]))
    try:
        run_both("matmul", matmul.matmul, (rand(70, 17, seed=1), rand(17, 66, seed=2)),
                 np.float32, {0, 1})
    finally:
        common.config.set(**saved)


def test_matmul_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="matmul"):
        matmul.matmul(dev(rand(2, 3)), dev(rand(4, 2)))


# --- conv2d --------------------------------------------------------------------------------

# (N, C, H, W, O, (kh, kw), stride, padding (top, bottom, left, right), dilation, groups)
CONV_CASES = [
    (2, 3, 5, 5, 4, (3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1),
    (2, 3, 5, 5, 2, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),      # "same"
    (1, 2, 6, 5, 3, (2, 3), (2, 1), (1, 0, 2, 1), (1, 1), 1),      # asymmetric padding
    (1, 2, 7, 6, 2, (3, 2), (1, 2), (0, 0, 0, 0), (2, 2), 1),      # dilation
    (2, 4, 5, 5, 6, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 2),      # groups
    (1, 3, 5, 4, 3, (1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 3),      # depthwise 1x1
    (1, 2, 5, 5, 2, (2, 2), (3, 3), (2, 1, 1, 2), (2, 1), 2),      # everything at once
]


def conv_inputs(case, seed=0):
    N, C, H, W, O, kernel, stride, padding, dilation, groups = case
    x, weight = rand(N, C, H, W, seed=seed), rand(O, C // groups, *kernel, seed=seed + 1)
    OH = output_size(H, kernel[0], stride[0], padding[0], padding[1], dilation[0])
    OW = output_size(W, kernel[1], stride[1], padding[2], padding[3], dilation[1])
    return x, weight, rand(O, seed=seed + 2), rand(N, O, OH, OW, seed=seed + 3)


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_forward_and_backward(case):
    x, weight, bias, grad = conv_inputs(case)
    params = case[6:]
    dtype = np.float64
    run_both("conv2d", conv.conv2d, (x, weight, bias) + params, dtype, {0, 1, 2})
    run_both("conv2d", conv.conv2d, (x, weight, None) + params, dtype, {0, 1})
    run_both("conv2d_backward_input", conv.conv2d_backward_input,
             (grad, weight, x.shape) + params, dtype, {0, 1})
    run_both("conv2d_backward_weight", conv.conv2d_backward_weight,
             (grad, x, weight.shape) + params, dtype, {0, 1})


def test_conv2d_float32_non_contiguous():
    case = CONV_CASES[4]
    x, weight, bias, grad = conv_inputs(case)
    x = np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)   # W-major view
    grad = np.ascontiguousarray(grad[:, ::-1])[:, ::-1]                      # negative step
    params = case[6:]
    run_both("conv2d", conv.conv2d, (x, weight, bias) + params, np.float32, {0, 1, 2})
    run_both("conv2d_backward_input", conv.conv2d_backward_input,
             (grad, weight, x.shape) + params, np.float32, {0, 1})
    run_both("conv2d_backward_weight", conv.conv2d_backward_weight,
             (grad, x, weight.shape) + params, np.float32, {0, 1})


# --- pooling -------------------------------------------------------------------------------

# (kernel, stride, padding (ph, pw), dilation, ceil_mode)
POOL_CASES = [((2, 2), (2, 2), (0, 0), (1, 1), False),
              ((3, 2), (2, 1), (1, 1), (1, 1), True),
              ((3, 3), (3, 2), (1, 0), (2, 1), True),
              ((2, 3), (1, 2), (1, 1), (3, 3), False),       # windows of padding only
              ((1, 1), (2, 2), (0, 0), (1, 1), True)]


def pool_input(dtype_special=True):
    x = rand(2, 3, 5, 6, seed=4)
    if dtype_special:
        x[0, 0, 1, 1] = np.nan          # NaN wins its windows
        x[1, 2] = -np.inf               # all -inf: the first element inside
        x[1, 1, 2, :3] = x[1, 1, 2, 4]  # ties: the first maximum
    return x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool2d(case, dtype):
    x = pool_input()
    y, indices = run_both("max_pool2d", pooling.max_pool2d, (x,) + case, dtype, {0})
    grad = rand(*host(y).shape, seed=5)
    expected = reference("max_pool2d_backward")(grad, host(indices), x.shape)
    got = pooling.max_pool2d_backward(dev(grad, dtype), indices, x.shape)
    assert_matches(got, expected, dtype, "max_pool2d_backward")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", [c for c in POOL_CASES if c[3] == (1, 1)])
@pytest.mark.parametrize("count_include_pad,divisor_override", [(True, None), (False, None),
                                                                (True, 5)])
def test_avg_pool2d(case, count_include_pad, divisor_override, dtype):
    kernel, stride, padding, _, ceil_mode = case
    x = pool_input(dtype_special=False)
    params = (kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    y = run_both("avg_pool2d", pooling.avg_pool2d, (x,) + params, dtype, {0})[0]
    grad = rand(*host(y).shape, seed=5)[..., ::-1]          # non-contiguous
    run_both("avg_pool2d_backward", pooling.avg_pool2d_backward, (grad, x.shape) + params,
             dtype, {0})


# --- activations ---------------------------------------------------------------------------

ACTIVATIONS = [("relu", ()), ("leaky_relu", (0.1,)), ("sigmoid", ()), ("tanh", ()),
               ("gelu", ("none",)), ("gelu", ("tanh",))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,params", ACTIVATIONS)
def test_activation(name, params, dtype):
    x = rand(7, 5, seed=6, scale=4.0).T                      # (5, 7), transposed
    x[0, :3] = (0.0, 30.0, -30.0)                            # zero and saturation
    grad = rand(5, 7, seed=7)
    param = activations.gelu_flag(*params) if name == "gelu" else (params[0] if params else 0.0)
    y = run_both(name, lambda x, *_: activations.forward(name, x, param), (x, *params), dtype,
                 {0})[0]
    y64 = reference(name)(x, *params)
    expected = reference(name + "_backward")(grad, x, y64, *params)
    got = activations.backward(name, dev(grad, dtype), dev(x, dtype), y, param)
    assert_matches(got, expected, dtype, f"{name}_backward")


@pytest.mark.parametrize("dtype", DTYPES)
def test_gelu_tanh_slope_at_huge_inputs(dtype):
    """The simulator computes float32 in float32 (x * x overflows past 1.8e19), the GPU in
    float64 (past 1.3e154): either way x is taken within +-1000 first."""
    x, expected = gelu_tanh_huge_inputs(dtype)
    dx = activations.backward("gelu", dev(np.ones_like(x)), dev(x), dev(x), 1.0)  # y: unused
    np.testing.assert_allclose(host(dx), expected, rtol=0, atol=1e-30)


# --- softmax and the losses ----------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [-1, 1, 0])
@pytest.mark.parametrize("log", [False, True])
def test_softmax(axis, log, dtype):
    name = "log_softmax" if log else "softmax"
    x = rand(2, 3, 9, seed=8, scale=5.0)
    grad = rand(2, 3, 9, seed=9)
    y = run_both(name, lambda x, a: softmax.softmax(x, a, log), (x, axis), dtype, {0})[0]
    y64 = reference(name)(x, axis)
    expected = reference(name + "_backward")(grad, y64, axis)
    got = softmax.softmax_backward(dev(grad, dtype), y, axis, log)
    assert_matches(got, expected, dtype, f"{name}_backward")


def test_softmax_large_values_and_nan():
    x = np.array([[1000.0, 999.0, -1000.0], [0.0, np.nan, 1.0]])
    for log, name in ((False, "softmax"), (True, "log_softmax")):
        assert_matches(softmax.softmax(dev(x), -1, log), reference(name)(x, -1), np.float64, name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("offset", [0.0, 1e4])   # 1e4: max + log(sum) would round digits away
def test_cross_entropy_and_nll(dtype, offset):
    # the logits as dtype holds them, so that the float64 reference sees the same values
    logits = (rand(5, 11, seed=10, scale=3.0) + offset).astype(dtype).astype(np.float64)
    target = np.array([0, 10, 3, 3, 7])
    grad = rand(5, seed=11)
    _, log_probs = run_both("cross_entropy", softmax.cross_entropy, (logits, target), dtype, {0})
    log_probs64 = reference("log_softmax")(logits, 1)
    run_both("cross_entropy_backward", softmax.cross_entropy_backward,
             (grad, log_probs64, target), dtype, {0, 1})
    run_both("nll_loss", softmax.nll_loss, (log_probs64, target), dtype, {0})
    run_both("nll_loss_backward", softmax.nll_loss_backward, (grad, log_probs64, target),
             dtype, {0, 1})
    assert host(log_probs).shape == (5, 11)


# --- lstm ----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("biases", ["both", "hh only", "none"])
def test_lstm_cell(biases, dtype):
    B, I, H = 3, 5, 4
    x, h, c = rand(B, I, seed=12), rand(B, H, seed=13), rand(B, H, seed=14)
    w_ih, w_hh = rand(4 * H, I, seed=15), rand(H, 4 * H, seed=16).T      # w_hh transposed
    b_ih = rand(4 * H, seed=17) if biases == "both" else None
    b_hh = rand(4 * H, seed=18) if biases != "none" else None
    args = (x, h, c, w_ih, w_hh, b_ih, b_hh)
    run_both("lstm_cell", lstm.lstm_cell, args, dtype,
             {i for i, a in enumerate(args) if a is not None})
    _, c_new, gates = reference("lstm_cell")(*args)
    dh, dc = rand(B, H, seed=19), rand(B, H, seed=20)
    run_both("lstm_cell_backward", lstm.lstm_cell_backward,
             (dh, dc, x, h, c, w_ih, w_hh, gates, c_new), dtype, set(range(9)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ["none", "relu", "sigmoid", "tanh"])
def test_bias_act(activation, dtype):
    x, bias, grad = rand(2, 3, 7, seed=21, scale=3.0), rand(7, seed=22), rand(2, 3, 7, seed=23)
    y = run_both("bias_act", activations.bias_act, (x[:, ::-1], bias, activation), dtype,
                 {0, 1})[0]
    y64 = reference("bias_act")(x[:, ::-1], bias, activation)
    expected = reference("bias_act_backward")(grad, y64, activation)
    got = activations.bias_act_backward(dev(grad, dtype), y, activation)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert_matches(g, e, dtype, f"bias_act_backward output {i}")


# --- optimizer steps (in place) ------------------------------------------------------------

def run_in_place(op, kernel, arrays, scalars, dtype):
    """``kernel`` updates ``arrays`` (cast to ``dtype``) in place as the reference updates the
    float64 originals; None entries stay None."""
    expected = [None if a is None else a.copy() for a in arrays]
    reference(op)(*expected, *scalars)
    got = [None if a is None else dev(a, dtype) for a in arrays]
    assert kernel(*got, *scalars) is None
    for i, (g, e) in enumerate(zip(got, expected)):
        if e is not None:
            assert_matches(g, e, dtype, f"{op} array {i}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("momentum,nesterov,weight_decay", [(0.0, False, 0.0), (0.9, False, 0.01),
                                                            (0.9, True, 0.0)])
def test_sgd_step(momentum, nesterov, weight_decay, dtype):
    param, grad = rand(5, 7, seed=24), rand(7, 5, seed=25).T
    velocity = rand(5, 7, seed=26) if momentum else None
    run_in_place("sgd_step", optim.sgd_step, [param, grad, velocity],
                 (0.1, momentum, nesterov, weight_decay), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weight_decay,decoupled", [(0.0, False), (0.01, False), (0.01, True)])
def test_adam_step(weight_decay, decoupled, dtype):
    param, grad = rand(5, 7, seed=27), rand(5, 7, seed=28)
    exp_avg, exp_avg_sq = rand(5, 7, seed=29) * 0.1, rand(5, 7, seed=30) ** 2 * 0.01
    run_in_place("adam_step", optim.adam_step, [param, grad, exp_avg, exp_avg_sq],
                 (3, 1e-3, 0.9, 0.999, 1e-8, weight_decay, decoupled), dtype)


def test_optimizer_steps_decline_strided_state():
    param = rand(6, 4).T
    with pytest.raises(NotImplementedError):
        optim.sgd_step(param, rand(4, 6), None, 0.1, 0.0, False, 0.0)


# --- declining, availability, coverage -----------------------------------------------------

def test_other_dtypes_decline():
    for kernel, args in [(matmul.matmul, (np.ones((2, 2), np.float16),) * 2),
                         (lambda x: activations.forward("relu", x), (np.ones(3, np.int64),)),
                         (lambda x: softmax.softmax(x, -1), (np.ones((2, 2), np.float16),))]:
        with pytest.raises(NotImplementedError):
            kernel(*args)


# every op with a "cuda.numba" variant, and the test above that checks it
COVERED = {
    "matmul": test_matmul,
    "conv2d": test_conv2d_forward_and_backward,
    "conv2d_backward_input": test_conv2d_forward_and_backward,
    "conv2d_backward_weight": test_conv2d_forward_and_backward,
    "max_pool2d": test_max_pool2d, "max_pool2d_backward": test_max_pool2d,
    "avg_pool2d": test_avg_pool2d, "avg_pool2d_backward": test_avg_pool2d,
    "lstm_cell": test_lstm_cell, "lstm_cell_backward": test_lstm_cell,
    **{name + suffix: test_activation for name, _ in ACTIVATIONS for suffix in ("", "_backward")},
    **{name + suffix: test_softmax for name in ("softmax", "log_softmax")
       for suffix in ("", "_backward")},
    **{name + suffix: test_cross_entropy_and_nll for name in ("cross_entropy", "nll_loss")
       for suffix in ("", "_backward")},
    "bias_act": test_bias_act, "bias_act_backward": test_bias_act,
    "sgd_step": test_sgd_step, "adam_step": test_adam_step,
}


def test_every_numba_variant_is_covered():
    registered = sorted(name for name, op in tc.kernels.ops().items()
                        if "cuda.numba" in op.variants)
    assert registered == sorted(COVERED)


def test_variants_available_only_with_a_real_gpu():
    available = {op.variants["cuda.numba"].available for op in tc.kernels.ops().values()
                 if "cuda.numba" in op.variants}
    assert available == {tc.device.cuda_available() and not SIMULATED}


def test_imports_without_numba():
    """Numba is optional: with it hidden, tensorcore and the kernel modules still import and
    the variants are unavailable."""
    code = ("import sys; sys.modules['numba'] = None\n"
            "import tensorcore as tc\n"
            "from tensorcore.kernels.numba import activations, conv, lstm, matmul, optim, pooling, softmax\n"
            "from tensorcore.backends.cuda import numba_variants\n"
            "assert not numba_variants.available()\n"
            "assert not tc.kernels.get('matmul').variants['cuda.numba'].available\n")
    subprocess.run([sys.executable, "-c", code], check=True)
