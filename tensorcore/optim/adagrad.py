"""Adagrad, as torch.optim.Adagrad."""
from ..device import array_module
from .optimizer import Optimizer


class Adagrad(Optimizer):
    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, *, maximize=False):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))

    def _update(self, param, grad, group, state):
        if not state:
            state["step"] = 0
            state["sum"] = self._zeros_like(param)
            state["sum"]._data += group["initial_accumulator_value"]
        state["step"] += 1
        xp, p = array_module(grad), param._data
        g = grad + group["weight_decay"] * p if group["weight_decay"] else grad
        total = state["sum"]._data
        total += g * g
        lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        p -= lr * g / (xp.sqrt(total) + group["eps"])
