"""The C++ pooling kernels ("cpu.cpp", csrc/pooling.cpp) against the reference variants and
the direct float64 loops of test_pooling: every geometry case, odd sizes through the 2x2
stride-2 fast path, channels-last and strided views, PyTorch's index rules for ties, NaN,
-inf and windows of padding only, finite-difference gradients, 1 vs 2 threads, bad input."""
import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F

from helpers import as_float64, check, misaligned, torch
from test_cpp_kernels import DTYPES, assert_matches, rand, variant
from test_pooling import AVG_CASES, MAX_CASES, as_pair, pool_loops

_C = pytest.importorskip("tensorcore._C", reason="the C++ extension is not built")

POOL_OPS = ("max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward")


def pair(name):
    return variant(name, "cpu.cpp"), variant(name, "cpu.reference")


def max_args(kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """F.max_pool2d's keywords -> the kernel's (kernel, stride, padding, dilation, ceil_mode)."""
    kernel = as_pair(kernel_size)
    return (kernel, kernel if stride is None else as_pair(stride), as_pair(padding),
            as_pair(dilation), ceil_mode)


def avg_args(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
             divisor_override=None):
    kernel = as_pair(kernel_size)
    return (kernel, kernel if stride is None else as_pair(stride), as_pair(padding), ceil_mode,
            count_include_pad, divisor_override)


def layouts(x):
    """x (N, C, H, W) as C-contiguous, channels-last (an NHWC buffer transposed) and a strided
    view with a negative step; each holds the same values."""
    spread = np.zeros(x.shape[:3] + (2 * x.shape[3],), x.dtype)
    spread[:, ::-1, :, 1::2] = x
    return {"nchw": x, "nhwc": np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2),
            "strided": spread[:, ::-1, :, 1::2]}


def assert_layout_follows(out, x, layout):
    """Channels-last in, channels-last out; anything else gives C-contiguous output."""
    if layout == "nhwc" and x.shape[1] > 1 and not x.flags.c_contiguous:
        assert out.transpose(0, 2, 3, 1).flags.c_contiguous
    else:
        assert out.flags.c_contiguous


def check_max_pool(x, args, dtype):
    """Forward values and indices equal to the reference's on every layout, and the backward
    pass (on the layout's own grad and indices) close to the reference's."""
    ours, reference = pair("max_pool2d")
    ours_back, reference_back = pair("max_pool2d_backward")
    expected_y, expected_indices = reference(x, *args)
    for layout, view in layouts(x).items():
        y, indices = ours(view, *args)
        np.testing.assert_array_equal(y, expected_y, err_msg=layout)
        np.testing.assert_array_equal(indices, expected_indices, err_msg=layout)
        assert y.dtype == np.dtype(dtype) and indices.dtype == np.int64
        assert_layout_follows(y, view, layout)
        grad = rand(*y.shape, dtype=dtype, seed=5)
        grad = layouts(grad)[layout] if layout != "strided" else grad
        dx = ours_back(grad, indices, x.shape)
        assert_matches(dx, reference_back(*as_float64(grad, expected_indices, x.shape)), dtype)
        assert_layout_follows(dx, grad, layout)


def check_avg_pool(x, args, dtype):
    ours, reference = pair("avg_pool2d")
    ours_back, reference_back = pair("avg_pool2d_backward")
    expected = reference(*as_float64(x), *args)
    grad = rand(*expected.shape, dtype=dtype, seed=5)
    expected_dx = reference_back(*as_float64(grad, x.shape, *args))
    for layout, view in layouts(x).items():
        y = ours(view, *args)
        assert_matches(y, expected, dtype)
        assert_layout_follows(y, view, layout)
        g = layouts(grad)[layout]
        dx = ours_back(g, x.shape, *args)
        assert_matches(dx, expected_dx, dtype)
        assert_layout_follows(dx, g, layout)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, kwargs", MAX_CASES)
