"""The kernel registry: listing, forcing, fallback, availability, validation, profiling."""
import os
import subprocess
import sys

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore.errors import KernelMismatchError
from tensorcore.kernels import registry

from helpers import rand

registry.define("test_scale", "test_scale(x, factor) -> x * factor (a test-only op)")


@registry.reference("test_scale")
def _scale_reference(x, factor):
    return x * factor


@registry.register("test_scale", "cpu.declines", priority=30)
def _scale_declining(x, factor):
    raise NotImplementedError


@registry.register("test_scale", "cpu.fast", priority=20)
def _scale_fast(x, factor):
    return np.multiply(x, factor)


@registry.register("test_scale", "cpu.missing", priority=40, available=lambda: False)
def _scale_missing(x, factor):
    raise AssertionError("an unavailable variant must never run")


scale = registry.get("test_scale")


def test_list_orders_variants_and_marks_the_active_one():
    rows = tc.kernels.list("test_scale", device="cpu")
    names = [r.name for r in rows]
    assert names == ["cpu.declines", "cpu.fast", "cpu.reference", "cpu.missing"]
    assert [r.name for r in rows if r.active] == ["cpu.declines"]
    assert [r.available for r in rows] == [True, True, True, False]


def test_every_op_has_a_reference_variant_on_every_device():
    for op in tc.kernels.ops().values():
        assert {"cpu.reference", "cuda.reference"} <= set(op.variants), op.name


def test_declining_variant_falls_back_to_the_next():
    out = scale(np.arange(3.0), 2.0)
    assert out.tolist() == [0.0, 2.0, 4.0] and scale.last.name == "cpu.fast"


@pytest.mark.parametrize("profiled", [False, True])
def test_unless_reference_skips_only_an_unforced_reference(profiled):
    x = np.arange(3.0)
    with tc.kernels.profile() if profiled else tc.kernels.use():
        assert scale.unless_reference(x, 2.0).tolist() == [0.0, 2.0, 4.0]
        assert scale.last.name == "cpu.fast"
        with tc.kernels.use(test_scale="cpu.reference"):
            assert scale.unless_reference(x, 3.0).tolist() == [0.0, 3.0, 6.0]
            assert scale.last.name == "cpu.reference"
        registry.unregister("test_scale", "cpu.fast")
        try:
            scale.last = None
            assert scale.unless_reference(x, 2.0) is None and scale.last is None
        finally:
            registry.register("test_scale", "cpu.fast", priority=20)(_scale_fast)


def test_use_forces_a_variant_and_restores_on_exit():
    with tc.kernels.use(test_scale="cpu.reference"):
        assert scale.active() == "cpu.reference"
        scale(np.ones(2), 3.0)
        assert scale.last.name == "cpu.reference"
    assert scale.active() == "cpu.declines"


def test_use_covers_an_op_family():
    with tc.kernels.use(relu="cpu.reference"):
        assert registry.get("relu").active() == "cpu.reference"
        assert registry.get("relu_backward").active() == "cpu.reference"


def test_use_rejects_unknown_and_unavailable_choices():
    with pytest.raises(ValueError, match="unknown op 'no_such_op'"):
        tc.kernels.use(no_such_op="cpu.reference")
    with pytest.raises(ValueError, match="no variant 'cpu.nothing'"):
        tc.kernels.use(test_scale="cpu.nothing")
    with pytest.raises(RuntimeError, match="not available"):
        tc.kernels.use(test_scale="cpu.missing")


@pytest.fixture
def wrong_relu():
    """A relu variant that is subtly wrong (leaks negatives), forced for one test."""
    @registry.register("relu", "cpu.wrong", priority=-1)
    def relu_wrong(x):
        return np.where(x > 0, x, 0.01 * x)
    with tc.kernels.use(relu="cpu.wrong"):
        yield
    registry.unregister("relu", "cpu.wrong")


def test_validate_catches_a_wrong_kernel(wrong_relu):
    x = tc.tensor(rand(4, 5))
    with tc.kernels.validate(False):
        F.relu(x)                                # unchecked: runs silently
    with tc.kernels.validate():
        with pytest.raises(KernelMismatchError, match="relu: variant cpu.wrong differs"):
            F.relu(x)


def test_validate_passes_correct_kernels_end_to_end():
    x = tc.tensor(rand(7, 3), requires_grad=True)
    w = tc.tensor(rand(5, 3), requires_grad=True)
    with tc.kernels.validate():
        F.log_softmax(F.relu(F.linear(x, w)), dim=1).sum().backward()
    assert x.grad is not None and w.grad is not None


def test_validate_from_the_environment():
    code = ("import tensorcore as tc, numpy as np\n"
            "from tensorcore.kernels import registry\n"
            "registry.register('relu', 'cpu.wrong', priority=99)(lambda x: x)\n"
            "try:\n"
            "    tc.relu(tc.tensor([-1.0, 2.0]))\n"
            "except tc.errors.KernelMismatchError:\n"
            "    print('caught')\n")
    env = dict(os.environ, TENSORCORE_VALIDATE="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(tc.__file__)))
    assert out.stdout.strip() == "caught", out.stderr


def test_force_from_the_environment():
    code = "import tensorcore as tc; print(tc.kernels.get('matmul').active())"
    env = dict(os.environ, TENSORCORE_KERNELS="matmul=cpu.reference")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(tc.__file__)))
    assert out.stdout.strip() == "cpu.reference", out.stderr


def test_profile_records_variant_calls_and_time():
    x = tc.tensor(rand(8, 4), requires_grad=True)
    with tc.kernels.profile() as prof:
        tc.relu(x).sum().backward()
        tc.relu(x)
    entry = prof.ops["relu"]
    assert entry["calls"] == 2 and entry["seconds"] > 0
    assert entry["variant"] == registry.get("relu").active()
    assert prof.ops["relu_backward"]["calls"] == 1


def test_every_variant_agrees_with_the_reference_on_its_op():
    """Each op's non-reference variants, called as the registry calls them, match the
    reference on a small random case (the C++ tests go further)."""
    x = rand(5, 7).astype(np.float32)
    cases = {"relu": (x,), "sigmoid": (x,), "tanh": (x,), "leaky_relu": (x, 0.1),
             "gelu": (x, "none"), "softmax": (x, 1), "log_softmax": (x, 0),
             "matmul": (x, rand(7, 3).astype(np.float32))}
    for name, args in cases.items():
        op = registry.get(name)
        expected = op.reference("cpu").fn(*args)
        for variant in op.variants.values():
            if variant.device == "cpu" and variant.available and not variant.is_reference:
                np.testing.assert_allclose(variant.fn(*args), expected, rtol=1e-5, atol=1e-6,
                                           err_msg=variant.name)
