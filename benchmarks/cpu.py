"""The CPU benchmark of `python -m tensorcore bench --device cpu`, as a script that can also
record its results under benchmarks/results/.

    python benchmarks/cpu.py [--quick] [--op OP] [--save [TAG]]
        # --save: results/cpu-<date>.json; --save zen4: results/cpu-<date>-zen4.json (with -2,
        # -3, ... added where that file exists: an earlier run's results are never overwritten)
"""
import argparse
import datetime
import pathlib
import sys

from tensorcore.bench.report import format_report
from tensorcore.bench.runner import run

RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def result_path(tag):
    """results/cpu-<date>[-TAG].json, or the first of -2.json, -3.json, ... not taken."""
    stem = f"cpu-{datetime.date.today().isoformat()}{f'-{tag}' if tag else ''}"
    path, number = RESULTS / f"{stem}.json", 1
    while path.exists():
        number += 1
        path = RESULTS / f"{stem}-{number}.json"
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--op")
    parser.add_argument("--save", nargs="?", const="", metavar="TAG",
                        help=f"write {RESULTS.name}/cpu-<date>[-TAG][-N].json")
    args = parser.parse_args()
    path = None if args.save is None else result_path(args.save)
    report = run(device="cpu", op=args.op, quick=args.quick, json_path=path)
    print(format_report(report))
    if path:
        print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
