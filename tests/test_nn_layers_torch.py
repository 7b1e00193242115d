"""Each layer against torch.nn with the same weights: outputs, and the gradients of the input
and of every parameter, in float64 (tight) and float32 (loose). Also checks that parameter
names and shapes (the state_dict) are torch's, by loading ours into the torch layer."""
import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn
from tests.helpers import assert_close, needs_torch, rand, torch

pytestmark = needs_torch
DTYPES = [np.float64, np.float32]


def torch_dtype(dtype):
    return torch.float64 if dtype == np.float64 else torch.float32


def flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in flat(o)]
    return [out]


def copy_weights(ours, theirs):
    """Load our state_dict into the torch module: names, order and shapes must agree."""
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert list(ours_sd) == list(theirs_sd)
    for key in ours_sd:
        assert tuple(ours_sd[key].shape) == tuple(theirs_sd[key].shape), key
    theirs.load_state_dict({k: torch.tensor(np.array(v.numpy())) for k, v in ours_sd.items()})


def compare(ours, theirs, inputs, dtype, call=None, steps=1):
    """Run both modules on ``inputs`` (float arrays require grad; integer arrays are indices)
    ``steps`` times; compare outputs, input gradients and parameter gradients each time."""
    call = call or (lambda module, *xs: module(*xs))
    ours.to(dtype)
    theirs.to(torch_dtype(dtype))
    copy_weights(ours, theirs)
    rng = np.random.default_rng(7)
    for step in range(steps):
        xs_ours = [tc.tensor(x.astype(dtype) if x.dtype.kind == "f" else x,
                             requires_grad=x.dtype.kind == "f") for x in inputs]
        xs_theirs = [torch.tensor(x.astype(dtype), requires_grad=True) if x.dtype.kind == "f"
                     else torch.tensor(x) for x in inputs]
        out_ours, out_theirs = flat(call(ours, *xs_ours)), flat(call(theirs, *xs_theirs))
        assert len(out_ours) == len(out_theirs)
        total_ours = total_theirs = 0
        for i, (o, t) in enumerate(zip(out_ours, out_theirs)):
            assert_close(o.numpy(), t.detach().numpy(), dtype, what=f"step {step} output {i}")
            u = rng.standard_normal(o.shape).astype(dtype)
            total_ours = total_ours + (o * tc.tensor(u)).sum()
            total_theirs = total_theirs + (t * torch.tensor(u)).sum()
        ours.zero_grad()
        theirs.zero_grad()
        total_ours.backward()
        total_theirs.backward()
        for i, (x, y) in enumerate(zip(xs_ours, xs_theirs)):
            if x.requires_grad:
                assert_close(x.grad.numpy(), y.grad.numpy(), dtype, what=f"input {i} gradient")
        theirs_params = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            q = theirs_params[name]
            assert (p.grad is None) == (q.grad is None), name
            if p.grad is not None:
                assert_close(p.grad.numpy(), q.grad.numpy(), dtype, what=f"gradient of {name}")
    return ours, theirs


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 5), (5,)])
def test_linear(dtype, bias, shape):
    compare(nn.Linear(5, 7, bias=bias), torch.nn.Linear(5, 7, bias=bias), [rand(*shape, seed=1)],
            dtype)


CONVS = [
    dict(in_channels=3, out_channels=4, kernel_size=3),
    dict(in_channels=3, out_channels=5, kernel_size=(3, 2), stride=2, padding=1, bias=False),
    dict(in_channels=4, out_channels=6, kernel_size=3, dilation=2, groups=2, padding=(2, 1)),
    dict(in_channels=4, out_channels=4, kernel_size=4, padding="same", groups=4),
    dict(in_channels=2, out_channels=3, kernel_size=(2, 3), padding="same", dilation=(1, 2)),
    dict(in_channels=3, out_channels=2, kernel_size=3, padding="valid", stride=(1, 2)),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", CONVS)
def test_conv2d(dtype, options):
    x = rand(2, options["in_channels"], 9, 7, seed=2)
    compare(nn.Conv2d(**options), torch.nn.Conv2d(**options), [x], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ours,theirs", [
    (lambda: nn.MaxPool2d(2), lambda: torch.nn.MaxPool2d(2)),
    (lambda: nn.MaxPool2d(3, stride=2, padding=1), lambda: torch.nn.MaxPool2d(3, 2, 1)),
    (lambda: nn.AvgPool2d(2), lambda: torch.nn.AvgPool2d(2)),
    (lambda: nn.AvgPool2d(3, 1, 1, count_include_pad=False),
     lambda: torch.nn.AvgPool2d(3, 1, 1, count_include_pad=False)),
    (lambda: nn.Flatten(), lambda: torch.nn.Flatten()),
    (lambda: nn.Flatten(0, 2), lambda: torch.nn.Flatten(0, 2)),
    (lambda: nn.ReLU(), lambda: torch.nn.ReLU()),
    (lambda: nn.LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2)),
    (lambda: nn.Sigmoid(), lambda: torch.nn.Sigmoid()),
    (lambda: nn.Tanh(), lambda: torch.nn.Tanh()),
    (lambda: nn.GELU(), lambda: torch.nn.GELU()),
    (lambda: nn.GELU("tanh"), lambda: torch.nn.GELU("tanh")),
    (lambda: nn.Softmax(dim=1), lambda: torch.nn.Softmax(dim=1)),
    (lambda: nn.LogSoftmax(dim=-1), lambda: torch.nn.LogSoftmax(dim=-1)),
    (lambda: nn.Identity(), lambda: torch.nn.Identity()),
])
def test_parameterless_layers(dtype, ours, theirs):
    compare(ours(), theirs(), [rand(2, 3, 6, 5, seed=3)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layer,shape", [("BatchNorm1d", (8, 3)), ("BatchNorm1d", (5, 3, 4)),
                                         ("BatchNorm2d", (4, 3, 5, 6))])
