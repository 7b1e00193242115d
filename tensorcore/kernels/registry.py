"""The kernel registry: named ops, each with variants per device.

An op ("matmul", "conv2d_backward_input", ...) is declared once with ``define``; variants
register against it with a full name "<device>.<implementation>" ("cpu.gemm"), a priority
and an availability check. A call runs the highest-priority available variant for the
device of its first argument; a variant that declines its arguments (raises
``NotImplementedError``) falls through to the next, ending at "<device>.reference", which
every op has on every device.

    matmul = registry.get("matmul")
    c = matmul(a, b)                  # a, b are numpy (cpu) or cupy (cuda) arrays
"""
import contextlib
import os
import time

import numpy as np

from ..errors import KernelMismatchError, OutOfMemoryError

_ops = {}               # op name -> Op
_forced = {}            # op name -> variant name, from use() and TENSORCORE_KERNELS
_validate = os.environ.get("TENSORCORE_VALIDATE", "0") not in ("", "0")
_profile = None         # a Profile while profiling, else None
_DECLINED = object()    # what running a chain of variants gives when each declines


class Variant:
    __slots__ = ("op", "name", "device", "fn", "priority", "available_check", "_available", "rtol")

    def __init__(self, op, name, fn, priority, available, rtol=None):
        self.op, self.name, self.fn, self.priority, self.rtol = op, name, fn, priority, rtol
        self.device = name.split(".", 1)[0]
        self.available_check = available
        self._available = None

    @property
    def available(self):
        if self._available is None:
            self._available = bool(self.available_check()) if self.available_check else True
        return self._available

    @property
    def is_reference(self):
        return self.name.endswith(".reference")

    def __repr__(self):
        return f"<variant {self.op}:{self.name} priority={self.priority}>"


class Op:
    """A named kernel op; calling it dispatches to a variant."""

    def __init__(self, name, doc, validate):
        self.name, self.__doc__, self.validate = name, doc, validate
        self.variants = {}      # name -> Variant
        self._chains = {}       # device type -> tuple of Variants to try, in order
        self.last = None        # the Variant that ran last

    def chain(self, device):
        """The variants tried for ``device`` ("cpu" or "cuda"), first choice first."""
        found = self._chains.get(device)
        if found is None:
            found = [v for v in self.variants.values() if v.device == device and v.available]
            found.sort(key=lambda v: (v.is_reference, -v.priority))
            forced = _forced.get(self.name)
            if forced in self.variants and self.variants[forced] in found:
                found.remove(self.variants[forced])
                found.insert(0, self.variants[forced])
            found = self._chains[device] = tuple(found)
        return found

    def active(self, device="cpu"):
        chain = self.chain(device)
        return chain[0].name if chain else None

    def reference(self, device):
        return self.variants[f"{device}.reference"]

    def __call__(self, *args, **params):
        device, chain = self._device_chain(args)
        out = self._run(chain, device, args, params)
        if out is _DECLINED:
            raise RuntimeError(f"{self.name}: no kernel variant accepted these arguments on "
                               f"{device} (tried {[v.name for v in chain]})")
        return out

    def unless_reference(self, *args, **params):
        """The op's result from its variants other than the reference (and from the reference
        where tc.kernels.use forces it), or None where each of them declines: for a caller with
        a cheaper way than the reference's to the same result (Conv2dMaxPool2d runs the two ops
        its reference composes, keeping the pool's indices for its backward pass)."""
        device, chain = self._device_chain(args)
        if chain and chain[-1].is_reference and _forced.get(self.name) != chain[-1].name:
            chain = chain[:-1]
        out = self._run(chain, device, args, params)
        return None if out is _DECLINED else out

    def _device_chain(self, args):
        first = args[0]     # NumPy hands back 0-d results as np.generic scalars
        device = "cpu" if type(first) is np.ndarray or isinstance(first, np.generic) else "cuda"
        return device, self._chains.get(device) or self.chain(device)

    def _run(self, chain, device, args, params):
        """The first of ``chain`` to accept the arguments, run; _DECLINED where none does."""
        if _validate or _profile is not None:
            return self._call_instrumented(chain, device, args, params)
        for variant in chain:
            try:
                out = variant.fn(*args, **params)
            except NotImplementedError:
                continue
            except MemoryError as error:
                raise _out_of_memory(self.name, variant, args, error) from error
            self.last = variant
            return out
        return _DECLINED

    def _call_instrumented(self, chain, device, args, params):
        copies = _copy_arrays(args) if _validate and self.validate else None
        for variant in chain:
            start = time.perf_counter()
            try:
                out = variant.fn(*args, **params)
            except NotImplementedError:
                continue
            except MemoryError as error:
                raise _out_of_memory(self.name, variant, args, error) from error
            if _profile is not None:
                _profile.record(self.name, variant.name, time.perf_counter() - start, args, params)
            self.last = variant
            if copies is not None and not variant.is_reference:
                expected = self.reference(device).fn(*copies, **params)
                _check_same(self.name, variant.name, (out, args), (expected, copies), variant.rtol)
            return out
        return _DECLINED

    def __repr__(self):
        return f"<op {self.name}: {', '.join(self.variants)}>"


