"""conv2d on the CPU: tensorcore's C++ kernels ("cpu.cpp"), its im2col reference
("cpu.reference") and PyTorch (oneDNN), side by side in one process.

    python benchmarks/conv_cpu.py [--threads 2] [--rounds 5] [--layers mnist|few-channels]
                                  [--channels-last] [--json PATH]

For each layer: forward+backward through F.conv2d and .backward() (the first layer's input
needs no grad, so its backward is the weight and bias gradient only, as in PyTorch with
x.requires_grad=False), forward only under no_grad, and the kernels alone on NumPy arrays.
The libraries take turns for several rounds (so a burst of load from elsewhere on a shared
machine hits all of them), each turn the median of single calls after a pause, because idle
OpenMP workers keep spinning and slow the next library on a 2-core machine; the result is the
median over rounds (and the fastest round). Prints ms, GFLOP/s and PyTorch's time over
tensorcore's (> 1: tensorcore is faster). --channels-last runs every library on NHWC memory
(NCHW-shaped views, as the Keras face passes them; PyTorch's channels_last format);
--layers few-channels times first layers of 1 to 16 input channels at strides and kernel sizes
the 3x3 stride-1 Winograd does not take.
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
# name, x shape, weight shape, stride, padding, whether x needs a gradient
LAYERS = {
    "mnist": [
        ("mnist conv1", (64, 1, 28, 28), (32, 1, 3, 3), 1, 0, False),
        ("mnist conv2", (64, 32, 14, 14), (64, 32, 3, 3), 1, 0, True),
        ("cifar 64->64", (32, 64, 32, 32), (64, 64, 3, 3), 1, 1, True),
    ],
    "few-channels": [
        ("3->32 3x3 stride 2", (64, 3, 32, 32), (32, 3, 3, 3), 2, 1, False),
        ("3->64 7x7 stride 2", (32, 3, 64, 64), (64, 3, 7, 7), 2, 3, False),
        ("4->64 5x5", (64, 4, 32, 32), (64, 4, 5, 5), 1, 2, False),
        ("8->64 3x3 stride 2", (64, 8, 28, 28), (64, 8, 3, 3), 2, 1, False),
        ("16->64 3x3 stride 2", (64, 16, 28, 28), (64, 16, 3, 3), 2, 1, False),
        ("1->32 5x5", (64, 1, 28, 28), (32, 1, 5, 5), 1, 2, False),
    ],
}
VARIANTS = ("cpu.cpp", "cpu.reference")


def flops(x_shape, w_shape, stride, padding):
    """Forward FLOPs (one multiply-add = 2): each backward pass costs as much."""
    N, _, H, W = x_shape
    O, Cg, kh, kw = w_shape
    OH, OW = (H + 2 * padding - kh) // stride + 1, (W + 2 * padding - kw) // stride + 1
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


def in_layout(a, channels_last):
    """The (N, C, H, W) array ``a``, or with channels_last a view of NHWC memory."""
    if not channels_last:
        return a
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def tensorcore_steps(x, w, b, stride, padding, x_grad, variant, channels_last):
    """{what: (variant to force, no-argument function)} for one variant of tensorcore."""
    x = in_layout(x, channels_last)
    xt = tc.tensor(x, requires_grad=x_grad)
    wt, bt = tc.tensor(w, requires_grad=True), tc.tensor(b, requires_grad=True)
    grad = in_layout(np.random.default_rng(3).standard_normal(
        F.conv2d(xt, wt, bt, stride, padding).shape).astype(x.dtype), channels_last)
    gt = tc.tensor(grad)

    def step():
        F.conv2d(xt, wt, bt, stride, padding).backward(gt)

    def forward():
        with tc.no_grad():
            F.conv2d(xt, wt, bt, stride, padding)

    geometry = dict(stride=(stride,) * 2, padding=(padding,) * 4, dilation=(1, 1), groups=1)
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


def torch_steps(x, w, b, stride, padding, x_grad, channels_last):
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    xt = torch.tensor(x).contiguous(memory_format=memory_format).requires_grad_(x_grad)
    wt, bt = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    grad = torch.tensor(np.random.default_rng(3).standard_normal(
        torch.nn.functional.conv2d(xt, wt, bt, stride, padding).shape).astype(x.dtype))
    grad = grad.contiguous(memory_format=memory_format)

    def step():
        torch.nn.functional.conv2d(xt, wt, bt, stride, padding).backward(grad)

    def forward():
        with torch.no_grad():
            torch.nn.functional.conv2d(xt, wt, bt, stride, padding)
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
    parser.add_argument("--layers", choices=sorted(LAYERS), default="mnist")
    parser.add_argument("--channels-last", action="store_true",
                        help="images and gradients in NHWC memory")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    set_threads(args.threads, torch)
    results = {"machine": describe(), "threads": args.threads,
               "channels_last": args.channels_last, "layers": []}
    rng = np.random.default_rng(0)
    for name, x_shape, w_shape, stride, padding, x_grad in LAYERS[args.layers]:
        x = rng.standard_normal(x_shape).astype(np.float32)
        w = (rng.standard_normal(w_shape) * 0.1).astype(np.float32)
        b = rng.standard_normal(w_shape[0]).astype(np.float32)
        forward_flops = flops(x_shape, w_shape, stride, padding)
        step_flops = forward_flops * (3 if x_grad else 2)
        layer = {"name": name, "x": x_shape, "weight": w_shape, "stride": stride,
                 "padding": padding,
                 "x_requires_grad": x_grad, "forward_gflop": forward_flops / 1e9,
                 "forward_backward_gflop": step_flops / 1e9}
        steps = {v: tensorcore_steps(x, w, b, stride, padding, x_grad, v, args.channels_last)
                 for v in args.variants.split(",")}
        if torch is not None:
            steps["torch"] = torch_steps(x, w, b, stride, padding, x_grad, args.channels_last)
        layer.update(time_in_rounds(steps, args.rounds))
        results["layers"].append(layer)
        print(f"\n{name}: x {x_shape} weight {w_shape} stride {stride} padding {padding}, "
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
