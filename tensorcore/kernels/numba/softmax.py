"""softmax / log_softmax (+ backward) with one block per row and shared-memory reductions,
and the losses on (N, C) rows: cross_entropy (fused log_softmax + NLL), nll_loss, and their
backward passes (one grid-stride thread per element). The op's axis is moved last: rows
(R, C), contiguous, are what the kernels see.
"""
import math

from ...device import array_module
from . import common
from .common import blocks, kernel_cache, numba_cuda, require_float, scalar_type
from .reduce import block_reductions

cuda = None     # numba.cuda once a kernel is built: a module global, which the simulator swaps


@kernel_cache
def softmax_kernel(dtype, threads, log):
    global cuda
    block_sum, block_max = block_reductions()
    cuda = numba_cuda()
    T = scalar_type(dtype)

    @cuda.jit
    def softmax(x, y):
        # x, y (R, C): block b takes rows b, b + gridDim, ...; its threads stride along a row
        buffer = cuda.shared.array(threads, T)
        t, C = cuda.threadIdx.x, x.shape[1]
        for r in range(cuda.blockIdx.x, x.shape[0], cuda.gridDim.x):
            largest = T(-math.inf)
            for c in range(t, C, threads):
                v = x[r, c]
                if v > largest or v != v:       # NaN sticks, as max does
                    largest = v
            largest = block_max(buffer, largest)
            total = T(0)
            for c in range(t, C, threads):
                total += math.exp(x[r, c] - largest)
            total = block_sum(buffer, total)
            if log:
                log_total = math.log(total)
                for c in range(t, C, threads):
                    y[r, c] = x[r, c] - largest - log_total
            else:
                for c in range(t, C, threads):
                    y[r, c] = math.exp(x[r, c] - largest) / total

    return softmax


@kernel_cache
def softmax_backward_kernel(dtype, threads, log):
    global cuda
    block_sum, _ = block_reductions()
    cuda = numba_cuda()
    T = scalar_type(dtype)

    @cuda.jit
    def softmax_backward(grad, y, dx):
        # softmax: dx = y (grad - sum(grad y));  log_softmax: dx = grad - exp(y) sum(grad)
        buffer = cuda.shared.array(threads, T)
        t, C = cuda.threadIdx.x, y.shape[1]
        for r in range(cuda.blockIdx.x, y.shape[0], cuda.gridDim.x):
            total = T(0)
            for c in range(t, C, threads):
                total += grad[r, c] if log else grad[r, c] * y[r, c]
            total = block_sum(buffer, total)
            for c in range(t, C, threads):
                if log:
                    dx[r, c] = grad[r, c] - math.exp(y[r, c]) * total
                else:
                    dx[r, c] = y[r, c] * (grad[r, c] - total)

    return softmax_backward


@kernel_cache
def cross_entropy_kernel(dtype, threads):
    global cuda
    block_sum, block_max = block_reductions()
    cuda = numba_cuda()
    T = scalar_type(dtype)

    @cuda.jit
    def cross_entropy(logits, target, loss, log_probs):
        # logits, log_probs (N, C); target, loss (N,)
        buffer = cuda.shared.array(threads, T)
        t, C = cuda.threadIdx.x, logits.shape[1]
        for r in range(cuda.blockIdx.x, logits.shape[0], cuda.gridDim.x):
            largest = T(-math.inf)
            for c in range(t, C, threads):
                v = logits[r, c]
                if v > largest or v != v:
                    largest = v
            largest = block_max(buffer, largest)
            total = T(0)
            for c in range(t, C, threads):
                total += math.exp(logits[r, c] - largest)
            # x - max first: exact for the logits near the max, where max + log(sum) would
            # round away digits of large logits
            log_total = math.log(block_sum(buffer, total))
            for c in range(t, C, threads):
                log_probs[r, c] = logits[r, c] - largest - log_total
            if t == 0:
                loss[r] = log_total - (logits[r, target[r]] - largest)

    return cross_entropy


