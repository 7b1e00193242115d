"""Optimizer: the base of SGD, Adam, AdamW and RMSprop, as torch.optim.Optimizer.

Parameters live in ``param_groups`` (a list of dicts, each with "params" and its own copy
of every option); per-parameter state (momentum buffers, moment estimates) lives in
``state[param]``. state_dict() uses torch's layout, parameters numbered in group order:
{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}.
"""
import copy

from .. import device as devices
from ..autograd import enable_grad
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor, _make


class Optimizer:
    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}         # Parameter -> dict; Tensors hash by identity
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got a Tensor")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group):
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise ValueError("param_group needs a 'params' entry")
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params "
                                f"is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor (one computed by an op); "
                                 "optimize the leaves it came from")
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check_options(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]) or \
                len({id(p) for p in group["params"]}) != len(group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def _check_options(self, group):
        """Raise ValueError for an option out of range (subclasses check their own)."""
        if group["lr"] < 0:
            raise ValueError(f"Invalid learning rate: {group['lr']}")
        if group.get("weight_decay", 0) < 0:
            raise ValueError(f"Invalid weight_decay value: {group['weight_decay']}")

    def zero_grad(self, set_to_none=True):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad._data[...] = 0

    def step(self, closure=None):
        """One update of every parameter that has a gradient; ``closure`` (re-evaluating the
        model and returning the loss) is called first when given. Returns its loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    grad = self._checked_grad(p)
                    self._update(p, -grad if group.get("maximize") else grad, group,
                                 self.state.setdefault(p, {}))
        return loss

    def _checked_grad(self, param):
        """param's gradient array, which must have param's shape and dtype (PyTorch checks
        them when .grad is assigned; autograd's gradients always have them); param must be
        writeable (tc.from_numpy shares a read-only array's memory)."""
        grad, data = param.grad._data, param._data
        if not getattr(data.flags, "writeable", True):    # CuPy arrays have no such flag
            raise ValueError(f"{type(self).__name__}.step: expected a writeable parameter, got "
                             f"a read-only array of shape {data.shape}")
        if grad.shape != data.shape:
            raise ShapeError(f"{type(self).__name__}.step: expected the gradient of a parameter "
                             f"of shape {data.shape} to have that shape, got {grad.shape}")
        if grad.dtype != data.dtype:
            raise DTypeError(f"{type(self).__name__}.step: expected the gradient of a {data.dtype} "
                             f"parameter to be {data.dtype}, got {grad.dtype}")
        return grad

    def _update(self, param, grad, group, state):
        raise NotImplementedError

    @staticmethod
    def _zeros_like(param):
        return _make(devices.array_module(param._data).zeros_like(param._data))

    # ---- state --------------------------------------------------------------------------
    def state_dict(self):
        """Copies of the state (so later steps do not change it) in torch's layout."""
        index, groups = {}, []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: {k: (v.clone().detach() if isinstance(v, Tensor) else v)
                                for k, v in s.items()}
                 for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, "
                             f"this optimizer has {len(self.param_groups)}")
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"loaded state dict contains a parameter group {i} with "
                                 f"{len(saved['params'])} parameters, which doesn't match "
                                 f"the size of optimizer's group ({len(group['params'])})")
        by_index = {}
        for saved, group in zip(saved_groups, self.param_groups):
            by_index.update(zip(saved["params"], group["params"]))
        self.state = {}
        for index, saved in state_dict["state"].items():
            param = by_index[int(index)]
            self.state[param] = {k: self._adopt(v, param) for k, v in saved.items()}
        for saved, group in zip(saved_groups, self.param_groups):
            group.update({k: copy.deepcopy(v) for k, v in saved.items() if k != "params"})

    @staticmethod
    def _adopt(value, param):
        """A saved state entry as this optimizer's own: tensors copied onto the parameter's
        device and dtype, anything else deep-copied."""
        if not isinstance(value, Tensor):
            return copy.deepcopy(value)
        array = value._data.astype(param.dtype, copy=True)
        return _make(devices.move(array, param.device))

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"
