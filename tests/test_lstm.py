"""lstm_cell: forward against a float64 NumPy LSTM step, gradients by finite differences, and
both against PyTorch's LSTM cell where it is installed."""
import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore.errors import DeviceError, DTypeError, ShapeError

from helpers import assert_close, check, rand, torch

needs_cuda = pytest.mark.skipif(not tc.cuda_available(), reason="no CUDA device")


def np_sigmoid(z):
    return 1 / (1 + np.exp(-z))


def np_lstm_cell(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step, gates in PyTorch's order i, f, g, o."""
    z = x @ w_ih.T + h @ w_hh.T                               # (B, 4H)
    z = z + (0 if b_ih is None else b_ih) + (0 if b_hh is None else b_hh)
    i, f, g, o = np.split(z, 4, axis=-1)
    c_new = np_sigmoid(f) * c + np_sigmoid(i) * np.tanh(g)
    return np_sigmoid(o) * np.tanh(c_new), c_new


def torch_lstm_cell(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
    if x.ndim == 1:         # torch.lstm_cell takes batches only; nn.LSTMCell unsqueezes too
        h_new, c_new = torch.lstm_cell(x[None], (h[None], c[None]), w_ih, w_hh, b_ih, b_hh)
        return h_new[0], c_new[0]
    return torch.lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh)


def tc_lstm_cell(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
    return F.lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh)


def lstm_inputs(batch, inputs, hidden, biases=2, seed=0):
    """x, h, c, w_ih, w_hh and ``biases`` bias vectors; batch None for an unbatched step."""
    lead = () if batch is None else (batch,)
    return ([rand(*lead, inputs, seed=seed), rand(*lead, hidden, seed=seed + 1),
             rand(*lead, hidden, seed=seed + 2), rand(4 * hidden, inputs, seed=seed + 3),
             rand(4 * hidden, hidden, seed=seed + 4)]
            + [rand(4 * hidden, seed=seed + 5 + k) for k in range(biases)])


@pytest.mark.parametrize("batch, inputs, hidden", [(1, 1, 1), (3, 7, 5), (2, 33, 3), (7, 3, 1)])
@pytest.mark.parametrize("biases", [0, 1, 2])
def test_lstm_cell(batch, inputs, hidden, biases):
    check(tc_lstm_cell, lstm_inputs(batch, inputs, hidden, biases), np_fn=np_lstm_cell,
          torch_fn=torch_lstm_cell)


def test_lstm_cell_unbatched():
    check(tc_lstm_cell, lstm_inputs(None, 3, 2), np_fn=np_lstm_cell, torch_fn=torch_lstm_cell)


def test_lstm_cell_zero_state_when_hx_is_none():
    x, h, c, w_ih, w_hh, b_ih, b_hh = lstm_inputs(2, 3, 4)
    zeros = np.zeros((2, 4))
    check(lambda x, w_ih, w_hh, b_ih, b_hh: F.lstm_cell(x, None, w_ih, w_hh, b_ih, b_hh),
          [x, w_ih, w_hh, b_ih, b_hh],
          np_fn=lambda x, w_ih, w_hh, b_ih, b_hh: np_lstm_cell(x, zeros, zeros, w_ih, w_hh, b_ih, b_hh))


def test_lstm_cell_gradient_through_h_only():
    """c_new gets no gradient: the backward pass runs with dc = 0."""
    check(lambda *args: tc_lstm_cell(*args)[0], lstm_inputs(3, 4, 2),
          np_fn=lambda *args: np_lstm_cell(*args)[0],
          torch_fn=lambda *args: torch_lstm_cell(*args)[0])


def test_lstm_cell_two_steps_share_weights():
    """An unrolled pair of steps: the weights' gradients accumulate over both."""
    x1, h, c, w_ih, w_hh, b_ih, b_hh = lstm_inputs(2, 3, 2)
    x2 = rand(2, 3, seed=9)

    def two_steps(cell):
        def run(x1, x2, h, c, w_ih, w_hh, b_ih, b_hh):
            h, c = cell(x1, h, c, w_ih, w_hh, b_ih, b_hh)
            return cell(x2, h, c, w_ih, w_hh, b_ih, b_hh)
        return run

    check(two_steps(tc_lstm_cell), [x1, x2, h, c, w_ih, w_hh, b_ih, b_hh],
          np_fn=two_steps(np_lstm_cell), torch_fn=two_steps(torch_lstm_cell))


def tensors(arrays):
    return [tc.tensor(a) for a in arrays]


@pytest.mark.parametrize("position, shape, expected", [
    (3, (8, 4), r"w_ih \(4H, I\) of shape \(8, 3\), got \(8, 4\)"),
    (4, (8, 3), r"w_hh \(4H, H\) of shape \(12, 3\), got \(8, 3\)"),
    (4, (8,), r"w_hh of shape \(4H, H\), got \(8,\)"),
    (5, (7,), r"b_ih \(4H,\) of shape \(8,\), got \(7,\)"),
    (6, (8, 1), r"b_hh \(4H,\) of shape \(8,\), got \(8, 1\)"),
    (1, (2, 3), r"h \(B, H\) of shape \(2, 2\), got \(2, 3\)"),
    (2, (3, 2), r"c \(B, H\) of shape \(2, 2\), got \(3, 2\)"),
    (0, (2, 1, 3), r"input of shape \(B, I\) or \(I,\), got \(2, 1, 3\)"),
])
def test_lstm_cell_bad_shapes(position, shape, expected):
    args = tensors(lstm_inputs(2, 3, 2))
    args[position] = tc.tensor(rand(*shape))
    with pytest.raises(ShapeError, match="lstm_cell: expected " + expected):
        tc_lstm_cell(*args)


def test_lstm_cell_unbatched_state_must_be_unbatched():
    x, h, c, w_ih, w_hh = tensors(lstm_inputs(None, 3, 2, biases=0))
    with pytest.raises(ShapeError, match=r"lstm_cell: expected h \(H,\) of shape \(2,\), got \(1, 2\)"):
        F.lstm_cell(x, (h.unsqueeze(0), c), w_ih, w_hh)


@pytest.mark.parametrize("hx", [tc.zeros(2, 2), (tc.zeros(2, 2),), "state"])
def test_lstm_cell_hx_must_be_a_pair(hx):
    x, _, _, w_ih, w_hh = tensors(lstm_inputs(2, 3, 2, biases=0))
    with pytest.raises(TypeError, match="lstm_cell: expected hx to be a pair"):
        F.lstm_cell(x, hx, w_ih, w_hh)


def test_lstm_cell_dtypes():
    x, h, c, w_ih, w_hh = tensors(lstm_inputs(2, 3, 2, biases=0))
    with pytest.raises(DTypeError, match="lstm_cell: .*float64.*float32"):
        F.lstm_cell(x, (h, c), w_ih.float(), w_hh)
    with pytest.raises(DTypeError, match="lstm_cell: .*int64"):
        F.lstm_cell(x.long(), (h, c), w_ih, w_hh)


@needs_cuda
def test_lstm_cell_on_cuda_matches_cpu():
    arrays = lstm_inputs(5, 7, 3)
    results = []
    for device in ("cpu", "cuda"):
        args = [tc.tensor(a, device=device, requires_grad=True) for a in arrays]
        h_new, c_new = tc_lstm_cell(*args)
        (h_new * h_new + c_new).sum().backward()
        results.append([h_new.numpy(), c_new.numpy()] + [t.grad.numpy() for t in args])
    for got, expected in zip(results[1], results[0]):
        assert_close(got, expected)


@needs_cuda
def test_lstm_cell_tensors_on_different_devices():
    x, h, c, w_ih, w_hh = tensors(lstm_inputs(2, 3, 2, biases=0))
    with pytest.raises(DeviceError, match="lstm_cell"):
        F.lstm_cell(x, (h, c), w_ih.cuda(), w_hh)
