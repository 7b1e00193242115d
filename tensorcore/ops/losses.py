"""Loss functions as torch.nn.functional has them.

Kernels give per-element (or per-sample) losses; weights, ignored targets, label smoothing
and the reduction are ordinary tensor ops on top, so autograd differentiates them too.
"""
import numpy as np

from ..autograd import Function
from ..device import array_module
from ..errors import DTypeError, ShapeError, TensorIndexError
from ..kernels import registry
from ..tensor import Tensor, _make
from .common import as_tensor, check_same_device, unbroadcast
from .softmax import log_softmax

REDUCTIONS = ("mean", "sum", "none")


class CrossEntropy(Function):
    """logits (M, C), target (M,) valid indices -> loss (M,), log_probs (M, C); either output
    may carry a gradient (label smoothing uses log_probs)."""
    forward_kernel = registry.get("cross_entropy")
    backward_kernel = registry.get("cross_entropy_backward")
    log_softmax_backward = registry.get("log_softmax_backward")

    def forward(self, logits, target):
        self.target = target
        loss, self.log_probs = self.forward_kernel(logits, target)
        return loss, self.log_probs

    def backward(self, dloss, dlog_probs):
        dlogits = None
        if dloss is not None:
            dlogits = self.backward_kernel(dloss, self.log_probs, self.target)
        if dlog_probs is not None:
            from_log_probs = self.log_softmax_backward(dlog_probs, self.log_probs, 1)
            dlogits = from_log_probs if dlogits is None else dlogits + from_log_probs
        return dlogits, None


class NLLLoss(Function):
    """log_probs (M, C), target (M,) valid indices -> loss (M,)."""
    forward_kernel = registry.get("nll_loss")
    backward_kernel = registry.get("nll_loss_backward")

    def forward(self, log_probs, target):
        self.log_probs, self.target = log_probs, target
        return self.forward_kernel(log_probs, target)

    def backward(self, g):
        return self.backward_kernel(g, self.log_probs, self.target), None


class ZeroIgnoredRows(Function):
    """losses (M,) with the ignored rows set to 0, gradient likewise: an ignored row's stand-in
    loss (of class 0) may be inf or NaN, which a multiply by 0 would turn into NaN."""

    def forward(self, losses, keep):
        self.keep = keep
        return array_module(losses).where(keep, losses, 0)

    def backward(self, g):
        return array_module(g).where(self.keep, g, 0), None


class ElementwiseLoss(Function):
    """loss = forward_kernel(input, target, *extra); the backward kernel gives a gradient per
    operand (None for an absent one), summed back over broadcast axes."""
    forward_kernel = backward_kernel = None

    def forward(self, *operands):
        self.operands = operands
        return self.forward_kernel(*operands)

    def backward(self, g):
        grads = self.backward_kernel(g, *self.operands)
        return tuple(unbroadcast(d, self.operands[i].shape) if d is not None and self.needs_grad(i)
                     else None for i, d in enumerate(grads))


def _elementwise_loss(name):
    return type(name.title().replace("_", ""), (ElementwiseLoss,), {
        "forward_kernel": registry.get(name), "backward_kernel": registry.get(name + "_backward")})


MSELoss, BinaryCrossEntropy, BinaryCrossEntropyWithLogits = map(
    _elementwise_loss, ("mse_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits"))


# ---- argument checks --------------------------------------------------------------------

def _input(op, input):
    input = as_tensor(input)
    if input.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating-point input, got {input.dtype}")
    return input


def _operand(op, name, x, input):
    """A further tensor argument: arrays and lists take the input's device (and its dtype when
    they hold floats); tensors must already be on that device and, if float, of that dtype."""
    if not isinstance(x, Tensor):
        x = as_tensor(x)
        if x.dtype.kind == "f":
            x = x.to(input.dtype)
        x = x.to(input.device)
    check_same_device(op, input._data, x._data)
    if x.dtype.kind == "f" and x.dtype != input.dtype:
        raise DTypeError(f"{op}: expected {name} of the input's dtype {input.dtype}, got {x.dtype}")
    return x


