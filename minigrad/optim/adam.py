"""Adam and AdamW."""
from minigrad.ops.common import kernels
from minigrad.optim.optimizer import Optimizer


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2014), PyTorch's formulation.

        g = grad + weight_decay * p            (AdamW instead: p = p * (1 - lr * wd))
        m = beta1 m + (1 - beta1) g,   v = beta2 v + (1 - beta2) g^2
        v_max = max(v_max, v)                  (amsgrad; used in place of v below)
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    State per parameter: 'step' (int), 'exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'
    (amsgrad).  One fused C kernel per parameter and step.
    """

    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, maximize=False, foreach=None, decoupled_weight_decay=None):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if decoupled_weight_decay is None:
            decoupled_weight_decay = self._decoupled
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _update(self, p, group, state):
        grad = self._grad_array(p)
        if "exp_avg" not in state:
            state["step"] = 0
            state["exp_avg"] = self._zeros_like(p)
            state["exp_avg_sq"] = self._zeros_like(p)
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = self._zeros_like(p)
        step = state["step"] = int(state["step"]) + 1
        beta1, beta2 = group["betas"]
        max_sq = state["max_exp_avg_sq"]._array if group["amsgrad"] else None
        kernels(p).adam_step(p._array, grad, state["exp_avg"]._array,
                             state["exp_avg_sq"]._array, step, group["lr"], beta1, beta2,
                             group["eps"], group["weight_decay"],
                             decoupled=group["decoupled_weight_decay"],
                             max_exp_avg_sq=max_sq, maximize=group["maximize"])
        for name in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
            if name in state:
                state[name]._version[0] += 1


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2017):
    p = p * (1 - lr * weight_decay) before the Adam step.  Default weight_decay 1e-2."""

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
