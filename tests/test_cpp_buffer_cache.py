"""The C++ kernels' buffer cache (csrc/buffer_cache.cpp): freed large outputs come back to
the next call of the same size, within the limit; small ones are not kept. (Every test runs
with the cache's poisoning on, see conftest.py: kernels never see zeroed memory.)"""
import gc
import os
import pickle

import numpy as np
import pytest

from test_cpp_kernels import stride_0

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


def test_a_kernel_output_owns_its_buffer_and_its_views_do_not():
    y = _C.relu(relu_input(7, 3))
    assert _C.owns_buffer(y)
    view = y[2:]
    assert _C.owns_buffer(y) and not _C.owns_buffer(view)
    capsule = y.base
    assert not _C.owns_buffer(y)    # something else holds the block
    del capsule
    assert _C.owns_buffer(y)
    assert not _C.owns_buffer(relu_input(7, 3))        # NumPy's own memory, not a block
    assert not _C.owns_buffer(np.frombuffer(bytearray(8), np.float32))
    assert not _C.owns_buffer([1.0, 2.0])


def test_autograd_keeps_a_kernel_gradient_without_copying_it():
    import tensorcore as tc
    rng = np.random.default_rng(4)
    a = tc.tensor(rng.standard_normal((33, 17), dtype=np.float32), requires_grad=True)
    b = tc.tensor(rng.standard_normal((17, 5), dtype=np.float32), requires_grad=True)
    (a @ b).sum().backward()
    assert _C.owns_buffer(a.grad.numpy()) and _C.owns_buffer(b.grad.numpy())
    expected = np.tile(b.numpy().astype(np.float64).sum(1), (33, 1))    # ones @ b.T
    np.testing.assert_allclose(a.grad.numpy(), expected, rtol=1e-5)


def test_one_kernel_gradient_for_two_leaves_gives_each_its_own_array():
    import tensorcore as tc
    import tensorcore.nn.functional as F
    rng = np.random.default_rng(5)
    x, h, c = (tc.tensor(rng.standard_normal((3, 4), dtype=np.float32)) for _ in range(3))
    w_ih, w_hh = (tc.tensor(rng.standard_normal((16, 4), dtype=np.float32), requires_grad=True)
                  for _ in range(2))
    b_ih, b_hh = (tc.tensor(rng.standard_normal(16, dtype=np.float32), requires_grad=True)
                  for _ in range(2))
    F.lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh)[0].sum().backward()
    assert not np.shares_memory(b_ih.grad.numpy(), b_hh.grad.numpy())
    np.testing.assert_array_equal(b_ih.grad.numpy(), b_hh.grad.numpy())
    b_ih.grad.numpy()[:] += 1.0
    assert not np.array_equal(b_ih.grad.numpy(), b_hh.grad.numpy())


@pytest.mark.skipif("libasan" in os.environ.get("LD_PRELOAD", ""),
                    reason="AddressSanitizer ends the process on an impossible allocation")
def test_an_allocation_that_fails_names_the_op_and_says_how_large_it_was():
    """A 2^60-byte output (within the size checks, beyond any address space): MemoryError with
    the op and the size, where pybind11 passed on a bare "std::bad_alloc"."""
    with pytest.raises(MemoryError, match=f"^matmul: out of memory for an array of {2**60} "
                                          "bytes$"):
        _C.matmul(stride_0(2**29, 1), stride_0(1, 2**29))
    with pytest.raises(MemoryError, match=r"^conv2d: out of memory for an array of \d+ bytes$"):
        _C.conv2d(np.ones((1, 1, 3, 3), np.float32), np.ones((1, 1, 3, 3), np.float32), None,
                  (1, 1), (2**20,) * 4, (1, 1), 1)
