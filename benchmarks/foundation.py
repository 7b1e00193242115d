"""Foundation benchmark: tensorcore's per-op framework overhead and its first C++ kernels
(GEMM, activations) against NumPy and PyTorch, side by side in one process.

    python benchmarks/foundation.py [--json benchmarks/results/cpu-foundation-<date>.json]

Medians of repeats; between libraries the script sleeps briefly, because idle OpenMP and
OpenBLAS workers keep spinning and slow the next library on a 2-core machine.
"""
import argparse
import datetime
import json

import numpy as np

import tensorcore as tc
from tensorcore.bench.machine import describe
from tensorcore.bench.timing import paused_median_seconds
from tensorcore.kernels import registry

try:
    import torch
except ImportError:
    torch = None

PAUSE = 0.3
GEMM_SHAPES = [(256, 256, 256), (1024, 1024, 1024), (32, 784, 128), (128, 784, 512),
               (64, 512, 2048)]
ACTIVATION_SIZE = 1 << 20


def timed(fn, **kwargs):
    return paused_median_seconds(fn, PAUSE, **kwargs)


def chain_timings(a, b, no_grad, chain=20):
    """Seconds per op for a chain of multiplies, forward+backward and forward only, in
    whichever library ``a``, ``b`` and ``no_grad`` come from."""
    def step():
        y = a
        for _ in range(chain):
            y = y * b
        y.sum().backward()

    def forward():
        with no_grad():
            y = a
            for _ in range(chain):
                y = y * b
    return {"forward_backward": timed(step) / (chain + 1), "forward_no_grad": timed(forward) / chain}


def overhead_per_op():
    """On 4x4 tensors the time is the framework's, not the arithmetic's."""
    results = {"tensorcore": chain_timings(tc.randn(4, 4, requires_grad=True),
                                           tc.randn(4, 4, requires_grad=True), tc.no_grad)}
    if torch is not None:
        results["torch"] = chain_timings(torch.randn(4, 4, requires_grad=True),
                                         torch.randn(4, 4, requires_grad=True), torch.no_grad)
    return results


def gemm():
    rows = []
    for m, k, n in GEMM_SHAPES:
        rng = np.random.default_rng(0)
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        ours = registry.get("matmul").variants["cpu.gemm"].fn
        np.testing.assert_allclose(ours(a, b), a @ b, rtol=1e-4, atol=1e-3 * np.sqrt(k))
        flops = 2.0 * m * k * n
        row = {"shape": [m, k, n], "tensorcore_gemm": flops / timed(lambda: ours(a, b)) / 1e9,
               "numpy": flops / timed(lambda: a @ b) / 1e9}
        if torch is not None:
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            row["torch"] = flops / timed(lambda: ta @ tb) / 1e9
        rows.append(row)
    return rows


def activations():
    rows = []
    x = np.random.default_rng(0).standard_normal(ACTIVATION_SIZE).astype(np.float32)
    torch_fns = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh", "gelu": "gelu"}
    for name in ("relu", "sigmoid", "tanh", "gelu"):
        op = registry.get(name)
        params = {"approximate": "none"} if name == "gelu" else {}
        ours, ref = op.variants["cpu.cpp"].fn, op.reference("cpu").fn
        np.testing.assert_allclose(ours(x, **params), ref(x, **params), rtol=1e-5, atol=1e-6)
        row = {"op": name, "elements": ACTIVATION_SIZE,
               "tensorcore_cpp_us": timed(lambda: ours(x, **params)) * 1e6,
               "numpy_reference_us": timed(lambda: ref(x, **params), repeats=3) * 1e6}
        if torch is not None:
            tx = torch.from_numpy(x)
            fn = getattr(torch.nn.functional, torch_fns[name])
            row["torch_us"] = timed(lambda: fn(tx)) * 1e6
        rows.append(row)
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    from tensorcore import _C
    report = {"date": datetime.date.today().isoformat(), "machine": describe(),
              "tensorcore": tc.__version__, "numpy": np.__version__,
              "torch": torch.__version__ if torch is not None else None,
              "cpu_isa": _C.isa(), "threads": _C.get_num_threads(),
              "overhead_seconds_per_op": overhead_per_op(), "gemm_gflops": gemm(),
              "activations": activations()}
    print(json.dumps(report, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
