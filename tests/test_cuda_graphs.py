"""tc.cuda graphs: capture and replay of a fixed launch sequence.

Without a GPU: the error paths, and the capture protocol run against a stand-in for CuPy's
stream-capture API (begin/end capture, the private memory pool, validation off inside capture,
refused ops, errors inside capture). With a GPU: a captured MLP training step (forward,
backward, SGD with momentum) replayed for several steps against the same steps run eagerly,
inference graphs of an MLP and a small CNN against eager output, and the refusals.
"""
import contextlib

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore import device as devices
from tensorcore.errors import DeviceError, DTypeError, ShapeError
from tensorcore.kernels import registry
from tensorcore.tensor import _make

HAVE_CUDA = tc.device.cuda_available()
needs_cuda = pytest.mark.skipif(not HAVE_CUDA, reason="no CUDA device")
no_cuda = pytest.mark.skipif(HAVE_CUDA, reason="checks the messages given without CUDA")


# ---- without CUDA -------------------------------------------------------------------------

@no_cuda
def test_graph_without_cuda_names_the_cause():
    with pytest.raises(RuntimeError, match="CUDAGraph: CUDA is not available"):
        tc.cuda.CUDAGraph()
    with pytest.raises(RuntimeError, match="synchronize: CUDA is not available"):
        tc.cuda.synchronize()
    assert tc.cuda.is_available() is False
    assert tc.cuda.is_current_stream_capturing() is False


def test_step_on_cpu_tensors_is_refused():
    x = tc.randn(4, 3)
    with pytest.raises(DeviceError, match="make_graphed_step: input 0 is on cpu"):
        tc.cuda.make_graphed_step(lambda a, b: a + b, x, x)


@pytest.mark.parametrize("warmup", [0, -1, 1.5, True])
def test_warmup_must_be_a_positive_int(warmup):
    with pytest.raises(ValueError, match="warmup must be an int >= 1"):
        tc.cuda.make_graphed_step(lambda a: a, tc.randn(2), warmup=warmup)


def test_step_arguments_are_checked():
    with pytest.raises(TypeError, match="step_fn must be callable"):
        tc.cuda.make_graphed_step("not a function", tc.randn(2))
    with pytest.raises(TypeError, match="input 0 must be a Tensor"):
        tc.cuda.make_graphed_step(lambda a: a, np.ones(2))


# ---- the capture protocol against a stand-in for CuPy -------------------------------------

class FakeArray:
    """A host array that reports itself on cuda:0 (Tensor.device reads array.device.id)."""

    class device:
        id = 0

    def __init__(self, values):
        self.values = np.array(values, dtype=np.float32)
        self.shape, self.dtype = self.values.shape, self.values.dtype

    def copy(self):
        return FakeArray(self.values)

    def __setitem__(self, index, other):
        self.values[index] = other.values


class FakeStream:
    def __init__(self, log, non_blocking=False):
        self.log, self.capturing = log, False

    def __enter__(self):
        self.log.append("enter stream")

    def __exit__(self, *exc):
        self.log.append("exit stream")

    def begin_capture(self):
        assert not self.capturing
        self.capturing = True
        self.log.append("begin")

    def end_capture(self):
        assert self.capturing
        self.capturing = False
        self.log.append("end")
        if getattr(self, "invalidated", False):
            raise RuntimeError("cudaErrorStreamCaptureInvalidated")
        return FakeGraph(self.log)

    def is_capturing(self):
        return self.capturing

    def record(self):
        return "event"

    def wait_event(self, event):
        pass

    def synchronize(self):
        assert not self.capturing, "a host sync inside capture"
        self.log.append("sync")


class FakeGraph:
    def __init__(self, log):
        self.log = log

    def launch(self, stream=None):
        self.log.append("launch")


class FakeCuda:
    """The part of cupy.cuda that graphs.py uses."""

    def __init__(self):
        self.log, self.allocators = [], []
        log = self.log
        self.current = FakeStream(log)

        class Stream(FakeStream):
            def __init__(stream, non_blocking=False):
                super().__init__(log, non_blocking)
        self.Stream = Stream

        class MemoryPool:
            def malloc(self, size):
                raise AssertionError("not called by the stand-in")
        self.MemoryPool = MemoryPool

        class runtime:
            @staticmethod
            def getDeviceCount():
                return 1
        self.runtime = runtime

    def Device(self, index):
        return contextlib.nullcontext()

    def get_current_stream(self):
        return self.current

    @contextlib.contextmanager
    def using_allocator(self, allocator):
        self.allocators.append(allocator)
        try:
            yield
        finally:
            self.allocators.pop()


