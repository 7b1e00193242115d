"""The C++ conv2d kernels ("cpu.cpp", csrc/conv*.cpp) against the im2col reference: odd
sizes, every stride/padding/dilation/groups case, NCHW and channels-last memory, float32 and
float64, non-contiguous inputs, 1 and 2 threads, every ISA for the direct kernels; gradients
of F.conv2d through them by finite differences and against PyTorch; bad input raising."""
import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F

from helpers import compare_with_torch, misaligned, torch

_C = pytest.importorskip("tensorcore._C", reason="the C++ extension is not built")

OPS = ("conv2d", "conv2d_backward_input", "conv2d_backward_weight")
DTYPES = (np.float32, np.float64)
# relative to the result's largest magnitude: the sums over taps and pixels round with it
TOLERANCE = {np.float32: 2e-5, np.float64: 1e-12}


def rand(*shape, seed=0):
    """Uniform in [-1, 1), never all zero."""
    return np.random.default_rng(seed).uniform(-1, 1, size=shape)


def ours(op, variant="cpu.cpp"):
    return tc.kernels.get(op).variants[variant].fn


def reference(op):
    return tc.kernels.get(op).variants["cpu.reference"].fn


def nhwc(a):
    """The (N, C, H, W) array `a` as a view of NHWC memory, as the Keras face passes images
    (a fresh copy: its channel stride is one element even when C == 1)."""
    return np.array(a.transpose(0, 2, 3, 1), order="C").transpose(0, 3, 1, 2)


def assert_matches(got, expected, dtype, what):
    assert got.shape == expected.shape, f"{what}: shape {got.shape} != {expected.shape}"
    assert got.dtype == np.dtype(dtype), f"{what}: dtype {got.dtype}"
    tol = TOLERANCE[dtype]
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * scale, err_msg=what)


