"""Device "cuda": every "cuda.*" kernel variant against the NumPy reference (float64 oracle run
on the host) on random inputs of odd sizes, device moves and mixing errors, out-of-memory
errors, and a short training run. GPU-only tests skip without a CUDA device."""
import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore.errors import DeviceError, OutOfMemoryError
from tensorcore.kernels import registry

from helpers import gelu_tanh_huge_inputs

HAVE_CUDA = tc.device.cuda_available()
needs_cuda = pytest.mark.skipif(not HAVE_CUDA, reason="no CUDA device")
TOLERANCE = {"float32": 2e-5, "float64": 1e-11}
TF32_TOLERANCE = 5e-3


def _rand(rng, *shape):
    return rng.uniform(-1.0, 1.0, size=shape)


def _host(a):
    return a.get() if hasattr(a, "get") else np.asarray(a)


def _assert_close(got, expected, tol, what):
    """Elementwise, with the absolute part scaled by the result's magnitude (sums over long
    axes round in proportion to what they sum)."""
    if isinstance(expected, (tuple, list)):
        assert len(got) == len(expected), what
        for i, (g, e) in enumerate(zip(got, expected)):
            _assert_close(g, e, tol, f"{what} output {i}")
        return
    got, expected = _host(got), np.asarray(expected)
    assert got.shape == expected.shape, f"{what}: shape {got.shape} != {expected.shape}"
    if expected.dtype.kind != "f":
        np.testing.assert_array_equal(got, expected, err_msg=what)
        return
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * scale, err_msg=what)


