"""CUDA graph capture and replay of a fixed sequence of kernel launches (CuPy's stream capture).

Capture runs the Python code once with the stream in capture mode: every kernel launch and
device copy queued on it is recorded into a graph instead of run. ``replay()`` then launches the
whole graph at once. Whatever Python decides during capture is frozen into the graph:

- the registry's dispatch (which variant runs, grid sizes, kernel arguments) happens only
  at capture; replays reuse the captured arrays' addresses and the captured scalars;
- buffers: every array allocated while capturing comes from a memory pool private to the graph
  (``cupy.cuda.MemoryPool`` installed with ``cupy.cuda.using_allocator``), kept alive as long as
  the graph. Temporaries freed during capture go back to that pool only, so no later allocation
  outside the graph can take an address the graph still writes on replay. (CuPy's default pool
  would hand such addresses out again; ``MemoryAsyncPool`` records graph allocation nodes that
  must be freed before the next launch, which outputs kept after capture are not.) CuPy
  captures in relaxed mode, so the private pool may call cudaMalloc while capturing;
- host work is not recorded: a host sync (``.item()``, ``float(t)``, ``bool(t)``, ``.numpy()``,
  a loss that checks its targets on the host) or a host-to-device copy inside capture
  invalidates it, and ``capture()`` raises a RuntimeError saying so;
- host numbers are frozen: the learning rate, SGD momentum, and Adam's step count (its bias
  correction is computed on the host per step, so Adam/AdamW steps are refused: replays
  would all reuse the captured step's correction).

What a replay reads and writes are the arrays captured: the static inputs (copy new data into
them), the parameters and optimizer state (updated in place by sgd_step), ``.grad`` buffers,
and the static outputs (overwritten by every replay). Rebinding any of those in Python
(``model.to(...)``, ``param.data = ...``) detaches it from the graph; ``load_state_dict``
copies in place and is fine.
"""
import contextlib

from .. import device as devices
from ..errors import DeviceError, DTypeError, ShapeError
from ..kernels import registry
from ..tensor import Tensor, _make

# ops whose kernels take per-step values computed on the host, so a replay would repeat the
# captured step's values instead of the current ones
HOST_STATE_OPS = {
    "adam_step": "Adam/AdamW compute the bias corrections 1 - beta**step on the host each step, "
                 "so every replay would reuse the captured step's; use SGD in a captured step, "
                 "or run Adam eagerly",
}
CAPTURE_ERROR_STATUSES = range(900, 910)    # cudaErrorStreamCapture* (unsupported, invalidated..)


def _require_cuda(op, device="cuda"):
    """(cupy, device index) for ``device``, or a RuntimeError naming ``op`` and the cause."""
    if devices.cupy_or_none() is None:
        raise RuntimeError(f"{op}: CUDA is not available (no CuPy installed or no GPU found); "
                           "CUDA graphs record GPU work only")
    name = devices.normalize(device, op)
    if name == "cpu":
        raise DeviceError(f"{op}: CUDA graphs record GPU work; got device 'cpu'")
    return devices.cupy_or_none(), int(name[5:])


def is_current_stream_capturing():
    """True while the current CuPy stream is recording a CUDA graph (ops that check values on
    the host can skip that check then); False without CUDA."""
    cupy = devices.cupy_or_none()
    return cupy is not None and bool(cupy.cuda.get_current_stream().is_capturing())


class CUDAGraph:
    """One captured graph on one device, as ``torch.cuda.CUDAGraph``::

        g = tc.cuda.CUDAGraph()
        out = model(static_x)            # run the code eagerly once first (compiles kernels)
        with g.capture():
            static_out = model(static_x)     # recorded, not run
        static_x.data[...] = new_x.data      # or copy into static_x any other way
        g.replay()                           # static_out now holds model(new_x)

    ``stream`` is the side stream captures run on; warm up on it (``with g.stream:``) so
    lazily created library state (cuBLAS workspaces) belongs to it. ``ops`` maps each
    registry op the capture dispatched to the variant it chose.
    """

    def __init__(self, device="cuda"):
        cupy, self.device_index = _require_cuda("CUDAGraph", device)
        with cupy.cuda.Device(self.device_index):
            self.stream = cupy.cuda.Stream(non_blocking=True)
        self.ops = {}
        self._graph = None
        self._pool = None       # the private memory pool the captured buffers live in

    @property
    def captured(self):
        return self._graph is not None

    @contextlib.contextmanager
    def capture(self):
        """Record what the body queues on the GPU. Inside, validation (TENSORCORE_VALIDATE)
        is off, since it copies results to the host, and an outer tc.kernels.profile()
        records nothing."""
        if self._graph is not None:
            raise RuntimeError("CUDAGraph.capture: this graph is already captured; make a new "
                               "CUDAGraph to capture again")
        cupy = devices.cupy_or_none()
        pool = cupy.cuda.MemoryPool()
        with cupy.cuda.Device(self.device_index):
            # the side stream starts after the work already queued (static inputs filled)
            self.stream.wait_event(cupy.cuda.get_current_stream().record())
            with self.stream, cupy.cuda.using_allocator(pool.malloc), \
                    registry.validate(False), registry.profile() as profile:
                self.stream.begin_capture()
                try:
                    yield self
                except BaseException as error:
                    _abort(self.stream)
                    if getattr(error, "status", None) in CAPTURE_ERROR_STATUSES:
                        raise _capture_error(error) from error
                    raise
                try:
                    graph = self.stream.end_capture()
                except Exception as error:
                    raise _capture_error(error) from error
            cupy.cuda.get_current_stream().wait_event(self.stream.record())
        ops = {name: entry["variant"] for name, entry in profile.ops.items()}
        refused = [op for op in ops if op in HOST_STATE_OPS]
        if refused:
            raise RuntimeError(f"CUDAGraph.capture: {refused[0]} cannot be replayed: "
                               f"{HOST_STATE_OPS[refused[0]]}")
        self._graph, self._pool, self.ops = graph, pool, ops

    def replay(self):
        """Launch the captured graph on the current stream (after work queued there, such as
        copies into the static inputs; before work queued later, such as reading outputs)."""
        if self._graph is None:
            raise RuntimeError("CUDAGraph.replay: nothing captured yet; record the work inside "
                               "`with graph.capture():` first")
        cupy = devices.cupy_or_none()
        with cupy.cuda.Device(self.device_index):
            self._graph.launch(stream=cupy.cuda.get_current_stream())


