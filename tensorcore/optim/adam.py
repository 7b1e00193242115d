"""Adam and AdamW, as torch.optim.Adam / AdamW."""
from ..kernels import registry
from .optimizer import Optimizer

adam_step = registry.get("adam_step")


class Adam(Optimizer):
    decoupled = False       # AdamW: weight decay shrinks the parameter, not the gradient

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, maximize=False):
        if amsgrad:
            raise NotImplementedError(f"{type(self).__name__}: amsgrad=True is not supported")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=False,
                                      maximize=maximize))

    def _check_options(self, group):
        super()._check_options(group)
        if group["eps"] < 0:
            raise ValueError(f"Invalid epsilon value: {group['eps']}")
        betas = group["betas"]
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"Invalid betas: expected two values in [0, 1), got {betas}")
        if group["amsgrad"]:
            raise NotImplementedError(f"{type(self).__name__}: amsgrad=True is not supported")

    def _update(self, param, grad, group, state):
        if not state:
            state["step"] = 0
            state["exp_avg"] = self._zeros_like(param)
            state["exp_avg_sq"] = self._zeros_like(param)
        state["step"] += 1
        beta1, beta2 = group["betas"]
        adam_step(param._data, grad, state["exp_avg"]._data, state["exp_avg_sq"]._data,
                  state["step"], group["lr"], beta1, beta2, group["eps"], group["weight_decay"],
                  self.decoupled)


class AdamW(Adam):
    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
