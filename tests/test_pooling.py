"""max_pool2d and avg_pool2d: forward against a direct float64 loop over output positions,
gradients by finite differences, and both against PyTorch where it is installed."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore.errors import DTypeError, ShapeError

from helpers import assert_close, check, compare_with_torch, rand, torch

needs_cuda = pytest.mark.skipif(not tc.cuda_available(), reason="no CUDA device")


def pooled_size(size, kernel, stride, pad, dilation, ceil_mode):
    """PyTorch's rule: floor or ceil of the slide, and with ceil_mode no window may start in the
    right padding."""
    slide = size + 2 * pad - dilation * (kernel - 1) - 1
    count = (-(-slide // stride) if ceil_mode else slide // stride) + 1
    return count - 1 if ceil_mode and (count - 1) * stride >= size + pad else count


def as_pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def pool_loops(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, mode="max",
               count_include_pad=True, divisor_override=None):
    """Direct pooling, one window at a time -> y, or (y, indices) for mode="max"."""
    N, C, H, W = x.shape
    kernel = as_pair(kernel_size)
    stride = kernel if stride is None else as_pair(stride)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, as_pair(padding), as_pair(dilation)
    OH = pooled_size(H, kh, sh, ph, dh, ceil_mode)
    OW = pooled_size(W, kw, sw, pw, dw, ceil_mode)
    y, indices = np.zeros((N, C, OH, OW)), np.zeros((N, C, OH, OW), dtype=np.int64)
    for oh in range(OH):
        for ow in range(OW):
            rows = oh * sh - ph + dh * np.arange(kh)
            cols = ow * sw - pw + dw * np.arange(kw)
            inside_rows = rows[(rows >= 0) & (rows < H)]
            inside_cols = cols[(cols >= 0) & (cols < W)]
            window = x[:, :, inside_rows][:, :, :, inside_cols].reshape(N, C, -1)
            if mode == "max" and window.shape[2] == 0:         # a window of padding only
                y[:, :, oh, ow], indices[:, :, oh, ow] = -np.inf, -1
            elif mode == "max":
                best = window.argmax(axis=2)
                y[:, :, oh, ow] = window.max(axis=2)
                indices[:, :, oh, ow] = (inside_rows[best // len(inside_cols)] * W
                                         + inside_cols[best % len(inside_cols)])
            else:
                y[:, :, oh, ow] = window.sum(axis=2) / avg_divisor(
                    rows, cols, H, W, ph, pw, count_include_pad, divisor_override)
    return (y, indices) if mode == "max" else y


def avg_divisor(rows, cols, H, W, ph, pw, count_include_pad, divisor_override):
    """What the sum of a window over ``rows`` x ``cols`` of x (H, W) is divided by."""
    if divisor_override is not None:
        return divisor_override
    if count_include_pad:
        return np.sum((rows >= -ph) & (rows < H + ph)) * np.sum((cols >= -pw) & (cols < W + pw))
    return np.sum((rows >= 0) & (rows < H)) * np.sum((cols >= 0) & (cols < W))


MAX_CASES = [
    ((2, 3, 5, 5), dict(kernel_size=2)),
    ((2, 3, 1, 1), dict(kernel_size=1)),
    ((1, 2, 7, 7), dict(kernel_size=3, stride=2, padding=1)),
    ((1, 2, 5, 5), dict(kernel_size=3, stride=1)),                   # overlapping windows
    ((1, 2, 7, 7), dict(kernel_size=3, stride=3)),
    ((2, 2, 7, 6), dict(kernel_size=(3, 2), stride=(3, 1), padding=(1, 0), dilation=(1, 2))),
    ((1, 2, 7, 7), dict(kernel_size=3, dilation=2, padding=1, stride=2)),
    ((1, 2, 5, 5), dict(kernel_size=2, ceil_mode=True)),
    ((1, 2, 6, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((1, 1, 4, 4), dict(kernel_size=2, stride=3, padding=1, ceil_mode=True)),  # last window dropped
    # ceil_mode: a window reaching past the padded input (no window fits without ceil_mode)
    ((2, 1, 2, 25), dict(kernel_size=(4, 3), stride=(2, 1), padding=(2, 1), dilation=(2, 1),
                         ceil_mode=True)),
]


@pytest.mark.parametrize("x_shape, kwargs", MAX_CASES)
@pytest.mark.parametrize("return_indices", [False, True])
def test_max_pool2d(x_shape, kwargs, return_indices):
    def np_fn(x):
        y, indices = pool_loops(x, **kwargs)
        return (y, indices) if return_indices else y
    check(lambda x: F.max_pool2d(x, **kwargs, return_indices=return_indices),
          [rand(*x_shape, seed=1)], np_fn=np_fn,
          torch_fn=lambda x: torch.nn.functional.max_pool2d(x, **kwargs,
                                                            return_indices=return_indices))


AVG_CASES = [
    ((2, 3, 5, 5), dict(kernel_size=2)),
    ((2, 3, 1, 1), dict(kernel_size=1)),
    ((1, 2, 7, 7), dict(kernel_size=3, stride=2, padding=1)),
    ((1, 2, 7, 7), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ((1, 2, 5, 5), dict(kernel_size=3, stride=1, padding=1)),        # overlapping windows
    ((2, 2, 7, 6), dict(kernel_size=(3, 2), stride=(3, 1), padding=(1, 0))),
    ((1, 2, 5, 5), dict(kernel_size=2, ceil_mode=True)),
    ((1, 2, 6, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((1, 2, 6, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                        count_include_pad=False)),
    ((1, 1, 4, 4), dict(kernel_size=2, stride=3, padding=1, ceil_mode=True)),
    ((1, 2, 5, 5), dict(kernel_size=2, padding=1, divisor_override=3)),
    ((1, 2, 5, 7), dict(kernel_size=3, stride=2, ceil_mode=True, divisor_override=2)),
    ((1, 2, 1, 5), dict(kernel_size=(4, 1), stride=(2, 1), padding=(1, 0), ceil_mode=True)),
    ((1, 2, 1, 5), dict(kernel_size=(4, 1), stride=(2, 1), padding=(1, 0), ceil_mode=True,
                        count_include_pad=False)),
]


@pytest.mark.parametrize("x_shape, kwargs", AVG_CASES)
def test_avg_pool2d(x_shape, kwargs):
    check(lambda x: F.avg_pool2d(x, **kwargs), [rand(*x_shape, seed=1)],
          np_fn=lambda x: pool_loops(x, mode="avg", **kwargs),
          torch_fn=lambda x: torch.nn.functional.avg_pool2d(x, **kwargs))


def test_max_pool2d_unbatched_input():
    check(lambda x: F.max_pool2d(x, 2, padding=1, return_indices=True), [rand(3, 5, 4, seed=1)],
          np_fn=lambda x: tuple(out[0] for out in pool_loops(x[None], 2, padding=1)),
          torch_fn=lambda x: torch.nn.functional.max_pool2d(x, 2, padding=1, return_indices=True))


def test_avg_pool2d_unbatched_input():
    check(lambda x: F.avg_pool2d(x, 3, 2, ceil_mode=True), [rand(3, 6, 5, seed=1)],
          np_fn=lambda x: pool_loops(x[None], 3, 2, ceil_mode=True, mode="avg")[0],
          torch_fn=lambda x: torch.nn.functional.avg_pool2d(x, 3, 2, ceil_mode=True))


def test_max_pool2d_non_contiguous_input():
    # x arrives (C, N, W, H) and is permuted to (N, C, H, W)
    check(lambda x: F.max_pool2d(x.permute(1, 0, 3, 2), 3, 2, 1), [rand(2, 2, 7, 6, seed=1)],
          np_fn=lambda x: pool_loops(x.transpose(1, 0, 3, 2), 3, 2, 1)[0],
          torch_fn=lambda x: torch.nn.functional.max_pool2d(x.permute(1, 0, 3, 2), 3, 2, 1))


def test_avg_pool2d_non_contiguous_input():
    check(lambda x: F.avg_pool2d(x[:, 1:, ::2], 2, padding=1), [rand(2, 3, 9, 5, seed=1)],
          np_fn=lambda x: pool_loops(x[:, 1:, ::2], 2, padding=1, mode="avg"),
          torch_fn=lambda x: torch.nn.functional.avg_pool2d(x[:, 1:, ::2], 2, padding=1))


def test_max_pool2d_of_minus_infinity_points_inside_the_input():
    x = rand(1, 2, 4, 5, seed=1)
    x[0, 0, :2] = -np.inf                   # windows of -inf and padding
    y, indices = F.max_pool2d(tc.tensor(x), 3, 2, 1, return_indices=True)
    expected, expected_indices = pool_loops(x, 3, 2, 1)
    np.testing.assert_array_equal(y.numpy(), expected)
    np.testing.assert_array_equal(indices.numpy(), expected_indices)
    if torch is not None:
        np.testing.assert_array_equal(indices.numpy(), torch.nn.functional.max_pool2d(
            torch.tensor(x), 3, 2, 1, return_indices=True)[1].numpy())


def test_max_pool2d_window_of_padding_only():
    # dilation 2 steps from the top padding row over the single input row
    x = tc.tensor(rand(2, 1, 1, 2, seed=1), requires_grad=True)
    y, indices = F.max_pool2d(x, (2, 1), 1, (1, 0), (2, 1), return_indices=True)
    assert np.all(y.numpy() == -np.inf) and np.all(indices.numpy() == -1)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 1, 1, 2)))


def test_max_pool2d_float32_at_a_larger_size():
    x = rand(4, 8, 33, 31, seed=1)
    y, indices = F.max_pool2d(tc.tensor(x.astype(np.float32)), 3, 2, 1, return_indices=True)
    assert y.dtype == np.float32 and indices.dtype == np.int64 and y.shape == (4, 8, 17, 16)
    expected, expected_indices = pool_loops(x, 3, 2, 1)
    assert_close(y.numpy(), expected, np.float32)
    np.testing.assert_array_equal(indices.numpy(), expected_indices)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_pooling_random_geometries(data):
    def ints(low, high):
        return data.draw(st.integers(low, high))
    kernel, stride = (ints(1, 4), ints(1, 4)), (ints(1, 3), ints(1, 3))
    padding, dilation = (ints(0, kernel[0] // 2), ints(0, kernel[1] // 2)), (ints(1, 2), ints(1, 2))
    H = ints(max(1, dilation[0] * (kernel[0] - 1) + 1 - 2 * padding[0]), 9)
    W = ints(max(1, dilation[1] * (kernel[1] - 1) + 1 - 2 * padding[1]), 9)
    x = rand(ints(1, 2), ints(1, 2), H, W, seed=ints(0, 2**31 - 1))
    ceil_mode = data.draw(st.booleans())

    max_kwargs = dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
                      ceil_mode=ceil_mode)
    y, indices = F.max_pool2d(tc.tensor(x), **max_kwargs, return_indices=True)
    expected, expected_indices = pool_loops(x, **max_kwargs)
    np.testing.assert_array_equal(y.numpy(), expected)         # maxima are copied exactly
    np.testing.assert_array_equal(indices.numpy(), expected_indices)
    # PyTorch's index for a window of padding only (-1 here) lies outside the window
    if torch is not None and (expected_indices >= 0).all():
        compare_with_torch(
            lambda x: F.max_pool2d(x, **max_kwargs, return_indices=True),
            lambda x: torch.nn.functional.max_pool2d(x, **max_kwargs, return_indices=True), [x])

    avg_kwargs = dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode,
                      count_include_pad=data.draw(st.booleans()),
                      divisor_override=data.draw(st.sampled_from([None, 1, 3])))
    check(lambda x: F.avg_pool2d(x, **avg_kwargs), [x], grad=False,
          np_fn=lambda x: pool_loops(x, mode="avg", **avg_kwargs))
    if torch is not None:
        compare_with_torch(lambda x: F.avg_pool2d(x, **avg_kwargs),
                           lambda x: torch.nn.functional.avg_pool2d(x, **avg_kwargs), [x])


POOLS = [("max_pool2d", F.max_pool2d), ("avg_pool2d", F.avg_pool2d)]


@pytest.mark.parametrize("name, pool", POOLS)
@pytest.mark.parametrize("x_shape, args, kwargs, error, received", [
    ((5, 5), (2,), {}, ShapeError, r"\(5, 5\)"),
    ((1, 1, 2, 5, 5), (2,), {}, ShapeError, r"\(1, 1, 2, 5, 5\)"),
    ((1, 2, 5, 5), (0,), {}, ValueError, "kernel_size"),
    ((1, 2, 5, 5), ((2, -1),), {}, ValueError, "kernel_size"),
    ((1, 2, 5, 5), (2,), dict(stride=0), ValueError, "stride"),
    ((1, 2, 5, 5), (3,), dict(padding=-1), ValueError, "padding"),
    ((1, 2, 5, 5), (2,), dict(padding=2), ValueError, "at most half"),
    ((1, 2, 5, 5), ((3, 2),), dict(padding=(1, 2)), ValueError, "at most half"),
    ((1, 2, 2, 2), (3,), {}, ShapeError, r"\(2, 2\)"),
    ((1, 2, 5, 5), ("2",), {}, TypeError, "'2'"),
    ((1, 2, 5, 5), ((2, 2, 2),), {}, TypeError, r"\(2, 2, 2\)"),
    ((1, 2, 5, 5), (2,), dict(stride=1.5), TypeError, "1.5"),
    ((1, 2, 5, 5), (2**63 + 1,), {}, ValueError, "kernel_size from 1 to 2"),
    ((1, 2, 5, 5), (2,), dict(stride=(1, 2**31)), ValueError, "stride from 1 to 2"),
    ((1, 2, 0, 0), (2,), dict(padding=1), ShapeError, r"non-zero .* \(1, 2, 0, 0\)"),
    ((2, 0, 4, 4), (2,), {}, ShapeError, r"non-zero .* \(2, 0, 4, 4\)"),
])
def test_pooling_bad_arguments(name, pool, x_shape, args, kwargs, error, received):
    with pytest.raises(error, match=name) as caught:
        pool(tc.tensor(rand(*x_shape, seed=1)), *args, **kwargs)
    assert caught.match(received)


@pytest.mark.parametrize("kwargs, error, received", [
    (dict(dilation=0), ValueError, "dilation"),
    (dict(dilation=2, padding=1), ShapeError, r"got \(0, 0\)"),      # 2 + 2 < effective 5
    (dict(dilation=2, padding=2), ValueError, "at most half"),        # of 3, as PyTorch: not of 5
])
def test_max_pool2d_bad_dilation(kwargs, error, received):
    with pytest.raises(error, match="max_pool2d") as caught:
        F.max_pool2d(tc.tensor(rand(1, 1, 2, 2, seed=1)), 3, **kwargs)
    assert caught.match(received)


@pytest.mark.parametrize("divisor, error", [(0, ValueError), (1.5, TypeError),
                                            (2**63, ValueError), (-2**31, ValueError),
                                            (np.int64(-2**63), ValueError)])
def test_avg_pool2d_bad_divisor_override(divisor, error):
    with pytest.raises(error, match="avg_pool2d: .*divisor_override"):
        F.avg_pool2d(tc.tensor(rand(1, 2, 4, 4, seed=1)), 2, divisor_override=divisor)


@pytest.mark.parametrize("name, pool", POOLS)
def test_pooling_needs_floating_point_input(name, pool):
    with pytest.raises(DTypeError, match=f"{name}.*int64"):
        pool(tc.tensor(np.ones((1, 2, 4, 4), dtype=np.int64)), 2)


@pytest.mark.parametrize("name, pool", POOLS)
def test_pooling_unknown_keyword(name, pool):
    with pytest.raises(TypeError):
        pool(tc.tensor(rand(1, 2, 4, 4, seed=1)), 2, pool_size=2)


@needs_cuda
@pytest.mark.parametrize("name, pool, kwargs", [
    ("max", F.max_pool2d, dict(kernel_size=3, stride=2, padding=1, dilation=(1, 2),
                               ceil_mode=True)),
    ("avg", F.avg_pool2d, dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                               count_include_pad=False)),
])
def test_pooling_on_cuda_matches_cpu(name, pool, kwargs):
    x = rand(2, 3, 9, 8, seed=1)
    results = []
    for device in ("cpu", "cuda"):
        t = tc.tensor(x, device=device, requires_grad=True)
        y = pool(t, **kwargs)
        (y * y).sum().backward()
        results.append((y.numpy(), t.grad.numpy()))
    for got, expected in zip(results[1], results[0]):
        assert_close(got, expected)
