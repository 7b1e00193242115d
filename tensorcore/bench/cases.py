"""The benchmark cases: one workload, set up once per library, as zero-argument callables.

A case's ``setup(device)`` builds random inputs (NumPy, float32) and returns
``{library: fn}``: "tensorcore" always, "numpy" (CuPy on the GPU) and "torch" where that
library has the workload and is installed. Shapes come from ``SHAPES``;
``TENSORCORE_BENCH_TINY=1`` swaps in tiny ones (the tests use it to run the command in
seconds).
"""
import os
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

import tensorcore as tc
import tensorcore.nn.functional as F

from ..kernels import registry

try:
    import torch
except ImportError:  # the baselines that need it are left out
    torch = None


@dataclass
class Case:
    name: str                   # "sgemm 1024x1024x1024"
    group: str                  # "sgemm", "conv2d", "lstm_cell", "lstm", "cnn_step", ...
    ops: tuple                  # kernel ops it runs (--op selects on these and on group)
    flops: Optional[float]      # multiply-adds x 2 per call, None where not meaningful
    setup: Callable             # setup(device) -> {library: fn}
    skip: Optional[str] = None  # why it cannot run here, or None
    extra: dict = field(default_factory=dict)   # shape details for the JSON


def tiny():
    return os.environ.get("TENSORCORE_BENCH_TINY", "0") not in ("", "0")


# (M, K, N) and friends; the tiny set keeps every case but shrinks it to milliseconds
SHAPES = {
    "sgemm_square": [256, 512, 1024, 2048, 4096],
    "sgemm_dl": [(32, 784, 128), (128, 784, 512), (32, 128, 512), (64, 512, 2048)],
    "conv2d": [((64, 1, 28, 28), 32, 0), ((64, 32, 14, 14), 64, 0), ((32, 64, 32, 32), 64, 1)],
    "lstm_cell": [(32, 100, 128), (64, 256, 512)],
    "lstm": {"steps": 100, "batch": 32, "input": 100, "hidden": 128, "layers": 2},
    "cnn_step": {"batch": 128},
}
TINY_SHAPES = {
    "sgemm_square": [16, 33],
    "sgemm_dl": [(3, 7, 5), (8, 16, 32)],
    "conv2d": [((2, 1, 8, 8), 4, 0), ((2, 3, 6, 6), 5, 1)],
    "lstm_cell": [(2, 3, 4)],
    "lstm": {"steps": 3, "batch": 2, "input": 3, "hidden": 4, "layers": 2},
    "cnn_step": {"batch": 4},
}
# --quick: a few representative cases, for `make demo`
QUICK = ("sgemm 1024x1024x1024", "sgemm 128x784x512", "conv2d (64,32,14,14)->64 fwd+bwd",
         "lstm_cell (64,256,512) fwd+bwd")


def shapes():
    return TINY_SHAPES if tiny() else SHAPES


def _random(rng, *shape):
    return rng.standard_normal(shape, dtype=np.float32)


def _torch_device(device):
    return "cuda" if device.startswith("cuda") else "cpu"


def sgemm(m, k, n):
    def setup(device):
        rng = np.random.default_rng(0)
        a, b = _random(rng, m, k), _random(rng, k, n)
        matmul = registry.get("matmul")
        if device.startswith("cuda"):
            import cupy
            a, b = cupy.asarray(a), cupy.asarray(b)
            fns = {"tensorcore": lambda: matmul(a, b), "cupy": lambda: cupy.matmul(a, b)}
        else:
            fns = {"tensorcore": lambda: matmul(a, b), "numpy": lambda: a @ b}
        if torch is not None:
            ta = torch.as_tensor(a, device=_torch_device(device))
            tb = torch.as_tensor(b, device=_torch_device(device))
            fns["torch"] = lambda: ta @ tb
        return fns
    return Case(f"sgemm {m}x{k}x{n}", "sgemm", ("matmul",), 2.0 * m * k * n, setup,
                extra={"m": m, "k": k, "n": n})