def _abort(stream):
    """End a capture that failed; its graph (if any) is dropped."""
    try:
        stream.end_capture()
    except Exception:   # an invalidated capture ends with an error: it is already reported
        pass


def _capture_error(error):
    return RuntimeError(
        "CUDAGraph.capture: the captured code did something a CUDA graph cannot record: a "
        "host sync (.item(), float(t), bool(t), .numpy(), a loss that checks its targets on "
        "the host), a host-to-device copy, or work on another stream; keep such work outside "
        f"the captured step ({type(error).__name__}: {error})")


class GraphedStep:
    """A captured step: ``step(*inputs)`` copies ``inputs`` into ``static_inputs``, replays
    the graph, and returns ``static_outputs`` (the same tensors every call, overwritten by
    the next replay: clone what you keep)."""

    def __init__(self, graph, static_inputs, static_outputs):
        self.graph, self.static_inputs, self.static_outputs = graph, static_inputs, static_outputs

    def __call__(self, *inputs):
        if len(inputs) != len(self.static_inputs):
            raise TypeError(f"graphed step: expected {len(self.static_inputs)} inputs (as "
                            f"captured), got {len(inputs)}")
        for i, (x, static) in enumerate(zip(inputs, self.static_inputs)):
            _check_like(f"graphed step: input {i}", x, static)
        for x, static in zip(inputs, self.static_inputs):
            if x is not static:
                static._data[...] = x._data
        self.graph.replay()
        return self.static_outputs

    def replay(self):
        """Replay on whatever the static inputs hold now."""
        self.graph.replay()
        return self.static_outputs


def _check_like(what, x, static):
    if not isinstance(x, Tensor):
        raise TypeError(f"{what}: expected a Tensor, got {type(x).__name__}")
    if x.device != static.device:
        raise DeviceError(f"{what}: expected a tensor on {static.device} (as captured), got "
                          f"one on {x.device}")
    if x.dtype != static.dtype:
        raise DTypeError(f"{what}: expected dtype {static.dtype} (as captured), got {x.dtype}")
    if x.shape != static.shape:
        raise ShapeError(f"{what}: expected shape {static.shape} (as captured), got {x.shape}")


def make_graphed_step(step_fn, *sample_inputs, warmup=3):
    """Capture ``step_fn(*inputs)`` (a forward pass, or forward + backward + SGD step) as a
    CUDA graph and return a GraphedStep that replays it.

    ``sample_inputs`` are CUDA tensors; their copies become the static inputs. ``step_fn``
    first runs ``warmup`` times eagerly (real steps: a training step updates the parameters),
    so that kernels are compiled, cuBLAS is initialised and optimizer state (momentum
    buffers) exists before capture; then once more under capture, which records its launches
    without running them. It returns a Tensor, a tuple or list of Tensors, or None; tensors
    come back detached (replays do not rebuild the autograd graph).
    """
    if not callable(step_fn):
        raise TypeError(f"make_graphed_step: step_fn must be callable, got "
                        f"{type(step_fn).__name__}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 1:
        raise ValueError(f"make_graphed_step: warmup must be an int >= 1 (eager steps before "
                         f"capture create kernels and optimizer state), got {warmup!r}")
    for i, x in enumerate(sample_inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"make_graphed_step: input {i} must be a Tensor, got "
                            f"{type(x).__name__}")
        if x.device == "cpu":
            raise DeviceError(f"make_graphed_step: input {i} is on cpu; CUDA graphs record "
                              "GPU work, so the step's inputs must be CUDA tensors (.cuda())")
    devices_used = sorted({x.device for x in sample_inputs}) or ["cuda"]
    if len(devices_used) > 1:
        raise DeviceError(f"make_graphed_step: inputs on several devices {devices_used}; a "
                          "graph runs on one")
    graph = CUDAGraph(devices_used[0])
    cupy = devices.cupy_or_none()
    static_inputs = tuple(_make(x._data.copy()) for x in sample_inputs)
    cupy.cuda.get_current_stream().synchronize()
    with graph.stream:
        for _ in range(warmup):
            step_fn(*static_inputs)
    graph.stream.synchronize()
    with graph.capture():
        outputs = step_fn(*static_inputs)
    return GraphedStep(graph, static_inputs, _detached(outputs))


def _detached(outputs):
    if outputs is None:
        return None
    if isinstance(outputs, Tensor):
        return outputs.detach()
    if isinstance(outputs, (tuple, list)) and all(isinstance(o, Tensor) for o in outputs):
        return type(outputs)(o.detach() for o in outputs)
    raise TypeError("make_graphed_step: step_fn must return a Tensor, a tuple or list of "
                    f"Tensors, or None (host values are not recorded), got {outputs!r}")
