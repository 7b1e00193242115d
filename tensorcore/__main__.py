"""``python -m tensorcore info``: version, CPU features, devices and the active kernel variants."""
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
    args = parser.parse_args(argv)
    if args.command == "info":
        print_info()
    return 0


if __name__ == "__main__":
    sys.exit(main())
