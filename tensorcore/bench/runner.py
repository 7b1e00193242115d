"""``python -m tensorcore bench``: validate every variant a case runs, then time tensorcore and
the baselines side by side in one process, against the machine's measured limit.

Libraries are timed one after another with a pause between them: idle OpenMP and OpenBLAS
workers keep spinning for a while after a call and would slow the next library on a small
machine. They take turns for several rounds, so that a burst of load from elsewhere on a
shared machine (these VMs' timings move by up to 2x for minutes) hits every library rather
than one; a library's time is the median over rounds of its per-round medians of repeats
after a warm-up (timing.median_seconds). On the CPU each library's minor page faults per call
are recorded beside its time: a library whose buffers go back to the OS after every call
(PyTorch's do in some processes and not in others) pays for mapping them again on the next,
and its time moves with that rather than with its kernels.
"""
import statistics
import datetime
import json

from .. import __version__
from ..extension import load_extension
from . import cases, machine, openblas, suite
from .timing import paused_median_seconds_and_faults
from .validation import validate_case

BASELINES = ("numpy", "cupy", "torch", "openblas-skylakex")


class Settings:
    """How hard to time: full runs, --quick (for `make demo`), or tiny (the tests)."""

    def __init__(self, quick=False):
        tiny = cases.tiny()
        self.quick = quick
        self.repeats = 3
        self.rounds = 1 if quick or tiny else 3
        self.min_seconds = 0.002 if tiny else 0.01 if quick else 0.05
        self.pause = 0.0 if tiny else 0.2 if quick else 1.0
        self.peak_seconds = 0.02 if quick or tiny else 0.1


def measure_peak(settings, before=None):
    """Measured float32 FMA GFLOP/s of one thread and of all the backend's threads. With
    ``before`` (the measurement at the start of the run), the higher of the two for each: a
    ceiling is what the machine reaches while nothing else runs, and on a shared machine a
    single measurement can catch the other core taken."""
    _C = load_extension()
    if _C is None:
        return None
    threads = _C.get_num_threads()
    peak = {"threads": threads, "gflops_1_thread": _C.fma_peak(1, settings.peak_seconds),
            "gflops_all_threads": _C.fma_peak(threads, settings.peak_seconds), "isa": _C.isa()}
    if before:
        for key in ("gflops_1_thread", "gflops_all_threads"):
            peak[key] = max(peak[key], before[key])
    return peak


def time_case(case, device, settings, timer, log):
    """One case's result: status, validation verdicts, and per library seconds (+ GFLOP/s,
    % of peak filled in later)."""
    result = {"case": case.name, "group": case.group, "flops": case.flops, **case.extra,
              "times": {}}
    if case.skip:
        result["status"] = f"skipped: {case.skip}"
        return result
    fns = case.setup(device)
    result["validation"], failures = validate_case(fns["tensorcore"], device)
    result["status"] = "ok"
    if failures:
        # a wrong kernel's time is no result: report the mismatch instead of timing it
        result["status"] = "INVALID: " + "; ".join(failures)
        fns.pop("tensorcore")
    rounds = {library: [] for library in fns}
    faults = {library: [] for library in fns}
    for _ in range(settings.rounds):
        for library, fn in fns.items():
            seconds, page_faults = timer(fn, settings)
            rounds[library].append(seconds)
            if page_faults is not None:
                faults[library].append(page_faults)
    for library, seconds in rounds.items():
        result["times"][library] = {"seconds": statistics.median(seconds), "rounds": seconds}
        if faults[library]:
            result["times"][library]["page_faults_per_call"] = statistics.median(faults[library])
    log(".")
    return result


def cpu_timer(fn, settings):
    """(median seconds, minor page faults per call)."""
    return paused_median_seconds_and_faults(fn, settings.pause, repeats=settings.repeats,
                                            min_seconds=settings.min_seconds)


def add_openblas_skylakex(results, settings, log):
    """Times the square sgemm cases with NumPy's OpenBLAS forced to its AVX-512 kernel."""
    squares = [r for r in results if r["group"] == "sgemm" and r["m"] == r["k"] == r["n"]
               and r["status"] != "skipped"]
    features = machine.describe().get("cpu_features", {})
    if not squares or not features.get("avx512f"):
        return
    shapes = [[r["m"], r["k"], r["n"]] for r in squares]
    try:
        seconds = openblas.time_in_child(shapes, settings.repeats * settings.rounds,
                                         settings.min_seconds, settings.pause)
    except Exception as error:  # noqa: BLE001  (a missing baseline is reported, not fatal)
        log(f"\nOpenBLAS SkylakeX baseline not measured: {error}\n")
        return
    for r in squares:
        r["times"]["openblas-skylakex"] = {"seconds": seconds[(r["m"], r["k"], r["n"])]}


def add_rates(results, peak):
    """GFLOP/s (and % of the all-threads FMA peak), GB/s for memory-bound cases (and % of the
    measured copy bandwidth), and tensorcore's speedup over each baseline."""
    peak = peak or {}
    flop_limit, byte_limit = peak.get("gflops_all_threads"), peak.get("copy_gbytes_per_s")
    for r in results:
        for entry in r["times"].values():
            if r["flops"]:
                entry["gflops"] = r["flops"] / entry["seconds"] / 1e9
                if flop_limit:
                    entry["percent_of_peak"] = 100.0 * entry["gflops"] / flop_limit
            if r.get("bytes"):
                entry["gbytes_per_s"] = r["bytes"] / entry["seconds"] / 1e9
                if byte_limit:
                    entry["percent_of_peak"] = 100.0 * entry["gbytes_per_s"] / byte_limit
        ours = r["times"].get("tensorcore")
        r["speedup"] = {library: r["times"][library]["seconds"] / ours["seconds"]
                        for library in BASELINES if ours and library in r["times"]}


def run(device="cpu", op=None, quick=False, json_path=None, log=print):
    """Runs the benchmark; returns the report dict (also written to ``json_path``), or None
    when ``device`` is absent (after saying so)."""
    settings = Settings(quick)
    progress = (lambda text: log(text, end="", flush=True)) if log is print else log
    if device.startswith("cuda"):
        from . import cuda
        reason = cuda.unavailable()
        if reason:
            log(f"bench: skipped: {reason}")
            return None
        found, timer, peak = cuda.all_cases(), cuda.timer, cuda.measure_limits(settings)
    else:
        found, timer, peak = suite.cpu_cases(), cpu_timer, measure_peak(settings)
    selected = suite.select(found, op, quick)
    if not selected:
        raise ValueError(f"bench: no case runs op {op!r} on {device}; groups and ops: "
                         f"{sorted({c.group for c in found} | {o for c in found for o in c.ops})}")
    progress(f"validating and timing {len(selected)} cases on {device} ")
    results = [time_case(case, device, settings, timer, progress) for case in selected]
    if not device.startswith("cuda"):
        add_openblas_skylakex(results, settings, progress)
        peak = measure_peak(settings, before=peak)
    progress("\n")
    add_rates(results, peak)
    report = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "device": device,
              "tensorcore": __version__, "machine": machine.describe(), "peak": peak,
              "settings": {"quick": quick, "repeats": settings.repeats, "rounds": settings.rounds,
                           "pause_seconds": settings.pause, "tiny": cases.tiny()},
              "results": results}
    if cases.torch is not None:
        report["machine"]["torch"] = cases.torch.__version__
    if json_path:
        with open(json_path, "w") as f:
            json.dump(report, f, indent=2, default=str)
    return report