def define(name, doc="", validate=True):
    """Declare op ``name``; ``validate=False`` for ops whose result is random (dropout)."""
    if name in _ops:
        raise ValueError(f"kernel op {name!r} is already defined")
    _ops[name] = Op(name, doc, validate)
    return _ops[name]


def get(name):
    try:
        return _ops[name]
    except KeyError:
        raise ValueError(f"unknown kernel op {name!r}; known ops: {sorted(_ops)}") from None


def register(op, name, priority=0, available=None, rtol=None):
    """Decorator registering ``fn`` as variant ``name`` ("<device>.<impl>") of ``op``.

    ``available`` is a no-argument callable checked once, when the op is first called on
    that device. Higher priority runs first; "*.reference" variants always run last.
    ``rtol`` widens the validation tolerance (relative to the output's scale) for a variant
    that rounds differently by design, such as TF32 tensor-core GEMMs (~1e-3)."""
    def decorate(fn):
        target = get(op)
        if name in target.variants:
            raise ValueError(f"{op}: variant {name!r} is already registered")
        target.variants[name] = Variant(op, name, fn, priority, available, rtol)
        _invalidate()
        return fn
    return decorate


def unregister(op, name):
    """Remove variant ``name`` of ``op`` (kernel research swaps variants in and out)."""
    target = get(op)
    if name not in target.variants:
        raise ValueError(f"{op}: no variant {name!r} to unregister")
    del target.variants[name]
    if _forced.get(op) == name:
        del _forced[op]
    _invalidate()


def reference(op):
    """Decorator registering a NumPy/CuPy-generic function as the op's reference variant on
    every device ("cpu.reference" and "cuda.reference")."""
    from ..device import cuda_available

    def decorate(fn):
        register(op, "cpu.reference")(fn)
        register(op, "cuda.reference", available=cuda_available)(fn)
        return fn
    return decorate


def _invalidate():
    for target in _ops.values():
        target._chains.clear()


def ops():
    return dict(_ops)


class use:
    """Force kernel variants: ``with tc.kernels.use(matmul="cpu.reference"): ...``.

    Takes effect when called (so a bare call sets it for the rest of the program) and is
    undone when a ``with`` block exits. A key names one op or a family ("conv2d" also covers
    "conv2d_backward_input" and "conv2d_backward_weight")."""

    def __init__(self, **choices):
        updates = {}
        for key, variant in choices.items():
            family = [n for n in _ops if n == key or n.startswith(key + "_")]
            matching = [n for n in family if variant in _ops[n].variants]
            if not matching:
                known = sorted({v for n in family for v in _ops[n].variants})
                if not family:
                    raise ValueError(f"kernels.use: unknown op {key!r}; known ops: {sorted(_ops)}")
                raise ValueError(f"kernels.use: {key} has no variant {variant!r}; "
                                 f"registered: {known}")
            for name in matching:
                if not _ops[name].variants[variant].available:
                    raise RuntimeError(f"kernels.use: variant {variant!r} of {name} is not "
                                       "available on this machine")
                updates[name] = variant
        self._saved = dict(_forced)
        _forced.update(updates)
        _invalidate()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _forced.clear()
        _forced.update(self._saved)
        _invalidate()


