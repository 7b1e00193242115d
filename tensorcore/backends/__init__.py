"""Kernel backends: reference (NumPy/CuPy), cpu (the C++ extension tensorcore._C), cuda."""
import os
import platform

import numpy as np

from ..bench.machine import cpu_model
from ..extension import load_extension
from . import reference  # noqa: F401
from . import cpu  # noqa: F401
from . import cuda  # noqa: F401


def info():
    """What this installation runs on: versions, the CPU features the C++ backend dispatches
    on, devices found, and the active variant of every kernel op per device."""
    from .. import __version__, device as devices
    from ..kernels import registry
    _C = load_extension()
    report = {
        "tensorcore": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": f"{cpu_model()} ({platform.machine()}, {os.cpu_count()} logical CPUs)",
        "cpp_extension": _C is not None,
        "cpu_features": _C.cpu_features() if _C else {},
        "cpu_isa": _C.isa() if _C else None,
        "cpu_threads": _C.get_num_threads() if _C else None,
        "devices": ["cpu"],
        "gpu": None,
    }
    cupy = devices.cupy_or_none()
    if cupy is not None:
        count = cupy.cuda.runtime.getDeviceCount()
        report["devices"] += [f"cuda:{i}" for i in range(count)]
        props = cupy.cuda.runtime.getDeviceProperties(0)
        report["gpu"] = {"name": props["name"].decode(), "compute_capability":
                         f"{props['major']}.{props['minor']}",
                         "cuda_runtime": cupy.cuda.runtime.runtimeGetVersion(),
                         "cupy": cupy.__version__}
    device_types = [d.split(":")[0] for d in report["devices"][:2]]
    report["active"] = {name: {d: op.active(d) for d in device_types}
                        for name, op in sorted(registry.ops().items())}
    return report
