"""Memory-bound CPU kernels of the C++ backend against the NumPy reference and PyTorch, side by
side in one process: max_pool2d and avg_pool2d forward+backward (2x2 on the MNIST CNN's
activations, 3x3 at strides 1 and 2), cross-entropy forward+backward, bias_act (ReLU) forward
and forward+backward, and the Adam step.

    python benchmarks/elementwise_cpu.py [--threads N] [--json benchmarks/results/cpu-elementwise-<date>.json]

Medians of repeats, float32, 1 s pause between libraries (idle OpenMP workers of the previous
library keep spinning on a 2-core machine). For each case: microseconds per call and, for
ours, the bytes the kernel must move divided by its time (compare with DRAM ~42 GB/s; data
that fits the caches can go faster). --threads sets tensorcore's and PyTorch's thread counts
alike: on a machine shared with other jobs, 1 thread gives the steadier comparison, since an
OpenMP barrier waits for a descheduled thread's whole time slice.
"""
import argparse
import datetime
import json
import os

import numpy as np

import tensorcore as tc
from tensorcore.bench.machine import describe, set_threads
from tensorcore.bench.timing import paused_median_seconds
from tensorcore.kernels import registry

try:
    import torch
except ImportError:
    torch = None

PAUSE = 1.0


def timed(fn):
    return paused_median_seconds(fn, PAUSE, repeats=5, min_seconds=0.05)


def kernels(op):
    """(ours, reference) functions of an op."""
    target = registry.get(op)
    return target.variants["cpu.cpp"].fn, target.reference("cpu").fn


def row(case, bytes_moved, ours, reference, theirs):
    """Times of the three libraries' versions of one case -> a result row."""
    result = {"case": case, "bytes": bytes_moved}
    result["tensorcore_cpp_us"] = timed(ours) * 1e6
    result["numpy_reference_us"] = timed(reference) * 1e6
    if theirs is not None:
        result["torch_us"] = timed(theirs) * 1e6
    result["cpp_gb_per_s"] = bytes_moved / result["tensorcore_cpp_us"] / 1e3
    print(json.dumps(result), flush=True)
    return result


def pool(mode, shape, kernel, stride, padding=0, channels_last=False):
    """max_pool2d or avg_pool2d (``mode`` "max" or "avg") forward+backward, square windows."""
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    if channels_last:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    window = ((kernel, kernel), (stride, stride), (padding, padding))
    if mode == "max":
        geometry = window + ((1, 1), False)
        forward, backward = "max_pool2d", "max_pool2d_backward"
    else:
        geometry = window + (False, True, None)
        forward, backward = "avg_pool2d", "avg_pool2d_backward"
    fwd, fwd_ref = kernels(forward)
    bwd, bwd_ref = kernels(backward)
    y, expected = fwd(x, *geometry), fwd_ref(x, *geometry)
    if mode == "max":
        np.testing.assert_array_equal(y[1], expected[1])
        y = y[0]
    else:
        np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
    grad = np.random.default_rng(1).standard_normal(y.shape, dtype=np.float32)

    def run(f, b):
        if mode == "max":
            return lambda: b(grad, f(x, *geometry)[1], x.shape)
        return lambda: b(grad, x.shape, *geometry)

    theirs = None
    if torch is not None:
        tx = torch.from_numpy(x).requires_grad_()
        tgrad = torch.from_numpy(grad)
        torch_pool = getattr(torch.nn.functional, forward)

        def theirs():
            torch_pool(tx, kernel, stride, padding).backward(tgrad)
            tx.grad = None
    # x read and dx written (4 B each per input); y written and grad read (4 B each per
    # output), and the indices (8 B) written and read
    n, m = x.size, grad.size
    bytes_moved = 8 * n + (24 if mode == "max" else 8) * m
    name = (f"{forward} {kernel}x{kernel} stride {stride} pad {padding} fwd+bwd {shape}"
            f"{' channels-last' if channels_last else ''}")
    return row(name, bytes_moved, run(fwd, bwd), run(fwd_ref, bwd_ref), theirs)


