"""The fused ops the layers and optimizers use: bias_activation (a Dense layer's epilogue),
lstm_sequence (one layer of an LSTM over a whole sequence) and the in-place optimizer steps,
each against a float64 NumPy reference, finite differences and PyTorch where installed."""
import numpy as np
import pytest

import tensorcore as tc
from tensorcore.errors import ShapeError
from tensorcore.kernels import registry
from tensorcore.ops.activations import bias_activation
from tensorcore.ops.lstm import lstm_sequence

from helpers import assert_close, check, rand, torch
from test_lstm import np_lstm_cell

NP_ACTIVATIONS = {"none": lambda z: z, "relu": lambda z: np.maximum(z, 0),
                  "sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh}


@pytest.mark.parametrize("activation", list(NP_ACTIVATIONS))
@pytest.mark.parametrize("shape", [(1,), (7, 3), (2, 5, 33)])
def test_bias_activation(activation, shape):
    torch_act = None if torch is None else {"none": lambda z: z, "relu": torch.relu,
                                            "sigmoid": torch.sigmoid, "tanh": torch.tanh}[activation]
    check(lambda x, b: bias_activation(x, b, activation),
          [rand(*shape, seed=1) + 0.05, rand(shape[-1], seed=2)],
          np_fn=lambda x, b: NP_ACTIVATIONS[activation](x + b),
          torch_fn=None if torch is None else lambda x, b: torch_act(x + b))


def test_bias_activation_rejects_bad_input():
    with pytest.raises(ShapeError, match=r"bias_activation: expected bias of shape \(4,\).*\(3,\)"):
        bias_activation(tc.ones(2, 4), tc.ones(3), "relu")
    with pytest.raises(ValueError, match="bias_activation: activation must be one of"):
        bias_activation(tc.ones(2, 4), tc.ones(4), "softmax")


def np_lstm_sequence(x, h, c, w_ih, w_hh, b_ih, b_hh):
    out = []
    for x_t in x:
        h, c = np_lstm_cell(x_t, h, c, w_ih, w_hh, b_ih, b_hh)
        out.append(h)
    return np.stack(out), h, c


def sequence_inputs(steps, batch, inputs, hidden):
    return [rand(steps, batch, inputs, seed=1), rand(batch, hidden, seed=2),
            rand(batch, hidden, seed=3), rand(4 * hidden, inputs, seed=4) * 0.5,
            rand(4 * hidden, hidden, seed=5) * 0.5, rand(4 * hidden, seed=6),
            rand(4 * hidden, seed=7)]


def tc_lstm_sequence(x, h, c, w_ih, w_hh, b_ih, b_hh):
    out, (h_n, c_n) = lstm_sequence(x, (h, c), w_ih, w_hh, b_ih, b_hh)
    return out, h_n, c_n


def torch_lstm_sequence(x, h, c, w_ih, w_hh, b_ih, b_hh):
    out, h_n, c_n = torch._VF.lstm(x, (h[None], c[None]), (w_ih, w_hh, b_ih, b_hh), True, 1,
                                   0.0, False, False, False)    # one layer of torch.nn.LSTM
    return out, h_n[0], c_n[0]


@pytest.mark.parametrize("steps,batch,inputs,hidden", [(1, 1, 1, 1), (5, 3, 7, 4), (9, 2, 3, 5)])
def test_lstm_sequence(steps, batch, inputs, hidden):
    check(tc_lstm_sequence, sequence_inputs(steps, batch, inputs, hidden), np_fn=np_lstm_sequence,
          torch_fn=None if torch is None else torch_lstm_sequence)


def test_lstm_sequence_gradient_of_final_state_only():
    x, h, c, w_ih, w_hh, b_ih, b_hh = (tc.tensor(a, requires_grad=True)
                                       for a in sequence_inputs(4, 2, 3, 5))
    tc.autograd.gradcheck(lambda *args: tc_lstm_sequence(*args)[2], (x, h, c, w_ih, w_hh, b_ih, b_hh))


def test_lstm_sequence_rejects_bad_input():
    x, h, c, w_ih, w_hh, b_ih, b_hh = (tc.tensor(a) for a in sequence_inputs(3, 2, 3, 5))
    with pytest.raises(ShapeError, match=r"lstm_sequence: expected input of shape \(T, B, I\)"):
        lstm_sequence(x[0], (h, c), w_ih, w_hh)
    with pytest.raises(ShapeError, match=r"lstm_sequence: .* T >= 1 .*got \(0, 2, 3\)"):
        lstm_sequence(x[:0], (h, c), w_ih, w_hh)      # no final state to return
    with pytest.raises(ShapeError, match=r"lstm_sequence: expected h \(B, H\) of shape \(2, 5\)"):
        lstm_sequence(x, (h[:1], c), w_ih, w_hh)


# (name, tensorcore kernel arguments after the state, torch optimizer and arguments)
OPTIMIZER_CASES = [
    ("sgd", dict(lr=0.1, momentum=0.0, nesterov=False, weight_decay=0.0), "SGD", dict(lr=0.1)),
    ("sgd", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01), "SGD",
     dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("sgd", dict(lr=0.05, momentum=0.8, nesterov=False, weight_decay=0.0), "SGD",
     dict(lr=0.05, momentum=0.8)),
    ("adam", dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1, decoupled=False),
     "Adam", dict(lr=0.01, weight_decay=0.1)),
    ("adam", dict(lr=0.01, beta1=0.5, beta2=0.99, eps=1e-6, weight_decay=0.1, decoupled=True),
     "AdamW", dict(lr=0.01, betas=(0.5, 0.99), eps=1e-6, weight_decay=0.1)),
    ("rmsprop", dict(lr=0.01, alpha=0.9, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False),
     "RMSprop", dict(lr=0.01, alpha=0.9)),
    ("rmsprop", dict(lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.1, momentum=0.5, centered=True),
     "RMSprop", dict(lr=0.01, weight_decay=0.1, momentum=0.5, centered=True)),
]