def _cases(rng):
    """(op, args builder(dtype) -> host args) with odd sizes, edges and layouts."""
    def arrays(*shapes):
        return lambda dtype: [_rand(rng, *s).astype(dtype) for s in shapes]
    conv_configs = [  # x shape, weight shape, stride, padding (t, b, l, r), dilation, groups
        ((2, 3, 9, 11), (4, 3, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
        ((1, 4, 13, 7), (6, 2, 3, 2), (2, 1), (0, 1, 2, 0), (2, 1), 2),
        ((3, 1, 28, 28), (67, 1, 5, 5), (1, 1), (0, 0, 0, 0), (1, 1), 1),
    ]
    cases = []
    for m, k, n in ((1, 1, 1), (7, 33, 3), (127, 65, 33), (130, 257, 129)):
        cases.append(("matmul", arrays((m, k), (k, n)), ()))
    cases.append(("matmul", lambda d: [_rand(rng, 33, 7).astype(d).T,      # transposed views
                                       _rand(rng, 5, 33).astype(d).T], ()))
    cases.append(("matmul", arrays((3, 7, 33), (33, 5)), ()))
    cases.append(("matmul", arrays((1, 9, 4), (3, 4, 129)), ()))
    for x_shape, w_shape, stride, padding, dilation, groups in conv_configs:
        geometry = (stride, padding, dilation, groups)
        y_shape = registry.get("conv2d").reference("cpu").fn(
            np.zeros(x_shape), np.zeros(w_shape), None, *geometry).shape
        cases.append(("conv2d", lambda d, x=x_shape, w=w_shape: arrays(x, w, w[:1])(d), geometry))
        cases.append(("conv2d_backward_input",
                      lambda d, y=y_shape, w=w_shape, x=x_shape: arrays(y, w)(d) + [x], geometry))
        cases.append(("conv2d_backward_weight",
                      lambda d, y=y_shape, w=w_shape, x=x_shape: arrays(y, x)(d) + [w], geometry))
    for B, I, H in ((3, 5, 7), (1, 1, 1), (33, 17, 65)):
        cases.append(("lstm_cell", lambda d, B=B, I=I, H=H: arrays(
            (B, I), (B, H), (B, H), (4 * H, I), (4 * H, H), (4 * H,), (4 * H,))(d), ()))
        def lstm_backward(d, B=B, I=I, H=H):
            x, h, c, w_ih, w_hh = arrays((B, I), (B, H), (B, H), (4 * H, I), (4 * H, H))(d)
            _, c_new, gates = registry.get("lstm_cell").reference("cpu").fn(
                x, h, c, w_ih, w_hh, None, None)
            return arrays((B, H), (B, H))(d) + [x, h, c, w_ih, w_hh, gates, c_new]
        cases.append(("lstm_cell_backward", lstm_backward, ()))
    for size in ((1,), (7,), (33, 3), (1001,)):
        for op, params in (("relu", ()), ("sigmoid", ()), ("tanh", ()), ("leaky_relu", (0.1,)),
                           ("gelu", ("none",)), ("gelu", ("tanh",))):
            cases.append((op, arrays(size), params))
            forward = registry.get(op).reference("cpu").fn
            cases.append((op + "_backward", lambda d, s=size, f=forward, p=params: (
                lambda g, x: [g, x, f(x, *p)])(*arrays(s, s)(d)), params))
    for shape, axis in (((3, 7), -1), ((5, 1500), 1), ((2, 3, 4), 1), ((2, 40000), -1)):
        for op in ("softmax", "log_softmax"):
            cases.append((op, arrays(shape), (axis,)))
            forward = registry.get(op).reference("cpu").fn
            cases.append((op + "_backward", lambda d, s=shape, f=forward, a=axis: (
                lambda g, x: [g, f(x, a)])(*arrays(s, s)(d)), (axis,)))
    for shape in ((1, 1), (7, 33), (3, 5, 129)):
        for activation in ("none", "relu", "sigmoid", "tanh"):
            cases.append(("bias_act", lambda d, s=shape: arrays(s, s[-1:])(d), (activation,)))
            forward = registry.get("bias_act").reference("cpu").fn
            cases.append(("bias_act_backward", lambda d, s=shape, f=forward, a=activation: (
                lambda g, x, b: [g, f(x, b, a)])(*arrays(s, s, s[-1:])(d)), (activation,)))
    for n, c in ((7, 10), (3, 2000), (1, 1)):
        target = lambda n=n, c=c: rng.integers(0, c, size=n)
        cases.append(("cross_entropy", lambda d, n=n, c=c, t=target: arrays((n, c))(d) + [t()], ()))
        cases.append(("cross_entropy_backward", lambda d, n=n, c=c, t=target: [
            _rand(rng, n).astype(d), registry.get("log_softmax").reference("cpu").fn(
                _rand(rng, n, c).astype(d), 1), t()], ()))
    # large logits: x - max is exact, where max + log(sum) rounds digits away
    cases.append(("cross_entropy", lambda d: [arrays((7, 10))(d)[0] + np.array(1e4, d),
                                              rng.integers(0, 10, size=7)], ()))
    return cases


def _cuda_variants(op):
    return [v for v in registry.get(op).variants.values()
            if v.device == "cuda" and not v.is_reference]


@needs_cuda
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_cuda_variant_matches_the_reference(dtype):
    import cupy
    rng = np.random.default_rng(0)
    checked = set()
    for op, build, params in _cases(rng):
        args = build(dtype)
        expected = registry.get(op).reference("cpu").fn(
            *[a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
              for a in args], *params)
        device_args = [cupy.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
        for variant in _cuda_variants(op):
            try:
                got = variant.fn(*device_args, *params)
            except NotImplementedError:     # declined (e.g. float64 to an fp32-only GEMM)
                assert dtype == "float64", f"{op}: {variant.name} declined {dtype}"
                continue
            tol = TF32_TOLERANCE if variant.name == "cuda.tf32" else TOLERANCE[dtype]
            _assert_close(got, expected, tol, f"{op} {variant.name} {dtype} {params}")
            checked.add(variant.name)
    assert {"cuda.cupy", "cuda.cublas", "cuda.cupy_ops"} <= checked
    assert ("cuda.tf32" in checked) == (dtype == "float32")


@needs_cuda
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_tanh_slope_at_huge_inputs(dtype):
    import cupy
    x, expected = gelu_tanh_huge_inputs(dtype)
    grad, x = cupy.ones(x.shape, dtype), cupy.asarray(x)
    variants = _cuda_variants("gelu_backward")
    assert {"cuda.cupy", "cuda.numba"} <= {v.name for v in variants}
    for variant in variants:
        dx = variant.fn(grad, x, x, "tanh")     # y: unused by the tanh slope
        np.testing.assert_allclose(_host(dx), expected, rtol=0, atol=1e-30, err_msg=variant.name)


@needs_cuda
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_optimizer_steps_match_the_reference(dtype):
    """In-place updates: every state array after 3 steps, for each setting."""
    import cupy
    rng = np.random.default_rng(2)
    settings = {"sgd_step": [(None, 0.1, 0.0, False, 0.0), ("v", 0.1, 0.9, False, 1e-2),
                             ("v", 0.05, 0.9, True, 0.0)],
                "adam_step": [(1e-3, 0.9, 0.999, 1e-8, 0.0, False),
                              (1e-2, 0.8, 0.99, 1e-6, 1e-2, True)]}
    for op, cases in settings.items():
        for variant in _cuda_variants(op):
            for params in cases:
                host = [_rand(rng, 1001).astype(dtype) for _ in range(4)]
                host[3] = np.abs(host[3])           # Adam's second moment is never negative
                if op == "sgd_step" and params[0] is None:
                    host[2] = None
                device = [None if a is None else cupy.asarray(a) for a in host]
                hyper = params[1:] if op == "sgd_step" else params
                for step in (1, 2, 3):
                    grad = _rand(rng, 1001).astype(dtype)
                    for fn, arrays, g in ((registry.get(op).reference("cpu").fn, host, grad),
                                          (variant.fn, device, cupy.asarray(grad))):
                        state = (arrays[2],) if op == "sgd_step" else (arrays[2], arrays[3], step)
                        fn(arrays[0], g, *state, *hyper)
                for i, (got, expected) in enumerate(zip(device, host)):
                    if expected is not None:
                        _assert_close(got, expected, TOLERANCE[dtype] * 10,
                                      f"{op} {variant.name} {params} state {i}")


@needs_cuda
def test_forced_variants_serve_the_tensor_api_with_validation():
    """Every cuda.* variant forced in turn through tc.kernels.use, validated on every call
    (TF32 with its own tolerance), through the differentiable ops and their backward passes."""
    x = tc.randn(33, 17, device="cuda", requires_grad=True)
    w = tc.randn(9, 17, device="cuda", requires_grad=True)
    images = tc.randn(2, 3, 11, 9, device="cuda", requires_grad=True)
    kernels = tc.randn(5, 3, 3, 3, device="cuda", requires_grad=True)
    target = tc.tensor(np.arange(33) % 9, device="cuda")
    names = {v.name for op in registry.ops() for v in _cuda_variants(op)}
    for name in sorted(names):
        with tc.kernels.validate(), tc.kernels.use(**{
                op: name for op in registry.ops()
                if name in registry.get(op).variants and "_backward" not in op}):
            loss = F.cross_entropy(F.gelu(F.linear(x, w)), target)
            loss = loss + F.conv2d(images, kernels, padding=1).tanh().mean()
            h, c = F.lstm_cell(x, None, tc.randn(36, 17, device="cuda"),
                               tc.randn(36, 9, device="cuda"))
            (loss + h.sigmoid().sum() + c.relu().sum()).backward()
        assert x.grad.device == "cuda:0" and np.isfinite(x.grad.numpy()).all()


@needs_cuda
def test_device_moves_and_mixing_errors():
    a = tc.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    g = a.to("cuda")
    assert g.device == "cuda:0" and a.cuda().device == "cuda:0" and g.cpu().device == "cpu"
    np.testing.assert_array_equal(g.cpu().numpy(), a.numpy())
    (g * 2).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.full((2, 3), 2.0))
    with pytest.raises(DeviceError, match=r"matmul.*cpu.*cuda:0|matmul.*cuda:0.*cpu"):
        tc.matmul(a, g.T)
    with pytest.raises(DeviceError, match="conv2d"):
        F.conv2d(tc.randn(1, 1, 4, 4, device="cuda"), tc.randn(1, 1, 3, 3))
    with pytest.raises(DeviceError, match="different devices|one device"):
        a + g
    info = tc.backends.info()
    assert info["gpu"]["name"] and info["gpu"]["compute_capability"].count(".") == 1
    assert info["gpu"]["cuda_runtime"] > 0 and "cuda:0" in info["devices"]


@needs_cuda
def test_out_of_memory_names_the_op():
    import cupy
    free, _ = cupy.cuda.runtime.memGetInfo()
    side = int(np.sqrt(free / 4)) + 4096                 # the (side, side) result cannot fit
    a, b = cupy.ones((side, 1), np.float32), cupy.ones((1, side), np.float32)
    with pytest.raises(OutOfMemoryError, match="matmul: out of memory on cuda:0"):
        registry.get("matmul")(a, b)
    with pytest.raises(MemoryError):                    # still a MemoryError for callers
        registry.get("matmul")(a, b)


@needs_cuda
def test_short_training_run_matches_the_cpu():
    """A two-layer MLP trained with Adam (by hand) for 30 steps on each device from the same
    start: the loss falls and both devices agree."""
    rng = np.random.default_rng(1)
    x_np, y_np = rng.normal(size=(256, 20)).astype(np.float32), rng.integers(0, 4, 256)
    start = [rng.normal(scale=0.3, size=s).astype(np.float32)
             for s in ((64, 20), (64,), (4, 64), (4,))]

    def train(device):
        params = [tc.tensor(p, device=device, requires_grad=True) for p in start]
        x, y = tc.tensor(x_np, device=device), tc.tensor(y_np, device=device)
        m = [np.zeros_like(p) for p in start]
        v = [np.zeros_like(p) for p in start]
        losses = []
        for step in range(1, 31):
            w1, b1, w2, b2 = params
            loss = F.cross_entropy(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2), y)
            for p in params:
                p.grad = None
            loss.backward()
            losses.append(loss.item())
            with tc.no_grad():
                for i, p in enumerate(params):
                    g = p.grad.numpy()
                    m[i] = 0.9 * m[i] + 0.1 * g
                    v[i] = 0.999 * v[i] + 0.001 * g * g
                    update = 1e-2 * (m[i] / (1 - 0.9 ** step)) / (
                        np.sqrt(v[i] / (1 - 0.999 ** step)) + 1e-8)
                    p.data = p.data - tc.tensor(update.astype(np.float32), device=device)
        return losses

    gpu, cpu = train("cuda"), train("cpu")
    assert gpu[-1] < 0.7 * gpu[0]
    np.testing.assert_allclose(gpu, cpu, rtol=2e-3)


@pytest.mark.skipif(HAVE_CUDA, reason="checks the error raised without a GPU")
def test_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(DeviceError, match="CUDA is not available"):
        tc.ones(2).to("cuda")
    with pytest.raises(DeviceError, match="CUDA is not available"):
        tc.ones(2).cuda()
    assert tc.backends.info()["gpu"] is None
    assert all(not r.available for r in tc.kernels.list(device="cuda"))
