"""A description of the machine, recorded beside every benchmark result."""
import os
import platform

import numpy as np

from ..extension import load_extension


def cpuinfo():
    """The first processor's fields of /proc/cpuinfo ({} where there is none)."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    return fields


def cpu_model():
    return cpuinfo().get("model name") or platform.processor() or platform.machine()


def cpu_generation():
    """"family F model M" from /proc/cpuinfo, or None: a VM may name the CPU only "AMD EPYC",
    and two generations (Zen 4: family 25; Zen 5: family 26) differ in AVX-512 FMA width."""
    info = cpuinfo()
    if "cpu family" not in info:
        return None
    return f"family {info['cpu family']} model {info.get('model', '?')}"


def numpy_blas():
    """NumPy's BLAS, e.g. "scipy-openblas 0.3.29", or None when NumPy does not say."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # noqa: BLE001  (older NumPy: no dict mode)
        return None


def describe():
    description = {"cpu": cpu_model(), "cpu_generation": cpu_generation(),
                   "logical_cpus": os.cpu_count(),
                   "machine": platform.machine(),
                   "system": f"{platform.system()} {platform.release()}",
                   "python": platform.python_version(), "numpy": np.__version__,
                   "numpy_blas": numpy_blas(),
                   # other work on the machine while it ran: timings on a busy machine are noisy
                   "load_average_1_5_15_min": list(os.getloadavg()) if hasattr(os, "getloadavg")
                   else None}
    _C = load_extension()
    if _C is None:
        return description
    description.update(cpu_isa=_C.isa(), cpu_features=_C.cpu_features(),
                       tensorcore_threads=_C.get_num_threads())
    return description


def set_threads(threads, torch=None):
    """``threads`` for tensorcore's C++ kernels and, when given, PyTorch, so that the two are
    compared on equal terms."""
    from .. import _C
    _C.set_num_threads(threads)
    if torch is not None:
        torch.set_num_threads(threads)