def _float_operand(op, name, x, input):
    x = _operand(op, name, x, input)
    if x.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating-point {name}, got {x.dtype}")
    return x


def _check_reduction(op, reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _check_same_shape(op, input, target):
    if target.shape != input.shape:
        raise ShapeError(f"{op}: expected target of the input's shape {input.shape}, got "
                         f"{target.shape} (broadcasting them is refused: it is usually a bug)")


def _broadcast_weight(op, name, weight, input):
    """``weight`` as a float tensor that broadcasts to the input's shape without growing it."""
    if weight is None:
        return None
    weight = _float_operand(op, name, weight, input)
    try:
        fits = np.broadcast_shapes(weight.shape, input.shape) == input.shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"{op}: expected {name} broadcastable to the input's shape "
                         f"{input.shape}, got {weight.shape}")
    return weight


def _reduce(losses, reduction, denominator=None):
    """losses reduced as asked; "mean" divides the sum by ``denominator`` when given."""
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.mean() if denominator is None else losses.sum() / denominator


# ---- elementwise losses -----------------------------------------------------------------

def _elementwise_operands(op, input, target, reduction):
    _check_reduction(op, reduction)
    input = _input(op, input)
    target = _float_operand(op, "target", target, input)
    _check_same_shape(op, input, target)
    return input, target


