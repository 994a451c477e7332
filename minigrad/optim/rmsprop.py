"""RMSprop."""
from minigrad.ops.common import kernels
from minigrad.optim.optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop (Hinton), PyTorch's formulation.

        g = grad + weight_decay * p
        v = alpha v + (1 - alpha) g^2
        centered: m = alpha m + (1 - alpha) g,  denom = sqrt(v - m^2) + eps
        otherwise: denom = sqrt(v) + eps
        momentum > 0: b = momentum b + g / denom,  p = p - lr b
        otherwise:    p = p - lr g / denom

    State per parameter: 'step' (int), 'square_avg', 'momentum_buffer' (momentum > 0),
    'grad_avg' (centered).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, *, maximize=False, foreach=None):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if alpha < 0.0:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p, group, state):
        grad = self._grad_array(p)
        if "square_avg" not in state:
            state["step"] = 0
            state["square_avg"] = self._zeros_like(p)
        if group["momentum"] > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = self._zeros_like(p)
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = self._zeros_like(p)
        state["step"] = int(state["step"]) + 1
        buf = state["momentum_buffer"]._array if group["momentum"] > 0 else None
        grad_avg = state["grad_avg"]._array if group["centered"] else None
        kernels(p).rmsprop_step(p._array, grad, state["square_avg"]._array, group["lr"],
                                group["alpha"], group["eps"], group["weight_decay"],
                                group["momentum"], buf, grad_avg, group["maximize"])
        for name in ("square_avg", "momentum_buffer", "grad_avg"):
            if name in state:
                state[name]._version[0] += 1