def test_max_pool2d_cases(isa, dtype, x_shape, kwargs):
    x = rand(*x_shape, dtype=dtype, seed=1)
    check_max_pool(x, max_args(**kwargs), dtype)
    y, indices = variant("max_pool2d", "cpu.cpp")(x, *max_args(**kwargs))
    expected, expected_indices = pool_loops(x.astype(np.float64), **kwargs)
    np.testing.assert_array_equal(y, expected.astype(dtype))
    np.testing.assert_array_equal(indices, expected_indices)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, kwargs", AVG_CASES)
def test_avg_pool2d_cases(isa, dtype, x_shape, kwargs):
    x = rand(*x_shape, dtype=dtype, seed=1)
    check_avg_pool(x, avg_args(**kwargs), dtype)
    assert_matches(variant("avg_pool2d", "cpu.cpp")(x, *avg_args(**kwargs)),
                   pool_loops(x.astype(np.float64), mode="avg", **kwargs), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [1, 3, 7, 25, 33, 127])
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_pooling_odd_sizes(isa, dtype, size, ceil_mode):
    """Through the 2x2 stride-2 fast path (its vector body and its scalar edges) and a general
    3x3 stride-2 geometry; channels of 1, 3, 33 and 17."""
    for shape in [(2, 3, size + 1, size), (1, 33, 3, size + 1), (1, 17, size + 1, 2)]:
        x = rand(*shape, dtype=dtype, seed=size)
        for kwargs in [dict(kernel_size=2, ceil_mode=ceil_mode),
                       dict(kernel_size=3, stride=2, padding=1, ceil_mode=ceil_mode)]:
            if min(shape[2:]) + 2 * as_pair(kwargs.get("padding", 0))[0] < as_pair(kwargs["kernel_size"])[0]:
                continue
            check_max_pool(x, max_args(**kwargs), dtype)
            check_avg_pool(x, avg_args(**kwargs), dtype)


def scatter_grad(grad, indices, x_shape):
    """dx: zeros, then each grad added at its flat index within its plane (-1: none)."""
    dx = np.zeros((x_shape[0] * x_shape[1], x_shape[2] * x_shape[3]))
    planes = np.arange(dx.shape[0]).repeat(grad[0, 0].size)
    at, values = indices.reshape(-1), grad.astype(np.float64).reshape(-1)
    np.add.at(dx, (planes[at >= 0], at[at >= 0]), values[at >= 0])
    return dx.reshape(x_shape)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
@pytest.mark.parametrize("x_shape", [(3, 5, 9, 70), (2, 33, 8, 7), (4, 2, 27, 26)])
def test_max_pool2d_backward_over_the_2x2_tiling(isa, dtype, layout, x_shape):
    """The 2x2 stride-2 pool's indices write dx whole; planes (NCHW) or images (NHWC) with an
    index outside its window, or -1, go the general way: either way the exact scatter, with
    +0 where a gradient of -0 lands, as 0 + -0 gives."""
    x = rand(*x_shape, dtype=dtype, seed=7)
    _, indices = variant("max_pool2d", "cpu.cpp")(x, *max_args(kernel_size=2))
    indices = np.ascontiguousarray(indices)
    grad = rand(*indices.shape, dtype=dtype, seed=8)
    grad[..., ::3] = -0.0
    n, c, h, w = x_shape
    indices[1, 1, 0, 1] = (h - 1) * w - 1          # an element outside its window
    indices[-1, 0, 1, 1] = -1
    for index_layout in ("tiled", "mixed"):
        at = np.ascontiguousarray(indices if index_layout == "mixed" else
                                  variant("max_pool2d", "cpu.cpp")(x, *max_args(kernel_size=2))[1])
        g, at_view = layouts(grad)[layout], layouts(at)[layout]
        dx = variant("max_pool2d_backward", "cpu.cpp")(g, at_view, x_shape)
        expected = scatter_grad(grad, at, x_shape)
        np.testing.assert_array_equal(dx, expected, err_msg=index_layout)
        np.testing.assert_array_equal(np.signbit(dx), np.signbit(expected), err_msg=index_layout)
        assert_layout_follows(dx, g, layout)


