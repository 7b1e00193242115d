"""Module: the base of every layer and model, as torch.nn.Module.

A Module keeps its Parameters, buffers (state that is saved but not trained, such as
BatchNorm's running statistics) and child Modules in three ordered dicts; assigning a
Parameter or a Module to an attribute registers it there. Dotted names ("0.weight",
"encoder.fc.bias") address nested entries in named_parameters() and state_dict().
"""
from collections import OrderedDict, namedtuple

import numpy as np

from .. import device as devices
from .. import dtypes
from ..autograd import no_grad
from ..errors import ShapeError
from ..tensor import Tensor, to_arguments
from .parameter import Parameter

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def _check_name(kind, name):
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
    if "." in name or name == "":
        raise KeyError(f"{kind} name can't contain '.' or be empty, got {name!r}")


class Module:
    training = True

    def __init__(self):
        set_ = object.__setattr__
        set_(self, "training", True)
        set_(self, "_parameters", OrderedDict())
        set_(self, "_buffers", OrderedDict())
        set_(self, "_non_persistent", set())
        set_(self, "_modules", OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} is missing the required "
                                  "'forward' method")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ---- registration -----------------------------------------------------------------
    def _stores(self):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign parameters, buffers or modules to "
                                 f"{type(self).__name__} before Module.__init__() call "
                                 "(call super().__init__() first)")
        return self._parameters, self._buffers, self._modules

    def _forget(self, name, keep):
        """Remove ``name`` from every store but ``keep`` and from the instance dict."""
        for store in self._stores():
            if store is not keep:
                store.pop(name, None)
        self.__dict__.pop(name, None)
        self._non_persistent.discard(name)

    def register_parameter(self, name, param):
        _check_name("parameter", name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign {type(param).__name__} object to parameter "
                            f"'{name}' (tc.nn.Parameter or None required)")
        params = self._stores()[0]
        self._forget(name, params)
        params[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        _check_name("buffer", name)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign {type(tensor).__name__} object to buffer '{name}' "
                            "(Tensor or None required)")
        buffers = self._stores()[1]
        if name not in buffers and hasattr(self, name):    # as PyTorch: not over a parameter,
            raise KeyError(f"attribute '{name}' already exists")   # submodule or attribute
        self._forget(name, buffers)
        buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name, module):
        _check_name("module", name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        modules = self._stores()[2]
        self._forget(name, modules)
        modules[name] = module

    register_module = add_module

    def __setattr__(self, name, value):
        stores = self.__dict__.get("_parameters"), self.__dict__.get("_buffers"), \
            self.__dict__.get("_modules")
        if isinstance(value, Parameter):
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            self.add_module(name, value)
        elif stores[0] is not None and name in stores[0]:
            self.register_parameter(name, value)    # None, or a TypeError naming the slot
        elif stores[2] is not None and name in stores[2]:
            self.add_module(name, value)
        elif stores[1] is not None and name in stores[1]:
            self.register_buffer(name, value, name not in self._non_persistent)
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):    # only called when ordinary lookup fails
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for store in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(store, ()):
                del self.__dict__[store][name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    # ---- traversal --------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        memo = set() if memo is None else memo
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, f"{prefix}.{name}" if prefix else name,
                                                remove_duplicate)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def _named_members(self, store, prefix, recurse, remove_duplicate=True):
        seen = set()
        owners = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for owner_name, owner in owners:
            for name, value in getattr(owner, store).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{owner_name}.{name}" if owner_name else name), value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def apply(self, fn):
        """Call ``fn`` on every submodule (children first) and on self; returns self."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ---- modes and gradients ------------------------------------------------------------
    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode is expected to be a bool, got {mode!r}")
        object.__setattr__(self, "training", mode)
        for child in self.children():      # through each child's train(), which may override
            child.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Freeze (False) or unfreeze (True) every parameter; returns self."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad._data[...] = 0

    # ---- device and dtype ---------------------------------------------------------------
    def _convert(self, convert):
        """Replace the storage of every parameter, gradient and buffer by ``convert(array)``
        in place, so optimizers holding the Parameter objects keep working."""
        for module in self.modules():
            for tensor in list(module._parameters.values()) + list(module._buffers.values()):
                if tensor is None:
                    continue
                tensor._data = convert(tensor._data)
                if tensor.grad is not None:
                    tensor.grad._data = convert(tensor.grad._data)
        return self

    def to(self, *args, device=None, dtype=None):
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or ``to(tensor)``: moves and
        casts (floating-point entries only) every parameter and buffer in place; returns self."""
        device, dtype = to_arguments("Module.to", args, device, dtype)
        if dtype is not None and dtype.kind != "f":
            raise TypeError(f"Module.to: only floating-point dtypes are allowed, got {dtype}")

        def convert(array):
            if dtype is not None and array.dtype.kind == "f":
                array = array.astype(dtype, copy=False)
            return array if device is None else devices.move(array, device)
        return self._convert(convert)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else f"cuda:{int(device)}")

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def half(self):
        return self.to(dtypes.float16)

    def type(self, dtype):
        return self.to(dtype)

    # ---- state ------------------------------------------------------------------------
    def _state_entries(self, prefix=""):
        """(dotted name, tensor) for every parameter and persistent buffer, torch's order:
        a module's own parameters, then its buffers, then each child's entries."""
        for name, param in self._parameters.items():
            if param is not None:
                yield prefix + name, param
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent:
                yield prefix + name, buffer
        for name, module in self._modules.items():
            if module is not None:
                yield from module._state_entries(f"{prefix}{name}.")

    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """An OrderedDict of dotted name -> tensor (detached, sharing storage with the
        module, as torch's; keep_vars=True gives the Parameters themselves)."""
        destination = OrderedDict() if destination is None else destination
        for name, tensor in self._state_entries(prefix):
            destination[name] = tensor if keep_vars else tensor.detach()
        return destination

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values from ``state_dict`` into the parameters and buffers in place.

        With ``strict`` the keys must match exactly; a shape mismatch is always an error.
        Returns (missing_keys, unexpected_keys). ``assign=True`` is not supported."""
        if assign:
            raise NotImplementedError("load_state_dict: assign=True is not supported; values "
                                      "are copied into the existing parameters")
        if not hasattr(state_dict, "items"):
            raise TypeError(f"load_state_dict: expected a dict, got "
                            f"{type(state_dict).__name__}")
        own = OrderedDict(self._state_entries())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors, updates = [], []
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            array = value._data if isinstance(value, Tensor) else np.asarray(value)
            if tuple(array.shape) != tuple(target.shape):
                errors.append(f"size mismatch for {key}: expected {tuple(target.shape)}, "
                              f"received {tuple(array.shape)}")
            else:
                updates.append((target, array))
        if strict:
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ".")
            if unexpected:
                errors.insert(0 if not missing else 1, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ".")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        with no_grad():
            for target, array in updates:
                array = array.astype(target.dtype, copy=False)
                target._data[...] = devices.move(array, target.device)
        return IncompatibleKeys(missing, unexpected)

    # ---- printing ---------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = [f"({name}): " + repr(module).replace("\n", "\n  ")
                    for name, module in self._modules.items()]
        if not children and len(lines) <= 1:
            return f"{type(self).__name__}({extra})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines + children) + "\n)"


def check_features(layer, x, expected, axis, what):
    """ShapeError unless ``x.shape[axis] == expected``, worded as the spec's layer errors."""
    if x.ndim == 0 or x.shape[axis] != expected:
        raise ShapeError(f"{layer}: expected input with {what} {expected}, received shape "
                         f"{tuple(x.shape)}")
