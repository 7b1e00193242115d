"""Reverse-mode autograd on a dynamic tape.

Each differentiable op is a ``Function`` subclass with ``forward(ctx, *arrays, **params)``
and ``backward(ctx, *grads)``. ``Function.apply`` runs forward on the raw arrays of its tensor
arguments and, when a gradient is wanted, returns tensors that point back at the Function
instance (the ``ctx``), which keeps whatever forward saved on it and, in ``inputs``, where
each argument's gradient goes: a leaf tensor itself, a ``(Function, output index, shape)``
edge for a tensor another Function made, None for an argument that wants no gradient. As in
PyTorch, the graph holds no input's data that forward did not save: an intermediate result
is freed once nothing else refers to it, not kept until backward (in a CNN step, the conv
layer's output).
``backward(root)`` visits those nodes in reverse topological order, once each, and
accumulates ``.grad`` on the leaves.
"""
import functools

import numpy as np

from .device import owns_memory
from .errors import ShapeError

_grad_enabled = True


def is_grad_enabled():
    return _grad_enabled


def set_grad_enabled(enabled):
    global _grad_enabled
    _grad_enabled = bool(enabled)


class _GradMode:
    """Base of no_grad/enable_grad: a context manager that also decorates functions."""
    enabled = None

    def __enter__(self):
        self._previous = _grad_enabled
        set_grad_enabled(self.enabled)

    def __exit__(self, *exc):
        set_grad_enabled(self._previous)

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """``with tc.no_grad():`` — ops inside record no graph."""
    enabled = False


class enable_grad(_GradMode):
    enabled = True


class Function:
    """A differentiable op. Subclasses implement

        forward(ctx, *args, **params) -> array or tuple of arrays
        backward(ctx, *grads)         -> one gradient (or None) per positional arg

    ``args`` arrive as raw arrays where the caller passed tensors; everything else passes
    through unchanged. ``backward`` gets one gradient per output (None for an output that
    received none) and returns arrays shaped like the corresponding inputs.
    """
    __slots__ = ("inputs", "n_outputs", "_grads", "__dict__")

    @classmethod
    def apply(cls, *args, **params):
        ctx = cls.__new__(cls)
        out = ctx.forward(*[a._data if isinstance(a, Tensor) else a for a in args], **params)
        if _grad_enabled:
            for a in args:
                if isinstance(a, Tensor) and a.requires_grad:
                    ctx.inputs = [(t if t._node is None else (t._node, t._index, t.shape))
                                  if isinstance(t, Tensor) and t.requires_grad else None
                                  for t in args]
                    if type(out) is tuple:
                        ctx.n_outputs = len(out)
                        return tuple(_make(o, ctx, i, o.dtype.kind == "f") for i, o in enumerate(out))
                    ctx.n_outputs = 1
                    return _make(out, ctx, 0, True)
        if type(out) is tuple:
            return tuple(_make(o) for o in out)
        return _make(out)

    def needs_grad(self, i):
        """Whether positional argument ``i`` is a tensor that wants a gradient."""
        return self.inputs[i] is not None

    def forward(self, *args, **params):
        raise NotImplementedError

    def backward(self, *grads):
        raise NotImplementedError


def backward(root, grad):
    """Accumulate d(root)/d(leaf) · grad into every leaf's ``.grad``."""
    node = root._node
    if node is None:
        _check_leaf_shape(root, grad)
        _accumulate({root: grad}, grad)
        return
    order = _topological_order(node)
    node._grads = [None] * node.n_outputs
    node._grads[root._index] = grad
    leaf_grads = {}                     # leaf -> its summed gradient from this pass
    for node in reversed(order):
        grads, node._grads = node._grads, None
        if grads is None:
            continue
        in_grads = node.backward(*grads)
        if type(in_grads) is not tuple:
            in_grads = (in_grads,)
        for inp, g in zip(node.inputs, in_grads):
            if g is None or inp is None:
                continue
            if type(inp) is not tuple:
                _check_leaf_shape(inp, g)
                leaf_grads[inp] = g if inp not in leaf_grads else leaf_grads[inp] + g
                continue
            parent, index, _ = inp
            if parent._grads is None:
                parent._grads = [None] * parent.n_outputs
            slot = parent._grads
            slot[index] = g if slot[index] is None else slot[index] + g
    _accumulate(leaf_grads, grad)


