"""LSTM on the CPU: tensorcore's lstm_cell and lstm_sequence ("cpu.cpp", csrc/lstm.cpp, and
the "cpu.reference" variants) against PyTorch, forward+backward, float32, side by side in one
process.

    python benchmarks/lstm_cpu.py [--threads N] [--json benchmarks/results/cpu-lstm-<date>.json]

--threads sets both libraries' thread counts (default: each library's own, all cores); on a
shared machine --threads 1 gives the steadier comparison.

- lstm_cell at (B, I, H) = (32, 100, 128) and (64, 256, 512): F.lstm_cell + backward vs
  torch.nn.LSTMCell; also the two kernels alone (forward + backward kernel, no autograd).
- a 2-layer LSTM over 100 steps at batch 32 (input 100, hidden 128): two lstm_sequence calls
  + backward vs torch.nn.LSTM(num_layers=2).
Medians of short repeats; a pause between libraries, because idle OpenMP workers keep
spinning and slow the next library on a 2-core machine. GFLOP/s count the GEMMs only:
forward 2 B 4H (I + H) per step, backward twice that (dx, dh and dW).
"""
import argparse
import datetime
import json
import os

import numpy as np

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore.bench.machine import describe, set_threads
from tensorcore.bench.timing import paused_median_seconds
from tensorcore.kernels import registry
from tensorcore.ops.lstm import lstm_sequence

try:
    import torch
except ImportError:
    torch = None

PAUSE = 1.0
CELL_SHAPES = [(32, 100, 128), (64, 256, 512)]
SEQUENCE = dict(steps=100, batch=32, inputs=100, hidden=128, layers=2)
PEAK_GFLOPS = 497.0          # fp32, 2 Zen 5 cores: 2 x 2 FMA pipes x 16 lanes x 2 x ~3.9 GHz
LSTM_OPS = ("lstm_cell", "lstm_cell_backward", "lstm_sequence", "lstm_sequence_backward")


def timed(fn):
    return paused_median_seconds(fn, PAUSE, repeats=5, min_seconds=0.05)


def step_flops(batch, inputs, hidden):
    """GEMM FLOPs of one step forward and backward."""
    return 3 * 2 * batch * 4 * hidden * (inputs + hidden)


def weights(inputs, hidden, rng):
    bound = 1 / np.sqrt(hidden)
    return [rng.uniform(-bound, bound, shape).astype(np.float32)
            for shape in [(4 * hidden, inputs), (4 * hidden, hidden), (4 * hidden,), (4 * hidden,)]]


def tc_cell_step(x, h, c, params):
    def run():
        h_new, c_new = F.lstm_cell(x, (h, c), *params)
        (h_new.sum() + c_new.sum()).backward()
    return run


def kernel_cell_step(x, h, c, params):
    """The forward and backward kernels alone, outside autograd."""
    forward, backward = registry.get("lstm_cell"), registry.get("lstm_cell_backward")
    dh, dc = np.ones_like(h), np.ones_like(c)

    def run():
        h_new, c_new, gates = forward(x, h, c, *params)
        backward(dh, dc, x, h, c, params[0], params[1], gates, c_new)
    return run


def cell(batch, inputs, hidden):
    rng = np.random.default_rng(0)
    arrays = [rng.uniform(-1, 1, shape).astype(np.float32)
              for shape in [(batch, inputs), (batch, hidden), (batch, hidden)]]
    params = weights(inputs, hidden, rng)
    x, h, c = (tc.tensor(a, requires_grad=True) for a in arrays)
    tc_params = [tc.tensor(p, requires_grad=True) for p in params]
    row = {"shape_B_I_H": [batch, inputs, hidden]}
    for variant in ("cpu.reference", "cpu.cpp"):
        with tc.kernels.use(lstm_cell=variant):
            row[f"tensorcore_{variant}_us"] = timed(tc_cell_step(x, h, c, tc_params)) * 1e6
            row[f"kernels_{variant}_us"] = timed(kernel_cell_step(*arrays, params)) * 1e6
    if torch is not None:
        module = torch.nn.LSTMCell(inputs, hidden)
        with torch.no_grad():
            for p, value in zip(module.parameters(), params):
                p.copy_(torch.from_numpy(value))
        tx, th, tcell = (torch.tensor(a, requires_grad=True) for a in arrays)

        def torch_step():
            h_new, c_new = module(tx, (th, tcell))
            (h_new.sum() + c_new.sum()).backward()
        row["torch_us"] = timed(torch_step) * 1e6
    return finish(row, step_flops(batch, inputs, hidden))