# geometries whose rows go by vectors of output columns (column stride 1 or 2), on rows of
# several vectors and a partial one, with padded columns at both ends
VECTOR_MAX_CASES = [dict(kernel_size=3, stride=1, padding=1),
                    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                    dict(kernel_size=(2, 5), stride=(1, 2), padding=(1, 2), dilation=(2, 1)),
                    dict(kernel_size=(3, 2), stride=(2, 1), dilation=(1, 3))]
VECTOR_AVG_CASES = [dict(kernel_size=3, stride=1, padding=1, count_include_pad=False),
                    dict(kernel_size=(2, 4), stride=(3, 2), padding=(1, 2), ceil_mode=True),
                    dict(kernel_size=(3, 5), stride=(1, 2), padding=(0, 2),
                         count_include_pad=False),
                    dict(kernel_size=(4, 3), stride=(2, 1), divisor_override=5)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3, 9, 45), (1, 2, 37, 70)])
def test_pooling_by_vectors_of_columns(isa, dtype, shape):
    x = rand(*shape, dtype=dtype, seed=shape[3])
    for kwargs in VECTOR_MAX_CASES:
        check_max_pool(x, max_args(**kwargs), dtype)
        y, indices = variant("max_pool2d", "cpu.cpp")(x, *max_args(**kwargs))
        expected, expected_indices = pool_loops(x.astype(np.float64), **kwargs)
        np.testing.assert_array_equal(y, expected.astype(dtype))
        np.testing.assert_array_equal(indices, expected_indices)
    for kwargs in VECTOR_AVG_CASES:
        check_avg_pool(x, avg_args(**kwargs), dtype)
        assert_matches(variant("avg_pool2d", "cpu.cpp")(x, *avg_args(**kwargs)),
                       pool_loops(x.astype(np.float64), mode="avg", **kwargs), dtype)


# x (N, C, H, W) of a size of 1000 in one dimension, the others small
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3, 3, 1000), (1, 2, 1000, 5), (1, 1000, 3, 4),
                                   (1000, 1, 2, 3)])
def test_pooling_size_1000(isa, dtype, shape):
    x = rand(*shape, dtype=dtype, seed=7)
    for kwargs in [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)]:
        check_max_pool(x, max_args(**kwargs), dtype)
        check_avg_pool(x, avg_args(**kwargs), dtype)
        y, indices = variant("max_pool2d", "cpu.cpp")(x, *max_args(**kwargs))
        expected, expected_indices = pool_loops(x.astype(np.float64), **kwargs)
        np.testing.assert_array_equal(y, expected.astype(dtype))
        np.testing.assert_array_equal(indices, expected_indices)
        assert_matches(variant("avg_pool2d", "cpu.cpp")(x, *avg_args(**kwargs)),
                       pool_loops(x.astype(np.float64), mode="avg", **kwargs), dtype)