def _topological_order(root):
    """Nodes reachable from ``root``, each after all nodes it consumes (iterative DFS, so deep
    graphs such as long LSTM unrolls do not hit the recursion limit)."""
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        node._grads = None
        stack.append((node, True))
        for inp in node.inputs:
            if type(inp) is tuple and inp[0] not in visited:
                stack.append((inp[0], False))
    return order


def _check_leaf_shape(leaf, g):
    if g.shape != leaf._data.shape:
        raise ShapeError(f"backward: gradient of shape {g.shape} for a tensor of shape "
                         f"{leaf._data.shape}")


def _accumulate(leaf_grads, root_grad):
    """Add each leaf's gradient into its ``.grad``, once the whole pass is done (no array
    handed around in the pass is written to). A leaf without a grad takes the array itself
    when nothing else can see it: it owns its memory (device.owns_memory: a C++ kernel's
    output counts), is not the caller's root gradient and was not given to another leaf;
    otherwise it gets a copy (functions may hand one gradient array to several inputs)."""
    claimed = {id(root_grad)}
    for leaf, g in leaf_grads.items():             # shapes were checked as each arrived
        if leaf.grad is not None:
            data = leaf.grad._data
            data += g
            continue
        private = (owns_memory(g) and g.flags.writeable and id(g) not in claimed
                   and g.dtype == leaf._data.dtype)
        leaf.grad = _make(g if private else g.astype(leaf._data.dtype, copy=True))
        claimed.add(id(g))


def Variable(data, requires_grad=False, volatile=False):
    """torch.autograd.Variable, for old scripts: since PyTorch 0.4 a Variable is its tensor."""
    return data.requires_grad_() if requires_grad else data


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0):
    """Check ``fn``'s analytic gradients against central finite differences.

    For a random cotangent ``u`` on each output, compares the backward pass's ``u · J``
    with ``(u · f(x + eps e_i) - u · f(x - eps e_i)) / 2 eps`` for every element ``i`` of
    every input that requires grad. Use float64 inputs. Returns True, or raises
    ``GradcheckError`` (returns False when ``raise_exception=False``).
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    targets = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not targets:
        raise ValueError("gradcheck: no input has requires_grad=True")
    for t in targets:
        if t.dtype != np.float64:
            raise TypeError(f"gradcheck: inputs should be float64 for finite differences, got {t.dtype}")
    rng = np.random.default_rng(seed)

    def outputs():
        out = fn(*inputs)
        return [o for o in (out if isinstance(out, (tuple, list)) else (out,))
                if isinstance(o, Tensor) and o.dtype.kind == "f"]

    with enable_grad():
        outs = outputs()
    cotangents = [rng.standard_normal(o.shape) for o in outs]

    def projection():
        with no_grad():
            return sum(float(np.sum(np.asarray(o.numpy(), dtype=np.float64) * u))
                       for o, u in zip(outputs(), cotangents))

    for t in targets:
        t.grad = None
    with enable_grad():
        total = None
        for o, u in zip(outs, cotangents):
            if o.requires_grad:
                term = (o * _make(u.astype(o.dtype))).sum()
                total = term if total is None else total + term
        if total is not None:
            total.backward()

    for k, t in enumerate(targets):
        analytic = np.zeros(t.shape) if t.grad is None else t.grad.numpy().astype(np.float64)
        numeric = np.zeros(t.shape)
        if not t._data.flags.c_contiguous:
            t._data = t._data.copy()    # so that the flat view below aliases the storage
        flat = t._data.reshape(-1)      # a view: perturbs the tensor in place
        for i in range(flat.size):
            original = float(flat[i])
            flat[i] = original + eps
            plus = projection()
            flat[i] = original - eps
            minus = projection()
            flat[i] = original
            numeric.flat[i] = (plus - minus) / (2 * eps)
        bad = ~np.isclose(analytic, numeric, atol=atol, rtol=rtol)
        if bad.any():
            where = np.unravel_index(int(np.argmax(bad)), bad.shape)
            message = (f"gradcheck: input {k} (shape {t.shape}): analytic gradient differs from "
                       f"finite differences at {where}: {analytic[where]:.8g} vs "
                       f"{numeric[where]:.8g} ({int(bad.sum())} of {bad.size} elements)")
            if raise_exception:
                raise GradcheckError(message)
            return False
    return True


class GradcheckError(RuntimeError):
    pass


from .tensor import Tensor, _make  # noqa: E402  (tensor.py imports this module's names)
