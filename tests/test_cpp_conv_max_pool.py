"""conv2d_max_pool2d: conv2d, then max_pool2d(2), as one C++ pass where the one-channel
forward's 2x2 tiles are the pool's windows (csrc/conv_winograd_rows.cpp, "cpu.cpp"), else as
the two ops (the reference); and its weight gradient, conv2d_max_pool2d_backward_weight, from
the pooled gradient and taps without the conv's gradient. Values and taps against the two ops,
ties and NaN, what the passes decline, threads, gradients, nn.Sequential's use of them, bad
input."""
import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore import nn
from tensorcore.kernels.windows import window_indices, window_taps
from tensorcore.ops.conv import conv2d_max_pool2d

from helpers import model_and_layers_one_by_one

_C = pytest.importorskip("tensorcore._C", reason="the C++ extension is not built")

DTYPES = (np.float32, np.float64)
UNIT = dict(stride=(1, 1), dilation=(1, 1), groups=1)


@pytest.fixture
def avx512():
    """The pass runs on AVX-512 only (the tiles' 32 registers): forced here, or a skip."""
    previous = _C.isa()
    try:
        _C.set_isa("avx512")
    except ValueError:
        pytest.skip("this CPU does not run AVX-512")
    yield
    _C.set_isa(previous)


def rand(*shape, seed=0):
    """Uniform in [-1, 1), never all zero."""
    return np.random.default_rng(seed).uniform(-1, 1, size=shape)


def variant(op, name):
    return tc.kernels.get(op).variants[name].fn


def two_ops(x, w, b, padding):
    """max_pool2d(conv2d(...), 2) by the C++ variants, the conv's forward by the same 2-D tiles
    where they apply (so that the values agree bit for bit)."""
    tiles = x.shape[1] == 1 and (x.shape[3] + padding[2] + padding[3] - 2) % 2 == 0
    conv = variant("conv2d", "cpu.winograd_rows" if tiles else "cpu.cpp")
    y = conv(x, w, b, padding=padding, **UNIT)
    return variant("max_pool2d", "cpu.cpp")(y, kernel=(2, 2), stride=(2, 2), padding=(0, 0),
                                             dilation=(1, 1), ceil_mode=False)


def pooled(x, w, b, padding):
    return variant("conv2d_max_pool2d", "cpu.cpp")(x, w, b, padding=padding, **UNIT)


def channels_last(a):
    """The (N, C, H, W) array a as a view of NHWC memory, as the Keras face passes images."""
    return a.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2)   # a fresh NHWC array


def conv_width(x, padding):
    return x.shape[3] + padding[2] + padding[3] - 2


# (N, H, W, out channels, padding (top, bottom, left, right))
CASES = [
    (1, 28, 28, 32, (0, 0, 0, 0)),        # an MNIST image
    (3, 19, 18, 5, (0, 0, 0, 0)),         # 17 output rows: the last row pooled by no window
    (2, 30, 34, 33, (1, 1, 1, 1)),        # 33 channels: past one group of 32
    (7, 27, 40, 64, (0, 0, 0, 0)),        # 7 images over the threads
    (2, 21, 20, 1, (1, 0, 0, 0)),         # one channel, asymmetric padding
    (1, 4, 1000, 3, (0, 0, 0, 0)),        # one row of windows, 499 wide
]


