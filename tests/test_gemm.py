"""The C++ GEMM (tensorcore._C.matmul, variant "cpu.gemm") against a float64 NumPy reference:
odd sizes that leave partial register tiles and cache blocks, all four transpose cases and
other strided views read in place, batches and broadcast batches, thread-count independence,
and bad input."""
import threading
import time
import tracemalloc

import numpy as np
import pytest

import tensorcore as tc
from tests.helpers import assert_close, rand

_C = pytest.importorskip("tensorcore._C")

# (M, K, N), each run with every register tile (set_gemm_tile) and the automatic choice; K =
# 257 and 1000 span several depth blocks; N = 1000 and 1031 end in partial column panels
SIZES = [(1, 1, 1), (1, 7, 3), (3, 1, 7), (7, 33, 1), (16, 1000, 127), (32, 127, 33),
         (33, 127, 7), (127, 3, 33), (127, 1000, 33), (1000, 7, 127), (33, 1000, 1000),
         (32, 300, 1000), (300, 300, 300), (7, 257, 1031), (130, 257, 1100)]


def reference(a, b):
    return np.matmul(a.astype(np.float64), b.astype(np.float64))


def check(a, b):
    got = _C.matmul(a, b)
    assert got.dtype == a.dtype and got.flags.c_contiguous
    assert_close(got, reference(a, b), a.dtype, what=f"matmul {a.shape} @ {b.shape}")
    return got


def operand(rows, cols, dtype, transposed, seed):
    """A (rows, cols) operand, stored transposed (a column-major view) when asked."""
    if transposed:
        return rand(cols, rows, seed=seed).astype(dtype).T
    return rand(rows, cols, seed=seed).astype(dtype)


TILES = ("main", "short", "wide")


@pytest.fixture(params=("auto",) + TILES)
def gemm_tile(request):
    """Each test once with the tile chosen per problem, once with each tile forced."""
    assert _C.gemm_tile() == "auto"
    _C.set_gemm_tile(request.param)
    yield request.param
    _C.set_gemm_tile("auto")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,k,n", SIZES)
