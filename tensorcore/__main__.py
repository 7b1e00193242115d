"""``python -m tensorcore info``: version, CPU features, devices and the active kernel variants.
``python -m tensorcore bench``: validate every kernel variant, then time them against the
baselines and the machine's measured limits."""
import argparse
import sys

from . import backends


def print_info():
    report = backends.info()
    for key in ("tensorcore", "python", "numpy", "machine"):
        print(f"{key:<16}{report[key]}")
    if report["cpp_extension"]:
        features = [name for name, present in report["cpu_features"].items() if present]
        print(f"{'C++ backend':<16}ISA {report['cpu_isa']}, {report['cpu_threads']} threads "
              f"(CPU has: {', '.join(features) or 'none of the dispatched features'})")
    else:
        print(f"{'C++ backend':<16}not built: the reference kernels serve every op")
    print(f"{'devices':<16}{', '.join(report['devices'])}")
    if report["gpu"]:
        gpu = report["gpu"]
        print(f"{'gpu':<16}{gpu['name']} (compute {gpu['compute_capability']}, CUDA runtime "
              f"{gpu['cuda_runtime']}, CuPy {gpu['cupy']})")
    print("\nactive kernel variant per op:")
    for op, per_device in report["active"].items():
        print(f"  {op:<44}" + "  ".join(f"{d}: {v}" for d, v in per_device.items()))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tensorcore")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="versions, CPU features, devices, active kernel variants")
    bench = commands.add_parser("bench", help="validate, then time the kernels against "
                                              "NumPy/PyTorch and the machine's peak")
    bench.add_argument("--op", help="only the cases running this kernel op or group "
                                    "(matmul, sgemm, conv2d, lstm_cell, ...)")
    bench.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    bench.add_argument("--json", metavar="FILE", help="also write the results, with the "
                                                      "machine description, to FILE")
    bench.add_argument("--quick", action="store_true", help="a few cases, few repeats")
    args = parser.parse_args(argv)
    if args.command == "info":
        print_info()
    elif args.command == "bench":
        return run_bench(args)
    return 0


def run_bench(args):
    from .bench.report import format_report
    from .bench.runner import run
    try:
        report = run(device=args.device, op=args.op, quick=args.quick, json_path=args.json)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    if report is None:      # no such device here: said so, nothing to time
        return 0
    print(format_report(report))
    return 1 if any(r["status"].startswith("INVALID") for r in report["results"]) else 0


if __name__ == "__main__":
    sys.exit(main())