@pytest.mark.parametrize("options", [dict(), dict(momentum=0.3, eps=1e-3),
                                     dict(affine=False), dict(momentum=None),
                                     dict(track_running_stats=False)])
def test_batchnorm_train_then_eval(dtype, layer, shape, options):
    x = rand(*shape, seed=4, low=-2, high=3)
    ours, theirs = compare(getattr(nn, layer)(3, **options),
                           getattr(torch.nn, layer)(3, **options), [x], dtype, steps=3)
    for (name, b), (_, tb) in zip(ours.named_buffers(), theirs.named_buffers()):
        assert_close(b.numpy(), tb.numpy(), dtype, what=f"buffer {name} after 3 steps")
    ours.eval()
    theirs.eval()
    compare(ours, theirs, [rand(*shape, seed=5)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_repeated_indices(dtype, padding_idx):
    indices = np.array([[1, 2, 1, 0], [2, 2, 6, 1]], dtype=np.int64)
    compare(nn.Embedding(7, 3, padding_idx=padding_idx),
            torch.nn.Embedding(7, 3, padding_idx=padding_idx), [indices], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_lstm_cell_several_steps(dtype, with_state, bias):
    xs = rand(4, 3, 5, seed=6)
    state = [rand(3, 6, seed=7), rand(3, 6, seed=8)] if with_state else []

    def unroll(cell, x, *hc):
        hx = tuple(hc) if hc else None
        outputs = []
        for t in range(x.shape[0]):
            hx = cell(x[t], hx)
            outputs.append(hx[0])
        return outputs + [hx[1]]
    compare(nn.LSTMCell(5, 6, bias=bias), torch.nn.LSTMCell(5, 6, bias=bias), [xs] + state,
            dtype, call=unroll)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_lstm(dtype, batch_first, with_state, num_layers):
    T, B, I, H = 5, 3, 4, 6
    x = rand(*((B, T, I) if batch_first else (T, B, I)), seed=9)
    state = [rand(num_layers, B, H, seed=10), rand(num_layers, B, H, seed=11)] \
        if with_state else []

    def run(lstm, x, *hc):
        return lstm(x, tuple(hc)) if hc else lstm(x)
    options = dict(num_layers=num_layers, batch_first=batch_first)
    compare(nn.LSTM(I, H, **options), torch.nn.LSTM(I, H, **options), [x] + state, dtype,
            call=run)


@pytest.mark.parametrize("dtype", DTYPES)
def test_lstm_unbatched_and_without_bias(dtype):
    compare(nn.LSTM(3, 4, num_layers=2, bias=False), torch.nn.LSTM(3, 4, num_layers=2, bias=False),
            [rand(6, 3, seed=12)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cnn_sequential(dtype):
    def build(lib):
        return lib.Sequential(lib.Conv2d(1, 4, 3, padding=1), lib.BatchNorm2d(4), lib.ReLU(),
                              lib.MaxPool2d(2), lib.Conv2d(4, 6, 3), lib.Tanh(), lib.Flatten(),
                              lib.Linear(6 * 2 * 2, 5), lib.LogSoftmax(dim=1))
    compare(build(nn), build(torch.nn), [rand(3, 1, 8, 8, seed=13)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,target", [
    ("MSELoss", lambda: rand(4, 3, seed=20)),
    ("BCELoss", lambda: rand(4, 3, seed=20, low=0, high=1)),
    ("BCEWithLogitsLoss", lambda: rand(4, 3, seed=20, low=0, high=1)),
    ("CrossEntropyLoss", lambda: np.array([0, 2, 1, 2])),
    ("NLLLoss", lambda: np.array([0, 2, 1, 1])),
])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_loss_modules(dtype, name, target, reduction):
    x = rand(4, 3, seed=21, low=0.05, high=0.95) if name == "BCELoss" else rand(4, 3, seed=21)
    # a float target is a second differentiable input; class indices are not
    compare(getattr(nn, name)(reduction=reduction), getattr(torch.nn, name)(reduction=reduction),
            [x, target()], dtype)
