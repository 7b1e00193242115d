"""The Tensor: a NumPy (cpu) or CuPy (cuda) array plus what autograd needs.

Storage is the array in ``_data``; NumPy and CuPy already do strides, views and
broadcasting, so the Tensor adds only gradients and the graph: ``_node`` is the Function
that produced it (None for leaves) and ``_index`` which of that Function's outputs it is.
"""
import numpy as np

from . import autograd, dtypes
from . import device as devices
from .errors import DTypeError, ShapeError


def _make(data, node=None, index=0, requires_grad=False):
    """Wrap an array without checks or copies: the fast path every op result takes."""
    if isinstance(data, np.generic):    # NumPy turns 0-d results into scalars
        data = np.asarray(data)
    t = _new(Tensor)
    t._data = data
    t._node = node
    t._index = index
    t.requires_grad = requires_grad
    t.grad = None
    return t


_new = object.__new__


class SizeInt(int):
    """``t.size``: the element count as NumPy has it, and callable as PyTorch's ``t.size()``
    (the shape) and ``t.size(dim)`` (one extent)."""

    def __new__(cls, shape):
        self = super().__new__(cls, int(np.prod(shape, dtype=np.int64)))
        self.shape = shape
        return self

    def __call__(self, dim=None):
        if dim is None:
            return self.shape
        if not -len(self.shape) <= dim < len(self.shape):
            raise ShapeError(f"size: dim {dim} is out of range for shape {self.shape}")
        return self.shape[dim]


