import ctypes
import os

import numpy as np
import pytest

import tensorcore as tc


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