def odd_views(x):
    """x (N, C, H, W), N > 1, through views neither NCHW- nor NHWC-contiguous, each holding x's
    values: every other row, every other column of NHWC memory, rows and columns reversed, and
    x's first image broadcast along N with stride 0 (x's values where its images are equal)."""
    rows = np.zeros((x.shape[0], x.shape[1], 2 * x.shape[2], x.shape[3]), x.dtype)
    rows[:, :, ::2] = x
    cols = np.zeros((x.shape[0], x.shape[2], 2 * x.shape[3], x.shape[1]), x.dtype)
    cols[:, :, 1::2] = x.transpose(0, 2, 3, 1)
    views = {"rows ::2": rows[:, :, ::2],
             "nhwc columns 1::2": cols[:, :, 1::2].transpose(0, 3, 1, 2),
             "reversed": np.ascontiguousarray(x[:, :, ::-1, ::-1])[:, :, ::-1, ::-1],
             "broadcast": np.broadcast_to(x[:1], x.shape)}
    for name, view in views.items():
        assert not view.flags.c_contiguous, name
        assert not view.transpose(0, 2, 3, 1).flags.c_contiguous, name
    return views


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_avg_pool2d_of_a_large_window_stays_accurate(isa, layout):
    """A 2048 x 2048 window in float32: summed tap by tap its mean was 1.2% off (each add
    rounds against a sum of up to 4e7); rows summed apart stay within 1e-6."""
    x = layouts(rand(1, 2, 2048, 2048, dtype=np.float32, seed=3) + np.float32(10))[layout]
    y = variant("avg_pool2d", "cpu.cpp")(x, *avg_args(kernel_size=2048))
    np.testing.assert_allclose(y.reshape(-1), x.astype(np.float64).mean(axis=(2, 3)).reshape(-1),
                               rtol=2e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["rows ::2", "nhwc columns 1::2", "reversed", "broadcast"])
def test_pooling_accepts_oddly_strided_arrays(dtype, layout):
    """The extension reads x and grad through their element strides (element_strides): oddly
    strided views reach the kernels uncopied and give the reference's result on a copy."""
    # a broadcast view holds one image: the arrays it shows are such, all images equal
    same_images = (lambda a: np.broadcast_to(a[:1], a.shape).copy() if layout == "broadcast"
                   else a)
    x = same_images(rand(3, 5, 7, 9, dtype=dtype, seed=4))
    view = odd_views(x)[layout]
    np.testing.assert_array_equal(view, x)
    for args in (max_args(2), max_args(3, stride=2, padding=1, dilation=(1, 2), ceil_mode=True)):
        y, indices = _C.max_pool2d(view, *args)
        expected_y, expected_indices = variant("max_pool2d", "cpu.reference")(x, *args)
        np.testing.assert_array_equal(y, expected_y)
        np.testing.assert_array_equal(indices, expected_indices)
        grad = same_images(rand(*y.shape, dtype=dtype, seed=5))
        grad_view, index_view = odd_views(grad)[layout], odd_views(indices)[layout]
        assert_matches(_C.max_pool2d_backward(grad_view, index_view, x.shape),
                       variant("max_pool2d_backward", "cpu.reference")(
                           *as_float64(grad, indices, x.shape)), dtype)
    args = avg_args(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
    y = _C.avg_pool2d(view, *args)
    assert_matches(y, variant("avg_pool2d", "cpu.reference")(*as_float64(x), *args), dtype)
    grad = same_images(rand(*y.shape, dtype=dtype, seed=6))
    assert_matches(_C.avg_pool2d_backward(odd_views(grad)[layout], x.shape, *args),
                   variant("avg_pool2d_backward", "cpu.reference")(
                       *as_float64(grad, x.shape, *args)), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=2, ceil_mode=True),
                                    dict(kernel_size=3, stride=1, padding=1),
                                    dict(kernel_size=2, stride=1, dilation=2)])
