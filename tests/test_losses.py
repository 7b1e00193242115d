"""Losses: forward against float64 NumPy written here, gradients (for input, float targets and
weights) by finite differences, and forward and gradients against PyTorch where installed.

PyTorch treats class weights and pos_weight as constants (it has no gradient for them), so the
PyTorch comparisons take them as constants while the gradchecks take them as inputs."""
import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore.errors import DeviceError, DTypeError, ShapeError

from helpers import check, compare_with_torch, rand, torch

needs_cuda = pytest.mark.skipif(not tc.cuda_available(), reason="no CUDA device")
REDUCTIONS = ["mean", "sum", "none"]


def constant(values, like):
    """``values`` as a constant of ``like``'s library (tensorcore or torch); floats in its dtype."""
    values = np.asarray(values)
    dtype = like.dtype if values.dtype.kind == "f" else None
    if isinstance(like, tc.Tensor):
        return tc.tensor(values, dtype=dtype)
    return torch.tensor(values, dtype=dtype)


def functional(like):
    return F if isinstance(like, tc.Tensor) else torch.nn.functional


def check_with_constants(loss, inputs, np_fn, constants):
    """Gradcheck ``loss(*inputs, *constants)`` with the constants as inputs, then compare
    against PyTorch with them as constants."""
    check(loss, inputs + constants, np_fn=np_fn)
    if torch is not None:
        compare_with_torch(lambda *args: loss(*args, *(constant(c, args[0]) for c in constants)),
                           lambda *args: loss(*args, *(constant(c, args[0]) for c in constants)),
                           inputs)


def np_reduce(losses, reduction, denominator=None):
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.mean() if denominator is None else losses.sum() / denominator


# ---- mean squared error and binary cross-entropy ----------------------------------------

