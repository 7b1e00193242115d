"""Whole-model benchmark cases: a 2-layer LSTM over a sequence and one Adam training step of
the classic MNIST CNN, each against the same model in PyTorch. Written against the tc.nn /
tc.optim API of SPEC.md; a case skips with the missing name where tensorcore lacks it."""
import numpy as np

import tensorcore as tc
import tensorcore.nn.functional as F

from .cases import Case, _random, _step, _torch_device, missing_modules, shapes, torch


def lstm():
    s = shapes()["lstm"]
    steps, batch, layers = s["steps"], s["batch"], s["layers"]
    inputs, hidden = s["input"], s["hidden"]
    per_step = sum(2.0 * batch * ((inputs if layer == 0 else hidden) + hidden) * 4 * hidden
                   for layer in range(layers))
    flops = 3 * per_step * steps    # forward GEMMs, then twice that backward

    def setup(device):
        rng = np.random.default_rng(0)
        x, g = _random(rng, steps, batch, inputs), _random(rng, steps, batch, hidden)
        model = tc.nn.LSTM(inputs, hidden, num_layers=layers).to(device)
        tx = tc.tensor(x, device=device)
        fns = {"tensorcore": _step(lambda: model(tx)[0], tc.tensor(g, device=device),
                                   list(model.parameters()), True)}
        if torch is not None:
            dev = _torch_device(device)
            theirs = torch.nn.LSTM(inputs, hidden, num_layers=layers).to(dev)
            px = torch.tensor(x, device=dev)
            fns["torch"] = _step(lambda: theirs(px)[0], torch.tensor(g, device=dev),
                                 list(theirs.parameters()), True)
        return fns
    return Case(f"lstm 2 layers x {steps} steps ({batch},{inputs},{hidden}) fwd+bwd", "lstm",
                ("lstm_cell", "lstm_cell_backward", "matmul"), flops, setup,
                skip=missing_modules("nn.LSTM"),
                extra={"steps": steps, "batch": batch, "input": inputs, "hidden": hidden,
                       "layers": layers})


def _cnn(nn):
    """Conv 32 3x3, ReLU, MaxPool 2, Flatten, Dense 128, ReLU, Dense 10 on (N, 1, 28, 28),
    built from ``nn`` (tc.nn or torch.nn: the same layer names)."""
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(32 * 13 * 13, 128), nn.ReLU(), nn.Linear(128, 10))


def cnn_step():
    batch = shapes()["cnn_step"]["batch"]
    conv = 2.0 * batch * 32 * 26 * 26 * 9
    dense = 2.0 * batch * (32 * 13 * 13 * 128 + 128 * 10)
    flops = 2 * conv + 3 * dense    # the first layer computes no input gradient

    def setup(device):
        rng = np.random.default_rng(0)
        x = rng.random((batch, 1, 28, 28), dtype=np.float32)
        y = rng.integers(0, 10, batch)
        model = _cnn(tc.nn).to(device)
        optimizer = tc.optim.Adam(model.parameters(), lr=1e-3)
        tx, ty = tc.tensor(x, device=device), tc.tensor(y, device=device)

        def ours():
            optimizer.zero_grad()
            F.cross_entropy(model(tx), ty).backward()
            optimizer.step()
        fns = {"tensorcore": ours}
        if torch is not None:
            dev = _torch_device(device)
            theirs = _cnn(torch.nn).to(dev)
            torch_optimizer = torch.optim.Adam(theirs.parameters(), lr=1e-3)
            px, py = torch.tensor(x, device=dev), torch.tensor(y, device=dev)

            def reference():
                torch_optimizer.zero_grad()
                torch.nn.functional.cross_entropy(theirs(px), py).backward()
                torch_optimizer.step()
            fns["torch"] = reference
        return fns
    return Case(f"cnn Adam step, batch {batch}", "cnn_step",
                ("conv2d_max_pool2d", "conv2d_max_pool2d_backward_weight", "conv2d",
                 "conv2d_backward_weight", "max_pool2d", "max_pool2d_backward", "matmul", "relu",
                 "relu_backward", "cross_entropy", "cross_entropy_backward"),
                flops, setup,
                skip=missing_modules("nn.Sequential", "nn.Conv2d", "nn.Linear", "nn.MaxPool2d",
                                     "nn.Flatten", "nn.ReLU", "optim.Adam"),
                extra={"batch": batch})