def case_id(case):
    return "x".join(map(str, case[:4])) + "-pad" + "".join(map(str, case[4]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_pools_as_the_two_ops_do(avx512, case, dtype):
    n, h, w, out, padding = case
    x, wt = rand(n, 1, h, w).astype(dtype), rand(out, 1, 3, 3, seed=1).astype(dtype)
    b = rand(out, seed=2).astype(dtype)
    y, taps = pooled(x, wt, b, padding)
    y_expected, indices_expected = two_ops(x, wt, b, padding)
    assert y.dtype == dtype and taps.dtype == np.uint8
    np.testing.assert_array_equal(y, y_expected)
    np.testing.assert_array_equal(taps, window_taps(indices_expected, conv_width(x, padding)))
    # and the float64 reference of both ops, within rounding
    wide = [a.astype(np.float64) for a in (x, wt, b)]
    y_reference, taps_reference = variant("conv2d_max_pool2d", "cpu.reference")(
        *wide, padding=padding, **UNIT)
    np.testing.assert_allclose(y, y_reference, rtol=1e-5, atol=1e-5)
    assert np.mean(taps == taps_reference) > 0.99     # float32 may break near-ties
    # channels-last images (one channel with a unit channel stride: a Keras model's) keep y
    # channels-last; the same values and taps, bit for bit
    y_nhwc, taps_nhwc = pooled(channels_last(x), wt, b, padding)
    assert y_nhwc.transpose(0, 2, 3, 1).flags.c_contiguous and taps_nhwc.flags.c_contiguous
    np.testing.assert_array_equal(y_nhwc, y)
    np.testing.assert_array_equal(taps_nhwc, taps)


def test_ties_and_nan_pick_what_max_pool2d_picks(avx512):
    x = rand(2, 1, 20, 22)
    x[0, 0, 5, 7] = np.nan                          # NaN outputs around it, taken first
    w = np.zeros((3, 1, 3, 3))                      # channel 1: every output its bias, tied
    w[0], w[2] = rand(1, 3, 3, seed=3), np.round(rand(1, 3, 3, seed=4) * 2)
    x[1] = np.round(x[1] * 2)                        # channel 2: small integers, many ties
    b = np.array([0.5, -1.0, 0.0])
    y, taps = pooled(x, w, b, (0, 0, 0, 0))
    y_expected, indices_expected = two_ops(x, w, b, (0, 0, 0, 0))
    np.testing.assert_array_equal(y, y_expected)
    np.testing.assert_array_equal(taps, window_taps(indices_expected, 20))
    assert np.isnan(y[0, 0]).any() and (taps[1, 1] == 0).all()   # ties: the first tap


@pytest.mark.parametrize("x_shape, w_shape, geometry", [
    ((2, 2, 20, 20), (3, 2, 3, 3), UNIT),                    # two input channels
    ((2, 1, 20, 17), (3, 1, 3, 3), UNIT),                    # odd output rows (15)
    ((2, 1, 20, 15), (3, 1, 3, 3), UNIT),                    # rows under 16
    ((2, 1, 3, 20), (3, 1, 3, 3), UNIT),                     # one output row: no window
    ((2, 1, 20, 20), (3, 1, 5, 5), UNIT),
    ((2, 1, 40, 40), (3, 1, 3, 3), dict(UNIT, stride=(2, 2))),
    ((2, 1, 40, 40), (3, 1, 3, 3), dict(UNIT, dilation=(2, 2))),
])
def test_declines_what_it_does_not_pool_as_it_convolves(x_shape, w_shape, geometry):
    x, w = rand(*x_shape), rand(*w_shape, seed=1)
    with pytest.raises(NotImplementedError):
        variant("conv2d_max_pool2d", "cpu.cpp")(x, w, None, padding=(0, 0, 0, 0), **geometry)


def test_declines_without_avx512(isa):
    x, w = rand(2, 1, 20, 20), rand(3, 1, 3, 3, seed=1)
    if isa == "avx512":
        assert pooled(x, w, None, (0, 0, 0, 0))[0].shape == (2, 3, 9, 9)
    else:
        with pytest.raises(NotImplementedError):
            pooled(x, w, None, (0, 0, 0, 0))


@pytest.mark.parametrize("forced", [dict(conv2d="cpu.winograd_rows"),
                                    dict(max_pool2d="cpu.reference")])
def test_declines_where_another_variant_of_either_op_is_forced(avx512, forced):
    x, w = rand(2, 1, 20, 20), rand(3, 1, 3, 3, seed=1)
    with tc.kernels.use(**forced):
        with pytest.raises(NotImplementedError):
            pooled(x, w, None, (0, 0, 0, 0))
    assert pooled(x, w, None, (0, 0, 0, 0))[0].shape == (2, 3, 9, 9)


def test_thread_count_does_not_change_results(avx512, threads):
    x, w = rand(5, 1, 28, 28).astype(np.float32), rand(32, 1, 3, 3, seed=1).astype(np.float32)
    threads(1)
    one = pooled(x, w, None, (0, 0, 0, 0))
    threads(2)
    two = pooled(x, w, None, (0, 0, 0, 0))
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


def test_taps_and_indices_convert_both_ways():
    x = rand(3, 4, 17, 22)                               # 8 x 11 windows, a row and none left
    _, indices = variant("max_pool2d", "cpu.cpp")(x, kernel=(2, 2), stride=(2, 2),
                                                   padding=(0, 0), dilation=(1, 1),
                                                   ceil_mode=False)
    taps = window_taps(indices, 22)
    assert taps.dtype == np.uint8 and set(np.unique(taps)) == {0, 1, 2, 3}
    np.testing.assert_array_equal(window_indices(taps, 22), indices)


def pooled_weight_gradient(grad, taps, x, w_shape, padding, name="cpu.cpp"):
    return variant("conv2d_max_pool2d_backward_weight", name)(grad, taps, x, w_shape,
                                                              padding=padding, **UNIT)


def numpy_weight_gradient(grad, taps, x, w_shape, padding):
    """float64: the conv's gradient put together from taps, then correlated with x."""
    x = np.pad(x.astype(np.float64), ((0, 0), (0, 0), padding[:2], padding[2:]))
    n, out, out_h, out_w = grad.shape
    conv_h, conv_w = x.shape[2] - 2, x.shape[3] - 2
    conv_grad = np.zeros((n, out, conv_h, conv_w))
    rows = 2 * np.arange(out_h)[:, None] + taps // 2
    columns = 2 * np.arange(out_w) + taps % 2
    conv_grad[np.arange(n)[:, None, None, None], np.arange(out)[:, None, None], rows,
              columns] = grad
    dweight = np.empty(w_shape)
    for kh in range(3):
        for kw in range(3):
            window = x[:, :, kh:kh + conv_h, kw:kw + conv_w]
            dweight[:, 0, kh, kw] = np.einsum("nohw,nhw->o", conv_grad, window[:, 0])
    return dweight, conv_grad.sum(axis=(0, 2, 3))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_weight_gradient_from_taps_as_the_two_ops(avx512, case, dtype):
    n, h, w, out, padding = case
    x, wt = rand(n, 1, h, w).astype(dtype), rand(out, 1, 3, 3, seed=1).astype(dtype)
    y, taps = pooled(x, wt, None, padding)
    grad = rand(*y.shape, seed=3).astype(dtype)
    dweight, dbias = pooled_weight_gradient(grad, taps, x, wt.shape, padding)
    assert dweight.dtype == dbias.dtype == dtype and dweight.shape == wt.shape
    # the two ops (the same weight-gradient kernel, so the same bits)
    width = conv_width(x, padding)
    conv_grad = variant("max_pool2d_backward", "cpu.cpp")(
        grad, window_indices(taps, width), (n, out, x.shape[2] + sum(padding[:2]) - 2, width))
    expected = variant("conv2d_backward_weight", "cpu.cpp")(conv_grad, x, wt.shape,
                                                              padding=padding, **UNIT)
    np.testing.assert_array_equal(dweight, expected[0])
    np.testing.assert_array_equal(dbias, expected[1])
    for got, wide in zip((dweight, dbias), numpy_weight_gradient(grad, taps, x, wt.shape,
                                                                 padding)):
        np.testing.assert_allclose(got, wide, rtol=1e-4, atol=1e-4)
    # as the Keras face passes them, grad (and x) NHWC in memory: the same bits
    for got, same in zip(pooled_weight_gradient(channels_last(grad), taps, channels_last(x),
                                                wt.shape, padding), (dweight, dbias)):
        np.testing.assert_array_equal(got, same)


def test_weight_gradient_takes_any_taps(avx512):
    # taps not from a forward pass: each window's gradient goes where its tap says
    rng = np.random.default_rng(8)
    x, w_shape = rand(3, 1, 21, 34), (5, 1, 3, 3)
    taps = rng.integers(0, 4, size=(3, 5, 9, 16)).astype(np.uint8)
    grad = rand(3, 5, 9, 16, seed=9)
    got = pooled_weight_gradient(grad, taps, x, w_shape, (0, 0, 0, 0))
    for a, b in zip(got, numpy_weight_gradient(grad, taps, x, w_shape, (0, 0, 0, 0))):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
    reference = pooled_weight_gradient(grad, taps, x, w_shape, (0, 0, 0, 0), "cpu.reference")
    for a, b in zip(got, reference):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", ["cpu.cpp", "cpu.reference"])
def test_weight_gradient_refuses_taps_past_3(avx512, name):
    taps = np.zeros((2, 3, 9, 9), np.uint8)
    taps[1, 2, 8, 8] = 4
    with pytest.raises(ValueError, match="conv2d_max_pool2d_backward_weight: .*past 3"):
        pooled_weight_gradient(rand(2, 3, 9, 9), taps, rand(2, 1, 20, 20), (3, 1, 3, 3),
                               (0, 0, 0, 0), name)


def test_weight_gradient_declines_without_avx512(isa):
    x, taps = rand(2, 1, 20, 20), np.zeros((2, 3, 9, 9), np.uint8)
    args = (rand(2, 3, 9, 9), taps, x, (3, 1, 3, 3), (0, 0, 0, 0))
    if isa == "avx512":
        assert pooled_weight_gradient(*args)[0].shape == (3, 1, 3, 3)
    else:
        with pytest.raises(NotImplementedError):
            pooled_weight_gradient(*args)


@pytest.mark.parametrize("forced", [dict(conv2d_backward_weight="cpu.winograd_rows"),
                                    dict(max_pool2d_backward="cpu.reference")])
def test_weight_gradient_declines_where_another_variant_is_forced(avx512, forced):
    args = (rand(2, 3, 9, 9), np.zeros((2, 3, 9, 9), np.uint8), rand(2, 1, 20, 20),
            (3, 1, 3, 3), (0, 0, 0, 0))
    with tc.kernels.use(**forced):
        with pytest.raises(NotImplementedError):
            pooled_weight_gradient(*args)
    assert pooled_weight_gradient(*args)[0].shape == (3, 1, 3, 3)


def test_weight_gradient_declines_channels_last_images_of_more_channels(avx512):
    x = channels_last(rand(2, 3, 20, 20))
    with pytest.raises(NotImplementedError):
        pooled_weight_gradient(channels_last(rand(2, 3, 9, 9)), np.zeros((2, 3, 9, 9), np.uint8),
                               x, (3, 3, 3, 3), (0, 0, 0, 0))


def test_weight_gradient_threads_agree_within_rounding(avx512, threads):
    x, w = rand(9, 1, 28, 28).astype(np.float32), rand(32, 1, 3, 3, seed=1).astype(np.float32)
    y, taps = pooled(x, w, None, (0, 0, 0, 0))
    grad = rand(*y.shape, seed=2).astype(np.float32)
    threads(1)
    one = pooled_weight_gradient(grad, taps, x, w.shape, (0, 0, 0, 0))
    threads(2)
    two = pooled_weight_gradient(grad, taps, x, w.shape, (0, 0, 0, 0))
    for a, b in zip(one, two):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("x_shape, padding, x_grad", [
    ((3, 1, 20, 22), 0, False), ((2, 1, 19, 18), 1, False),   # the pooled weight gradient
    ((3, 1, 20, 22), 0, True),                                # dx too: the conv's gradient made
    ((2, 3, 9, 9), 1, True)])                                 # no pass: two ops
def test_gradients_are_the_two_ops(x_shape, padding, x_grad):
    rng = np.random.default_rng(5)
    x = tc.tensor(rng.standard_normal(x_shape), dtype="float32", requires_grad=x_grad)
    w = tc.tensor(rng.standard_normal((5, x_shape[1], 3, 3)), dtype="float32",
                  requires_grad=True)
    b = tc.tensor(rng.standard_normal(5), dtype="float32", requires_grad=True)
    results = []
    for forward in (conv2d_max_pool2d, lambda *a, **k: F.max_pool2d(F.conv2d(*a, **k), 2)):
        for t in (x, w, b):
            t.grad = None
        y = forward(x, w, b, padding=padding)
        (y * y).sum().backward()
        results.append([y.numpy()] + [t.grad.numpy() for t in (x, w, b) if t.requires_grad])
    for got, expected in zip(*results):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("x_grad", [False, True])
def test_where_no_pass_applies_runs_the_two_ops_and_keeps_their_indices(x_grad):
    # three input channels: no kernel pools as it convolves; the reference, which would turn
    # the pool's indices into taps and back, does not run
    x = tc.tensor(rand(2, 3, 9, 10), dtype="float32", requires_grad=x_grad)
    w = tc.tensor(rand(4, 3, 3, 3, seed=1), dtype="float32", requires_grad=True)
    ops = ops_run(lambda: conv2d_max_pool2d(x, w).sum().backward())
    assert {"conv2d", "max_pool2d", "max_pool2d_backward", "conv2d_backward_weight"} <= ops
    assert "conv2d_max_pool2d" not in ops and "conv2d_max_pool2d_backward_weight" not in ops
    assert ("conv2d_backward_input" in ops) == x_grad


def test_first_layer_backward_never_makes_the_conv_gradient(avx512):
    x = tc.tensor(rand(3, 1, 20, 22), dtype="float32")
    w = tc.tensor(rand(4, 1, 3, 3, seed=1), dtype="float32", requires_grad=True)
    ops = ops_run(lambda: conv2d_max_pool2d(x, w).sum().backward())
    assert "conv2d_max_pool2d_backward_weight" in ops and "max_pool2d_backward" not in ops


def test_gradcheck():
    rng = np.random.default_rng(6)
    x = tc.tensor(rng.standard_normal((2, 1, 6, 18)), dtype="float64")
    w = tc.tensor(rng.standard_normal((3, 1, 3, 3)), dtype="float64", requires_grad=True)
    b = tc.tensor(rng.standard_normal(3), dtype="float64", requires_grad=True)
    assert tc.autograd.gradcheck(lambda w, b: conv2d_max_pool2d(x, w, b), (w, b))
    x.requires_grad = True      # then through the conv's gradient, made from the taps
    assert tc.autograd.gradcheck(lambda x, w, b: conv2d_max_pool2d(x, w, b), (x, w, b))


def test_validates_against_the_reference():
    x = rand(3, 1, 20, 22).astype(np.float32)
    w = tc.tensor(rand(4, 1, 3, 3, seed=1), dtype="float32", requires_grad=True)
    with tc.kernels.validate():
        conv2d_max_pool2d(tc.tensor(x), w).sum().backward()


def ops_run(fn):
    with tc.kernels.profile() as profile:
        fn()
    return set(profile.ops)


@pytest.mark.parametrize("with_relu", [False, True])
def test_sequential_runs_conv_then_max_pool_as_one_op(with_relu):
    tc.manual_seed(7)
    layers = [nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2)]
    if not with_relu:
        del layers[1]
    model = nn.Sequential(*layers, nn.Flatten(), nn.Linear(4 * 9 * 10, 3))
    x = tc.tensor(rand(3, 1, 20, 22).astype(np.float32))
    for got, expected in model_and_layers_one_by_one(model, model, x, model.parameters):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    # the C++ pass where AVX-512 runs it; the two ops otherwise
    one_pass = _C.isa() == "avx512"
    assert ("conv2d_max_pool2d" in ops_run(lambda: model(x))) == one_pass
    assert ("conv2d" in ops_run(lambda: model(x))) == (not one_pass)


@pytest.mark.parametrize("pool", [nn.MaxPool2d(3), nn.MaxPool2d(2, stride=1),
                                  nn.MaxPool2d(2, padding=1), nn.MaxPool2d(2, ceil_mode=True),
                                  nn.AvgPool2d(2)])
def test_sequential_keeps_other_pools_apart(pool):
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), pool)
    assert "conv2d_max_pool2d" not in ops_run(lambda: model(tc.randn(2, 1, 20, 22)))


