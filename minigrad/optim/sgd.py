"""SGD with momentum, dampening, Nesterov momentum and weight decay."""
from minigrad.ops.common import kernels
from minigrad.optim.optimizer import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent (PyTorch's formulation).

        g = grad + weight_decay * p
        b = g (first step),  else  b = momentum * b + (1 - dampening) * g
        g = g + momentum * b  (nesterov)  or  b  (momentum > 0)
        p = p - lr * g        (p + lr * g with maximize=True)

    State per parameter: 'momentum_buffer' (when momentum > 0).  One fused C kernel
    per parameter and step.
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False, foreach=None):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p, group, state):
        grad = self._grad_array(p)
        momentum = group["momentum"]
        buf = None
        first = False
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = self._zeros_like(p)
                first = True
        kernels(p).sgd_step(p._array, grad, None if buf is None else buf._array, group["lr"],
                            momentum, group["dampening"], group["weight_decay"],
                            group["nesterov"], group["maximize"], first_step=first)
        if buf is not None:
            buf._version[0] += 1