class Tensor:
    __slots__ = ("_data", "_node", "_index", "requires_grad", "grad", "__weakref__")
    # Makes ndarray <op> Tensor call Tensor's reflected operator instead of NumPy's.
    __array_priority__ = 1000

    def __init__(self, data, dtype=None, device=None, requires_grad=False):
        made = tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        self._data, self._node, self._index = made._data, None, 0
        self.requires_grad, self.grad = made.requires_grad, None

    # ---- attributes -------------------------------------------------------------------
    @property
    def shape(self):
        return self._data.shape

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def device(self):
        return devices.of(self._data)

    @property
    def is_cuda(self):
        return not isinstance(self._data, np.ndarray)

    @property
    def size(self):
        return SizeInt(self._data.shape)

    def numel(self):
        return self._data.size

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def grad_fn(self):
        return self._node

    @property
    def data(self):
        """A tensor sharing this one's storage, outside the graph (PyTorch's ``.data``)."""
        return _make(self._data)

    @data.setter
    def data(self, value):
        value = value._data if isinstance(value, Tensor) else value
        if value.shape != self._data.shape:
            raise ShapeError(f"data: cannot assign shape {value.shape} to a tensor of shape "
                             f"{self._data.shape}")
        self._data = value

    @property
    def T(self):
        return self.permute(*reversed(range(self._data.ndim)))

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self._data.dtype.kind != "f":
            raise DTypeError(f"requires_grad_: only floating-point tensors can require "
                             f"gradients, got {self._data.dtype}")
        self.requires_grad = requires_grad
        return self

    # ---- conversion -------------------------------------------------------------------
    def numpy(self):
        """The values as a host ndarray (the storage itself on the cpu)."""
        return self._data if isinstance(self._data, np.ndarray) else self._data.get()

    def __array__(self, dtype=None, copy=None):
        host = self.numpy()
        if dtype is not None and host.dtype != dtype:
            return host.astype(dtype)
        return host.copy() if copy else host

    def item(self):
        if self._data.size != 1:
            raise ShapeError(f"item: only a one-element tensor converts to a Python scalar, "
                             f"got shape {self._data.shape}")
        return self._data.item()

    def tolist(self):
        return self.numpy().tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError(f"only one-element integer tensors can be used as an index, got "
                            f"{self._data.dtype} of shape {self._data.shape}")
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise ShapeError(f"bool: the truth value of a tensor of shape {self._data.shape} "
                             "is ambiguous")
        return bool(self.item())

    def to(self, *args, dtype=None, device=None, copy=False):
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(other_tensor)``."""
        device, dtype = to_arguments("to", args, device, dtype)
        out = self
        if dtype is not None:
            out = Cast.apply(out, dtype)
        if device is not None:
            out = ToDevice.apply(out, device)
        if copy and out is self:
            out = self.clone()
        return out

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else f"cuda:{int(device)}")

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def long(self):
        return self.to(dtypes.int64)

    def int(self):
        return self.to(dtypes.int32)

    def type(self, dtype=None):
        """The dtype's name, or this tensor converted to ``dtype`` (a dtype or a legacy tensor
        type such as tc.FloatTensor, which also names a device)."""
        if dtype is None:
            return str(self.dtype)
        device = getattr(dtype, "device", None)
        dtype = getattr(dtype, "dtype", dtype)
        return self.to(dtype) if device is None else self.to(device, dtype)

    def fill_(self, value):
        """Set every element to ``value`` in place; returns self. As setitem, not on a tensor
        that requires grad while autograd records (tc.no_grad() for initialisation)."""
        return self._fill("fill_", value)

    def zero_(self):
        return self._fill("zero_", 0)

    def _fill(self, op, value):
        if self.requires_grad and autograd.is_grad_enabled():
            raise RuntimeError(f"{op}: in-place change of a tensor that requires grad; wrap it "
                               f"in tc.no_grad() or change a detached copy")
        self._data[...] = value
        return self

    def detach(self):
        return _make(self._data)

    def clone(self):
        return Clone.apply(self)

    def contiguous(self):
        """self where its memory is C-contiguous, else a C-contiguous copy (as PyTorch)."""
        return self if self._data.flags.c_contiguous else self.clone()

    def __dlpack__(self, *args, **kwargs):
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    # ---- autograd ---------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Accumulate gradients of this tensor into the ``.grad`` of every leaf it depends on.
        A scalar needs no ``gradient``; otherwise pass one shaped like this tensor."""
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no graph; "
                               "create its inputs with requires_grad=True")
        if create_graph:
            raise NotImplementedError("backward: create_graph=True (higher-order gradients) "
                                      "is not supported")
        xp = devices.array_module(self._data)
        if gradient is None:
            if self._data.size != 1:
                raise ShapeError(f"backward: a gradient must be given for a non-scalar output "
                                 f"(shape {self._data.shape}); pass gradient= shaped like it")
            grad = xp.ones_like(self._data)
        else:
            grad = gradient._data if isinstance(gradient, Tensor) else xp.asarray(gradient)
            if grad.shape != self._data.shape:
                raise ShapeError(f"backward: gradient shape {grad.shape} does not match the "
                                 f"output shape {self._data.shape}")
            grad = grad.astype(self._data.dtype, copy=False)
        autograd.backward(self, grad)

    # ---- printing ---------------------------------------------------------------------
    def __repr__(self):
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(")
        extras = []
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self.dtype != dtypes.float32:
            extras.append(f"dtype={self.dtype}")
        if self._node is not None:
            extras.append(f"grad_fn=<{type(self._node).__name__}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    __hash__ = object.__hash__

    # ---- arithmetic -------------------------------------------------------------------
    def __add__(self, other):
        return Add.apply(self, scalar_operand(other))

    def __radd__(self, other):
        return Add.apply(scalar_operand(other), self)

    def __sub__(self, other):
        return Sub.apply(self, scalar_operand(other))

    def __rsub__(self, other):
        return Sub.apply(scalar_operand(other), self)

    def __mul__(self, other):
        return Mul.apply(self, scalar_operand(other))

    def __rmul__(self, other):
        return Mul.apply(scalar_operand(other), self)

    def __truediv__(self, other):
        return Div.apply(self, scalar_operand(other))

    def __rtruediv__(self, other):
        return Div.apply(scalar_operand(other), self)

    def __pow__(self, other):
        return Pow.apply(self, scalar_operand(other))

    def __rpow__(self, other):
        return Pow.apply(scalar_operand(other), self)

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    def __neg__(self):
        return Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return Abs.apply(self)

    # Comparisons give boolean tensors outside the graph.
    # torch's method names for the comparisons below
    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    def lt(self, other):
        return self < other

    def le(self, other):
        return self <= other

    def gt(self, other):
        return self > other

    def ge(self, other):
        return self >= other

    def __eq__(self, other):
        return _make(self._data == _raw(other))

    def __ne__(self, other):
        return _make(self._data != _raw(other))

    def __lt__(self, other):
        return _make(self._data < _raw(other))

    def __le__(self, other):
        return _make(self._data <= _raw(other))

    def __gt__(self, other):
        return _make(self._data > _raw(other))

    def __ge__(self, other):
        return _make(self._data >= _raw(other))

    def add(self, other):
        return self + other

    def sub(self, other):
        return self - other

    def mul(self, other):
        return self * other

    def div(self, other):
        return self / other

    def pow(self, exponent):
        return self ** exponent

    def matmul(self, other):
        return matmul(self, other)

    def neg(self):
        return Neg.apply(self)

    def exp(self):
        return Exp.apply(self)

    def log(self):
        return Log.apply(self)

    def sqrt(self):
        return Sqrt.apply(self)

    def abs(self):
        return Abs.apply(self)

    def clamp(self, min=None, max=None):
        return clamp(self, min, max)

    clip = clamp

    # ---- reductions -------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False, dim=None, keepdim=None):
        return reductions.sum(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def mean(self, axis=None, keepdims=False, dim=None, keepdim=None):
        return reductions.mean(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def max(self, dim=None, keepdim=None, *, axis=None, keepdims=False):
        return reductions.max(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def min(self, dim=None, keepdim=None, *, axis=None, keepdims=False):
        return reductions.min(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False, dim=None, keepdim=None):
        return reductions.argmax(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def argmin(self, axis=None, keepdims=False, dim=None, keepdim=None):
        return reductions.argmin(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def var(self, axis=None, keepdims=False, dim=None, keepdim=None, correction=None,
            unbiased=None, ddof=None):
        return reductions.var(self, axis, keepdims, dim=dim, keepdim=keepdim,
                              correction=correction, unbiased=unbiased, ddof=ddof)

    def std(self, axis=None, keepdims=False, dim=None, keepdim=None, correction=None,
            unbiased=None, ddof=None):
        return reductions.std(self, axis, keepdims, dim=dim, keepdim=keepdim,
                              correction=correction, unbiased=unbiased, ddof=ddof)

    # ---- shape ------------------------------------------------------------------------
    def reshape(self, *shape):
        return shape_ops.reshape(self, *shape)

    def view(self, *shape):
        return shape_ops.view(self, *shape)

    def view_as(self, other):
        return shape_ops.view(self, other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        return shape_ops.flatten(self, start_dim, end_dim)

    def transpose(self, dim0, dim1):
        return shape_ops.transpose(self, dim0, dim1)

    def t(self):
        if self.ndim > 2:
            raise ShapeError(f"t: expected a tensor of at most 2 dimensions, got shape "
                             f"{self.shape}; use transpose(dim0, dim1) or permute")
        return shape_ops.transpose(self, 0, 1) if self.ndim == 2 else self

    def permute(self, *dims):
        return shape_ops.permute(self, *dims)

    def squeeze(self, dim=None):
        return shape_ops.squeeze(self, dim)

    def unsqueeze(self, dim):
        return shape_ops.unsqueeze(self, dim)

    def expand(self, *sizes):
        return shape_ops.expand(self, *sizes)

    def expand_as(self, other):
        return shape_ops.expand(self, *other.shape)

    def __getitem__(self, index):
        return indexing.getitem(self, index)

    def __setitem__(self, index, value):
        indexing.setitem(self, index, value)

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    # ---- activations ------------------------------------------------------------------
    def relu(self):
        return activations.relu(self)

    def sigmoid(self):
        return activations.sigmoid(self)

    def tanh(self):
        return activations.tanh(self)

    def softmax(self, axis=None, dim=None):
        return softmax_ops.softmax(self, axis, dim=dim)

    def log_softmax(self, axis=None, dim=None):
        return softmax_ops.log_softmax(self, axis, dim=dim)


def _raw(x):
    return x._data if isinstance(x, Tensor) else x


def _is_device_spelling(arg):
    name = str(arg)
    return name == "cpu" or name == "cuda" or name.startswith("cuda:")


def to_arguments(where, args, device=None, dtype=None):
    """(device, dtype), normalized or None where not given, from the arguments of Tensor.to
    and Module.to (``where`` in errors): ``(device)``, ``(dtype)``, ``(device, dtype)`` or
    ``(other_tensor)``, and the ``device=`` and ``dtype=`` keywords."""
    for arg in args:
        if isinstance(arg, Tensor):
            device, dtype = arg.device, arg.dtype
        elif _is_device_spelling(arg):
            device = arg
        elif isinstance(arg, str) and arg.removeprefix("torch.") not in dtypes.NAMES:
            raise TypeError(f"{where}: {arg!r} is neither a device ('cpu', 'cuda', 'cuda:N') "
                            f"nor a dtype ({', '.join(sorted(dtypes.NAMES))})")
        else:
            dtype = arg
    dtype = None if dtype is None else dtypes.resolve(dtype, where)
    return (None if device is None else devices.normalize(device, where)), dtype


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (a scalar, nested list, ndarray, CuPy array or
    Tensor). Python floats become float32 (the default dtype), ints int64, bools bool;
    arrays keep their dtype unless ``dtype`` is given."""
    if dtype is not None:
        dtype = dtypes.resolve(dtype, "tensor")
    if isinstance(data, Tensor):
        array = data._data.astype(dtype or data._data.dtype, copy=True)
    elif devices.is_device_array(data):
        array = data.astype(dtype or data.dtype, copy=True)
    else:
        if isinstance(data, (str, bytes)):
            raise TypeError(f"tensor: expected a number, a nested list of numbers or an array, "
                            f"got {type(data).__name__} {data!r}")
        try:
            array = np.array(data, dtype=dtype)
        except (ValueError, TypeError) as e:
            raise type(e)(f"tensor: cannot make a tensor from this {type(data).__name__}: "
                          f"{e}") from None
        if array.dtype.kind not in "biuf":
            raise TypeError(f"tensor: expected numeric data, got {type(data).__name__} "
                            f"holding dtype {array.dtype}")
        if dtype is None and array.dtype == np.float64 and not isinstance(data, np.floating):
            array = array.astype(dtypes.default_float)
    if device is not None:
        array = devices.move(array, devices.normalize(device, "tensor"))
    out = _make(array)
    if requires_grad:
        out.requires_grad_(True)
    return out


def is_tensor(obj):
    return isinstance(obj, Tensor)


def from_numpy(array):
    """A tensor sharing memory with ``array`` (changes to one show in the other)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"from_numpy: unsupported dtype {array.dtype}")
    return _make(array)


def from_dlpack(obj):
    """A tensor sharing memory with any DLPack producer (NumPy, CuPy, PyTorch, ...)."""
    kind, _ = obj.__dlpack_device__()
    if kind == 1:       # kDLCPU
        return _make(np.from_dlpack(obj))
    cupy = devices.cupy_or_none()
    if cupy is None:
        raise RuntimeError("from_dlpack: the object lives on a GPU but CUDA is not available")
    return _make(cupy.from_dlpack(obj))


from .ops import activations, indexing, reductions  # noqa: E402  (ops import Tensor from here)
from .ops import shape as shape_ops  # noqa: E402
from .ops import softmax as softmax_ops  # noqa: E402
from .ops.arith import Abs, Add, Div, Exp, Log, Mul, Neg, Pow, Sqrt, Sub, clamp  # noqa: E402
from .ops.common import scalar_operand  # noqa: E402
from .ops.convert import Cast, Clone, ToDevice  # noqa: E402
from .ops.matmul import matmul  # noqa: E402
