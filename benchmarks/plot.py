"""The BENCHMARKS.md figure from a `python -m tensorcore bench --json` result: GFLOP/s per case
for tensorcore and each baseline, with the FMA peak measured in the same run.

    python benchmarks/plot.py benchmarks/results/cpu-2026-11-23.json benchmarks/results/cpu-2026-11-23.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LIBRARIES = ("tensorcore", "numpy", "torch", "openblas-skylakex")


def plot(result_path, image_path):
    report = json.load(open(result_path))
    cases = [r for r in report["results"] if r.get("status") == "ok"]
    figure, ax = plt.subplots(figsize=(12, 5))
    width = 0.8 / len(LIBRARIES)
    for i, library in enumerate(LIBRARIES):
        rates = [r["times"].get(library, {}).get("gflops", 0) for r in cases]
        ax.bar([c + (i - 1.5) * width for c in range(len(cases))], rates, width, label=library)
    ax.axhline(report["peak"]["gflops_all_threads"], color="black", linestyle="--",
               label=f"FMA peak, {report['peak']['threads']} threads (measured)")
    ax.set_xticks(range(len(cases)))
    ax.set_xticklabels([r["case"] for r in cases], rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("GFLOP/s (float32)")
    machine = report["machine"]
    generation = f" ({machine['cpu_generation']})" if machine.get("cpu_generation") else ""
    ax.set_title(f"{machine['cpu']}{generation}, {machine['logical_cpus']} cores, "
                 f"{report['date']}")
    ax.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(image_path, dpi=90)


if __name__ == "__main__":
    plot(sys.argv[1], sys.argv[2])
