"""Validate, then time, every "cuda.*" kernel variant against the vendor libraries on one GPU.

    python benchmarks/cuda_kernels.py benchmarks/results/cuda_h200.json [--quick]

1. Validation: every variant runs on fresh random inputs and every element of its output is
   compared with the float64 reference (cuda.reference on float64 copies of the inputs);
   a mismatch stops the run before any timing. TF32 gets a TF32 tolerance.
2. Timing: CUDA events around each call on the default stream, median of repeats after warm-up:
   SGEMM n = 1024..8192 (fp32 and TF32) against cuBLAS (cupy.matmul) and torch.matmul (with and
   without allow_tf32); conv2d forward/backward against im2col + cuBLAS (cuda.reference) and
   torch (cuDNN); the LSTM cell; activations on 256 MB tensors against the measured device copy
   bandwidth (a CuPy copy: bytes read + written per second).
Prints a table and writes JSON with the device description (name, compute capability, SMs,
driver and CUDA runtime versions).
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from a checkout

TF32_TOLERANCE, FP32_TOLERANCE = 5e-3, 1e-4


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json", help="where to write the results (JSON)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--repeat", type=int, default=20, help="timed calls per case (median)")
    return parser.parse_args(argv)


def device_description(cupy):
    props = cupy.cuda.runtime.getDeviceProperties(0)
    return {"name": props["name"].decode(),
            "compute_capability": f"{props['major']}.{props['minor']}",
            "multiprocessors": props["multiProcessorCount"],
            "memory_gib": round(props["totalGlobalMem"] / 2**30, 1),
            "driver": cupy.cuda.runtime.driverGetVersion(),
            "cuda_runtime": cupy.cuda.runtime.runtimeGetVersion(), "cupy": cupy.__version__}


def time_ms(cupy, fn, repeat, warmup=3):
    """Median milliseconds of fn() between CUDA events on the default stream."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start, end = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, end))
    return float(np.median(times))


def check_all_elements(cupy, op, variant, got, expected, tol):
    """Every element of got against the float64 reference, tolerance scaled by its magnitude."""
    got = got if isinstance(got, (tuple, list)) else (got,)
    expected = expected if isinstance(expected, (tuple, list)) else (expected,)
    for i, (g, e) in enumerate(zip(got, expected)):
        e = e.astype(cupy.float64)
        scale = max(1.0, float(cupy.abs(e).max()))
        bad = int((cupy.abs(g.astype(cupy.float64) - e) > tol * scale + tol * cupy.abs(e)).sum())
        if bad:
            raise SystemExit(f"VALIDATION FAILED: {op} {variant} output {i}: {bad} of {e.size} "
                             "elements outside tolerance")


class Bench:
    def __init__(self, cupy, repeat):
        import tensorcore  # noqa: F401  (registers every variant)
        from tensorcore.kernels import registry
        self.cupy, self.repeat, self.registry, self.rows = cupy, repeat, registry, []
        self.rng = cupy.random.default_rng(0)

    def rand(self, *shape):
        return self.rng.uniform(-1, 1, shape, dtype=self.cupy.float32)

    def variants(self, op):
        return {name: v for name, v in self.registry.get(op).variants.items()
                if v.device == "cuda" and v.available}

    def op(self, op, case, args, params=(), work=None, unit=None, extra=None):
        """Validate and time every cuda variant of op (plus ``extra``: name -> callable)."""
        cupy = self.cupy
        as64 = [a.astype(cupy.float64) if hasattr(a, "dtype") and a.dtype.kind == "f" else a
                for a in args]
        expected = self.registry.get(op).reference("cuda").fn(*as64, *params)
        for name, variant in self.variants(op).items():
            try:
                got = variant.fn(*args, *params)
            except NotImplementedError:
                continue
            tol = TF32_TOLERANCE if name == "cuda.tf32" else FP32_TOLERANCE
            check_all_elements(cupy, op, name, got, expected, tol)
            self.record(op, case, name, lambda: variant.fn(*args, *params), work, unit)
        for name, fn in (extra or {}).items():
            self.record(op, case, name, fn, work, unit)

    def record(self, op, case, name, fn, work, unit):
        ms = time_ms(self.cupy, fn, self.repeat)
        rate = work / (ms * 1e-3) / 1e12 if unit == "TFLOP/s" else (
            work / (ms * 1e-3) / 1e9 if unit == "GB/s" else None)
        self.rows.append({"op": op, "case": case, "variant": name, "ms": round(ms, 4),
                          "rate": None if rate is None else round(rate, 2), "unit": unit})
        print(f"{op:24s} {case:28s} {name:20s} {ms:10.4f} ms"
              + ("" if rate is None else f" {rate:9.2f} {unit}"), flush=True)


def torch_or_none():
    try:
        import torch
        return torch if torch.cuda.is_available() else None
    except ImportError:
        return None


def bench_copy(b, n):
    x = b.rand(n)
    y = b.cupy.empty_like(x)
    b.record("copy", f"{n * 4 >> 20} MB", "cupy.copyto", lambda: b.cupy.copyto(y, x),
             2 * x.nbytes, "GB/s")
    return b.rows[-1]["rate"]


