"""The CUDA C++ sources in tensorcore/kernels/cuda/ and the ``#define``s each is built with
(tile sizes per named configuration, the element type), loaded through CuPy's RawModule.

This table is the one place the defines live: the loader below and the nvcc compile test
(tests/test_cuda_sources.py) both build from it. Importing this module never imports CuPy.
"""
import functools
from pathlib import Path

import numpy as np

SOURCE_DIR = Path(__file__).resolve().parents[2] / "kernels" / "cuda"
COMPILE_OPTIONS = ("-std=c++17", f"-I{SOURCE_DIR}")

# file -> {config name: tile-size defines}; the tile choices are explained in each .cu file.
CONFIGS = {
    "sgemm.cu": {
        "large": dict(BM=128, BN=128, BK=8, WM=64, WN=32, TM=8, TN=8, PAD=4),   # 256 threads
        "small": dict(BM=64, BN=64, BK=8, WM=32, WN=32, TM=4, TN=8, PAD=4),     # 128 threads
    },
    "gemm_tf32.cu": {"default": dict(BM=128, BN=128, BK=16, WM=64, WN=32, PAD=8)},
    "conv2d.cu": {"default": dict(BM=64, BN=64, BK=16, TM=4, TN=4)},
    "lstm_cell.cu": {"default": {}},
    "elementwise.cu": {"default": {}},
    "softmax.cu": {"default": {}},
    "optim.cu": {"default": {}},
}
# file -> dtypes it is built for; files generic over scalar_t get it defined per dtype
DTYPES = {
    "sgemm.cu": ("float32",),
    "gemm_tf32.cu": ("float32",),
    "conv2d.cu": ("float32", "float64"),
    "lstm_cell.cu": ("float32", "float64"),
    "elementwise.cu": ("float32", "float64"),
    "softmax.cu": ("float32", "float64"),
    "optim.cu": ("float32", "float64"),
}
SCALAR_GENERIC = {"conv2d.cu", "lstm_cell.cu", "elementwise.cu", "softmax.cu", "optim.cu"}
C_TYPES = {"float32": "float", "float64": "double"}



def threads_per_block(file, config):
    """Threads per block of a GEMM or conv configuration, as the kernel derives it."""
    d = CONFIGS[file][config]
    if file in ("sgemm.cu", "gemm_tf32.cu"):
        return (d["BM"] // d["WM"]) * (d["BN"] // d["WN"]) * 32
    if file == "conv2d.cu":
        return (d["BM"] // d["TM"]) * (d["BN"] // d["TN"])
    raise ValueError(f"{file}: block size is chosen per launch, not by the defines")


def defines(file, config, dtype):
    """The ``#define``s for building ``file`` in ``config`` for ``dtype`` ("float32", ...)."""
    dtype = np.dtype(dtype).name
    if dtype not in DTYPES[file]:
        raise ValueError(f"{file} is built for {DTYPES[file]}, not {dtype}")
    out = dict(CONFIGS[file][config])
    if file in SCALAR_GENERIC:
        out["scalar_t"] = C_TYPES[dtype]
    if file == "elementwise.cu":
        out["VEC"] = 16 // np.dtype(dtype).itemsize       # elements per 16-byte access
    return out


def builds():
    """Every (file, config, dtype) the loader can build."""
    return [(file, config, dtype) for file, configs in CONFIGS.items()
            for config in configs for dtype in DTYPES[file]]


def source_text(file, defs):
    """The source of ``file`` with ``defs`` prepended as #define lines."""
    header = "".join(f"#define {name} {value}\n" for name, value in defs.items())
    return header + (SOURCE_DIR / file).read_text()


@functools.lru_cache(maxsize=None)
def module(file, config, dtype, device_id):
    """The compiled cupy.RawModule of ``file`` (CuPy also caches the binary on disk), one per
    device because a module is loaded into one device's context."""
    import cupy
    with cupy.cuda.Device(device_id):
        return cupy.RawModule(code=source_text(file, defines(file, config, dtype)),
                              options=COMPILE_OPTIONS)


@functools.lru_cache(maxsize=None)
def kernel(file, name, dtype, config="default", device_id=0):
    """The ``extern "C"`` kernel ``name`` of ``file``, built for ``dtype`` and ``config``."""
    return module(file, config, np.dtype(dtype).name, device_id).get_function(name)


@functools.lru_cache(maxsize=None)
def multiprocessors(device_id=0):
    import cupy
    return cupy.cuda.Device(device_id).attributes["MultiProcessorCount"]
