"""conv2d: forward against a direct float64 loop over output positions, gradients by finite
differences, and both against PyTorch where it is installed."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore.errors import DeviceError, DTypeError, ShapeError

from helpers import assert_close, check, compare_with_torch, rand, torch

needs_cuda = pytest.mark.skipif(not tc.cuda_available(), reason="no CUDA device")


def conv2d_loops(x, weight, bias=None, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1),
                 groups=1):
    """Direct convolution: one dot product per output position and group. ``pads`` is
    (top, bottom, left, right)."""
    x = np.pad(x, ((0, 0), (0, 0), pads[:2], pads[2:]))
    N, C, H, W = x.shape
    O, group_channels, kh, kw = weight.shape
    (sh, sw), (dh, dw) = stride, dilation
    OH, OW = (H - dh * (kh - 1) - 1) // sh + 1, (W - dw * (kw - 1) - 1) // sw + 1
    group_out = O // groups
    y = np.zeros((N, O, OH, OW))
    for oh in range(OH):
        for ow in range(OW):
            patch = x[:, :, oh * sh:oh * sh + dh * (kh - 1) + 1:dh,
                      ow * sw:ow * sw + dw * (kw - 1) + 1:dw]          # (N, C, kh, kw)
            for g in range(groups):
                inputs = patch[:, g * group_channels:(g + 1) * group_channels]
                filters = weight[g * group_out:(g + 1) * group_out]
                y[:, g * group_out:(g + 1) * group_out, oh, ow] = np.einsum(
                    "nckl,ockl->no", inputs, filters)
    return y if bias is None else y + bias[:, None, None]


# (x shape, weight shape, F.conv2d keywords, padding (top, bottom, left, right) they imply)
CASES = [
    ((2, 3, 5, 5), (4, 3, 3, 3), {}, (0, 0, 0, 0)),
    ((1, 2, 3, 3), (3, 2, 1, 1), {}, (0, 0, 0, 0)),
    ((3, 3, 1, 1), (2, 3, 1, 1), {}, (0, 0, 0, 0)),
    ((1, 1, 7, 7), (1, 1, 7, 7), {}, (0, 0, 0, 0)),
    ((2, 2, 7, 7), (3, 2, 3, 3), dict(stride=2, padding=1), (1, 1, 1, 1)),
    ((1, 2, 7, 7), (2, 2, 3, 3), dict(stride=3), (0, 0, 0, 0)),
    ((1, 2, 7, 6), (2, 2, 3, 3), dict(stride=(3, 1), padding=(0, 2), dilation=(2, 1)),
     (0, 0, 2, 2)),
    ((1, 2, 7, 7), (2, 2, 3, 3), dict(dilation=2, padding=2), (2, 2, 2, 2)),
    ((2, 2, 6, 5), (2, 2, 3, 2), dict(stride=(2, 3), padding=(1, 0)), (1, 1, 0, 0)),
    ((2, 4, 5, 5), (6, 2, 3, 3), dict(groups=2), (0, 0, 0, 0)),
    ((1, 3, 5, 5), (3, 1, 3, 3), dict(groups=3, padding=1), (1, 1, 1, 1)),     # depthwise
    ((1, 2, 5, 5), (4, 1, 3, 3), dict(groups=2, stride=2), (0, 0, 0, 0)),     # depth multiplier 2
    ((1, 2, 5, 5), (3, 2, 3, 3), dict(padding="same"), (1, 1, 1, 1)),
    ((1, 2, 5, 6), (2, 2, 2, 4), dict(padding="same"), (0, 1, 1, 2)),          # even kernels
    ((1, 2, 5, 6), (2, 2, 2, 4), dict(padding="same", dilation=(2, 1)), (1, 1, 1, 2)),
    ((1, 2, 6, 5), (2, 2, 3, 2), dict(padding="valid"), (0, 0, 0, 0)),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # PyTorch's note on even kernels
@pytest.mark.parametrize("x_shape, w_shape, kwargs, pads", CASES)
@pytest.mark.parametrize("with_bias", [True, False])
def test_conv2d(x_shape, w_shape, kwargs, pads, with_bias):
    geometry = {k: v for k, v in kwargs.items() if k != "padding"}
    pair_geometry = {k: (v, v) if isinstance(v, int) and k != "groups" else v
                     for k, v in geometry.items()}
    inputs = [rand(*x_shape, seed=1), rand(*w_shape, seed=2)]
    if with_bias:
        inputs.append(rand(w_shape[0], seed=3))
    check(lambda x, w, b=None: F.conv2d(x, w, b, **kwargs), inputs,
          np_fn=lambda x, w, b=None: conv2d_loops(x, w, b, pads=pads, **pair_geometry),
          torch_fn=lambda x, w, b=None: torch.nn.functional.conv2d(x, w, b, **kwargs))


def test_conv2d_unbatched_input():
    check(lambda x, w, b: F.conv2d(x, w, b, padding=1), [rand(3, 5, 4, seed=1),
                                                         rand(2, 3, 3, 3, seed=2), rand(2, seed=3)],
          np_fn=lambda x, w, b: conv2d_loops(x[None], w, b, pads=(1, 1, 1, 1))[0],
          torch_fn=lambda x, w, b: torch.nn.functional.conv2d(x, w, b, padding=1))


def test_conv2d_non_contiguous_inputs():
    # x arrives (N, C, W, H) and is transposed; the weight is a strided slice
    check(lambda x, w: F.conv2d(x.transpose(2, 3), w[:, :, ::2], stride=2),
          [rand(2, 3, 6, 7, seed=1), rand(2, 3, 5, 2, seed=2)],
          np_fn=lambda x, w: conv2d_loops(x.swapaxes(2, 3), w[:, :, ::2], stride=(2, 2)),
          torch_fn=lambda x, w: torch.nn.functional.conv2d(x.transpose(2, 3), w[:, :, ::2],
                                                           stride=2))


def test_conv2d_gradient_of_bias_alone():
    x, w, b = rand(2, 2, 4, 4, seed=1), rand(3, 2, 3, 3, seed=2), rand(3, seed=3)
    bias = tc.tensor(b, requires_grad=True)
    y = F.conv2d(tc.tensor(x), tc.tensor(w), bias, stride=2)
    u = rand(*y.shape, seed=4)
    (y * tc.tensor(u)).sum().backward()
    assert_close(bias.grad.numpy(), u.sum(axis=(0, 2, 3)))


def test_conv2d_float32_stays_float32_and_matches_torch_at_a_larger_size():
    inputs = [rand(4, 8, 17, 13, seed=1), rand(16, 4, 3, 3, seed=2), rand(16, seed=3)]
    y = F.conv2d(*[tc.tensor(a.astype(np.float32)) for a in inputs], stride=2, groups=2)
    assert y.dtype == np.float32 and y.shape == (4, 16, 8, 6)
    if torch is not None:
        compare_with_torch(lambda x, w, b: F.conv2d(x, w, b, stride=2, groups=2),
                           lambda x, w, b: torch.nn.functional.conv2d(x, w, b, stride=2, groups=2),
                           inputs)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_conv2d_random_geometries(data):
    def ints(low, high):
        return data.draw(st.integers(low, high))
    groups, (kh, kw), (sh, sw) = ints(1, 3), (ints(1, 4), ints(1, 4)), (ints(1, 3), ints(1, 3))
    (dh, dw), (ph, pw) = (ints(1, 2), ints(1, 2)), (ints(0, 2), ints(0, 2))
    H = ints(max(1, dh * (kh - 1) + 1 - 2 * ph), 9)      # at least one window fits
    W = ints(max(1, dw * (kw - 1) + 1 - 2 * pw), 9)
    N, C, O, seed = ints(1, 2), groups * ints(1, 2), groups * ints(1, 2), ints(0, 2**31 - 1)
    inputs = [rand(N, C, H, W, seed=seed), rand(O, C // groups, kh, kw, seed=seed + 1),
              rand(O, seed=seed + 2)]
    kwargs = dict(stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw), groups=groups)
    check(lambda x, w, b: F.conv2d(x, w, b, **kwargs), inputs, grad=False,
          np_fn=lambda x, w, b: conv2d_loops(x, w, b, (sh, sw), (ph, ph, pw, pw), (dh, dw), groups))
    if torch is not None:
        compare_with_torch(lambda x, w, b: F.conv2d(x, w, b, **kwargs),
                           lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **kwargs), inputs)


def arrays(x_shape=(1, 2, 5, 5), w_shape=(3, 2, 3, 3)):
    return tc.tensor(rand(*x_shape, seed=1)), tc.tensor(rand(*w_shape, seed=2))


@pytest.mark.parametrize("x_shape, w_shape, kwargs, error, received", [
    ((5, 5), (3, 2, 3, 3), {}, ShapeError, r"\(5, 5\)"),
    ((1, 1, 2, 5, 5), (3, 2, 3, 3), {}, ShapeError, r"\(1, 1, 2, 5, 5\)"),
    ((1, 2, 5, 5), (3, 2, 3), {}, ShapeError, r"\(3, 2, 3\)"),
    ((1, 3, 5, 5), (2, 2, 3, 3), {}, ShapeError, "3 channels"),
    ((1, 4, 5, 5), (2, 1, 3, 3), dict(groups=2), ShapeError, "2 channels"),
    ((1, 3, 5, 5), (4, 1, 3, 3), dict(groups=2), ShapeError, "groups=2"),
    ((1, 4, 5, 5), (3, 2, 3, 3), dict(groups=2), ShapeError, "groups=2"),
    ((1, 2, 3, 3), (3, 2, 5, 5), {}, ShapeError, r"\(3, 3\)"),
    ((1, 2, 4, 4), (3, 2, 3, 3), dict(dilation=2), ShapeError, r"got \(0, 0\)"),
    ((1, 2, 5, 5), (3, 2, 3, 3), dict(stride=0), ValueError, "stride"),
    ((1, 2, 5, 5), (3, 2, 3, 3), dict(stride=(1, -2)), ValueError, "stride"),
    ((1, 2, 5, 5), (3, 2, 3, 3), dict(dilation=0), ValueError, "dilation"),
    ((1, 2, 5, 5), (3, 2, 3, 3), dict(padding=-1), ValueError, "padding"),
    ((1, 2, 5, 5), (3, 2, 3, 3), dict(groups=0), ValueError, "groups"),
    ((1, 2, 5, 5), (3, 2, 3, 3), dict(padding="full"), ValueError, "'full'"),
    ((1, 2, 5, 5), (3, 2, 3, 3), dict(padding="same", stride=2), ValueError, "same"),
    ((1, 2, 5, 5), (3, 2, 3, 3), dict(stride=1.5), TypeError, "1.5"),
    ((1, 2, 5, 5), (3, 2, 3, 3), dict(stride=(1, 2, 3)), TypeError, r"\(1, 2, 3\)"),
    ((1, 2, 5, 5), (3, 2, 3, 3), dict(padding=[1.0, 1]), TypeError, "padding"),
    ((1, 2, 5, 5), (3, 2, 3, 3), dict(groups=1.0), TypeError, "groups"),
    ((1, 2, 5, 5), (3, 2, 3, 3), dict(stride=True), TypeError, "True"),
    ((1, 2, 5, 5), (3, 2, 3, 3), dict(padding=(1, False)), TypeError, "False"),
    ((1, 2, 5, 5), (3, 2, 3, 3), dict(stride=2**63), ValueError, "stride from 1 to 2"),
    ((1, 2, 5, 5), (3, 2, 3, 3), dict(dilation=(1, 2**30 + 1)), ValueError, "dilation"),
    ((1, 2, 5, 5), (3, 2, 3, 3), dict(groups=2**64), ValueError, "groups of at most 1073741824"),
])
def test_conv2d_bad_arguments(x_shape, w_shape, kwargs, error, received):
    x, w = arrays(x_shape, w_shape)
    with pytest.raises(error, match="conv2d") as caught:
        F.conv2d(x, w, **kwargs)
    assert caught.match(received)


def test_conv2d_bias_of_the_wrong_shape():
    x, w = arrays()
    with pytest.raises(ShapeError, match=r"conv2d: expected bias of shape \(3,\), got \(2,\)"):
        F.conv2d(x, w, tc.ones(2).double())


def test_conv2d_dtypes():
    x, w = arrays()
    with pytest.raises(DTypeError, match="conv2d.*float32.*float64"):
        F.conv2d(x.float(), w.double())
    with pytest.raises(DTypeError, match="conv2d.*int64"):
        F.conv2d(tc.tensor(np.ones((1, 2, 5, 5), dtype=np.int64)), w)


def test_conv2d_takes_numpy_integers():
    x, w = arrays()
    expected = F.conv2d(x, w, stride=2, padding=(1, 0), dilation=1, groups=1)
    got = F.conv2d(x, w, stride=np.int64(2), padding=(np.int32(1), 0), dilation=np.uint8(1),
                   groups=np.int16(1))
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_conv2d_unknown_keyword():
    x, w = arrays()
    with pytest.raises(TypeError):
        F.conv2d(x, w, strides=2)


@needs_cuda
def test_conv2d_on_cuda_matches_cpu():
    x, w, b = rand(2, 4, 9, 8, seed=1), rand(6, 2, 3, 2, seed=2), rand(6, seed=3)
    on_cpu = [tc.tensor(a, requires_grad=True) for a in (x, w, b)]
    on_gpu = [tc.tensor(a, device="cuda", requires_grad=True) for a in (x, w, b)]
    results = []
    for x_, w_, b_ in (on_cpu, on_gpu):
        y = F.conv2d(x_, w_, b_, stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)
        (y * y).sum().backward()
        results.append([y.numpy()] + [t.grad.numpy() for t in (x_, w_, b_)])
    for got, expected in zip(results[1], results[0]):
        assert_close(got, expected)


@needs_cuda
def test_conv2d_tensors_on_different_devices():
    x, w = arrays()
    with pytest.raises(DeviceError, match="conv2d"):
        F.conv2d(x, w.cuda())
