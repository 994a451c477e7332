"""Loss modules: CrossEntropyLoss, NLLLoss, MSELoss (see nn.functional for the math)."""
from minigrad.nn import functional as F
from minigrad.nn.module import Module


class _WeightedLoss(Module):
    def __init__(self, weight=None, reduction="mean"):
        super().__init__()
        F._check_reduction(reduction, type(self).__name__)
        self.reduction = reduction
        self.register_buffer("weight", weight)


class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy of unnormalised logits against class indices (or probabilities),
    computed by one fused C kernel (log-softmax + NLL), stable for large logits.

    Args:
        weight: (C,) class weights, or None.
        ignore_index: target value whose rows count for nothing (default -100).
        reduction: 'mean' (divided by the summed weights of the counted rows),
            'sum' or 'none'.
        label_smoothing: in [0, 1]; the target becomes (1 - ls) one-hot + ls / C.

    Shape:
        input (C,), (N, C) or (N, C, d1, ...); target (), (N,) or (N, d1, ...) int64
        (or a float tensor of the input's shape); output a scalar, or the target's
        shape when reduction='none'.
    """

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(weight, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                               self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (e.g. a LogSoftmax output).

    Shape: input (C,), (N, C) or (N, C, d1, ...); target (), (N,) or (N, d1, ...) int64;
    output a scalar, or the target's shape when reduction='none'.
    """

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class MSELoss(Module):
    """Mean squared error: (input - target)^2, reduced by 'mean', 'sum' or 'none'.

    Shape: input (*), target (*) of the same shape; output a scalar, or (*) for 'none'.
    """

    def __init__(self, reduction="mean"):
        super().__init__()
        F._check_reduction(reduction, "MSELoss")
        self.reduction = reduction

    def forward(self, input, target):
        return F.mse_loss(input, target, self.reduction)