@pytest.fixture
def fake_cupy(monkeypatch):
    cupy = type("FakeCupy", (), {})()
    cupy.cuda = FakeCuda()
    monkeypatch.setattr(devices, "cupy_or_none", lambda: cupy)
    return cupy


def test_capture_records_on_a_side_stream_with_a_private_pool(fake_cupy):
    graph = tc.cuda.CUDAGraph()
    sgd_step = registry.get("sgd_step")
    param, grad = np.ones(5), np.full(5, 2.0)
    seen = {}
    with registry.validate(True):
        with graph.capture():
            seen["allocators"] = list(fake_cupy.cuda.allocators)
            seen["validating"] = registry._validate
            seen["capturing"] = graph.stream.is_capturing()
            sgd_step(param, grad, None, 0.5, 0.0, False, 0.0)
        assert registry._validate is True           # restored after capture
    assert seen["capturing"] and not graph.stream.is_capturing()
    assert len(seen["allocators"]) == 1 and fake_cupy.cuda.allocators == []
    assert seen["validating"] is False
    assert graph.captured and list(graph.ops) == ["sgd_step"]
    assert graph._pool is not None                   # kept alive with the graph
    graph.replay()
    assert fake_cupy.cuda.log.count("launch") == 1


def test_replay_before_capture_and_second_capture_are_refused(fake_cupy):
    graph = tc.cuda.CUDAGraph()
    with pytest.raises(RuntimeError, match="replay: nothing captured yet"):
        graph.replay()
    with graph.capture():
        pass
    with pytest.raises(RuntimeError, match="already captured"):
        with graph.capture():
            pass


def test_adam_step_is_refused(fake_cupy):
    graph = tc.cuda.CUDAGraph()
    param, grad, m, v = np.ones(4), np.full(4, 0.5), np.zeros(4), np.zeros(4)
    with pytest.raises(RuntimeError, match="adam_step cannot be replayed: .*bias corrections"):
        with graph.capture():
            registry.get("adam_step")(param, grad, m, v, 1, 1e-3, 0.9, 0.999, 1e-8, 0.0, False)
    assert not graph.captured
    assert fake_cupy.cuda.log.count("end") == 1


def test_errors_inside_capture_end_it(fake_cupy):
    graph = tc.cuda.CUDAGraph()
    with pytest.raises(ValueError, match="user error"):
        with graph.capture():
            raise ValueError("user error")
    assert fake_cupy.cuda.log.count("end") == 1 and not graph.stream.is_capturing()

    class CaptureUnsupported(Exception):
        status = 900        # cudaErrorStreamCaptureUnsupported, as CuPy's CUDARuntimeError
    with pytest.raises(RuntimeError, match="cannot record: a host sync"):
        with graph.capture():
            raise CaptureUnsupported("operation not permitted when stream is capturing")
    assert fake_cupy.cuda.log.count("end") == 2 and not graph.captured


def test_invalidated_capture_is_reported(fake_cupy):
    graph = tc.cuda.CUDAGraph()
    with pytest.raises(RuntimeError, match="cannot record.*StreamCaptureInvalidated"):
        with graph.capture():
            graph.stream.invalidated = True
    assert not graph.captured


def test_graphed_step_warms_up_captures_and_copies_inputs(fake_cupy):
    calls = []

    def step(x):
        calls.append(graph_state())
        return _make(FakeArray(x._data.values * 2)), x

    def graph_state():
        return "capture" if fake_cupy.cuda.log[-1] == "begin" else "eager"

    x0 = _make(FakeArray([1.0, 2.0, 3.0]))
    step_fn = tc.cuda.make_graphed_step(step, x0, warmup=2)
    assert calls == ["eager", "eager", "capture"]
    assert step_fn.static_inputs[0]._data is not x0._data      # a copy, not the caller's
    doubled, echoed = step_fn.static_outputs
    assert echoed._data is step_fn.static_inputs[0]._data and echoed.grad_fn is None

    out = step_fn(_make(FakeArray([5.0, 6.0, 7.0])))
    assert out is step_fn.static_outputs
    np.testing.assert_array_equal(step_fn.static_inputs[0]._data.values, [5.0, 6.0, 7.0])
    assert fake_cupy.cuda.log.count("launch") == 1

    with pytest.raises(ShapeError, match=r"input 0: expected shape \(3,\)"):
        step_fn(_make(FakeArray([1.0, 2.0])))
    with pytest.raises(DeviceError, match="input 0: expected a tensor on cuda:0"):
        step_fn(tc.ones(3))
    wrong = FakeArray([1.0, 2.0, 3.0])
    wrong.dtype = np.dtype(np.float64)
    with pytest.raises(DTypeError, match="expected dtype float32"):
        step_fn(_make(wrong))
    with pytest.raises(TypeError, match="expected 1 inputs"):
        step_fn()
    assert fake_cupy.cuda.log.count("launch") == 1      # no replay after a refused call