@pytest.mark.parametrize("args, error, message", [
    ((np.ones((2, 1, 20, 20), np.int32), np.ones((3, 1, 3, 3), np.float32), None),
     TypeError, "conv2d_max_pool2d"),
    ((np.ones((2, 1, 20, 20), np.float32), np.ones((3, 1, 3, 3), np.float64), None),
     TypeError, "weight"),
    ((np.ones((2, 1, 20, 20), np.float32), np.ones((3, 1, 3, 3), np.float32),
      np.ones(4, np.float32)), ValueError, "bias of shape"),
    ((np.ones((1, 20, 20), np.float32), np.ones((3, 1, 3, 3), np.float32), None),
     ValueError, "conv2d_max_pool2d"),
    ((np.ones((2, 2, 20, 20), np.float32), np.ones((3, 1, 3, 3), np.float32), None),
     ValueError, "divisible by groups"),
])
def test_bad_input_to_extension_raises(args, error, message):
    with pytest.raises(error, match=message):
        _C.conv2d_max_pool2d(*args, (1, 1), (0, 0, 0, 0), (1, 1), 1)


GOOD_BACKWARD = (np.ones((2, 3, 9, 9), np.float32), np.zeros((2, 3, 9, 9), np.uint8),
                 np.ones((2, 1, 20, 20), np.float32))


@pytest.mark.parametrize("position, bad, error, message", [
    (0, np.ones((2, 3, 9, 9), np.int32), TypeError, "conv2d_max_pool2d_backward_weight"),
    (1, np.zeros((2, 3, 9, 9), np.int64), TypeError, "taps of dtype uint8"),
    (2, np.ones((2, 1, 20, 20), np.float64), TypeError, "x"),
    (0, np.ones((2, 3, 9, 8), np.float32), ValueError, r"grad and taps of shape \(2, 3, 9, 9\)"),
    (1, np.zeros((2, 3, 8, 9), np.uint8), ValueError, r"got \(2, 3, 9, 9\) and \(2, 3, 8, 9\)"),
    (1, np.zeros((2, 3, 9, 18), np.uint8)[..., ::2], ValueError, "contiguous"),
    (2, np.ones((2, 1, 2, 20), np.float32), ValueError, "conv2d_max_pool2d_backward_weight"),
])
def test_bad_input_to_weight_gradient_raises(position, bad, error, message):
    args = list(GOOD_BACKWARD)
    args[position] = bad
    with pytest.raises(error, match=message):
        _C.conv2d_max_pool2d_backward_weight(*args, (3, 1, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1)