# (x shape, weight shape, stride, padding (top, bottom, left, right), dilation, groups)
CASES = [
    ((1, 1, 5, 5), (1, 1, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1),
    ((1, 1, 1, 1), (1, 1, 1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1),
    ((3, 1, 33, 33), (33, 1, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1),      # direct kernels
    ((3, 3, 7, 33), (5, 3, 3, 3), (1, 2), (1, 0, 2, 1), (1, 1), 1),        # direct, asymmetric
    ((3, 3, 7, 7), (5, 3, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    ((3, 7, 33, 33), (33, 7, 3, 3), (2, 2), (0, 2, 1, 3), (1, 1), 1),      # GEMM lowering
    ((1, 7, 7, 5), (5, 7, 3, 2), (1, 1), (0, 0, 0, 0), (1, 1), 1),
    ((1, 3, 1, 1), (5, 3, 1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1),         # pointwise
    ((3, 7, 5, 7), (33, 7, 1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1),
    ((3, 7, 5, 7), (5, 7, 1, 1), (2, 1), (0, 0, 0, 0), (1, 1), 1),         # 1x1, strided
    ((1, 3, 5, 5), (5, 3, 5, 5), (1, 1), (0, 0, 0, 0), (1, 1), 1),         # kernel == input
    ((1, 7, 5, 7), (5, 7, 5, 7), (1, 1), (0, 0, 0, 0), (1, 1), 1),
    ((3, 3, 5, 7), (5, 3, 3, 3), (1, 1), (4, 5, 4, 6), (1, 1), 1),         # padding > kernel
    ((3, 7, 1, 1), (5, 7, 3, 3), (1, 1), (2, 2, 3, 1), (1, 1), 1),
    ((3, 3, 7, 33), (5, 3, 3, 2), (1, 2), (2, 1, 0, 3), (2, 3), 1),        # dilation
    ((1, 7, 33, 7), (5, 7, 2, 3), (3, 2), (1, 0, 0, 2), (3, 2), 1),
    ((3, 3, 33, 33), (5, 3, 2, 2), (3, 3), (0, 0, 0, 0), (1, 1), 1),       # stride > kernel
    ((3, 6, 7, 7), (4, 3, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 2),         # groups
    ((3, 3, 7, 7), (33, 1, 3, 3), (2, 1), (1, 1, 0, 2), (1, 1), 3),        # depthwise x 11
    ((1, 7, 5, 5), (7, 1, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 7),         # depthwise
    ((3, 6, 5, 5), (9, 2, 1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 3),         # grouped pointwise
    ((9, 1, 7, 7), (5, 1, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),         # images split per thread
    ((9, 7, 5, 5), (33, 7, 3, 3), (1, 1), (1, 0, 0, 1), (1, 1), 1),
    ((9, 6, 5, 5), (4, 3, 3, 3), (2, 1), (1, 1, 1, 1), (2, 1), 2),
    ((9, 7, 5, 5), (5, 7, 1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1),
    ((9, 11, 5, 5), (5, 11, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),      # > 80 taps: GEMM
    ((3, 11, 7, 7), (5, 11, 3, 3), (2, 1), (0, 1, 2, 0), (1, 2), 1),      # weight gradient
    ((1, 129, 5, 5), (3, 129, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),    # > 1024 taps: GEMM
    ((1, 3, 5, 127), (7, 3, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),     # width 127
    ((2, 3, 127, 3), (5, 3, 3, 2), (1, 1), (0, 0, 1, 1), (1, 1), 1),      # height 127
    ((3, 7, 5, 5), (127, 7, 3, 3), (1, 1), (0, 1, 1, 0), (1, 1), 1),      # 127 output channels
    ((1, 127, 3, 4), (5, 127, 3, 3), (2, 1), (1, 1, 1, 1), (1, 1), 1),    # 127 input channels
    ((1, 3, 5, 1000), (5, 3, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),     # width 1000
    ((1, 2, 1000, 4), (3, 2, 3, 2), (2, 1), (0, 1, 1, 0), (2, 1), 1),     # height 1000
    ((2, 4, 5, 5), (1000, 4, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),     # 1000 output channels
    ((1, 1000, 3, 3), (5, 1000, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),  # 1000 input channels
    ((1000, 1, 5, 5), (3, 1, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1),     # 1000 images
    ((2, 1000, 5, 5), (1000, 1, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1000),  # 1000 groups
    ((37, 1, 30, 29), (7, 1, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1),     # im2col batches
]
# the forward's im2col in batches of a few images (27.6 KB each in float32): several per
# thread's range of images, of unequal sizes
BATCHED_FORWARD_CASE = CASES[-1]
# NCHW without groups runs the direct kernels: forward always, input gradient up to 32 output
# channels, weight gradient up to 80 taps; the other cases here cover the GEMM lowering
DIRECT_CASES = [c for c in CASES if c[5] == 1]


def case_id(case):
    x, w, stride, padding, dilation, groups = case
    return f"x{x}-w{w}-s{stride}-p{padding}-d{dilation}-g{groups}".replace(" ", "")


def geometry(case):
    _, _, stride, padding, dilation, groups = case
    return dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


def check_all_ops(case, dtype, layout, with_bias=True, seed=0, variant="cpu.cpp"):
    """The three C++ kernels of `variant` on `case` in `layout` ("nchw" or "nhwc") against the
    reference evaluated in float64 on the same (rounded) inputs; channels-last answers
    channels-last."""
    x_shape, w_shape = case[:2]
    geo = geometry(case)
    x, w = rand(*x_shape, seed=seed).astype(dtype), rand(*w_shape, seed=seed + 1).astype(dtype)
    b = rand(w_shape[0], seed=seed + 2).astype(dtype) if with_bias else None
    as_layout = nhwc if layout == "nhwc" else (lambda a: a)
    wide = (lambda a: None if a is None else a.astype(np.float64))
    y_expected = reference("conv2d")(wide(x), wide(w), wide(b), **geo)
    y = ours("conv2d", variant)(as_layout(x), w, b, **geo)
    assert_matches(y, y_expected, dtype, "conv2d")
    grad = rand(*y_expected.shape, seed=seed + 3).astype(dtype)
    dx = ours("conv2d_backward_input", variant)(as_layout(grad), w, x_shape, **geo)
    assert_matches(dx, reference("conv2d_backward_input")(wide(grad), wide(w), x_shape, **geo),
                   dtype, "conv2d_backward_input")
    dw, db = ours("conv2d_backward_weight", variant)(as_layout(grad), as_layout(x), w_shape,
                                                      **geo)
    dw_expected, db_expected = reference("conv2d_backward_weight")(wide(grad), wide(x), w_shape,
                                                                   **geo)
    assert_matches(dw, dw_expected, dtype, "conv2d_backward_weight dweight")
    assert_matches(db, db_expected, dtype, "conv2d_backward_weight dbias")
    if layout == "nhwc":   # answered in the memory format asked, where 1x1 images leave a doubt
        for out, source in ((y, x), (dx, grad)):
            if source.shape[2] * source.shape[3] > 1:
                assert out.transpose(0, 2, 3, 1).flags.c_contiguous
    return y, dx, dw, db


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_against_reference(case, dtype, layout):
    check_all_ops(case, dtype, layout)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", DIRECT_CASES, ids=case_id)
def test_direct_kernels_every_isa(isa, case, dtype):
    check_all_ops(case, dtype, "nchw")
    check_all_ops(case, dtype, "nchw", with_bias=False, seed=5)


# channels-last without groups: the direct kernels (each output pixel's taps against the
# weights or its grad row) run the forward up to 20 input channels and the weight gradient up
# to 288 taps, where Winograd does not take them
NHWC_DIRECT_CASES = [c for c in CASES
                     if c[5] == 1 and (c[1][1] <= 20 or c[1][1] * c[1][2] * c[1][3] <= 288)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", NHWC_DIRECT_CASES, ids=case_id)
def test_channels_last_direct_kernels_every_isa(isa, case, dtype):
    check_all_ops(case, dtype, "nhwc")
    check_all_ops(case, dtype, "nhwc", with_bias=False, seed=5)


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_infinities_reach_the_outputs_they_touch(isa, layout):
    """inf and -inf in x give inf or NaN exactly where the reference's do: 5x5 taps (blocks of
    9, 9 and 7 entries in the channels-last weight gradient) with a gradient and 33 output
    channels."""
    x = rand(3, 1, 11, 13, seed=1).astype(np.float32)
    x[0, 0, 2, 3], x[1, 0, 7, 9], x[1, 0, 8, 9], x[2, 0, 0, 0] = np.inf, np.inf, -np.inf, -np.inf
    w = rand(33, 1, 5, 5, seed=2).astype(np.float32)
    geo = dict(stride=(1, 1), padding=(2, 1, 0, 2), dilation=(1, 1), groups=1)
    as_layout = nhwc if layout == "nhwc" else (lambda a: a)
    y = ours("conv2d")(as_layout(x), w, None, **geo)
    expected = reference("conv2d")(x.astype(np.float64), w.astype(np.float64), None, **geo)
    assert np.isinf(expected).any() and np.isnan(expected).any()
    np.testing.assert_array_equal(np.isnan(y), np.isnan(expected))
    np.testing.assert_array_equal(np.isposinf(y), np.isposinf(expected))
    grad = rand(*y.shape, seed=3).astype(np.float32)
    dw, _ = ours("conv2d_backward_weight")(as_layout(grad), as_layout(x), w.shape, **geo)
    dw_expected, _ = reference("conv2d_backward_weight")(grad.astype(np.float64),
                                                         x.astype(np.float64), w.shape, **geo)
    np.testing.assert_array_equal(np.isnan(dw), np.isnan(dw_expected))
    np.testing.assert_array_equal(np.isinf(dw), np.isinf(dw_expected))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", [CASES[4], CASES[17], CASES[23]], ids=case_id)
def test_gemm_lowering_every_isa(isa, case, dtype):
    for layout in ("nchw", "nhwc"):
        check_all_ops(case, dtype, layout, with_bias=False)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", [c for c in CASES if c[0][0] == 9] + [CASES[5],
                                  BATCHED_FORWARD_CASE], ids=case_id)
def test_thread_count_does_not_change_results(threads, case, dtype):
    for layout in ("nchw", "nhwc"):
        threads(1)
        one = check_all_ops(case, dtype, layout)
        threads(2)
        two = check_all_ops(case, dtype, layout)
        for a, b in zip(one, two):   # per-thread partial sums may round differently
            assert_matches(a, b, dtype, f"1 vs 2 threads ({layout})")


def test_non_contiguous_inputs():
    """Strided views and an NHWC grad for an NCHW x are copied into a layout the kernel takes."""
    case = ((3, 3, 7, 7), (5, 3, 3, 3), (1, 1), (1, 0, 2, 1), (2, 1), 1)
    geo = geometry(case)
    x = rand(3, 6, 7, 14, seed=1)[:, ::2, :, ::2]          # (3, 3, 7, 7), strided
    w = rand(3, 3, 3, 5, seed=2).transpose(3, 2, 1, 0)      # (5, 3, 3, 3), transposed
    b = rand(10, seed=3)[::2]
    y = ours("conv2d")(x, w, b, **geo)
    np.testing.assert_allclose(y, reference("conv2d")(x, w, b, **geo), rtol=1e-12, atol=1e-12)
    grad = nhwc(rand(*y.shape, seed=4))[:, :, ::-1]         # flipped rows of NHWC memory
    dx = ours("conv2d_backward_input")(grad, w, x.shape, **geo)
    np.testing.assert_allclose(dx, reference("conv2d_backward_input")(grad, w, x.shape, **geo),
                               rtol=1e-12, atol=1e-12)
    # every other column of NCHW memory, every other row of NHWC memory (the extension itself
    # rejects such grads: test_bad_input_to_extension_raises)
    for view in (every_other(grad, 3), every_other(grad, 2, channels_last=True)):
        assert not view.flags.c_contiguous and not view.transpose(0, 2, 3, 1).flags.c_contiguous
        np.testing.assert_allclose(ours("conv2d_backward_input")(view, w, x.shape, **geo), dx,
                                   rtol=1e-12, atol=1e-12)
    for g_layout, x_layout in [(grad, x), (nhwc(grad), x), (np.ascontiguousarray(grad), nhwc(x))]:
        dw, db = ours("conv2d_backward_weight")(g_layout, x_layout, w.shape, **geo)
        dw_expected, db_expected = reference("conv2d_backward_weight")(grad, x, w.shape, **geo)
        np.testing.assert_allclose(dw, dw_expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(db, db_expected, rtol=1e-12, atol=1e-12)


def test_single_channel_images_are_both_layouts():
    """With C == 1, NCHW and NHWC memory coincide: the kernel answers C-contiguous."""
    x = rand(3, 1, 7, 7, seed=1)
    w = rand(5, 1, 3, 3, seed=2)
    geo = dict(stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1)
    y = ours("conv2d")(nhwc(x), w, None, **geo)
    np.testing.assert_allclose(y, reference("conv2d")(x, w, None, **geo), rtol=1e-12, atol=1e-12)


# x with one channel in NHWC memory, its channel stride as np.ascontiguousarray leaves it
# (H * W elements) or as x[..., None] makes it (0): neither says channels-last
@pytest.mark.parametrize("channel_stride", [7 * 7, 0])
@pytest.mark.parametrize("grad_nhwc", [False, True])
def test_single_channel_weight_gradient_reads_grad_in_place(monkeypatch, channel_stride,
                                                           grad_nhwc):
    """The weight gradient of a one-channel x, which both layouts describe, runs in grad's
    layout: grad reaches the kernel uncopied."""
    import tensorcore.backends.cpu.conv as backend
    x = rand(3, 7, 7, seed=1)[..., None]
    x = np.lib.stride_tricks.as_strided(
        x, x.shape, x.strides[:3] + (channel_stride * x.itemsize,)).transpose(0, 3, 1, 2)
    w = rand(5, 1, 3, 3, seed=2)
    grad = rand(3, 5, 5, 5, seed=3)
    grad = nhwc(grad) if grad_nhwc else grad
    geo = dict(stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1)
    passed = []

    class Spy:
        def __getattr__(self, name):
            return getattr(_C, name)

        def conv2d_backward_weight(self, g, *args):
            passed.append(g)
            return _C.conv2d_backward_weight(g, *args)
    monkeypatch.setattr(backend, "_C", Spy())
    dw, db = ours("conv2d_backward_weight")(grad, x, w.shape, **geo)
    assert np.shares_memory(passed[0], grad)
    dw_expected, db_expected = reference("conv2d_backward_weight")(grad, x, w.shape, **geo)
    np.testing.assert_allclose(dw, dw_expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, db_expected, rtol=1e-12, atol=1e-12)


def test_empty_batch():
    geo = dict(stride=(1, 1), padding=(1, 1, 1, 1), dilation=(1, 1), groups=1)
    x, w = np.ones((0, 3, 5, 5)), np.ones((4, 3, 3, 3))
    assert ours("conv2d")(x, w, np.ones(4), **geo).shape == (0, 4, 5, 5)
    assert ours("conv2d_backward_input")(np.ones((0, 4, 5, 5)), w, x.shape, **geo).shape == x.shape
    dw, db = ours("conv2d_backward_weight")(np.ones((0, 4, 5, 5)), x, w.shape, **geo)
    np.testing.assert_array_equal(dw, np.zeros(w.shape))
    np.testing.assert_array_equal(db, np.zeros(4))


# --- Winograd F(4x4, 3x3) ("cpu.winograd", and "cpu.cpp" where it pays) ----------------------

# 3x3, stride 1: odd and even output sizes, channels across vector widths and past the 64
# kernels of a transform block, every padding up to 2 (asymmetric too), one pixel, images
# of several chunks of tiles, and chunks of several images (the last group of a thread's
# images smaller)
WINOGRAD_CASES = [
    ((1, 1, 3, 3), (1, 1, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1),
    ((1, 1, 1, 1), (3, 1, 3, 3), (1, 1), (2, 2, 2, 2), (1, 1), 1),
    ((3, 3, 7, 5), (7, 3, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    ((2, 17, 8, 11), (33, 17, 3, 3), (1, 1), (2, 0, 1, 2), (1, 1), 1),
    ((3, 33, 6, 7), (17, 33, 3, 3), (1, 1), (0, 1, 2, 0), (1, 1), 1),
    ((9, 16, 7, 7), (16, 16, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    ((2, 33, 40, 37), (40, 33, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    ((2, 19, 10, 12), (21, 19, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1),   # transposed in place
    ((2, 67, 5, 6), (70, 67, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    ((16, 33, 12, 13), (17, 33, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1),  # images per chunk
    ((1, 9, 5, 127), (5, 9, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),      # width 127
    ((1, 8, 6, 1000), (8, 8, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),     # width 1000
]


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", WINOGRAD_CASES, ids=case_id)
def test_winograd_against_reference(case, dtype, layout):
    check_all_ops(case, dtype, layout, variant="cpu.winograd")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", WINOGRAD_CASES[2:6], ids=case_id)
def test_winograd_every_isa(isa, case, dtype):
    for layout in ("nchw", "nhwc"):
        check_all_ops(case, dtype, layout, with_bias=layout == "nchw", variant="cpu.winograd")


@pytest.mark.parametrize("case", WINOGRAD_CASES[3:], ids=case_id)
def test_winograd_thread_count_does_not_change_results(threads, case):
    threads(1)
    one = check_all_ops(case, np.float32, "nchw", variant="cpu.winograd")
    threads(2)
    two = check_all_ops(case, np.float32, "nchw", variant="cpu.winograd")
    for a, b in zip(one, two):
        assert_matches(a, b, np.float32, "1 vs 2 threads")


def test_cpp_picks_winograd_where_it_pays():
    """At 8 or more input channels "cpu.cpp" runs Winograd on NCHW images (the same rounding,
    bit for bit); below, its direct kernels (a different rounding)."""
    for case, pays in ((WINOGRAD_CASES[5], True), (WINOGRAD_CASES[2], False)):
        x_shape, w_shape = case[:2]
        geo = geometry(case)
        x = rand(*x_shape, seed=1).astype(np.float32)
        w = rand(*w_shape, seed=2).astype(np.float32)
        y = ours("conv2d")(x, w, None, **geo)
        y_winograd = ours("conv2d", "cpu.winograd")(x, w, None, **geo)
        assert np.array_equal(y, y_winograd) == pays, case


@pytest.mark.parametrize("geo", [
    dict(stride=(2, 1), padding=(1, 1, 1, 1), dilation=(1, 1), groups=1),
    dict(stride=(1, 1), padding=(3, 0, 0, 0), dilation=(1, 1), groups=1),
    dict(stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 2), groups=1),
    dict(stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=2),
])
def test_winograd_declines_what_it_does_not_handle(geo):
    x, w = rand(2, 4, 9, 9), rand(6, 4 // geo["groups"], 3, 3)
    with pytest.raises(NotImplementedError):
        ours("conv2d", "cpu.winograd")(x, w, None, **geo)
    with pytest.raises(ValueError, match="conv2d: algorithm 'winograd' needs a 3x3 kernel"):
        _C.conv2d(x, w, None, algorithm="winograd", **geo)
    with tc.kernels.use(conv2d="cpu.winograd"):   # the next variant answers
        y = tc.kernels.get("conv2d")(x, w, None, **geo)
    np.testing.assert_allclose(y, reference("conv2d")(x, w, None, **geo), rtol=1e-12)


def test_winograd_declines_other_kernel_sizes_and_bad_algorithm_names():
    geo = dict(stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1)
    x, w = rand(2, 3, 9, 9), rand(4, 3, 5, 5)
    with pytest.raises(NotImplementedError):
        ours("conv2d_backward_weight", "cpu.winograd")(rand(2, 4, 5, 5), x, w.shape, **geo)
    with pytest.raises(ValueError, match="got kernel \\(5, 5\\)"):
        _C.conv2d_backward_input(rand(2, 4, 5, 5), w, x.shape, algorithm="winograd", **geo)
    with pytest.raises(ValueError, match="expected algorithm 'auto', 'direct', 'winograd' or "
                                         "'winograd_rows', got 'fft'"):
        _C.conv2d(x, w, None, algorithm="fft", **geo)
    with pytest.raises(ValueError, match="expected algorithm 'auto', 'direct' or 'winograd', "
                                         "got 'fft'"):
        _C.conv2d_backward_input(rand(2, 4, 7, 7), rand(4, 3, 3, 3), x.shape, algorithm="fft",
                                 **geo)


# --- "cpu.direct": "cpu.cpp"'s kernels without Winograd -------------------------------------

# where "cpu.cpp" takes Winograd: F(4x4, 3x3) from 8 input channels, row pairs below them and
# the 2-D F(2x2, 3x3) tiles for one (AVX-512); and the direct kernels
DIRECT_VARIANT_CASES = WINOGRAD_CASES[2:7] + [
    ((3, 1, 28, 28), (5, 1, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1),
    ((3, 7, 20, 18), (5, 7, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
]


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", DIRECT_VARIANT_CASES + CASES[:6], ids=case_id)
def test_direct_against_reference(isa, case, dtype, layout):
    check_all_ops(case, dtype, layout, variant="cpu.direct")


@pytest.mark.parametrize("case", DIRECT_VARIANT_CASES, ids=case_id)
def test_direct_keeps_an_inf_or_nan_to_the_outputs_whose_window_holds_it(isa, case):
    """One Inf and one NaN input (x for the forward, grad for the input gradient): "cpu.direct"
    gives non-finite values exactly where the float64 reference does, the others as it does;
    Winograd, whose transforms mix a tile's pixels, spreads them."""
    x_shape, w_shape = case[:2]
    geo = geometry(case)
    w = rand(*w_shape, seed=2).astype(np.float32)
    y_shape = reference("conv2d")(rand(*x_shape), w, None, **geo).shape
    x, grad = rand(*x_shape, seed=1).astype(np.float32), rand(*y_shape, seed=3).astype(np.float32)
    for a in (x, grad):
        a[0, 0, 1, 2], a[-1, -1, -2, -1] = np.inf, np.nan
    for op, args in (("conv2d", (x, w, None)), ("conv2d_backward_input", (grad, w, x_shape))):
        expected = reference(op)(*(a.astype(np.float64) if isinstance(a, np.ndarray) else a
                                   for a in args), **geo)
        got = ours(op, "cpu.direct")(*args, **geo)
        bad = ~np.isfinite(expected)
        np.testing.assert_array_equal(~np.isfinite(got), bad, err_msg=op)
        assert_matches(np.where(bad, 0, got), np.where(bad, 0, expected), np.float32, op)
        try:
            spread = ~np.isfinite(ours(op, "cpu.winograd")(*args, **geo))
        except NotImplementedError:
            continue
        assert spread.sum() > bad.sum(), op


# --- row-pair Winograd F(2, 3) ("cpu.winograd_rows" for the forward and the weight gradient;
# "cpu.cpp" picks it below 16 input channels) -----------------------------------------------

# 3x3, stride 1, NCHW, output rows of 16 pixels or more: odd and even output heights (the odd
# last row has no pair), rows that no vector width divides (vectors cross from one pair of
# rows to the next), every padding (asymmetric, beyond the kernel), 1 to 15 input channels,
# output channels past a tile, images split per thread, several blocks of positions
WINOGRAD_ROWS_CASES = [
    ((1, 1, 3, 18), (1, 1, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1),       # one output row
    ((3, 1, 28, 28), (33, 1, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1),     # the MNIST layer
    ((2, 3, 17, 19), (5, 3, 3, 3), (1, 1), (1, 0, 2, 1), (1, 1), 1),
    ((9, 2, 20, 33), (7, 2, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    ((3, 15, 9, 30), (4, 15, 3, 3), (1, 1), (3, 4, 0, 2), (1, 1), 1),
    ((2, 1, 41, 70), (3, 1, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    ((2, 3, 12, 21), (5, 3, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1),      # read from x itself
    # one input channel, even rows (the forward's 2-D tiles): 96 tiles (a whole block, where
    # the last vector ends), and padding on one side only
    ((2, 1, 26, 18), (3, 1, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1),
    ((2, 1, 9, 40), (9, 1, 3, 3), (1, 1), (0, 1, 2, 0), (1, 1), 1),
    ((1, 2, 5, 127), (3, 2, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1),      # width 127
    ((1, 2, 6, 1000), (4, 2, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),     # width 1000
]


def check_winograd_rows(case, dtype, variant="cpu.winograd_rows", seed=0):
    """The forward (with bias) and the weight gradient of `variant` on `case` (NCHW) against
    the float64 reference."""
    x_shape, w_shape = case[:2]
    geo = geometry(case)
    x, w = rand(*x_shape, seed=seed).astype(dtype), rand(*w_shape, seed=seed + 1).astype(dtype)
    b = rand(w_shape[0], seed=seed + 2).astype(dtype)
    wide = (lambda a: a.astype(np.float64))
    y_expected = reference("conv2d")(wide(x), wide(w), wide(b), **geo)
    y = ours("conv2d", variant)(x, w, b, **geo)
    assert_matches(y, y_expected, dtype, "conv2d")
    grad = rand(*y_expected.shape, seed=seed + 3).astype(dtype)
    dw, db = ours("conv2d_backward_weight", variant)(grad, x, w_shape, **geo)
    dw_expected, db_expected = reference("conv2d_backward_weight")(wide(grad), wide(x), w_shape,
                                                                   **geo)
    assert_matches(dw, dw_expected, dtype, "conv2d_backward_weight dweight")
    assert_matches(db, db_expected, dtype, "conv2d_backward_weight dbias")
    return y, dw, db


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", WINOGRAD_ROWS_CASES, ids=case_id)
def test_winograd_rows_against_reference(case, dtype):
    check_winograd_rows(case, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", WINOGRAD_ROWS_CASES[1:5], ids=case_id)
def test_winograd_rows_every_isa(isa, case, dtype):
    check_winograd_rows(case, dtype)


@pytest.mark.parametrize("case", WINOGRAD_ROWS_CASES[1:4], ids=case_id)
def test_winograd_rows_thread_count_does_not_change_results(threads, case):
    threads(1)
    one = check_winograd_rows(case, np.float32)
    threads(2)
    two = check_winograd_rows(case, np.float32)
    for a, b in zip(one, two):
        assert_matches(a, b, np.float32, "1 vs 2 threads")


@pytest.mark.parametrize("x_shape, forward, weight_gradient", [
    ((3, 1, 27, 27), None, "cpu.winograd_rows"),      # one input channel: the direct forward
    ((3, 1, 28, 28), "cpu.winograd_rows", "cpu.winograd_rows"),   # ... unless rows are even
    ((3, 2, 20, 18), "cpu.winograd_rows", "cpu.winograd_rows"),
    ((3, 7, 20, 18), "cpu.winograd_rows", "cpu.winograd_rows"),
    ((3, 8, 20, 18), "cpu.winograd", "cpu.winograd"),      # 8: the 2-D Winograd pays
    ((3, 15, 20, 18), "cpu.winograd", "cpu.winograd"),
    ((3, 3, 17, 17), None, None),                          # rows of 15: direct kernels
])
def test_cpp_picks_winograd_rows_for_few_input_channels(isa, x_shape, forward,
                                                        weight_gradient):
    """"cpu.cpp" computes as the variant it picks does, bit for bit, and unlike the others
    (unless one computes the picked variant's bits too: the 2-D tiles of the one-channel forward
    and "cpu.winograd" can, as builds contract their products); row-pair Winograd only with
    AVX-512 (its tiles need the 32 registers)."""
    if isa != "avx512":
        forward, weight_gradient = ((None if v == "cpu.winograd_rows" else v)
                                    for v in (forward, weight_gradient))
    x, w = rand(*x_shape, seed=1), rand(4, x_shape[1], 3, 3, seed=2)
    grad = rand(x_shape[0], 4, x_shape[2] - 2, x_shape[3] - 2, seed=3)
    geo = dict(stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1)
    for op, args, picks in (("conv2d", (x, w, None), forward),
                            ("conv2d_backward_weight", (grad, x, w.shape), weight_gradient)):
        as_tuple = (lambda r: r if isinstance(r, tuple) else (r,))
        got = as_tuple(ours(op)(*args, **geo))
        forced = {}
        for variant in ("cpu.winograd_rows", "cpu.winograd"):
            try:
                forced[variant] = as_tuple(ours(op, variant)(*args, **geo))
            except NotImplementedError:
                continue
        same = (lambda a, b: all(np.array_equal(u, v) for u, v in zip(a, b)))
        if picks is not None:
            assert same(got, forced[picks]), (op, picks)
        for variant, result in forced.items():
            if picks is None or not same(result, forced[picks]):
                assert not same(got, result), (op, variant)


@pytest.mark.parametrize("x_shape, geo", [
    ((2, 1, 20, 20), dict(stride=(2, 1), padding=(1, 1, 1, 1), dilation=(1, 1), groups=1)),
    ((2, 1, 20, 20), dict(stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 2), groups=1)),
    ((2, 2, 20, 20), dict(stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=2)),
    ((2, 1, 20, 17), dict(stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1)),
])
def test_winograd_rows_declines_what_it_does_not_handle(x_shape, geo):
    w = rand(4, x_shape[1] // geo["groups"], 3, 3, seed=2)
    x = rand(*x_shape, seed=1)
    y_expected = reference("conv2d")(x, w, None, **geo)
    grad = rand(*y_expected.shape, seed=3)
    expected = {"conv2d": (y_expected,),
                "conv2d_backward_weight": reference("conv2d_backward_weight")(grad, x, w.shape,
                                                                              **geo)}
    for op, args, call in (("conv2d", (x, w, None), _C.conv2d),
                           ("conv2d_backward_weight", (grad, x, w.shape),
                            _C.conv2d_backward_weight)):
        with pytest.raises(NotImplementedError):
            ours(op, "cpu.winograd_rows")(*args, **geo)
        with pytest.raises(ValueError, match="algorithm 'winograd_rows' needs NCHW images"):
            call(*args, algorithm="winograd_rows", **geo)
        with tc.kernels.use(**{op: "cpu.winograd_rows"}):   # the next variant answers
            got = tc.kernels.get(op)(*args, **geo)
        for a, b in zip((got,) if op == "conv2d" else got, expected[op]):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_winograd_rows_declines_channels_last_and_the_input_gradient():
    geo = dict(stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1)
    x, w, grad = rand(2, 2, 20, 20, seed=1), rand(4, 2, 3, 3, seed=2), rand(2, 4, 18, 18, seed=3)
    with pytest.raises(NotImplementedError):
        ours("conv2d", "cpu.winograd_rows")(nhwc(x), w, None, **geo)
    with pytest.raises(NotImplementedError):
        ours("conv2d_backward_weight", "cpu.winograd_rows")(nhwc(grad), nhwc(x), w.shape, **geo)
    with pytest.raises(ValueError, match="channels-last"):
        _C.conv2d_backward_weight(nhwc(grad), nhwc(x), w.shape, algorithm="winograd_rows", **geo)
    with pytest.raises(ValueError, match="expected algorithm 'auto', 'direct' or 'winograd', "
                                         "got 'winograd_rows'"):
        _C.conv2d_backward_input(grad, w, x.shape, algorithm="winograd_rows", **geo)


def test_gradcheck_through_winograd_rows():
    x = tc.tensor(rand(2, 2, 5, 18, seed=1), requires_grad=True)
    w = tc.tensor(rand(3, 2, 3, 3, seed=2), requires_grad=True)
    b = tc.tensor(rand(3, seed=3), requires_grad=True)
    with tc.kernels.use(conv2d="cpu.winograd_rows", conv2d_backward_weight="cpu.winograd_rows"):
        assert tc.autograd.gradcheck(lambda x, w, b: F.conv2d(x, w, b, padding=1), [x, w, b])
        for op in ("conv2d", "conv2d_backward_weight"):
            assert tc.kernels.get(op).last.name == "cpu.winograd_rows"


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("x_shape, w_shape, kwargs", [
    ((3, 3, 32, 32), (16, 3, 3, 3), dict(padding=1)), ((2, 5, 17, 21), (7, 5, 3, 3), {})])
def test_winograd_rows_against_torch(x_shape, w_shape, kwargs):
    inputs = [rand(*x_shape, seed=1), rand(*w_shape, seed=2), rand(w_shape[0], seed=3)]
    with tc.kernels.use(conv2d="cpu.cpp"):
        compare_with_torch(lambda x, w, b: F.conv2d(x, w, b, **kwargs),
                           lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **kwargs), inputs)
        for op in ("conv2d", "conv2d_backward_weight"):
            assert tc.kernels.get(op).last.name == "cpu.cpp"


# --- through F.conv2d and autograd ------------------------------------------------------

GRAD_CASES = [
    ((2, 1, 6, 5), (3, 1, 3, 3), dict(padding=1)),                          # direct kernels
    ((2, 3, 6, 5), (4, 3, 3, 2), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2))),
    ((1, 4, 5, 5), (4, 2, 3, 3), dict(groups=2, padding="same")),
    ((2, 3, 4, 4), (2, 3, 1, 1), {}),
]


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
@pytest.mark.parametrize("x_shape, w_shape, kwargs", GRAD_CASES)
def test_gradcheck_through_cpp_kernels(x_shape, w_shape, kwargs, layout):
    as_layout = nhwc if layout == "nhwc" else (lambda a: a)
    x = tc.tensor(as_layout(rand(*x_shape, seed=1)), requires_grad=True)
    w = tc.tensor(rand(*w_shape, seed=2), requires_grad=True)
    b = tc.tensor(rand(w_shape[0], seed=3), requires_grad=True)
    with tc.kernels.use(conv2d="cpu.cpp"):
        assert tc.autograd.gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kwargs), [x, w, b])
        for op in OPS:
            assert tc.kernels.get(op).last.name == "cpu.cpp"


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_gradcheck_through_winograd(layout):
    as_layout = nhwc if layout == "nhwc" else (lambda a: a)
    x = tc.tensor(as_layout(rand(2, 3, 5, 6, seed=1)), requires_grad=True)
    w = tc.tensor(rand(4, 3, 3, 3, seed=2), requires_grad=True)
    b = tc.tensor(rand(4, seed=3), requires_grad=True)
    with tc.kernels.use(conv2d="cpu.winograd"):
        assert tc.autograd.gradcheck(lambda x, w, b: F.conv2d(x, w, b, padding=(2, 1)), [x, w, b])
        for op in OPS:
            assert tc.kernels.get(op).last.name == "cpu.winograd"


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("x_shape, w_shape, kwargs", [
    ((3, 16, 14, 14), (32, 16, 3, 3), {}), ((2, 32, 9, 12), (17, 32, 3, 3), dict(padding=1))])
def test_winograd_against_torch(x_shape, w_shape, kwargs):
    inputs = [rand(*x_shape, seed=1), rand(*w_shape, seed=2), rand(w_shape[0], seed=3)]
    with tc.kernels.use(conv2d="cpu.cpp"):
        compare_with_torch(lambda x, w, b: F.conv2d(x, w, b, **kwargs),
                           lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **kwargs), inputs)


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("x_shape, w_shape, kwargs", GRAD_CASES + [
    ((3, 1, 28, 28), (32, 1, 3, 3), {}), ((3, 7, 14, 14), (33, 7, 3, 3), dict(padding=1))])
def test_against_torch(x_shape, w_shape, kwargs):
    inputs = [rand(*x_shape, seed=1), rand(*w_shape, seed=2), rand(w_shape[0], seed=3)]
    with tc.kernels.use(conv2d="cpu.cpp"):
        compare_with_torch(lambda x, w, b: F.conv2d(x, w, b, **kwargs),
                           lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **kwargs), inputs)
        for op in OPS:
            assert tc.kernels.get(op).last.name == "cpu.cpp"


def test_first_layer_without_input_gradient():
    """A first layer's input needs no grad: backward runs the weight gradient only."""
    x = tc.tensor(rand(3, 1, 9, 9, seed=1))
    w = tc.tensor(rand(5, 1, 3, 3, seed=2), requires_grad=True)
    b = tc.tensor(rand(5, seed=3), requires_grad=True)
    with tc.kernels.use(conv2d="cpu.cpp"), tc.kernels.profile() as prof:
        F.conv2d(x, w, b).sum().backward()
    assert "conv2d_backward_input" not in prof.ops
    assert prof.ops["conv2d_backward_weight"]["variant"] == "cpu.cpp"
    dw, db = reference("conv2d_backward_weight")(np.ones((3, 5, 7, 7)), x.numpy(), (5, 1, 3, 3),
                                                 (1, 1), (0, 0, 0, 0), (1, 1), 1)
    np.testing.assert_allclose(w.grad.numpy(), dw, rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), db, rtol=1e-12)


# --- declining and bad input --------------------------------------------------------------

def test_declines_other_dtypes():
    geo = dict(stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1)
    x, w = np.ones((1, 2, 4, 4), np.float16), np.ones((3, 2, 3, 3), np.float16)
    with pytest.raises(NotImplementedError):
        ours("conv2d")(x, w, None, **geo)
    with pytest.raises(NotImplementedError):
        ours("conv2d")(x.astype(np.float32), w.astype(np.float64), None, **geo)
    conv = tc.kernels.get("conv2d")
    np.testing.assert_allclose(conv(x, w, None, **geo), np.full((1, 3, 2, 2), 18.0))
    assert conv.last.name == "cpu.reference"


def every_other(a, axis, channels_last=False):
    """a (N, C, H, W)'s values through every other element along `axis` of memory twice as wide
    there: NCHW memory, or NHWC memory when channels_last."""
    order = (0, 2, 3, 1) if channels_last else (0, 1, 2, 3)
    shape = [a.shape[d] * (2 if d == axis else 1) for d in order]
    every = tuple(slice(None, None, 2) if d == axis else slice(None) for d in order)
    wide = np.zeros(shape, a.dtype)
    wide[every] = a.transpose(order)
    view = wide[every].transpose(np.argsort(order))
    np.testing.assert_array_equal(view, a)
    return view


def bad_extension_inputs():
    """(error, message, binding, arguments): each raises `error` with `message`."""
    f = np.ones((2, 3, 5, 5), np.float32)
    w = np.ones((4, 3, 3, 3), np.float32)
    g = np.ones((2, 4, 3, 3), np.float32)
    geo = ((1, 1), (0, 0, 0, 0), (1, 1), 1)
    odd = np.lib.stride_tricks.as_strided(np.ones(1000, np.float32), f.shape, (400, 4, 40, 8))
    conv, backward_input, backward_weight = (getattr(_C, op) for op in OPS)
    bad_stride, bad_padding = ((0, 1), (0,) * 4, (1, 1), 1), ((1, 1), (0, -1, 0, 0), (1, 1), 1)
    return [
        (TypeError, "conv2d: expected x of dtype float32 or float64, got int32",
         conv, (f.astype(np.int32), w, None, *geo)),
        (TypeError, "conv2d: expected weight of dtype float32",
         conv, (f, w.astype(float), None, *geo)),
        (TypeError, "conv2d: expected bias of dtype float32", conv, (f, w, np.ones(4), *geo)),
        (TypeError, "conv2d: expected bias to be a NumPy array", conv, (f, w, [1.0], *geo)),
        (ValueError, r"conv2d: expected 4-D x .* got x \(3, 5, 5\)", conv, (f[0], w, None, *geo)),
        (ValueError, r"conv2d: expected bias of shape \(4,\), got \(3,\)",
         conv, (f, w, np.ones(3, np.float32), *geo)),
        (ValueError, r"divisible by groups=2, got x \(2, 3, 5, 5\)",
         conv, (f, w, None, (1, 1), (0,) * 4, (1, 1), 2)),
        (ValueError, r"weight \(4, 2, 3, 3\)", conv, (f, w[:, :2].copy(), None, *geo)),
        (ValueError, "larger than the padded input",
         conv, (f, np.ones((4, 3, 7, 1), np.float32), None, *geo)),
        (ValueError, "larger than the padded input",
         conv, (f, w, None, (1, 1), (0,) * 4, (3, 1), 1)),
        (ValueError, "expected stride >= 1, got 0", conv, (f, w, None, *bad_stride)),
        (ValueError, "expected padding >= 0, got -1", conv, (f, w, None, *bad_padding)),
        (ValueError, "expected dilation >= 1, got 0",
         conv, (f, w, None, (1, 1), (0,) * 4, (1, 0), 1)),
        (ValueError, "expected groups >= 1, got 0",
         conv, (f, w, None, (1, 1), (0,) * 4, (1, 1), 0)),
        (ValueError, "conv2d: expected weight to be C-contiguous",
         conv, (f, np.ones((3, 3, 3, 4), np.float32).T, None, *geo)),
        (ValueError, r"conv2d: expected x \(2, 3, 5, 5\) to be NCHW C-contiguous or channels-last",
         conv, (odd, w, None, *geo)),
        (ValueError, r"conv2d_backward_input: expected grad of shape \(2, 4, 3, 3\), got "
                     r"\(2, 4, 3, 4\)",
         backward_input, (np.ones((2, 4, 3, 4), np.float32), w, f.shape, *geo)),
        (ValueError, "conv2d_backward_input: expected 4-D x",
         backward_input, (g, w, (2, 3, 5), *geo)),
        (ValueError, "conv2d_backward_input: x size out of range",
         backward_input, (g, w, (2, 3, -5, 5), *geo)),
        (ValueError, r"conv2d_backward_input: x of shape \(0, 3, 1073741824, 1073741824\) is "
                     "too large", backward_input,
         (np.ones((0, 4, 2, 2), np.float32), w, (0, 3, 2**30, 2**30), (2**29, 2**29),
          (0,) * 4, (1, 1), 1)),
        (ValueError, "conv2d: algorithm 'winograd' needs .* a batch of at least one, .* batch 0",
         conv, (f[:0], w, None, *geo, "winograd")),
        (ValueError, "conv2d_backward_weight: algorithm 'winograd_rows' needs .* batch 0",
         backward_weight, (np.ones((0, 4, 17, 17), np.float32), np.ones((0, 3, 19, 19),
                           np.float32), w.shape, *geo, "winograd_rows")),
        (TypeError, "conv2d_backward_input: expected weight of dtype float32",
         backward_input, (g, w.astype(float), f.shape, *geo)),
        (ValueError, r"conv2d_backward_weight: expected grad of shape \(2, 4, 3, 3\)",
         backward_weight, (g[:1], f, w.shape, *geo)),
        (ValueError, "conv2d_backward_weight: weight sizes must be positive",
         backward_weight, (g, f, (4, 3, 0, 3), *geo)),
        (ValueError, "conv2d_backward_weight: expected grad .* and x .* both NCHW",
         backward_weight, (g, nhwc(f), w.shape, *geo)),
        (TypeError, "conv2d_backward_weight: expected x of dtype float32",
         backward_weight, (g, f.astype(float), w.shape, *geo)),
        # oddly strided grad (neither NCHW- nor NHWC-contiguous) and a non-float grad for the
        # input gradient; the same for the weight gradient's grad and x
        (ValueError, r"conv2d_backward_input: expected grad \(2, 4, 3, 3\) to be NCHW "
                     "C-contiguous or channels-last",
         backward_input, (every_other(g, 3), w, f.shape, *geo)),
        (ValueError, "conv2d_backward_input: .* to be NCHW C-contiguous or channels-last",
         backward_input, (every_other(g, 2), w, f.shape, *geo)),
        (ValueError, "conv2d_backward_input: .* to be NCHW C-contiguous or channels-last",
         backward_input, (every_other(g, 3, channels_last=True), w, f.shape, *geo)),
        (ValueError, "conv2d_backward_input: .* to be NCHW C-contiguous or channels-last",
         backward_input, (g[:, ::-1], w, f.shape, *geo)),
        (ValueError, "conv2d_backward_input: .* to be NCHW C-contiguous or channels-last "
                     r"\(NHWC memory\) and aligned",
         backward_input, (misaligned(g), w, f.shape, *geo)),
        (TypeError, "conv2d_backward_input: expected grad of dtype float32 or float64, got int32",
         backward_input, (g.astype(np.int32), w, f.shape, *geo)),
        (TypeError, "conv2d_backward_input: expected grad of dtype float32 or float64, got int64",
         backward_input, (g.astype(np.int64), w, f.shape, *geo)),
        (TypeError, "conv2d_backward_input: expected grad of dtype float32 or float64, got float16",
         backward_input, (g.astype(np.float16), w, f.shape, *geo)),
        (TypeError, "conv2d_backward_input: expected weight of dtype float64 like the first "
                    "operand, got float32", backward_input, (g.astype(float), w, f.shape, *geo)),
        (TypeError, "conv2d_backward_input: expected weight of dtype float32 like the first "
                    "operand, got int32", backward_input, (g, w.astype(np.int32), f.shape, *geo)),
        (ValueError, "conv2d_backward_input: expected weight to be C-contiguous",
         backward_input, (g, every_other(w, 3), f.shape, *geo)),
        (ValueError, r"conv2d_backward_input: expected grad of shape \(2, 4, 3, 3\), got "
                     r"\(1, 4, 3, 3\)", backward_input, (g[:1], w, f.shape, *geo)),
        (ValueError, r"conv2d_backward_weight: expected grad \(2, 4, 3, 3\) and x \(2, 3, 5, 5\) "
                     "to be both NCHW", backward_weight, (every_other(g, 3), f, w.shape, *geo)),
        (ValueError, "conv2d_backward_weight: .* to be both NCHW", backward_weight,
         (g, every_other(f, 2), w.shape, *geo)),
        (ValueError, "conv2d_backward_weight: .* to be both NCHW", backward_weight,
         (every_other(g, 2, channels_last=True), nhwc(f), w.shape, *geo)),
        (TypeError, "conv2d_backward_weight: expected grad of dtype float32 or float64, got int32",
         backward_weight, (g.astype(np.int32), f, w.shape, *geo)),
        (TypeError, "conv2d_backward_weight: expected x of dtype float32 like the first operand, "
                    "got int32", backward_weight, (g, f.astype(np.int32), w.shape, *geo)),
        (ValueError, "conv2d: expected x .* to be NCHW C-contiguous or channels-last "
                     r"\(NHWC memory\) and aligned", conv, (misaligned(f), w, None, *geo)),
        (TypeError, "conv2d: expected x of dtype float32 or float64, got int64",
         conv, (f.astype(np.int64), w, None, *geo)),
    ]


BAD_EXTENSION_INPUTS = bad_extension_inputs()


@pytest.mark.parametrize("error, message, fn, args", BAD_EXTENSION_INPUTS,
                         ids=lambda v: v.__name__ if callable(v) else None)
def test_bad_input_to_extension_raises(error, message, fn, args):
    with pytest.raises(error, match=message):
        fn(*args)


# (array, whether the backend reads it as channels-last): with C == 1 or H * W == 1 both
# layouts hold, and a channel stride of one element says channels-last
@pytest.mark.parametrize("make, expected", [
    (lambda: rand(2, 3, 5, 4), False),
    (lambda: nhwc(rand(2, 3, 5, 4)), True),
    (lambda: rand(2, 1, 5, 4), False),
    (lambda: nhwc(rand(2, 1, 5, 4)), True),
    (lambda: rand(2, 3, 1, 1), False),
    (lambda: nhwc(rand(2, 3, 1, 1)), False),
    (lambda: every_other(rand(2, 3, 5, 4), 3), False),
    (lambda: every_other(rand(2, 3, 5, 4), 2, channels_last=True), False),
], ids=["nchw", "nhwc", "nchw-c1", "nhwc-c1", "nchw-1x1", "nhwc-1x1", "strided", "strided-nhwc"])
def test_channels_last_reads_the_memory_format(make, expected):
    from tensorcore.backends.cpu.conv import channels_last
    assert channels_last(make()) is expected
