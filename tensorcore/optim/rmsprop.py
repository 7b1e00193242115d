"""RMSprop, plain or centered, with optional momentum, as torch.optim.RMSprop."""
from ..kernels import registry
from .optimizer import Optimizer

rmsprop_step = registry.get("rmsprop_step")


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, *, maximize=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _check_options(self, group):
        super()._check_options(group)
        for name in ("alpha", "eps", "momentum"):
            if group[name] < 0:
                raise ValueError(f"Invalid {name} value: {group[name]}")

    def _update(self, param, grad, group, state):
        if not state:
            state["step"] = 0
            state["square_avg"] = self._zeros_like(param)
            if group["momentum"] > 0:
                state["momentum_buffer"] = self._zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = self._zeros_like(param)
        state["step"] += 1
        buffers = [state.get(name) for name in ("momentum_buffer", "grad_avg")]
        momentum_buffer, grad_avg = (None if b is None else b._data for b in buffers)
        rmsprop_step(param._data, grad, state["square_avg"]._data, momentum_buffer, grad_avg,
                     group["lr"], group["alpha"], group["eps"], group["weight_decay"],
                     group["momentum"])