def test_step_returning_host_values_is_refused(fake_cupy):
    with pytest.raises(TypeError, match="must return a Tensor"):
        tc.cuda.make_graphed_step(lambda x: 1.5, _make(FakeArray([1.0])), warmup=1)


# ---- on the GPU ---------------------------------------------------------------------------

def _mlp(seed):
    tc.manual_seed(seed)
    return tc.nn.Sequential(tc.nn.Linear(13, 33), tc.nn.ReLU(), tc.nn.Linear(33, 7),
                            tc.nn.Tanh(), tc.nn.Linear(7, 3)).cuda()


def _batches(count, rows=17):
    rng = np.random.default_rng(1)
    return [(tc.tensor(rng.standard_normal((rows, 13)).astype(np.float32), device="cuda"),
             tc.tensor(rng.standard_normal((rows, 3)).astype(np.float32), device="cuda"))
            for _ in range(count)]


def _training_step(model, optimizer):
    def step(x, y):
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        return loss
    return step


def _assert_same_parameters(a, b, what):
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-6, atol=1e-7,
                                   err_msg=f"{what}: {name}")


@needs_cuda
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_captured_training_step_matches_eager_steps(momentum):
    eager, graphed = _mlp(3), _mlp(3)
    eager_step = _training_step(eager, tc.optim.SGD(eager.parameters(), lr=0.05,
                                                    momentum=momentum))
    batches = _batches(6)
    step = tc.cuda.make_graphed_step(
        _training_step(graphed, tc.optim.SGD(graphed.parameters(), lr=0.05, momentum=momentum)),
        *batches[0], warmup=3)
    for _ in range(3):                  # the warm-up steps, eagerly
        eager_step(*batches[0])
    _assert_same_parameters(graphed, eager, "after warm-up")
    for k, (x, y) in enumerate(batches[1:]):
        eager_loss = eager_step(x, y)
        graphed_loss = step(x, y)
        np.testing.assert_allclose(graphed_loss.item(), eager_loss.item(), rtol=1e-6,
                                   err_msg=f"loss at step {k}")
        _assert_same_parameters(graphed, eager, f"step {k}")
    assert step.graph.ops["sgd_step"].startswith("cuda.")


@needs_cuda
def test_replay_survives_new_allocations_outside_the_graph():
    """Temporaries freed during capture must not be handed out again by CuPy's default pool:
    fill many fresh arrays with garbage between replays and check the output stays right."""
    model = _mlp(4)
    x0 = _batches(1)[0][0]
    with tc.no_grad():
        step = tc.cuda.make_graphed_step(model, x0)
        for x, _ in _batches(3, rows=17):
            junk = [tc.full((17, 33), float("nan"), device="cuda") for _ in range(50)]
            got = step(x).numpy()
            del junk
            np.testing.assert_allclose(got, model(x).numpy(), rtol=1e-6, atol=1e-6)


@needs_cuda
def test_inference_graph_of_a_cnn_matches_eager_output():
    tc.manual_seed(5)
    model = tc.nn.Sequential(tc.nn.Conv2d(3, 8, 3, padding=1), tc.nn.ReLU(), tc.nn.MaxPool2d(2),
                             tc.nn.Conv2d(8, 4, 3), tc.nn.Flatten(), tc.nn.Linear(4 * 5 * 5, 10),
                             tc.nn.Softmax()).cuda().eval()
    rng = np.random.default_rng(2)
    inputs = [tc.tensor(rng.standard_normal((5, 3, 14, 14)).astype(np.float32), device="cuda")
              for _ in range(4)]
    with tc.no_grad():
        step = tc.cuda.make_graphed_step(model, inputs[0], warmup=1)
        for x in inputs[1:]:
            np.testing.assert_allclose(step(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-6)


@needs_cuda
def test_adam_and_host_syncs_are_refused_on_the_gpu():
    model = _mlp(6)
    x, y = _batches(1)[0]
    with pytest.raises(RuntimeError, match="adam_step cannot be replayed"):
        tc.cuda.make_graphed_step(_training_step(model, tc.optim.Adam(model.parameters())), x, y)

    def syncing_step(x, y):
        loss = F.mse_loss(model(x), y)
        return loss * loss.item()
    with pytest.raises(RuntimeError, match="cannot record: a host sync"):
        tc.cuda.make_graphed_step(syncing_step, x, y)
    assert not tc.cuda.is_current_stream_capturing()
    # eager work still runs after a failed capture
    np.testing.assert_allclose(F.mse_loss(model(x), y).item(),
                               F.mse_loss(model(x), y).item())
