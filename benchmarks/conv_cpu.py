"""conv2d on the CPU: tensorcore's C++ kernels ("cpu.cpp"), its im2col reference
("cpu.reference") and PyTorch (oneDNN), side by side in one process.

    python benchmarks/conv_cpu.py [--threads 2] [--rounds 5] [--json PATH]

For each layer: forward+backward through F.conv2d and .backward() (the first layer's input
needs no grad, so its backward is the weight and bias gradient only, as in PyTorch with
x.requires_grad=False), forward only under no_grad, and the kernels alone on NumPy arrays.
The libraries take turns for several rounds (so a burst of load from elsewhere on a shared
machine hits all of them), each turn the median of single calls after a pause, because idle
OpenMP workers keep spinning and slow the next library on a 2-core machine; the result is the
median over rounds (and the fastest round). Prints ms, GFLOP/s and PyTorch's time over
tensorcore's (> 1: tensorcore is faster).
"""
import argparse
import json
import statistics
import time

import numpy as np

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore.bench.machine import describe, set_threads
from tensorcore.kernels import registry

try:
    import torch
except ImportError:
    torch = None

PAUSE = 1.0   # seconds between timings
# name, x shape, weight shape, padding, whether x needs a gradient
LAYERS = [
    ("mnist conv1", (64, 1, 28, 28), (32, 1, 3, 3), 0, False),
    ("mnist conv2", (64, 32, 14, 14), (64, 32, 3, 3), 0, True),
    ("cifar 64->64", (32, 64, 32, 32), (64, 64, 3, 3), 1, True),
]
VARIANTS = ("cpu.cpp", "cpu.reference")


def flops(x_shape, w_shape, padding):
    """Forward FLOPs (one multiply-add = 2): each backward pass costs as much."""
    N, _, H, W = x_shape
    O, Cg, kh, kw = w_shape
    OH, OW = H + 2 * padding - kh + 1, W + 2 * padding - kw + 1
    return 2 * N * O * OH * OW * Cg * kh * kw


def timed(fn, budget=0.5, least=10):
    """Median wall time of single fn() calls after a pause and a warm-up call: each call is
    timed on its own, so a call that another process preempted is an outlier, not part of an
    average."""
    time.sleep(PAUSE)
    fn()
    samples, spent = [], 0.0
    while len(samples) < least or spent < budget:
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
        spent += samples[-1]
    return statistics.median(samples)


def tensorcore_steps(x, w, b, padding, x_grad, variant):
    """{what: (variant to force, no-argument function)} for one variant of tensorcore."""
    xt = tc.tensor(x, requires_grad=x_grad)
    wt, bt = tc.tensor(w, requires_grad=True), tc.tensor(b, requires_grad=True)
    grad = np.random.default_rng(3).standard_normal(
        F.conv2d(xt, wt, bt, padding=padding).shape).astype(x.dtype)
    gt = tc.tensor(grad)

    def step():
        F.conv2d(xt, wt, bt, padding=padding).backward(gt)

    def forward():
        with tc.no_grad():
            F.conv2d(xt, wt, bt, padding=padding)

    geometry = dict(stride=(1, 1), padding=(padding,) * 4, dilation=(1, 1), groups=1)
    conv, backward_input, backward_weight = (registry.get(n) for n in (
        "conv2d", "conv2d_backward_input", "conv2d_backward_weight"))

    def kernels():
        conv(x, w, b, **geometry)
        backward_weight(grad, x, w.shape, **geometry)
        if x_grad:
            backward_input(grad, w, x.shape, **geometry)

    with tc.kernels.use(conv2d=variant):
        kernels()
        assert conv.last.name == variant, conv.last.name
    return {"forward_backward": step, "forward": forward, "kernels_forward_backward": kernels}


def torch_steps(x, w, b, padding, x_grad):
    xt = torch.tensor(x, requires_grad=x_grad)
    wt, bt = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    grad = torch.tensor(np.random.default_rng(3).standard_normal(
        torch.nn.functional.conv2d(xt, wt, bt, padding=padding).shape).astype(x.dtype))

    def step():
        torch.nn.functional.conv2d(xt, wt, bt, padding=padding).backward(grad)

    def forward():
        with torch.no_grad():
            torch.nn.functional.conv2d(xt, wt, bt, padding=padding)
    return {"forward_backward": step, "forward": forward}


def time_in_rounds(steps, rounds):
    """steps: {library: {what: fn}} -> {library: {what: {"median", "min"} seconds over the
    rounds}}, the libraries taking turns in every round. tensorcore variants run forced."""
    samples = {lib: {what: [] for what in fns} for lib, fns in steps.items()}
    for _ in range(rounds):
        for lib, fns in steps.items():
            for what, fn in fns.items():
                if lib in VARIANTS:
                    with tc.kernels.use(conv2d=lib):
                        samples[lib][what].append(timed(fn))
                else:
                    samples[lib][what].append(timed(fn))
    return {lib: {what: {"median": float(np.median(s)), "min": float(np.min(s))}
                  for what, s in whats.items()}
            for lib, whats in samples.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help="tensorcore conv variants to time, comma-separated")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    set_threads(args.threads, torch)
    results = {"machine": describe(), "threads": args.threads, "layers": []}
    rng = np.random.default_rng(0)
    for name, x_shape, w_shape, padding, x_grad in LAYERS:
        x = rng.standard_normal(x_shape).astype(np.float32)
        w = (rng.standard_normal(w_shape) * 0.1).astype(np.float32)
        b = rng.standard_normal(w_shape[0]).astype(np.float32)
        forward_flops = flops(x_shape, w_shape, padding)
        step_flops = forward_flops * (3 if x_grad else 2)
        layer = {"name": name, "x": x_shape, "weight": w_shape, "padding": padding,
                 "x_requires_grad": x_grad, "forward_gflop": forward_flops / 1e9,
                 "forward_backward_gflop": step_flops / 1e9}
        steps = {v: tensorcore_steps(x, w, b, padding, x_grad, v) for v in args.variants.split(",")}
        if torch is not None:
            steps["torch"] = torch_steps(x, w, b, padding, x_grad)
        layer.update(time_in_rounds(steps, args.rounds))
        results["layers"].append(layer)
        print(f"\n{name}: x {x_shape} weight {w_shape} padding {padding}, "
              f"{step_flops / 1e6:.0f} MFLOP forward+backward")
        print(f"  {'':14s} {'':26s} {'median over rounds':>32s}   {'fastest round':>30s}")
        for library in [v for v in layer if v in VARIANTS or v == "torch"]:
            for what, seconds in layer[library].items():
                work = forward_flops if what == "forward" else step_flops
                line = f"  {library:14s} {what:26s}"
                for stat in ("median", "min"):
                    t = seconds[stat]
                    line += f" {t * 1e3:8.3f} ms {work / t / 1e9:6.1f} GFLOP/s"
                    if torch is not None and library != "torch":
                        theirs = layer["torch"][what.replace("kernels_", "")][stat]
                        line += f" {theirs / t:5.2f}x"
                    else:
                        line += " " * 6
                print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