@kernel_cache
def rows_backward_kernel(dtype, softmax_part):
    """dlogits[n, c] = grad[n] (exp(log_probs[n, c]) - [c == target[n]]) for cross_entropy
    (softmax_part), dlog_probs[n, c] = -grad[n] [c == target[n]] for nll_loss."""
    global cuda
    cuda = numba_cuda()
    T = scalar_type(dtype)

    @cuda.jit
    def rows_backward(grad, log_probs, target, out):
        C = log_probs.shape[1]
        for e in range(cuda.grid(1), log_probs.size, cuda.gridsize(1)):
            n, c = e // C, e % C
            value = math.exp(log_probs[n, c]) if softmax_part else T(0)
            if c == target[n]:
                value -= 1
            out[n, c] = grad[n] * value

    return rows_backward


@kernel_cache
def nll_kernel(dtype):
    global cuda
    cuda = numba_cuda()

    @cuda.jit
    def nll(log_probs, target, loss):
        for n in range(cuda.grid(1), loss.size, cuda.gridsize(1)):
            loss[n] = -log_probs[n, target[n]]

    return nll


def _rows(x, axis):
    """x with ``axis`` moved last, as contiguous rows (R, C), and the moved shape."""
    moved = array_module(x).moveaxis(x, axis, -1)
    return common.contiguous(moved).reshape(-1, moved.shape[-1]), moved.shape


def _unrows(rows, moved_shape, axis):
    return array_module(rows).moveaxis(rows.reshape(moved_shape), -1, axis)


def _row_blocks(rows):
    return min(rows, common.config.max_row_blocks)


def softmax(x, axis, log=False):
    require_float("log_softmax" if log else "softmax", x)
    rows, moved = _rows(x, axis)
    y = common.empty(rows, rows.shape)
    if y.size:
        threads = common.config.reduce_threads
        common.launch(softmax_kernel(x.dtype, threads, log), _row_blocks(rows.shape[0]),
                      threads, rows, y)
    return _unrows(y, moved, axis)


def softmax_backward(grad, y, axis, log=False):
    require_float("log_softmax_backward" if log else "softmax_backward", grad, y)
    if grad.shape != y.shape:
        raise NotImplementedError
    grad_rows, moved = _rows(grad, axis)
    y_rows, _ = _rows(y, axis)
    dx = common.empty(y_rows, y_rows.shape)
    if dx.size:
        threads = common.config.reduce_threads
        common.launch(softmax_backward_kernel(y.dtype, threads, log),
                      _row_blocks(dx.shape[0]), threads, grad_rows, y_rows, dx)
    return _unrows(dx, moved, axis)


def _elementwise_launch(kernel, n, *args):
    threads = common.config.elementwise_threads
    common.launch(kernel, blocks(n, threads), threads, *args)


def cross_entropy(logits, target):
    require_float("cross_entropy", logits)
    N, C = logits.shape
    loss, log_probs = common.empty(logits, (N,)), common.empty(logits, (N, C))
    if logits.size:
        threads = common.config.reduce_threads
        common.launch(cross_entropy_kernel(logits.dtype, threads), _row_blocks(N), threads,
                      logits, target, loss, log_probs)
    return loss, log_probs


def _rows_backward(op, softmax_part, grad, log_probs, target):
    require_float(op, grad, log_probs)
    out = common.empty(log_probs, log_probs.shape)
    if out.size:
        _elementwise_launch(rows_backward_kernel(log_probs.dtype, softmax_part), out.size,
                            grad, log_probs, target, out)
    return out


def cross_entropy_backward(grad, log_probs, target):
    return _rows_backward("cross_entropy_backward", True, grad, log_probs, target)


def nll_loss(log_probs, target):
    require_float("nll_loss", log_probs)
    loss = common.empty(log_probs, (log_probs.shape[0],))
    if loss.size:
        _elementwise_launch(nll_kernel(log_probs.dtype), loss.size, log_probs, target, loss)
    return loss


def nll_loss_backward(grad, log_probs, target):
    return _rows_backward("nll_loss_backward", False, grad, log_probs, target)
