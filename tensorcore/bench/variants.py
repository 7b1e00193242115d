"""Compare the kernel variants that ran in a profiled workload against the NumPy reference."""
from ..kernels import registry
from .timing import median_seconds


def against_reference(profile, repeats=5):
    """One row per op seen by ``profile`` (a ``tc.kernels.profile()`` result): the variant
    that ran, its calls, and the median time of it and of the reference on the op's first
    recorded arguments. Random ops (dropout) are timed but not compared."""
    rows = []
    for name, entry in sorted(profile.ops.items()):
        op = registry.get(name)
        args, params = entry["args"], entry["params"]
        device = entry["variant"].split(".", 1)[0]

        def run(variant):
            return median_seconds(lambda: variant.fn(*args, **params), repeats=repeats)

        ran = op.variants[entry["variant"]]
        reference = op.reference(device)
        ran_seconds = run(ran)
        reference_seconds = ran_seconds if ran is reference else run(reference)
        rows.append({"op": name, "variant": ran.name, "calls": entry["calls"],
                     "seconds": ran_seconds, "reference_seconds": reference_seconds,
                     "speedup": reference_seconds / ran_seconds})
    return rows


def format_rows(rows):
    lines = [f"{'op':<26}{'variant':<16}{'calls':>7}{'time':>11}{'NumPy ref':>11}{'speedup':>9}"]
    for r in rows:
        lines.append(f"{r['op']:<26}{r['variant']:<16}{r['calls']:>7}"
                     f"{r['seconds'] * 1e6:>9.1f}us{r['reference_seconds'] * 1e6:>9.1f}us"
                     f"{r['speedup']:>8.2f}x")
    return "\n".join(lines)
