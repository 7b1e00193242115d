"""SGD with momentum, dampening, Nesterov momentum and weight decay, as torch.optim.SGD."""
from ..kernels import registry
from .optimizer import Optimizer

sgd_step = registry.get("sgd_step")


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _check_options(self, group):
        super()._check_options(group)
        if group["momentum"] < 0:
            raise ValueError(f"Invalid momentum value: {group['momentum']}")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _update(self, param, grad, group, state):
        lr, momentum, weight_decay = group["lr"], group["momentum"], group["weight_decay"]
        velocity = None
        if momentum:
            velocity = state.get("momentum_buffer")
            if velocity is None:        # the first step takes the whole gradient
                velocity = state["momentum_buffer"] = self._zeros_like(param)
            elif group["dampening"]:
                # the kernel has no dampening: hand it the dampened, decayed gradient
                grad = (1 - group["dampening"]) * (grad + weight_decay * param._data)
                weight_decay = 0
            velocity = velocity._data
        sgd_step(param._data, grad, velocity, lr, momentum, group["nesterov"], weight_decay)
