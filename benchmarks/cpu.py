"""The CPU benchmark of `python -m tensorcore bench --device cpu`, as a script that can also
record its results under benchmarks/results/.

    python benchmarks/cpu.py [--quick] [--op OP] [--save]   # --save: results/cpu-<date>.json
"""
import argparse
import datetime
import pathlib
import sys

from tensorcore.bench.report import format_report
from tensorcore.bench.runner import run

RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--op")
    parser.add_argument("--save", action="store_true",
                        help=f"write {RESULTS.name}/cpu-<date>.json")
    args = parser.parse_args()
    path = RESULTS / f"cpu-{datetime.date.today().isoformat()}.json" if args.save else None
    report = run(device="cpu", op=args.op, quick=args.quick, json_path=path)
    print(format_report(report))
    if path:
        print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
