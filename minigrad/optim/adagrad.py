"""Adagrad."""
from minigrad.ops.common import kernels
from minigrad.optim.optimizer import Optimizer


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011), PyTorch's formulation.

        g = grad + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        sum = sum + g^2
        p = p - clr * g / (sqrt(sum) + eps)

    State per parameter: 'step' (int), 'sum' (starts at initial_accumulator_value).
    """

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, *, maximize=False, foreach=None):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if lr_decay < 0.0:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if initial_accumulator_value < 0.0:
            raise ValueError(f"Invalid initial_accumulator_value value: "
                             f"{initial_accumulator_value}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)
        # PyTorch creates Adagrad's state up front.
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = {"step": 0,
                                 "sum": self._zeros_like(p, group["initial_accumulator_value"])}

    def _update(self, p, group, state):
        grad = self._grad_array(p)
        if "sum" not in state:
            state["step"] = 0
            state["sum"] = self._zeros_like(p, group["initial_accumulator_value"])
        step = state["step"] = int(state["step"]) + 1
        kernels(p).adagrad_step(p._array, grad, state["sum"]._array, step, group["lr"],
                                group["lr_decay"], group["weight_decay"], group["eps"],
                                group["maximize"])
        state["sum"]._version[0] += 1