SHAPES = [(1,), (3, 7), (2, 3, 5)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss(shape, reduction):
    def loss(x, t):
        return functional(x).mse_loss(x, t, reduction=reduction)
    check(loss, [rand(*shape, seed=1), rand(*shape, seed=2)],
          np_fn=lambda x, t: np_reduce((x - t) ** 2, reduction), torch_fn=loss)


def np_bce(p, t, weight=None):
    with np.errstate(divide="ignore"):
        losses = -(t * np.maximum(np.log(p), -100) + (1 - t) * np.maximum(np.log(1 - p), -100))
    return losses if weight is None else losses * weight


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(shape, reduction):
    def loss(p, t):
        return functional(p).binary_cross_entropy(p, t, reduction=reduction)
    check(loss, [rand(*shape, seed=1, low=0.1, high=0.9), rand(*shape, seed=2, low=0, high=1)],
          np_fn=lambda p, t: np_reduce(np_bce(p, t), reduction), torch_fn=loss)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape", [(7,), (3, 1), (3, 7)])
def test_binary_cross_entropy_weight(reduction, weight_shape):
    def loss(p, t, weight):
        return functional(p).binary_cross_entropy(p, t, weight=weight, reduction=reduction)
    check_with_constants(loss, [rand(3, 7, seed=1, low=0.1, high=0.9), rand(3, 7, seed=2, low=0, high=1)],
                         lambda p, t, w: np_reduce(np_bce(p, t, w), reduction),
                         [rand(*weight_shape, seed=3, low=0.5, high=2)])


def test_binary_cross_entropy_clamps_its_logs_at_minus_100():
    """p of exactly 0 or 1 gives a finite loss, as PyTorch's."""
    p, t = np.array([0.0, 1.0, 0.0, 1.0, 0.5]), np.array([1.0, 0.0, 0.0, 1.0, 0.3])
    check(lambda p, t: F.binary_cross_entropy(p, t, reduction="none"), [p, t],
          np_fn=np_bce, grad=False,
          torch_fn=lambda p, t: torch.nn.functional.binary_cross_entropy(p, t, reduction="none"))


def np_bce_with_logits(z, t, weight=None, pos_weight=None):
    log_sigmoid = -np.logaddexp(0, -z)                        # log s(z)
    log_one_minus_sigmoid = -np.logaddexp(0, z)               # log (1 - s(z))
    pos = 1 if pos_weight is None else pos_weight
    losses = -(pos * t * log_sigmoid + (1 - t) * log_one_minus_sigmoid)
    return losses if weight is None else losses * weight


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits(shape, reduction):
    def loss(z, t):
        return functional(z).binary_cross_entropy_with_logits(z, t, reduction=reduction)
    check(loss, [rand(*shape, seed=1, low=-4, high=4), rand(*shape, seed=2, low=0, high=1)],
          np_fn=lambda z, t: np_reduce(np_bce_with_logits(z, t), reduction), torch_fn=loss)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits_weight_and_pos_weight(reduction):
    def loss(z, t, weight, pos_weight):
        return functional(z).binary_cross_entropy_with_logits(
            z, t, weight=weight, pos_weight=pos_weight, reduction=reduction)
    check_with_constants(loss, [rand(3, 7, seed=1, low=-4, high=4), rand(3, 7, seed=2, low=0, high=1)],
                         lambda z, t, w, pw: np_reduce(np_bce_with_logits(z, t, w, pw), reduction),
                         [rand(3, 1, seed=3, low=0.5, high=2), rand(7, seed=4, low=0.5, high=3)])


def test_binary_cross_entropy_with_logits_is_stable_for_large_logits():
    z, t = np.array([-800.0, -50.0, 0.0, 50.0, 800.0]), np.array([1.0, 0.2, 0.5, 0.7, 0.0])
    check(lambda z, t: F.binary_cross_entropy_with_logits(z, t, reduction="none"), [z, t],
          np_fn=np_bce_with_logits, grad=False)
    logits = tc.tensor(z, requires_grad=True)
    pos_weight = tc.full((5,), 2.0, dtype=np.float64)
    F.binary_cross_entropy_with_logits(logits, tc.tensor(t), pos_weight=pos_weight).sum().backward()
    assert np.isfinite(logits.grad.numpy()).all()


# ---- cross entropy and negative log-likelihood ------------------------------------------

def np_log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def class_axis(x):
    return 0 if x.ndim == 1 else 1


def np_class_loss(log_probs, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """PyTorch's weighted, smoothed NLL, one target at a time."""
    axis = class_axis(log_probs)
    classes = log_probs.shape[axis]
    rows = np.moveaxis(log_probs, axis, -1).reshape(-1, classes)
    weight = np.ones(classes) if weight is None else weight
    losses, total_weight = np.zeros(len(rows)), 0.0
    for n, k in enumerate(target.reshape(-1)):
        if k == ignore_index:
            continue
        losses[n] = (-(1 - label_smoothing) * weight[k] * rows[n, k]
                     - label_smoothing / classes * (weight * rows[n]).sum())
        total_weight += weight[k]
    return np_reduce(losses.reshape(target.shape), reduction, total_weight)


def np_cross_entropy(x, target, weight=None, ignore_index=-100, reduction="mean",
                     label_smoothing=0.0):
    return np_class_loss(np_log_softmax(x, class_axis(x)), target, weight, ignore_index,
                         reduction, label_smoothing)


def class_targets(input_shape, seed, ignore_index=None):
    """Random class indices for an input of ``input_shape``; the first one set to
    ``ignore_index`` when given (for batches, so that some target is kept)."""
    classes = input_shape[class_axis(np.empty(input_shape))]
    shape = input_shape[:1] + input_shape[2:] if len(input_shape) > 1 else ()
    target = np.random.default_rng(seed).integers(0, classes, size=shape)
    if ignore_index is not None and target.size > 1:
        target.reshape(-1)[0] = ignore_index
    return target


INPUT_SHAPES = [(3, 7), (7,), (4, 1), (2, 3, 4), (2, 3, 2, 3)]
OPTIONS = [{}, dict(ignore_index=-100), dict(ignore_index=2), dict(label_smoothing=0.2),
           dict(ignore_index=1, label_smoothing=0.3)]


@pytest.mark.parametrize("shape", INPUT_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", OPTIONS)
def test_cross_entropy_class_indices(shape, reduction, options):
    target = class_targets(shape, seed=5, ignore_index=options.get("ignore_index"))

    def loss(x):
        return functional(x).cross_entropy(x, constant(target, x), reduction=reduction, **options)
    check(loss, [rand(*shape, seed=1, low=-3, high=3)], torch_fn=loss,
          np_fn=lambda x: np_cross_entropy(x, target, reduction=reduction, **options))


@pytest.mark.parametrize("shape", [(3, 7), (7,), (2, 3, 4)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, dict(ignore_index=1, label_smoothing=0.25)])
def test_cross_entropy_class_weights(shape, reduction, options):
    target = class_targets(shape, seed=5, ignore_index=options.get("ignore_index"))

    def loss(x, weight):
        return functional(x).cross_entropy(x, constant(target, x), weight=weight,
                                           reduction=reduction, **options)
    check_with_constants(loss, [rand(*shape, seed=1, low=-3, high=3)],
                         lambda x, w: np_cross_entropy(x, target, w, reduction=reduction, **options),
                         [rand(shape[class_axis(np.empty(shape))], seed=2, low=0.5, high=2)])


def np_cross_entropy_probabilities(x, probs, weight=None, reduction="mean", label_smoothing=0.0):
    axis = class_axis(x)
    classes = x.shape[axis]
    probs = probs * (1 - label_smoothing) + label_smoothing / classes
    shape = [1] * x.ndim
    shape[axis] = classes
    weight = np.ones(shape) if weight is None else weight.reshape(shape)
    losses = -(np_log_softmax(x, axis) * probs * weight).sum(axis=axis)
    return np_reduce(losses, reduction, x.size // classes)


@pytest.mark.parametrize("shape", [(3, 7), (7,), (2, 3, 4)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_cross_entropy_class_probabilities(shape, reduction, label_smoothing):
    """Targets are probabilities (differentiable too); ignore_index does not apply."""
    probs = rand(*shape, seed=2, low=0, high=1)
    probs /= probs.sum(axis=class_axis(probs), keepdims=True)

    def loss(x, p):
        return functional(x).cross_entropy(x, p, reduction=reduction,
                                           label_smoothing=label_smoothing)
    check(loss, [rand(*shape, seed=1, low=-3, high=3), probs], torch_fn=loss,
          np_fn=lambda x, p: np_cross_entropy_probabilities(x, p, reduction=reduction,
                                                            label_smoothing=label_smoothing))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_class_probabilities_with_weights(reduction):
    def loss(x, p, weight):
        return functional(x).cross_entropy(x, p, weight=weight, reduction=reduction,
                                           label_smoothing=0.1)
    check_with_constants(loss, [rand(2, 3, 4, seed=1), rand(2, 3, 4, seed=2, low=0, high=1)],
                         lambda x, p, w: np_cross_entropy_probabilities(x, p, w, reduction, 0.1),
                         [rand(3, seed=3, low=0.5, high=2)])


@pytest.mark.parametrize("shape", [(3, 7), (7,), (2, 3, 2, 3)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ignore_index", [None, 2])
def test_nll_loss(shape, reduction, ignore_index):
    options = {} if ignore_index is None else dict(ignore_index=ignore_index)
    target = class_targets(shape, seed=5, ignore_index=ignore_index)

    def loss(log_probs, weight):
        return functional(log_probs).nll_loss(log_probs, constant(target, log_probs),
                                              weight=weight, reduction=reduction, **options)
    check_with_constants(loss, [rand(*shape, seed=1, low=-3, high=0)],
                         lambda lp, w: np_class_loss(lp, target, w, reduction=reduction, **options),
                         [rand(shape[class_axis(np.empty(shape))], seed=2, low=0.5, high=2)])


def test_nll_loss_without_weights_matches_cross_entropy_of_log_softmax():
    x, target = rand(4, 5, seed=1), class_targets((4, 5), seed=2)
    check(lambda x: F.nll_loss(F.log_softmax(x, axis=1), tc.tensor(target)), [x],
          np_fn=lambda x: np_cross_entropy(x, target))


def test_cross_entropy_accepts_numpy_targets():
    x, target = rand(4, 5, seed=1), class_targets((4, 5), seed=2)
    check(lambda x: F.cross_entropy(x, target), [x], np_fn=lambda x: np_cross_entropy(x, target))


# ---- bad input ---------------------------------------------------------------------------

def logits(*shape):
    return tc.tensor(rand(*shape, seed=1))


@pytest.mark.parametrize("op", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("bad", [5, -1, 100])
def test_class_index_out_of_range(op, bad):
    with pytest.raises((ValueError, IndexError), match=rf"{op}: .*\[0, 5\).* got {bad}"):
        getattr(F, op)(logits(3, 5), tc.tensor([0, bad, 1]))


@pytest.mark.parametrize("bad", [2**63, 2**64 - 100])
def test_unsigned_class_indices_past_int64_are_out_of_range(bad):
    """Cast to int64 first, they wrapped negative: 2^64 - 100 to ignore_index, silently."""
    with pytest.raises(IndexError, match=rf"cross_entropy: .*\[0, 5\).* got {bad}"):
        F.cross_entropy(logits(3, 5), tc.tensor(np.array([0, bad, 1], np.uint64)))
    loss = F.cross_entropy(logits(3, 5), tc.tensor(np.array([0, 255, 1], np.uint8)),
                           ignore_index=255)
    expected = F.cross_entropy(logits(3, 5)[[0, 2]], tc.tensor([0, 1]))
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-12)


def test_ignore_index_may_lie_outside_the_classes():
    loss = F.cross_entropy(logits(3, 5), tc.tensor([0, 7, 1]), ignore_index=7)
    assert np.isfinite(loss.item())


@pytest.mark.parametrize("op, options", [("cross_entropy", {}),
                                         ("cross_entropy", dict(label_smoothing=0.2)),
                                         ("nll_loss", {})])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_ignored_rows_may_hold_infinities(op, options, reduction):
    """Rows whose target is ignored add nothing, whatever they hold (an ignored row of -inf
    once made the loss NaN): the loss and gradient equal those with finite values there."""
    finite = rand(4, 5, seed=1, low=-3, high=0)
    infinite = finite.copy()
    infinite[0, 0] = infinite[2, 0] = infinite[2, 3] = -np.inf
    target = tc.tensor([-100, 1, -100, 4])
    results = []
    for values in (finite, infinite):
        x = tc.tensor(values, requires_grad=True)
        loss = getattr(F, op)(x, target, reduction=reduction, **options)
        loss.sum().backward()
        results.append((loss.numpy(), x.grad.numpy()))
    (loss, grad), (loss_inf, grad_inf) = results
    assert np.all(np.isfinite(loss_inf)) and np.array_equal(loss_inf, loss)
    np.testing.assert_allclose(grad_inf[[1, 3]], grad[[1, 3]], rtol=1e-6, atol=1e-9)
    assert not np.any(grad_inf[[0, 2]]) and np.any(grad[[1, 3]])


@pytest.mark.parametrize("op", ["cross_entropy", "nll_loss"])
def test_class_losses_bad_targets(op):
    fn = getattr(F, op)
    with pytest.raises(DTypeError, match=rf"{op}: expected target class indices .*float64"):
        fn(logits(3, 5), tc.tensor(rand(3)))
    with pytest.raises(ShapeError, match=rf"{op}: expected target class indices \(an integer "
                                         r"tensor of shape \(3,\)\).* got int64 of shape \(4,\)"):
        fn(logits(3, 5), tc.tensor([0, 1, 2, 3]))
    with pytest.raises(ShapeError, match=rf"{op}: expected weight of shape \(5,\)"):
        fn(logits(3, 5), tc.tensor([0, 1, 2]), weight=tc.ones(4).double())
    with pytest.raises(ValueError, match=rf"{op}: reduction must be one of"):
        fn(logits(3, 5), tc.tensor([0, 1, 2]), reduction="average")
    with pytest.raises(ShapeError, match=rf"{op}: expected input of shape"):
        fn(tc.tensor(1.0), tc.tensor(0))
    with pytest.raises(DTypeError, match=rf"{op}: expected a floating-point input, got int64"):
        fn(tc.tensor([[1, 2]]), tc.tensor([0]))


def test_nll_loss_rejects_probability_targets():
    with pytest.raises(DTypeError, match="nll_loss: expected target class indices"):
        F.nll_loss(logits(3, 5), tc.tensor(rand(3, 5)))


def test_cross_entropy_bad_arguments():
    with pytest.raises(ValueError, match="cross_entropy: label_smoothing must be in"):
        F.cross_entropy(logits(3, 5), tc.tensor([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(DTypeError, match="cross_entropy: expected target of the input's dtype "
                                         "float64, got float32"):
        F.cross_entropy(logits(3, 5), tc.tensor(rand(3, 5)).float())
    with pytest.raises(TypeError):
        F.cross_entropy(logits(3, 5), tc.tensor([0, 1, 2]), smoothing=0.1)


@pytest.mark.parametrize("op", ["mse_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits"])
def test_elementwise_losses_bad_arguments(op):
    fn, p = getattr(F, op), tc.tensor(rand(3, 4, low=0.1, high=0.9))
    with pytest.raises(ValueError, match=rf"{op}: expected target of the input's shape \(3, 4\), got \(4,\)"):
        fn(p, tc.tensor(rand(4, low=0, high=1)))
    with pytest.raises(ValueError, match=rf"{op}: expected target of the input's shape \(3, 4\), got \(3, 1\)"):
        fn(p, tc.tensor(rand(3, 1, low=0, high=1)))
    with pytest.raises(DTypeError, match=rf"{op}: expected a floating-point target, got int64"):
        fn(p, tc.tensor(np.ones((3, 4), dtype=np.int64)))
    with pytest.raises(ValueError, match=rf"{op}: reduction must be one of"):
        fn(p, p, reduction="elementwise_mean")


@pytest.mark.parametrize("op", ["binary_cross_entropy", "binary_cross_entropy_with_logits"])
def test_bce_weight_must_not_grow_the_loss(op):
    p = tc.tensor(rand(3, 4, low=0.1, high=0.9))
    with pytest.raises(ShapeError, match=rf"{op}: expected weight broadcastable to the input's "
                                         r"shape \(3, 4\), got \(2, 3, 4\)"):
        getattr(F, op)(p, p, weight=tc.ones(2, 3, 4).double())


def test_binary_cross_entropy_rejects_values_outside_0_1():
    with pytest.raises(ValueError, match=r"binary_cross_entropy: expected input probabilities in \[0, 1\].*1.5"):
        F.binary_cross_entropy(tc.tensor([0.5, 1.5]), tc.tensor([0.0, 1.0]))


def test_float_numpy_targets_take_the_input_dtype():
    x = tc.tensor(rand(3, 4, seed=1)).float()
    assert F.mse_loss(x, rand(3, 4, seed=2)).dtype == np.float32


@needs_cuda
@pytest.mark.parametrize("op, target", [
    ("mse_loss", rand(3, 4)), ("binary_cross_entropy_with_logits", rand(3, 4, low=0, high=1)),
    ("cross_entropy", np.array([0, 1, 3])), ("nll_loss", np.array([0, 1, 3]))])
def test_losses_on_cuda_match_cpu(op, target):
    results = []
    for device in ("cpu", "cuda"):
        x = tc.tensor(rand(3, 4, seed=1), device=device, requires_grad=True)
        t = tc.tensor(target, device=device, requires_grad=target.dtype.kind == "f")
        loss = getattr(F, op)(x, t)
        loss.backward()
        results.append([loss.numpy(), x.grad.numpy()] + ([t.grad.numpy()] if t.requires_grad else []))
    for got, expected in zip(results[1], results[0]):
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


@needs_cuda
def test_losses_tensors_on_different_devices():
    x = tc.tensor(rand(3, 4), device="cuda")
    with pytest.raises(DeviceError, match="mse_loss"):
        F.mse_loss(x, tc.tensor(rand(3, 4)))
    with pytest.raises(DeviceError, match="cross_entropy"):
        F.cross_entropy(x, tc.tensor([0, 1, 2]))