def cross_entropy(rows, classes):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((rows, classes), dtype=np.float32)
    target = rng.integers(0, classes, rows)
    grad = np.full(rows, 1.0 / rows, np.float32)
    fwd, fwd_ref = kernels("cross_entropy")
    bwd, bwd_ref = kernels("cross_entropy_backward")
    np.testing.assert_allclose(fwd(logits, target)[0], fwd_ref(logits, target)[0], rtol=1e-5)

    def run(f, b):
        return lambda: b(grad, f(logits, target)[1], target)

    theirs = None
    if torch is not None:
        tl, tt = torch.from_numpy(logits).requires_grad_(), torch.from_numpy(target)
        tgrad = torch.from_numpy(grad)

        def theirs():
            torch.nn.functional.cross_entropy(tl, tt, reduction="none").backward(tgrad)
            tl.grad = None
    n = rows * classes     # logits read, log_probs written and read, dlogits written
    return row(f"cross_entropy fwd+bwd ({rows}, {classes})", 16 * n, run(fwd, bwd),
               run(fwd_ref, bwd_ref), theirs)


def bias_act(rows, features, backward):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, features), dtype=np.float32)
    bias = rng.standard_normal(features, dtype=np.float32)
    grad = rng.standard_normal((rows, features), dtype=np.float32)
    fwd, fwd_ref = kernels("bias_act")
    bwd, bwd_ref = kernels("bias_act_backward")
    np.testing.assert_allclose(fwd(x, bias, "relu"), fwd_ref(x, bias, "relu"))

    def run(f, b):
        if backward:
            return lambda: b(grad, f(x, bias, "relu"), "relu")
        return lambda: f(x, bias, "relu")

    theirs = None
    if torch is not None:
        tx, tb = torch.from_numpy(x).requires_grad_(), torch.from_numpy(bias).requires_grad_()
        tgrad = torch.from_numpy(grad)

        def theirs():
            if not backward:
                with torch.no_grad():
                    return torch.relu(tx + tb)
            torch.relu(tx + tb).backward(tgrad)
            tx.grad = tb.grad = None
    n = rows * features    # forward: x read, y written; backward: grad, y read, dx written
    name = f"bias_act relu {'fwd+bwd' if backward else 'fwd'} ({rows}, {features})"
    return row(name, (20 if backward else 8) * n, run(fwd, bwd), run(fwd_ref, bwd_ref), theirs)


def adam(size):
    rng = np.random.default_rng(0)
    param = rng.standard_normal(size, dtype=np.float32)
    grad = rng.standard_normal(size, dtype=np.float32)
    state = {name: [param.copy(), np.zeros_like(param), np.zeros_like(param)]
             for name in ("ours", "reference")}
    hyper = dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False)
    step_fn = dict(zip(("ours", "reference"), kernels("adam_step")))

    def stepper(name):
        p, m, v = state[name]
        return lambda: step_fn[name](p, grad, m, v, 10, **hyper)

    theirs = None
    if torch is not None:
        tp = torch.nn.Parameter(torch.from_numpy(param.copy()))
        tp.grad = torch.from_numpy(grad)
        optimizer = torch.optim.Adam([tp], lr=1e-3, foreach=True)
        theirs = optimizer.step
    # param, grad, exp_avg, exp_avg_sq read; param, exp_avg, exp_avg_sq written
    return row(f"adam_step {size} params", 28 * size, stepper("ours"), stepper("reference"),
               theirs)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--threads", type=int, help="threads for tensorcore and PyTorch")
    args = parser.parse_args()
    from tensorcore import _C
    if args.threads:
        set_threads(args.threads, torch)
    mnist = (128, 32, 26, 26)
    rows = [pool("max", mnist, 2, 2), pool("max", mnist, 2, 2, channels_last=True),
            pool("max", (32, 64, 56, 56), 3, 2, 1), pool("max", (32, 64, 32, 32), 3, 1, 1),
            pool("avg", mnist, 2, 2), pool("avg", (32, 64, 32, 32), 3, 1, 1),
            pool("avg", (32, 64, 56, 56), 3, 2, 1), cross_entropy(128, 10),
            cross_entropy(256, 1000), bias_act(128, 128, False), bias_act(128, 128, True),
            bias_act(1024, 4096, False), bias_act(1024, 4096, True), adam(700_000),
            adam(1_200_000), adam(8_000_000)]
    report = {"date": datetime.date.today().isoformat(), "machine": describe(),
              "tensorcore": tc.__version__, "numpy": np.__version__,
              "torch": torch.__version__ if torch is not None else None,
              "cpu_isa": _C.isa(), "threads": _C.get_num_threads(), "float": "float32",
              "load_average_1min": os.getloadavg()[0],
              "results": rows}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