def test_max_pool2d_ties_nan_and_minus_infinity(isa, dtype, kwargs):
    """Few distinct values (ties everywhere), NaNs and -inf: the first maximum in window
    order, the first NaN, and a window of -inf at its first element inside x. 21 channels:
    whole and partial vectors of channels in the channels-last layout."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 3, size=(2, 21, 9, 70)).astype(dtype)
    x[rng.random(x.shape) < 0.05] = np.nan
    x[rng.random(x.shape) < 0.2] = -np.inf
    x[0, 0, :4] = -np.inf
    check_max_pool(x, max_args(**kwargs), dtype)
    expected, expected_indices = pool_loops(x.astype(np.float64), **kwargs)
    y, indices = variant("max_pool2d", "cpu.cpp")(x, *max_args(**kwargs))
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_array_equal(y, expected.astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool2d_window_of_padding_only(isa, dtype):
    x = rand(2, 3, 1, 2, dtype=dtype, seed=1)
    for layout, view in layouts(x).items():
        y, indices = variant("max_pool2d", "cpu.cpp")(view, (2, 1), (1, 1), (1, 0), (2, 1), False)
        assert np.all(y == -np.inf) and np.all(indices == -1), layout
        dx = variant("max_pool2d_backward", "cpu.cpp")(np.ones_like(y), indices, x.shape)
        np.testing.assert_array_equal(dx, np.zeros_like(x))


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("channels_last", [False, True])
def test_max_pool2d_matches_torch(channels_last):
    x = rand(4, 8, 26, 27, dtype=np.float32, seed=1)
    t = torch.tensor(x)
    if channels_last:
        x = layouts(x)["nhwc"]
        t = t.contiguous(memory_format=torch.channels_last)
    for kwargs in [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)]:
        y, indices = variant("max_pool2d", "cpu.cpp")(x, *max_args(**kwargs))
        t_y, t_indices = torch.nn.functional.max_pool2d(t, **kwargs, return_indices=True)
        np.testing.assert_array_equal(y, t_y.numpy())
        np.testing.assert_array_equal(indices, t_indices.numpy())


@pytest.mark.parametrize("case", [
    lambda x: F.max_pool2d(x, 2),
    lambda x: F.max_pool2d(x, 3, stride=1, padding=1),                  # overlapping windows
    lambda x: F.max_pool2d(x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2), 3, 2, 1),
    lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    lambda x: F.avg_pool2d(x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2), 2,
                           divisor_override=3),
])
def test_pooling_gradients_through_the_cpp_kernels(case):
    with tc.kernels.use(**{op: "cpu.cpp" for op in POOL_OPS}):
        check(case, [rand(2, 3, 7, 6, seed=1)])
        for op in POOL_OPS:
            last = tc.kernels.get(op).last
            assert last is None or last.name == "cpu.cpp", op


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_pooling_thread_count_does_not_change_results(threads, layout):
    x = layouts(rand(8, 32, 26, 26, dtype=np.float32, seed=1))[layout]
    results = []
    for n in (1, 2):
        threads(n)
        y, indices = variant("max_pool2d", "cpu.cpp")(x, (3, 3), (1, 1), (1, 1), (1, 1), False)
        dx = variant("max_pool2d_backward", "cpu.cpp")(y, indices, x.shape)
        avg = variant("avg_pool2d", "cpu.cpp")(x, (3, 3), (2, 2), (1, 1), True, False, None)
        avg_dx = variant("avg_pool2d_backward", "cpu.cpp")(avg, x.shape, (3, 3), (2, 2), (1, 1),
                                                         True, False, None)
        results.append((y, indices, dx, avg, avg_dx))
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


def test_pooling_declines_other_dtypes():
    x = np.ones((1, 2, 4, 4), np.float16)
    with pytest.raises(NotImplementedError):
        variant("max_pool2d", "cpu.cpp")(x, (2, 2), (2, 2), (0, 0), (1, 1), False)
    y = tc.kernels.get("avg_pool2d")(x, (2, 2), (2, 2), (0, 0), False, True, None)
    assert y.dtype == np.float16 and tc.kernels.get("avg_pool2d").last.name == "cpu.reference"


_x = np.ones((1, 2, 4, 4), np.float32)
_g = np.ones((1, 2, 2, 2), np.float32)
_index = np.zeros((1, 2, 2, 2), np.int64)


def _odd_bytes(a):
    """`a`'s shape over a buffer whose last stride is half an element: no element stride."""
    return np.lib.stride_tricks.as_strided(a, a.shape, a.strides[:-1] + (a.itemsize // 2,))


_AVG_GEOMETRY = ((2, 2), (2, 2), (0, 0), False, True, None)
BAD_POOLING_INPUTS = [
    (TypeError, "max_pool2d: expected x of dtype", _C.max_pool2d,
     (_x.astype(np.int32), (2, 2), (2, 2), (0, 0), (1, 1), False)),
    (ValueError, r"max_pool2d: expected x of shape \(N, C, H, W\), got \(2, 4, 4\)",
     _C.max_pool2d, (_x[0], (2, 2), (2, 2), (0, 0), (1, 1), False)),
    (ValueError, "max_pool2d: expected kernel", _C.max_pool2d,
     (_x, (0, 2), (2, 2), (0, 0), (1, 1), False)),
    (ValueError, r"max_pool2d: the windows do not fit.*\(0, 0\)", _C.max_pool2d,
     (_x, (5, 5), (1, 1), (0, 0), (1, 1), False)),
    # dilation * (kernel - 1) would wrap around 64 bits: windows far outside the plane
    (ValueError, "max_pool2d: expected kernel, stride and dilation from 1 to 2", _C.max_pool2d,
     (_x, (2**32 + 1, 1), (1, 1), (0, 0), (2**32, 1), False)),
    (ValueError, "max_pool2d: expected kernel, stride and dilation from 1 to 2", _C.max_pool2d,
     (_x, (2**62, 1), (1, 1), (0, 0), (4, 1), False)),
    # an empty image: its windows, in the padding alone, would give -inf or 0 / 0
    (ValueError, r"max_pool2d: expected x with non-zero C, H and W, got x of shape "
     r"\(1, 2, 0, 0\)", _C.max_pool2d, (_x[:, :, :0, :0], (2, 2), (2, 2), (1, 1), (1, 1), False)),
    (ValueError, r"avg_pool2d: expected x with non-zero C, H and W, got x of shape "
     r"\(1, 0, 4, 4\)", _C.avg_pool2d, (_x[:, :0], (2, 2), (2, 2), (1, 1), False, False, None)),
    (ValueError, r"avg_pool2d_backward: expected x with non-zero C, H and W",
     _C.avg_pool2d_backward, (_g[:, :, :1, :1], (1, 2, 4, 0), (2, 2), (2, 2), (1, 1), False,
                              True, None)),
    # windows wholly in the padding: 0 / 0 in avg_pool2d, -inf and index -1 in max_pool2d
    (ValueError, "avg_pool2d: .*padding from 0 to half the kernel", _C.avg_pool2d,
     (_x, (2, 2), (1, 1), (3, 3), False, False, None)),
    (ValueError, "max_pool2d: .*padding from 0 to half the kernel", _C.max_pool2d,
     (_x, (3, 3), (1, 1), (2, 1), (1, 1), False)),
    (ValueError, r"avg_pool2d_backward: x of shape \(1, 2, 4294967296, 4294967296\) is too "
     "large", _C.avg_pool2d_backward, (_g, (1, 2, 2**32, 2**32), (2, 2), (2, 2), (0, 0),
                                       False, True, None)),
    (ValueError, "avg_pool2d_backward: x of shape .* is too large", _C.avg_pool2d_backward,
     (_g, (1, 2, 2**63 - 1, 4), (2, 2), (2, 2), (1, 1), False, True, None)),  # H + 2 * pad
    (ValueError, r"max_pool2d_backward: x of shape \(1, 2, 4294967296, 4294967296\) is too "
     "large", _C.max_pool2d_backward, (_g, _index, (1, 2, 2**32, 2**32))),
    (ValueError, r"max_pool2d_backward: indices must lie in \[-1, H\*W\) = \[-1, 16\)",
     _C.max_pool2d_backward, (_g, _index + 16, (1, 2, 4, 4))),
    (ValueError, "max_pool2d_backward: indices must lie", _C.max_pool2d_backward,
     (_g, _index - 2, (1, 2, 4, 4))),
    (TypeError, "max_pool2d_backward: expected indices of dtype int64",
     _C.max_pool2d_backward, (_g, _index.astype(np.int32), (1, 2, 4, 4))),
    (ValueError, "max_pool2d_backward: expected grad and indices of one shape",
     _C.max_pool2d_backward, (_g, _index[:, :1], (1, 2, 4, 4))),
    (ValueError, r"avg_pool2d_backward: expected grad of shape \(1, 2, 2, 2\), got \(1, 2, 3, 2\)",
     _C.avg_pool2d_backward, (np.ones((1, 2, 3, 2), np.float32), (1, 2, 4, 4), (2, 2),
                              (2, 2), (0, 0), False, True, None)),
    (ValueError, "avg_pool2d: expected a non-zero divisor_override", _C.avg_pool2d,
     (_x, (2, 2), (2, 2), (0, 0), False, True, 0)),
    (ValueError, "not a multiple", _C.avg_pool2d,
     (np.lib.stride_tricks.as_strided(_x, (1, 2, 4, 4), (64, 32, 8, 2)), (2, 2), (2, 2),
      (0, 0), False, True, None)),
    # grad and indices for another N or C than x_shape's
    (ValueError, r"max_pool2d_backward: expected grad and indices of one shape \(N, C, OH, OW\) "
     r"for x \(N, C, H, W\), got \(1, 2, 2, 2\) and \(1, 2, 2, 2\) for x_shape \(2, 2, 4, 4\)",
     _C.max_pool2d_backward, (_g, _index, (2, 2, 4, 4))),
    (ValueError, r"max_pool2d_backward: .* got \(1, 2, 2, 2\) and \(1, 2, 2, 2\) for x_shape "
     r"\(1, 3, 4, 4\)", _C.max_pool2d_backward, (_g, _index, (1, 3, 4, 4))),
    (ValueError, r"max_pool2d_backward: .* got \(1, 3, 2, 2\) and \(1, 3, 2, 2\) for x_shape "
     r"\(1, 2, 4, 4\)", _C.max_pool2d_backward,
     (np.ones((1, 3, 2, 2), np.float32), np.zeros((1, 3, 2, 2), np.int64), (1, 2, 4, 4))),
    (ValueError, r"max_pool2d_backward: .* got \(1, 2, 2, 2\) and \(2, 2, 2, 2\)",
     _C.max_pool2d_backward, (_g, np.zeros((2, 2, 2, 2), np.int64), (1, 2, 4, 4))),
    # negative sizes in x_shape: N and C differ from grad's; H and W are named
    (ValueError, r"max_pool2d_backward: .* for x_shape \(-1, 2, 4, 4\)", _C.max_pool2d_backward,
     (_g, _index, (-1, 2, 4, 4))),
    (ValueError, r"max_pool2d_backward: .* for x_shape \(1, -2, 4, 4\)", _C.max_pool2d_backward,
     (_g, _index, (1, -2, 4, 4))),
    (ValueError, "max_pool2d_backward: negative size in x_shape", _C.max_pool2d_backward,
     (_g, _index, (1, 2, -4, 4))),
    (ValueError, "max_pool2d_backward: negative size in x_shape", _C.max_pool2d_backward,
     (_g, _index, (1, 2, 4, -1))),
    # an empty image, as the forward pass: even where every index is -1
    (ValueError, r"max_pool2d_backward: expected x with non-zero C, H and W, got x of shape "
                 r"\(1, 2, 0, 4\)", _C.max_pool2d_backward,
     (_g, np.full(_g.shape, -1, np.int64), (1, 2, 0, 4))),
    (ValueError, "avg_pool2d_backward: negative size in x_shape", _C.avg_pool2d_backward,
     (_g, (1, 2, -4, 4), *_AVG_GEOMETRY)),
    (ValueError, "avg_pool2d_backward: negative size in x_shape", _C.avg_pool2d_backward,
     (_g, (-1, 2, 4, 4), *_AVG_GEOMETRY)),
    # grad of a non-float dtype, or 3-D
    (TypeError, "max_pool2d_backward: expected grad of dtype float32 or float64, got int32",
     _C.max_pool2d_backward, (_g.astype(np.int32), _index, (1, 2, 4, 4))),
    (TypeError, "max_pool2d_backward: expected grad of dtype float32 or float64, got float16",
     _C.max_pool2d_backward, (_g.astype(np.float16), _index, (1, 2, 4, 4))),
    (TypeError, "max_pool2d_backward: expected grad of dtype float32 or float64, got int64",
     _C.max_pool2d_backward, (_index, _index, (1, 2, 4, 4))),
    (ValueError, r"max_pool2d_backward: expected grad of shape \(N, C, H, W\), got \(2, 2, 2\)",
     _C.max_pool2d_backward, (_g[0], _index, (1, 2, 4, 4))),
    (ValueError, r"max_pool2d_backward: expected indices of shape \(N, C, H, W\), got "
     r"\(2, 2, 2\)", _C.max_pool2d_backward, (_g, _index[0], (1, 2, 4, 4))),
    (TypeError, "avg_pool2d_backward: expected grad of dtype float32 or float64, got int32",
     _C.avg_pool2d_backward, (_g.astype(np.int32), (1, 2, 4, 4), *_AVG_GEOMETRY)),
    (ValueError, r"avg_pool2d_backward: expected grad of shape \(N, C, H, W\), got \(2, 2, 2\)",
     _C.avg_pool2d_backward, (_g[0], (1, 2, 4, 4), *_AVG_GEOMETRY)),
    # avg_pool2d's x: as max_pool2d's
    (TypeError, "avg_pool2d: expected x of dtype float32 or float64, got int32", _C.avg_pool2d,
     (_x.astype(np.int32), *_AVG_GEOMETRY)),
    (TypeError, "avg_pool2d: expected x of dtype float32 or float64, got int64", _C.avg_pool2d,
     (_x.astype(np.int64), *_AVG_GEOMETRY)),
    (TypeError, "avg_pool2d: expected x of dtype float32 or float64, got complex128",
     _C.avg_pool2d, (_x.astype(np.complex128), *_AVG_GEOMETRY)),
    (ValueError, r"avg_pool2d: expected x of shape \(N, C, H, W\), got \(2, 4, 4\)",
     _C.avg_pool2d, (_x[0], *_AVG_GEOMETRY)),
    (ValueError, r"avg_pool2d: expected x of shape \(N, C, H, W\), got \(1, 1, 2, 4, 4\)",
     _C.avg_pool2d, (_x[None], *_AVG_GEOMETRY)),
    # strides that are no whole number of elements, and data off element alignment
    (ValueError, "max_pool2d: x has stride 2 bytes on axis 3, not a multiple", _C.max_pool2d,
     (_odd_bytes(_x), (2, 2), (2, 2), (0, 0), (1, 1), False)),
    (ValueError, "max_pool2d: x's data is not aligned", _C.max_pool2d,
     (misaligned(_x), (2, 2), (2, 2), (0, 0), (1, 1), False)),
    (ValueError, "max_pool2d_backward: grad has stride 2 bytes on axis 3", _C.max_pool2d_backward,
     (_odd_bytes(_g), _index, (1, 2, 4, 4))),
    (ValueError, "max_pool2d_backward: indices has stride 4 bytes on axis 3",
     _C.max_pool2d_backward, (_g, _odd_bytes(_index), (1, 2, 4, 4))),
    (ValueError, "max_pool2d_backward: indices's data is not aligned", _C.max_pool2d_backward,
     (_g, misaligned(_index), (1, 2, 4, 4))),
    (ValueError, "avg_pool2d_backward: grad's data is not aligned", _C.avg_pool2d_backward,
     (misaligned(_g), (1, 2, 4, 4), *_AVG_GEOMETRY)),
]


@pytest.mark.parametrize("error, message, fn, args", BAD_POOLING_INPUTS,
                         ids=lambda v: v.__name__ if callable(v) else None)
def test_bad_input_to_pooling_raises(error, message, fn, args):
    with pytest.raises(error, match=message):
        fn(*args)
