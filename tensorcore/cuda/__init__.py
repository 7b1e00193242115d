"""CUDA helpers: ``tc.cuda.is_available()``, ``tc.cuda.synchronize()`` and CUDA graphs.

A CUDA graph records a fixed sequence of kernel launches once and replays it with one launch,
removing the per-op Python dispatch and launch overhead (see graphs.py for what can be
captured and why)::

    model, opt = tc.nn.Sequential(...).cuda(), tc.optim.SGD(model.parameters(), lr=0.1)

    def train_step(x, y):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss

    step = tc.cuda.make_graphed_step(train_step, x0, y0)   # 3 eager warm-up steps, then capture
    for x, y in batches:
        loss = step(x, y)       # copies x, y into the static inputs, replays the whole step
"""
from ..device import cuda_available as is_available
from ..legacy import tensor_types

# torch.cuda.FloatTensor and friends: tensors of that type made on the GPU
(FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor, ByteTensor,
 BoolTensor) = tensor_types("cuda", "tc.cuda.")
from .graphs import (CUDAGraph, GraphedStep, _require_cuda, is_current_stream_capturing,
                     make_graphed_step)

__all__ = ["CUDAGraph", "GraphedStep", "is_available", "is_current_stream_capturing",
           "make_graphed_step", "synchronize"]


def synchronize(device="cuda"):
    """Wait until every kernel queued on ``device`` has finished."""
    cupy, index = _require_cuda("synchronize", device)
    cupy.cuda.Device(index).synchronize()
