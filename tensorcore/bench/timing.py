"""Timing that holds up on shared, noisy machines: warm up, repeat, take the median."""
import statistics
import time

try:
    import resource
except ImportError:     # Windows: no page-fault counts
    resource = None


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


def minor_page_faults():
    """This process's minor page faults so far (all threads), or None where the OS does not
    count them. A call that frees its buffers to the OS and maps them again on the next call
    pays one fault per page each time: on these VMs about a microsecond per 4 KiB."""
    if resource is None:
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def paused_median_seconds_and_faults(fn, pause, **kwargs):
    """(paused_median_seconds, minor page faults per call over all its calls, or None)."""
    calls = 0

    def counted():
        nonlocal calls
        calls += 1
        fn()
    before = minor_page_faults()
    seconds = paused_median_seconds(counted, pause, **kwargs)
    faults = None if before is None else (minor_page_faults() - before) / calls
    return seconds, faults