def sequence(steps, batch, inputs, hidden, layers):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (steps, batch, inputs)).astype(np.float32)
    params = [weights(inputs if k == 0 else hidden, hidden, rng) for k in range(layers)]
    tx = tc.tensor(x, requires_grad=True)
    tc_params = [[tc.tensor(p, requires_grad=True) for p in layer] for layer in params]

    def tc_step():
        y = tx
        for layer in tc_params:
            y, _ = lstm_sequence(y, None, *layer)
        y.sum().backward()
    row = {"steps_B_I_H_layers": [steps, batch, inputs, hidden, layers]}
    for variant in ("cpu.reference", "cpu.cpp"):
        with tc.kernels.use(lstm_sequence=variant):
            row[f"tensorcore_{variant}_us"] = timed(tc_step) * 1e6
    if torch is not None:
        module = torch.nn.LSTM(inputs, hidden, num_layers=layers)
        with torch.no_grad():
            for k, layer in enumerate(params):
                for name, value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), layer):
                    getattr(module, f"{name}_l{k}").copy_(torch.from_numpy(value))
        ttx = torch.tensor(x, requires_grad=True)

        def torch_step():
            module(ttx)[0].sum().backward()
        row["torch_us"] = timed(torch_step) * 1e6
    flops = steps * sum(step_flops(batch, inputs if k == 0 else hidden, hidden)
                        for k in range(layers))
    return finish(row, flops)


def finish(row, flops):
    row["gemm_mflop"] = flops / 1e6
    ours = row["tensorcore_cpu.cpp_us"]
    row["tensorcore_cpp_gflops"] = flops / ours / 1e3
    row["fraction_of_peak"] = row["tensorcore_cpp_gflops"] / PEAK_GFLOPS
    if "torch_us" in row:
        row["speedup_vs_torch"] = row["torch_us"] / ours
    row["speedup_vs_reference"] = row["tensorcore_cpu.reference_us"] / ours
    return row


def check_variants_agree():
    """Validate before timing: the C++ variants against the references at a benchmark shape."""
    with tc.kernels.validate():
        x = tc.randn(5, 32, 100, requires_grad=True)
        params = [tc.tensor(p, requires_grad=True) for p in weights(100, 128, np.random.default_rng(1))]
        out, _ = lstm_sequence(x, None, *params)
        h, c = F.lstm_cell(x[0], None, *params)
        (out.sum() + h.sum() + c.sum()).backward()
    for op in LSTM_OPS:
        assert registry.get(op).last.name == "cpu.cpp", (op, registry.get(op).last)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--threads", type=int, help="threads for both libraries")
    args = parser.parse_args()
    from tensorcore import _C
    if args.threads:
        set_threads(args.threads, torch)
    check_variants_agree()
    report = {"date": datetime.date.today().isoformat(), "machine": describe(),
              "tensorcore": tc.__version__, "numpy": np.__version__,
              "torch": torch.__version__ if torch is not None else None,
              "torch_threads": torch.get_num_threads() if torch is not None else None,
              "cpu_isa": _C.isa(), "threads": _C.get_num_threads(), "dtype": "float32",
              "peak_gflops": PEAK_GFLOPS, "load_average_before": os.getloadavg(),
              "lstm_cell_forward_backward": [cell(*shape) for shape in CELL_SHAPES],
              "lstm_2_layers_forward_backward": sequence(**SEQUENCE)}
    report["load_average_after"] = os.getloadavg()  # other work on the machine skews timings
    print(json.dumps(report, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
