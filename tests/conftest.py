import ctypes
import os

import numpy as np
import pytest

import tensorcore as tc
from tensorcore.extension import load_extension


def _cuda_driver_device_count():
    """GPUs the CUDA driver reports, asked through libcuda directly (importing numba.cuda to
    ask would fix its simulator switch too early); 0 without a driver."""
    try:
        driver = ctypes.CDLL("libcuda.so.1")
        count = ctypes.c_int(0)
        if driver.cuInit(0) == 0 and driver.cuDeviceGetCount(ctypes.byref(count)) == 0:
            return count.value
    except (OSError, AttributeError):
        pass
    return 0


# The Numba CUDA kernels (tests/test_numba_kernels.py) run on the GPU where the driver sees
# one, and otherwise under Numba's CUDA simulator. Numba reads NUMBA_ENABLE_CUDASIM when
# numba.cuda is first imported, so the switch is set here, before any test module imports
# it, and never forced on a machine with a GPU (an explicit setting is left alone).
if "NUMBA_ENABLE_CUDASIM" not in os.environ and _cuda_driver_device_count() == 0:
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"


@pytest.fixture(autouse=True)
def _seeded():
    """Each test starts from the same random state."""
    tc.manual_seed(0)
    np.random.seed(0)


# The C++ kernel tests' fixtures (the extension may be absent: those tests skip then).
_C = load_extension()
# Every output and scratch buffer of the C++ kernels starts as NaN bytes: a kernel that reads
# one before writing it (relying on fresh, zeroed pages) fails its tests.
if _C is not None:
    _C.set_cache_poison(True)


@pytest.fixture(params=["avx512", "avx2", "generic"])
def isa(request):
    """Each test once per instruction set this CPU runs, forced through _C.set_isa."""
    if _C is None:
        pytest.skip("the C++ extension is not built")
    previous = _C.isa()
    try:
        _C.set_isa(request.param)
    except ValueError:
        pytest.skip(f"this CPU does not run {request.param}")
    yield request.param
    _C.set_isa(previous)


@pytest.fixture
def threads():
    """Restores the thread count a test changes."""
    if _C is None:
        pytest.skip("the C++ extension is not built")
    previous = _C.get_num_threads()
    yield _C.set_num_threads
    _C.set_num_threads(previous)