def mse_loss(input, target, reduction="mean"):
    input, target = _elementwise_operands("mse_loss", input, target, reduction)
    return _reduce(MSELoss.apply(input, target), reduction)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    op = "binary_cross_entropy"
    input, target = _elementwise_operands(op, input, target, reduction)
    weight = _broadcast_weight(op, "weight", weight, input)
    data = input._data
    if data.size and bool(array_module(data).any((data < 0) | (data > 1))):
        raise ValueError(f"{op}: expected input probabilities in [0, 1], got values from "
                         f"{float(data.min())} to {float(data.max())} (for logits use "
                         "binary_cross_entropy_with_logits)")
    losses = BinaryCrossEntropy.apply(input, target)
    return _reduce(losses if weight is None else losses * weight, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    op = "binary_cross_entropy_with_logits"
    input, target = _elementwise_operands(op, input, target, reduction)
    weight = _broadcast_weight(op, "weight", weight, input)
    pos_weight = _broadcast_weight(op, "pos_weight", pos_weight, input)
    losses = BinaryCrossEntropyWithLogits.apply(input, target, pos_weight)
    return _reduce(losses if weight is None else losses * weight, reduction)


# ---- class-index losses -----------------------------------------------------------------

def _classes_last(x):
    """x (C,), (N, C) or (N, C, d1, ...) as rows (M, C), and the per-row shape: (), (N,) or
    (N, d1, ...)."""
    if x.ndim == 1:
        return x.reshape(1, -1), ()
    if x.ndim == 2:
        return x, x.shape[:1]
    rows_shape = x.shape[:1] + x.shape[2:]
    return x.permute(0, *range(2, x.ndim), 1).reshape(-1, x.shape[1]), rows_shape


def _class_input(op, input, weight, reduction):
    _check_reduction(op, reduction)
    input = _input(op, input)
    if input.ndim == 0:
        raise ShapeError(f"{op}: expected input of shape (C,), (N, C) or (N, C, d1, ...), "
                         "got a 0-d tensor")
    classes = input.shape[0] if input.ndim == 1 else input.shape[1]
    if weight is not None:
        weight = _float_operand(op, "weight", weight, input)
        if weight.shape != (classes,):
            raise ShapeError(f"{op}: expected weight of shape ({classes},) (one per class), got "
                             f"{weight.shape}")
    return input, weight


def _class_targets(op, target, input, rows_shape, classes, ignore_index):
    """Integer targets flattened to (M,) with ignored entries set to class 0, and the (M,)
    mask of kept rows; raises for a wrong dtype or shape, and for indices outside [0, C)."""
    if target.dtype.kind not in "iu" or target.shape != rows_shape:
        expected = f"class indices (an integer tensor of shape {rows_shape})"
        if op == "cross_entropy":
            expected += f" or class probabilities (a {input.dtype} tensor of shape {input.shape})"
        message = f"{op}: expected target {expected}, got {target.dtype} of shape {target.shape}"
        raise (DTypeError if target.shape in (rows_shape, input.shape) else ShapeError)(message)
    flat = target._data.reshape(-1)                           # (M,)
    if target.dtype.kind == "u":    # checked before the cast: past 2^63 it would wrap negative
        too_large = flat >= classes
        if ignore_index >= 0:
            too_large &= flat != ignore_index
        _check_class_range(op, flat, too_large, classes, ignore_index)
    data = flat.astype(np.int64)
    keep = data != ignore_index
    _check_class_range(op, flat, keep & ((data < 0) | (data >= classes)), classes, ignore_index)
    return array_module(data).where(keep, data, 0), keep


def _check_class_range(op, flat, bad, classes, ignore_index):
    if bool(bad.any()):
        raise TensorIndexError(f"{op}: target class indices must be in [0, {classes}) or equal "
                               f"ignore_index={ignore_index}, got {int(flat[bad][0])}")


def _weighted_class_loss(nll, log_probs, safe, keep, weight, reduction, rows_shape,
                         label_smoothing=0.0):
    """PyTorch's weighting of per-row NLL values nll (M,), from log_probs (M, C):
    loss_n = (1 - eps) w[t_n] nll_n + (eps / C) sum_c w_c (-log p_nc), zero where t_n is
    ignore_index; "mean" divides the sum by sum_n w[t_n] over the kept rows."""
    kept = _make(keep.astype(log_probs.dtype))               # (M,) 1 kept, 0 ignored
    row_weight = kept if weight is None else weight[safe] * kept                     # (M,)
    losses = ZeroIgnoredRows.apply(nll, keep) * row_weight
    if label_smoothing:
        classes = log_probs.shape[1]
        class_weighted = -log_probs if weight is None else -log_probs * weight          # (M, C)
        smooth = ZeroIgnoredRows.apply(class_weighted.sum(axis=1), keep)
        losses = losses * (1 - label_smoothing) + smooth * (label_smoothing / classes)
    return _reduce(losses.reshape(rows_shape), reduction, denominator=row_weight.sum())


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """input logits (C,), (N, C) or (N, C, d1, ...); target class indices of the shape without
    the class axis, or class probabilities shaped like input."""
    op = "cross_entropy"
    input, weight = _class_input(op, input, weight, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    target = _operand(op, "target", target, input)
    logits, rows_shape = _classes_last(input)               # (M, C)
    classes = logits.shape[1]
    if target.dtype.kind == "f" and target.shape == input.shape:
        probs = _classes_last(target)[0]                     # (M, C)
        if label_smoothing:
            probs = probs * (1 - label_smoothing) + label_smoothing / classes
        per_class = -log_softmax(logits, axis=1) * probs
        if weight is not None:
            per_class = per_class * weight
        return _reduce(per_class.sum(axis=1).reshape(rows_shape), reduction,
                       denominator=logits.shape[0])
    safe, keep = _class_targets(op, target, input, rows_shape, classes, ignore_index)
    nll, log_probs = CrossEntropy.apply(logits, safe)
    return _weighted_class_loss(nll, log_probs, safe, keep, weight, reduction, rows_shape,
                                label_smoothing)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """input log-probabilities (C,), (N, C) or (N, C, d1, ...); target class indices of the
    shape without the class axis."""
    op = "nll_loss"
    input, weight = _class_input(op, input, weight, reduction)
    target = _operand(op, "target", target, input)
    log_probs, rows_shape = _classes_last(input)            # (M, C)
    safe, keep = _class_targets(op, target, input, rows_shape, log_probs.shape[1], ignore_index)
    return _weighted_class_loss(NLLLoss.apply(log_probs, safe), log_probs, safe, keep, weight,
                                reduction, rows_shape)
