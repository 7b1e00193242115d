"""The C++ kernels' buffer cache (csrc/buffer_cache.cpp): freed large outputs come back to
the next call of the same size, within the limit; small ones are not kept. (Every test runs
with the cache's poisoning on, see conftest.py: kernels never see zeroed memory.)"""
import gc
import pickle

import numpy as np
import pytest

_C = pytest.importorskip("tensorcore._C", reason="the C++ extension is not built")

MB = 1 << 20


@pytest.fixture
def limit():
    """Sets the cache's limit for one test (emptying it first); restores it after."""
    previous = _C.cache_limit()
    _C.set_cache_limit(0)
    yield _C.set_cache_limit
    _C.set_cache_limit(previous)


def relu_input(rows, seed):
    return np.random.default_rng(seed).standard_normal((rows, 1021)).astype(np.float32)


def test_a_freed_output_serves_the_next_call_of_its_size(limit):
    limit(64 * MB)
    first = _C.relu(relu_input(257, 0))
    address = first.ctypes.data
    del first
    gc.collect()
    assert _C.cached_bytes() >= 257 * 1021 * 4
    x = relu_input(257, 1)
    second = _C.relu(x)
    assert second.ctypes.data == address
    np.testing.assert_array_equal(second, np.maximum(x, 0))
    assert _C.cached_bytes() == 0


def test_the_limit_bounds_what_is_kept_and_zero_keeps_nothing(limit):
    limit(3 * MB)
    outputs = [_C.relu(relu_input(257, seed)) for seed in range(5)]   # about 1 MB each
    del outputs
    gc.collect()
    assert 2 * MB < _C.cached_bytes() <= 3 * MB
    limit(0)
    assert _C.cached_bytes() == 0
    assert _C.relu(relu_input(257, 9)).shape == (257, 1021)   # freed at once
    assert _C.cached_bytes() == 0


def test_small_outputs_are_not_kept(limit):
    limit(64 * MB)
    y = _C.relu(relu_input(3, 0))   # 12 KB
    del y
    gc.collect()
    assert _C.cached_bytes() == 0


def test_cached_outputs_are_ordinary_arrays(limit):
    limit(64 * MB)
    x = relu_input(257, 2)
    y = _C.relu(x)
    assert y.flags.writeable and y.flags.c_contiguous
    y[0, 0] = 5.0
    copy = pickle.loads(pickle.dumps(y))
    np.testing.assert_array_equal(copy, y)
    view = y[1:]
    del y
    gc.collect()
    assert _C.cached_bytes() == 0   # the view keeps the block alive
    np.testing.assert_array_equal(view, np.maximum(x[1:], 0))


def test_bad_limit_raises():
    with pytest.raises(TypeError):
        _C.set_cache_limit(-1)
