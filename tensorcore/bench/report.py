"""The human summary of a benchmark report: one table row per case."""

COLUMNS = ("tensorcore", "numpy", "cupy", "torch", "openblas-skylakex")
SHORT = {"tensorcore": "tensorcore", "numpy": "NumPy", "cupy": "CuPy", "torch": "torch",
         "openblas-skylakex": "OB-SKX"}
# minor page faults per call from which a library's time is flagged as partly the OS's
FAULTS_WORTH_NOTING = 100


def _rate(r, entry):
    if "gflops" in entry:
        return f"{entry['gflops']:.0f}"
    if "gbytes_per_s" in entry:
        return f"{entry['gbytes_per_s']:.0f}GB/s"
    return f"{entry['seconds'] * 1e3:.2f}ms"


def format_report(report):
    results = report["results"]
    libraries = [c for c in COLUMNS if any(c in r["times"] for r in results)]
    name_width = max([len(r["case"]) for r in results] + [4]) + 2
    lines = []
    peak = report.get("peak") or {}
    if "gflops_all_threads" in peak:
        lines.append(f"FMA peak (measured, float32, {peak['isa']}): "
                     f"{peak['gflops_1_thread']:.0f} GFLOP/s on 1 thread, "
                     f"{peak['gflops_all_threads']:.0f} on {peak['threads']}")
        scaling = peak["gflops_all_threads"] / (peak["threads"] * peak["gflops_1_thread"])
        if scaling < 0.8:
            load = report["machine"].get("load_average_1_5_15_min")
            lines.append(f"WARNING: all threads reach only {100 * scaling:.0f}% of "
                         f"{peak['threads']} x the one-thread peak: other work is running "
                         f"(load average {load}), so these timings are noisy")
    if "copy_gbytes_per_s" in peak:
        lines.append(f"device-to-device copy: {peak['copy_gbytes_per_s']:.0f} GB/s")
    lines.append("GFLOP/s (ms where no FLOP count applies); speedup = baseline time / "
                 "tensorcore time")
    header = f"{'case':<{name_width}}" + "".join(f"{SHORT[c]:>11}" for c in libraries)
    header += f"{'% peak':>8}" + "".join(f"{'x' + SHORT[c]:>10}" for c in libraries[1:])
    lines += [header, "-" * len(header)]
    for r in results:
        if not r["status"].startswith("ok"):
            cells = [f"{_rate(r, r['times'][c]) if c in r['times'] else '':>11}"
                     for c in libraries]
            lines.append(f"{r['case']:<{name_width}}" + "".join(cells) + f"  {r['status']}")
            continue
        row = f"{r['case']:<{name_width}}"
        row += "".join(f"{_rate(r, r['times'][c]) if c in r['times'] else '-':>11}"
                       for c in libraries)
        ours = r["times"].get("tensorcore", {})
        row += f"{ours['percent_of_peak']:>7.0f}%" if "percent_of_peak" in ours else f"{'':>8}"
        row += "".join(f"{r['speedup'][c]:>9.2f}x" if c in r["speedup"] else f"{'-':>10}"
                       for c in libraries[1:])
        lines.append(row)
    faulting = []
    for r in results:
        noted = [f"{SHORT[c]} {r['times'][c]['page_faults_per_call']:.0f}" for c in libraries
                 if r["times"].get(c, {}).get("page_faults_per_call", 0) >= FAULTS_WORTH_NOTING]
        if noted:
            faulting.append(f"  {r['case']}: {', '.join(noted)}")
    if faulting:
        lines.append("\nminor page faults per call (memory mapped afresh on every call: "
                     "time outside the kernels):")
        lines += faulting
    failed = {f"{op}: {variant} {verdict}" for r in results
              for op, verdicts in r.get("validation", {}).items()
              for variant, verdict in verdicts.items() if verdict.startswith("FAILED")}
    if failed:
        lines.append("\nvariants that FAILED validation (never timed as correct):")
        lines += [f"  {line}" for line in sorted(failed)]
    return "\n".join(lines)