def bench_gemm(b, torch, sizes):
    for n in sizes:
        a, c = b.rand(n, n), b.rand(n, n)
        extra = {}
        if torch is not None:
            ta, tc_ = torch.as_tensor(a, device="cuda"), torch.as_tensor(c, device="cuda")

            def torch_mm(tf32):
                def run():
                    torch.backends.cuda.matmul.allow_tf32 = tf32
                    torch.matmul(ta, tc_)
                return run
            extra = {"torch fp32": torch_mm(False), "torch tf32": torch_mm(True)}
        b.op("matmul", f"{n}x{n}x{n}", (a, c), work=2 * n ** 3, unit="TFLOP/s", extra=extra)


def bench_conv(b, torch, configs):
    for (N, C, H, W), O, pad in configs:
        x, w, bias = b.rand(N, C, H, W), b.rand(O, C, 3, 3) * 0.1, b.rand(O)
        geometry = ((1, 1), (pad,) * 4, (1, 1), 1)
        OH, OW = H + 2 * pad - 2, W + 2 * pad - 2
        flops = 2 * N * O * OH * OW * C * 9
        case = f"({N},{C},{H},{W})->{O} pad {pad}"
        extra = {}
        if torch is not None:
            tx, tw, tb = (torch.as_tensor(t, device="cuda") for t in (x, w, bias))
            extra = {"torch (cuDNN)": lambda: torch.nn.functional.conv2d(tx, tw, tb, padding=pad)}
        b.op("conv2d", case, (x, w, bias), geometry, flops, "TFLOP/s", extra)
        g = b.rand(N, O, OH, OW)
        b.op("conv2d_backward_input", case, (g, w, (N, C, H, W)), geometry, flops, "TFLOP/s")
        b.op("conv2d_backward_weight", case, (g, x, (O, C, 3, 3)), geometry, flops, "TFLOP/s")


def bench_lstm(b, torch, B, I, H):
    args = (b.rand(B, I), b.rand(B, H), b.rand(B, H), b.rand(4 * H, I) * 0.1,
            b.rand(4 * H, H) * 0.1, b.rand(4 * H), b.rand(4 * H))
    flops = 2 * B * 4 * H * (I + H)
    extra = {}
    if torch is not None:
        tx, th, tcc, *weights = (torch.as_tensor(a, device="cuda") for a in args)
        extra = {"torch lstm_cell": lambda: torch._VF.lstm_cell(tx, (th, tcc), *weights)}
    b.op("lstm_cell", f"B={B} I={I} H={H}", args, (), flops, "TFLOP/s", extra)


def bench_activations(b, torch, n):
    x = b.rand(n)
    for op, params, torch_fn in (("relu", (), "relu"), ("sigmoid", (), "sigmoid"),
                                 ("tanh", (), "tanh"), ("gelu", ("tanh",), "gelu"),
                                 ("gelu", ("none",), "gelu")):
        extra = {}
        if torch is not None:
            tx = torch.as_tensor(x, device="cuda")
            fn = getattr(torch.nn.functional, torch_fn)
            extra = {"torch": (lambda: fn(tx, approximate=params[0])) if params else
                     (lambda: fn(tx))}
        b.op(op, f"{x.nbytes >> 20} MB {params}", (x,), params, 2 * x.nbytes, "GB/s", extra)
    y = b.registry.get("sigmoid")(x)
    b.op("sigmoid_backward", f"{x.nbytes >> 20} MB", (b.rand(n), x, y), (), 4 * x.nbytes, "GB/s")


def bench_softmax(b, rows, cols):
    x = b.rand(rows, cols)
    b.op("softmax", f"({rows},{cols})", (x,), (1,), 2 * x.nbytes, "GB/s")
    target = b.cupy.asarray(np.random.default_rng(0).integers(0, cols, rows))
    b.op("cross_entropy", f"({rows},{cols})", (x, target), (), 2 * x.nbytes, "GB/s")


def main(argv=None):
    args = parse_args(argv)
    try:
        import cupy
        cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # noqa: BLE001  (no CuPy, no driver, no device)
        raise SystemExit(f"cuda_kernels: needs CuPy and a CUDA GPU ({error})")
    torch = torch_or_none()
    b = Bench(cupy, 5 if args.quick else args.repeat)
    quick = args.quick
    copy_gbs = bench_copy(b, (16 if quick else 64) << 20)
    bench_gemm(b, torch, (1024, 2048) if quick else (1024, 2048, 4096, 8192))
    bench_conv(b, torch, [((64, 1, 28, 28), 32, 0), ((64, 32, 14, 14), 64, 0),
                          ((32, 64, 56, 56), 64, 1)])
    bench_lstm(b, torch, 64, 256, 512)
    bench_activations(b, torch, (16 if quick else 64) << 20)     # 64 Mi floats = 256 MB
    bench_softmax(b, 8192, 1000)
    for row in b.rows:
        if row["unit"] == "GB/s" and row["rate"] is not None:
            row["fraction_of_copy"] = round(row["rate"] / copy_gbs, 3)
    result = {"device": device_description(cupy), "torch": torch.__version__ if torch else None,
              "copy_bandwidth_gbs": copy_gbs, "repeat": b.repeat, "rows": b.rows}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=1))
    print(f"wrote {args.json}; measured device copy bandwidth {copy_gbs:.0f} GB/s")


if __name__ == "__main__":
    main()
