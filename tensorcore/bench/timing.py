"""Timing that holds up on shared, noisy machines: warm up, repeat, take the median."""
import statistics
import time


def median_seconds(fn, repeats=7, min_seconds=0.02, warmup=1):
    """Median wall time of one ``fn()`` call. Each repeat runs ``fn`` enough times to last at
    least ``min_seconds`` (so tiny kernels are not lost in timer resolution)."""
    for _ in range(warmup):
        fn()
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    calls = max(1, int(min_seconds / once))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def paused_median_seconds(fn, pause, **kwargs):
    """median_seconds after ``pause`` seconds idle: the OpenMP/OpenBLAS workers of whatever
    ran before keep spinning for a while and, on a 2-core machine, slow what runs next."""
    time.sleep(pause)
    return median_seconds(fn, **kwargs)