def conv2d(x_shape, out_channels, padding, backward):
    n, c, h, w = x_shape
    oh, ow = h + 2 * padding - 2, w + 2 * padding - 2
    first_layer = c == 1    # as in a network: no gradient for the input images
    forward_flops = 2.0 * n * out_channels * oh * ow * c * 9
    flops = forward_flops * ((2 if first_layer else 3) if backward else 1)

    def setup(device):
        rng = np.random.default_rng(0)
        x, b = _random(rng, *x_shape), _random(rng, out_channels)
        wt = _random(rng, out_channels, c, 3, 3) * 0.1
        g = _random(rng, n, out_channels, oh, ow)
        grad_x = backward and not first_layer
        tx = tc.tensor(x, device=device, requires_grad=grad_x)
        tw = tc.tensor(wt, device=device, requires_grad=backward)
        tb = tc.tensor(b, device=device, requires_grad=backward)
        tg = tc.tensor(g, device=device)
        fns = {"tensorcore": _step(lambda: F.conv2d(tx, tw, tb, padding=padding), tg,
                                   [tx, tw, tb], backward)}
        if torch is not None:
            dev = _torch_device(device)
            px = torch.tensor(x, device=dev, requires_grad=grad_x)
            pw = torch.tensor(wt, device=dev, requires_grad=backward)
            pb = torch.tensor(b, device=dev, requires_grad=backward)
            pg = torch.tensor(g, device=dev)
            fns["torch"] = _step(lambda: torch.nn.functional.conv2d(px, pw, pb, padding=padding),
                                 pg, [px, pw, pb], backward, no_grad=torch.no_grad)
        return fns
    shape = ",".join(map(str, x_shape))
    ops = ("conv2d", "conv2d_backward_input", "conv2d_backward_weight") if backward else ("conv2d",)
    return Case(f"conv2d ({shape})->{out_channels} {'fwd+bwd' if backward else 'fwd'}", "conv2d",
                ops, flops, setup, extra={"x": list(x_shape), "out_channels": out_channels,
                                          "kernel": 3, "padding": padding})


def _step(forward, grad, leaves, backward, no_grad=None):
    """A callable running ``forward()`` (under no_grad when forward-only), then, for
    fwd+bwd, ``backward(grad)`` with the leaves' grads cleared first."""
    if not backward:
        context = no_grad or tc.no_grad

        def run():
            with context():
                forward()
        return run

    def run():
        for leaf in leaves:
            leaf.grad = None
        forward().backward(grad)
    return run


def lstm_cell(batch, inputs, hidden):
    flops = 3 * 2.0 * batch * (inputs + hidden) * 4 * hidden   # forward GEMMs, then 2x back

    def setup(device):
        rng = np.random.default_rng(0)
        arrays = [_random(rng, batch, inputs), _random(rng, batch, hidden),
                  _random(rng, batch, hidden), _random(rng, 4 * hidden, inputs) * 0.1,
                  _random(rng, 4 * hidden, hidden) * 0.1, _random(rng, 4 * hidden),
                  _random(rng, 4 * hidden)]
        g = _random(rng, batch, hidden)
        ours = [tc.tensor(a, device=device, requires_grad=True) for a in arrays]
        x, h, c, w_ih, w_hh, b_ih, b_hh = ours
        fns = {"tensorcore": _step(lambda: F.lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh)[0],
                                   tc.tensor(g, device=device), ours, True)}
        if torch is not None:
            dev = _torch_device(device)
            cell = torch.nn.LSTMCell(inputs, hidden).to(dev)
            with torch.no_grad():
                for param, value in zip((cell.weight_ih, cell.weight_hh, cell.bias_ih,
                                         cell.bias_hh), arrays[3:]):
                    param.copy_(torch.as_tensor(value))
            px, ph, pc = (torch.tensor(a, device=dev, requires_grad=True) for a in arrays[:3])
            fns["torch"] = _step(lambda: cell(px, (ph, pc))[0], torch.tensor(g, device=dev),
                                 [px, ph, pc, *cell.parameters()], True)
        return fns
    return Case(f"lstm_cell ({batch},{inputs},{hidden}) fwd+bwd", "lstm_cell",
                ("lstm_cell", "lstm_cell_backward"), flops, setup,
                extra={"batch": batch, "input": inputs, "hidden": hidden})


def missing_modules(*names):
    """The first of ``names`` ("nn.LSTM", "optim.Adam") tensorcore does not have yet."""
    for name in names:
        package, attribute = name.split(".")
        if not hasattr(getattr(tc, package, None), attribute):
            return f"needs tc.nn/tc.optim (tc.{name} is missing)"
    return None