def optimizer_steps(name, args, param, grads):
    """The parameter after one kernel step per gradient, state kept between steps."""
    args = dict(args)
    zeros = lambda: np.zeros_like(param)              # noqa: E731
    if name == "sgd":
        velocity = zeros() if args["momentum"] else None
        step = lambda g, t: registry.get("sgd_step")(param, g, velocity, **args)     # noqa: E731
    elif name == "adam":
        m, v = zeros(), zeros()
        step = lambda g, t: registry.get("adam_step")(param, g, m, v, t, **args)     # noqa: E731
    else:
        centered = args.pop("centered")
        square_avg, buf = zeros(), zeros() if args["momentum"] else None
        grad_avg = zeros() if centered else None
        step = lambda g, t: registry.get("rmsprop_step")(param, g, square_avg, buf,  # noqa: E731
                                                         grad_avg, **args)
    for t, g in enumerate(grads, start=1):
        assert step(g.astype(param.dtype, copy=False), t) is None
    return param


def np_optimizer_steps(name, args, param, grads):
    """The same updates written out in float64, as torch.optim documents them."""
    p, state = param.copy(), {}
    for t, g in enumerate(grads, start=1):
        g = g + args["weight_decay"] * p if not args.get("decoupled") else g
        if name == "sgd":
            if args["momentum"]:
                state["v"] = args["momentum"] * state.get("v", 0) + g
                g = g + args["momentum"] * state["v"] if args["nesterov"] else state["v"]
            p = p - args["lr"] * g
        elif name == "adam":
            p = p * (1 - args["lr"] * args["weight_decay"]) if args["decoupled"] else p
            b1, b2 = args["beta1"], args["beta2"]
            state["m"] = b1 * state.get("m", 0) + (1 - b1) * g
            state["v"] = b2 * state.get("v", 0) + (1 - b2) * g * g
            m_hat, v_hat = state["m"] / (1 - b1 ** t), state["v"] / (1 - b2 ** t)
            p = p - args["lr"] * m_hat / (np.sqrt(v_hat) + args["eps"])
        else:
            a = args["alpha"]
            state["s"] = a * state.get("s", 0) + (1 - a) * g * g
            avg = state["s"]
            if args["centered"]:
                state["g"] = a * state.get("g", 0) + (1 - a) * g
                avg = avg - state["g"] ** 2
            avg = np.sqrt(avg) + args["eps"]
            if args["momentum"]:
                state["b"] = args["momentum"] * state.get("b", 0) + g / avg
                p = p - args["lr"] * state["b"]
            else:
                p = p - args["lr"] * g / avg
    return p


@pytest.mark.parametrize("name,args,torch_name,torch_args", OPTIMIZER_CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_optimizer_step(name, args, torch_name, torch_args, dtype):
    param, grads = rand(7, 3, seed=1), [rand(7, 3, seed=10 + t) for t in range(4)]
    got = optimizer_steps(name, args, param.astype(dtype), grads)
    assert_close(got, np_optimizer_steps(name, args, param, grads), dtype)
    if torch is not None:
        p = torch.nn.Parameter(torch.tensor(param))
        optimizer = getattr(torch.optim, torch_name)([p], **torch_args)
        for g in grads:
            p.grad = torch.tensor(g)
            optimizer.step()
        assert_close(got, p.detach().numpy(), dtype, what="vs torch.optim")