@pytest.mark.parametrize("a_t,b_t", [(False, False), (True, False), (False, True), (True, True)])
def test_sizes_and_transposes(m, k, n, a_t, b_t, dtype, gemm_tile):
    check(operand(m, k, dtype, a_t, 1), operand(k, n, dtype, b_t, 2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_tile_gives_the_same_bits(dtype):
    """The tiles differ in shape only: each element's products summed in the same order."""
    cases = [(operand(m, k, dtype, a_t, 3), operand(k, n, dtype, b_t, 4))
             for (m, k, n), a_t, b_t in [((37, 1000, 131), False, False),
                                         ((130, 257, 1100), True, False),
                                         ((33, 600, 1031), False, True)]]
    results = {}
    try:
        for tile in TILES:
            _C.set_gemm_tile(tile)
            results[tile] = [_C.matmul(a, b) for a, b in cases]
    finally:
        _C.set_gemm_tile("auto")
    for tile in TILES[1:]:
        for x, y in zip(results[TILES[0]], results[tile]):
            np.testing.assert_array_equal(x, y)


def test_tile_changed_while_other_threads_multiply():
    """Workspaces are sized for any tile, as the tile can change between sizing and running."""
    a = rand(130, 600, seed=20).astype(np.float32)
    b = rand(600, 1100, seed=21).astype(np.float32)
    expected = _C.matmul(a, b)
    results, stop = [], threading.Event()

    def multiply():
        while not stop.is_set():
            results.append(np.array_equal(_C.matmul(a, b), expected))

    workers = [threading.Thread(target=multiply) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        flips, deadline = 0, time.monotonic() + 60
        while len(results) < 40 and time.monotonic() < deadline:
            _C.set_gemm_tile(TILES[flips % len(TILES)])
            flips += 1
    finally:
        _C.set_gemm_tile("auto")
        stop.set()
        for worker in workers:
            worker.join()
    assert len(results) >= 40 and all(results)


def test_set_gemm_tile_refuses_unknown_names():
    with pytest.raises(ValueError, match="set_gemm_tile: expected 'auto', 'main', 'short' or "
                                         "'wide', got 'tall'"):
        _C.set_gemm_tile("tall")
    assert _C.gemm_tile() == "auto"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("row_bytes,m,k,n", [(4096, 64, 300, 1024), (4096, 57, 1000, 1000),
                                             (4096, 100, 40, 2048), (2048, 64, 300, 500),
                                             (1024, 57, 1024, 250)])
def test_b_rows_a_power_of_two_apart_give_the_bits_of_other_strides(isa, gemm_tile, row_bytes,
                                                                     m, k, n, dtype):
    """Row-major B whose rows are 4, 2 or 1 KiB apart is copied panel by panel where a K
    block is deep enough (its rows share cache sets; not at k = 40); the same values with
    rows 64 bytes further apart are read in place: both give the same bits, and the
    reference's values."""
    per_row = row_bytes // np.dtype(dtype).itemsize
    width = (-(-n // per_row) | 1) * per_row       # an odd multiple: aliasing at row_bytes
    values = rand(k, width, seed=9).astype(dtype)
    padded = np.pad(values, ((0, 0), (0, 64 // np.dtype(dtype).itemsize)))
    a = rand(m, k, seed=8).astype(dtype)
    got = check(a, values[:, :n])
    np.testing.assert_array_equal(got, _C.matmul(a, padded[:, :n]))
    np.testing.assert_array_equal(check(a[::-1], values[::-1, :n]),
                                  _C.matmul(a[::-1], padded[::-1, :n]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sliced_and_negative_stride_views(dtype):
    big = rand(90, 260, seed=3).astype(dtype)
    other = rand(300, 140, seed=4).astype(dtype)
    views = [
        (big[::3, ::2], other[:130, ::-1]),                  # step slices, reversed columns
        (big[::-1, 5:38], other[::-2][:33, 7:40]),           # reversed rows, both
        (big[10:17, 3:36], other[::-1, ::-1][:33, :127]),    # row slice, both reversed
        (big[::-2, ::-3][:, :33], other.T[::-1][:33, ::5][:, :29]),
    ]
    for a, b in views:
        assert not (a.flags.c_contiguous and b.flags.c_contiguous)
        check(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batches_and_broadcast_batches(dtype):
    a3 = rand(5, 33, 127, seed=5).astype(dtype)
    b3 = rand(5, 127, 7, seed=6).astype(dtype)
    a2, b2 = a3[0], b3[0]
    for a, b in [(a3, b3), (a3, b2), (a2, b3), (a3[:1], b3), (a3, b3[:1]),
                 (a3.transpose(0, 2, 1)[:, :7, :33].transpose(0, 2, 1), b3[:, :7, :]),
                 (a3[::-2], b3[::2]), (np.ascontiguousarray(a3[:, :, :127]), b3[:, ::-1, :])]:
        got = check(a, b)
        assert got.ndim == 3


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,k", [(33, 127), (200, 1000)])
def test_a_broadcast_over_a_batch_gives_each_product_s_bits(m, k, dtype):
    """One A against a batch of B: packed once when it is one block (33 x 127), per matrix
    when not (200 x 1000: several row and depth blocks); either way each product's bits."""
    a = rand(m, k, seed=18).astype(dtype)
    b3 = rand(4, k, 9, seed=19).astype(dtype)
    got = _C.matmul(a, b3)
    for i in range(len(b3)):
        np.testing.assert_array_equal(got[i], _C.matmul(a, b3[i]))
    assert_close(got, reference(a, b3), dtype)


def test_one_and_two_threads_give_identical_bits():
    before = _C.get_num_threads()
    a = rand(1000, 300, seed=7).astype(np.float32)
    b = rand(300, 127, seed=8).astype(np.float32)
    wide = rand(64, 300, seed=16).astype(np.float32), rand(300, 1040, seed=17).astype(np.float32)
    a3 = rand(3, 32, 1000, seed=9).astype(np.float32)
    b3 = rand(1000, 127, seed=10).astype(np.float32)
    try:
        results = []
        for threads in (1, 2, 3):
            _C.set_num_threads(threads)
            results.append((_C.matmul(a, b), _C.matmul(a.T.copy().T, b[:, ::-1]),
                            _C.matmul(a3, b3), _C.matmul(a3[0], b3[::-1]), _C.matmul(*wide)))
    finally:
        _C.set_num_threads(before)
    for other in results[1:]:
        for x, y in zip(results[0], other):
            np.testing.assert_array_equal(x, y)


def test_strided_operands_are_read_in_place():
    """No copy of a transposed or sliced operand: the only NumPy allocation is the output."""
    a = rand(1000, 1000, seed=11).astype(np.float32)
    b = rand(1000, 8, seed=12).astype(np.float32)
    gemm = tc.kernels.get("matmul").variants["cpu.gemm"].fn
    for fn in (_C.matmul, gemm):
        for left, right in [(a.T, b), (a[::-1, ::2].T, b[::-1]), (b.T, a[:, ::-3])]:
            tracemalloc.start()
            out = fn(left, right)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            assert peak < out.nbytes + (64 << 10), f"{peak} bytes allocated for {out.nbytes}"
            assert_close(out, reference(left, right), np.float32)


def test_through_the_registry_with_tensors():
    x = tc.tensor(rand(33, 127, seed=13).astype(np.float32))
    w = tc.tensor(rand(7, 127, seed=14).astype(np.float32))
    with tc.kernels.use(matmul="cpu.gemm"):
        y = tc.matmul(x, w.T)
        assert tc.kernels.get("matmul").last.name == "cpu.gemm"
        assert_close(y.numpy(), reference(x.numpy(), w.numpy().T), np.float32)
        xt = tc.tensor(rand(127, 33, seed=15).astype(np.float32))
        z = tc.matmul(xt.T, w.T)
        assert tc.kernels.get("matmul").last.name == "cpu.gemm"
        assert_close(z.numpy(), reference(xt.numpy().T, w.numpy().T), np.float32)


def test_empty_dimensions():
    for m, k, n in [(0, 3, 4), (3, 0, 4), (3, 4, 0)]:
        a, b = np.ones((m, k), np.float32), np.ones((k, n), np.float32)
        np.testing.assert_array_equal(_C.matmul(a, b), np.zeros((m, n), np.float32))


@pytest.mark.parametrize("a,b,error,words", [
    (np.ones((2, 3), np.int64), np.ones((3, 2)), TypeError, ["matmul", "int64"]),
    (np.ones((2, 3), np.float32), np.ones((3, 2)), TypeError, ["matmul", "float32", "float64"]),
    (np.ones(3), np.ones((3, 2)), ValueError, ["matmul", "(3,)"]),
    (np.ones((2, 3)), np.ones((4, 2)), ValueError, ["matmul", "(2, 3)", "(4, 2)"]),
    (np.ones((2, 2, 3)), np.ones((3, 3, 2)), ValueError, ["matmul", "(2, 2, 3)", "(3, 3, 2)"]),
    (np.ones((1, 2, 2, 3)), np.ones((3, 2)), ValueError, ["matmul", "(1, 2, 2, 3)"]),
])
def test_bad_input_names_the_op_and_the_values(a, b, error, words):
    with pytest.raises(error) as raised:
        _C.matmul(a, b)
    for word in words:
        assert word in str(raised.value)
