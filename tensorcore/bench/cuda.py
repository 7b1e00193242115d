"""The GPU side of the benchmark: the same case builders on device "cuda", timed with CUDA
events (CuPy), against cuBLAS/cuDNN through CuPy and torch.cuda; elementwise kernels are
measured against the device-to-device copy bandwidth."""
import numpy as np

from . import cases

ELEMENTWISE_BYTES = 256 << 20     # per tensor


def unavailable():
    """Why the GPU benchmark cannot run here, or None."""
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() > 0:
            return None
    except Exception:  # noqa: BLE001  (no CuPy, no driver, no device: all mean no GPU)
        pass
    return "no CUDA device"


def timer(fn, settings):
    """(median seconds of ``fn()`` between CUDA events, after a warm-up call, None: no page
    fault count)."""
    import cupy
    fn()
    start, stop = cupy.cuda.Event(), cupy.cuda.Event()
    samples = []
    for _ in range(settings.repeats):
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        samples.append(cupy.cuda.get_elapsed_time(start, stop) / 1e3)
    return float(np.median(samples)), None


def copy_bandwidth(settings):
    """Device-to-device copy GB/s (bytes read + written) on ELEMENTWISE_BYTES tensors."""
    import cupy
    src = cupy.ones(ELEMENTWISE_BYTES // 4, dtype=cupy.float32)
    dst = cupy.empty_like(src)
    seconds, _ = timer(lambda: dst.__setitem__(Ellipsis, src), settings)
    return 2 * ELEMENTWISE_BYTES / seconds / 1e9


def measure_limits(settings):
    return {"copy_gbytes_per_s": copy_bandwidth(settings)}


def elementwise(name):
    def setup(device):
        import cupy
        import tensorcore as tc
        x = cupy.random.standard_normal(ELEMENTWISE_BYTES // 4, dtype=cupy.float32)
        ours = getattr(tc, name)
        tx = tc.tensor(x, device=device)
        fns = {"tensorcore": lambda: ours(tx)}
        if cases.torch is not None:
            px = cases.torch.as_tensor(x, device="cuda")
            fns["torch"] = lambda: getattr(cases.torch, name)(px)
        return fns
    return cases.Case(f"{name} 256 MB", "elementwise", (name,), None, setup,
                      extra={"bytes": 2 * ELEMENTWISE_BYTES})


def all_cases():
    found = [cases.sgemm(n, n, n) for n in (1024, 2048, 4096, 8192)]
    conv_shapes = cases.SHAPES["conv2d"] + [((32, 64, 56, 56), 64, 1)]
    for backward in (False, True):
        found += [cases.conv2d(x, out, pad, backward) for x, out, pad in conv_shapes]
    found.append(cases.lstm_cell(64, 256, 512))
    found += [elementwise(name) for name in ("relu", "sigmoid", "tanh")]
    return found