def set_validate(enabled):
    """Turn ``TENSORCORE_VALIDATE`` behaviour on or off; returns the previous setting."""
    global _validate
    previous, _validate = _validate, bool(enabled)
    return previous


@contextlib.contextmanager
def validate(enabled=True):
    previous = set_validate(enabled)
    try:
        yield
    finally:
        set_validate(previous)


class Profile:
    """What ran inside ``with tc.kernels.profile() as prof``: per op, the variant, the call
    count and total seconds, and the arguments of its first call (to re-time later)."""

    def __init__(self):
        self.ops = {}   # op name -> {"variant", "calls", "seconds", "args", "params"}

    def record(self, op, variant, seconds, args, params):
        entry = self.ops.get(op)
        if entry is None:
            entry = self.ops[op] = {"variant": variant, "calls": 0, "seconds": 0.0,
                                    "args": args, "params": params}
        entry["calls"] += 1
        entry["seconds"] += seconds
        entry["variant"] = variant


@contextlib.contextmanager
def profile():
    global _profile
    previous, _profile = _profile, Profile()
    try:
        yield _profile
    finally:
        _profile = previous


def _copy_arrays(args):
    return tuple(a.copy() if hasattr(a, "shape") and hasattr(a, "copy") else a for a in args)


def _out_of_memory(op, variant, args, error):
    """``error`` (a MemoryError: CuPy's OutOfMemoryError or NumPy's) as one naming the op."""
    if isinstance(error, OutOfMemoryError):     # raised by an op nested in this one
        return error
    first = args[0]
    where = "cpu" if isinstance(first, (np.ndarray, np.generic)) else f"cuda:{first.device.id}"
    return OutOfMemoryError(f"{op}: out of memory on {where} in kernel variant {variant.name} "
                            f"({error}); free tensors or use smaller batches")


def _check_same(op, variant, got, expected, rtol=None):
    """Compare nested outputs (arrays, scalars, tuples, None) of a variant and the reference."""
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            raise KernelMismatchError(f"{op}: variant {variant} returned {got!r} where the "
                                      f"reference returned {len(expected)} values")
        for g, e in zip(got, expected):
            _check_same(op, variant, g, e, rtol)
        return
    if expected is None or got is None:
        if got is not expected:
            raise KernelMismatchError(f"{op}: variant {variant} returned {got!r}, reference {expected!r}")
        return
    got_host, expected_host = _to_host(got), _to_host(expected)
    if got_host.shape != expected_host.shape:
        raise KernelMismatchError(f"{op}: variant {variant} returned shape {got_host.shape}, "
                                  f"reference {expected_host.shape}")
    if expected_host.dtype.kind != "f":
        if not np.array_equal(got_host, expected_host):
            raise KernelMismatchError(f"{op}: variant {variant} differs from the reference")
        return
    # Tolerance relative to the output's scale: sums over long axes (GEMM's K) differ by
    # rounding proportional to the magnitudes summed, not to each result element.
    tol = rtol if rtol is not None else 1e-4 if expected_host.dtype.itemsize <= 4 else 1e-9
    scale = float(np.max(np.abs(expected_host), initial=0.0))
    ok = np.isclose(got_host, expected_host, rtol=tol, atol=tol * max(scale, 1e-3), equal_nan=True)
    if not ok.all():
        where = np.unravel_index(int(np.argmin(ok)), ok.shape)
        raise KernelMismatchError(
            f"{op}: variant {variant} differs from the reference at {where}: "
            f"{got_host[where]!r} vs {expected_host[where]!r} ({int((~ok).sum())} of {ok.size} "
            "elements outside tolerance)")


def _to_host(a):
    return np.asarray(a.get() if hasattr(a, "__cuda_array_interface__") else a)


def _force_from_env():
    spec = os.environ.get("TENSORCORE_KERNELS", "").strip()
    if spec:
        use(**dict(item.split("=", 1) for item in spec.split(",") if item))
