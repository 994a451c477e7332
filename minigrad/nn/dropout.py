"""Dropout: random zeroing during training."""
from minigrad.nn import functional as F
from minigrad.nn.module import Module


class Dropout(Module):
    """In training, zero each element with probability p and scale the others by
    1/(1-p); in eval mode, the identity.

    Args:
        p: probability of an element being zeroed (default 0.5).

    Shape: input (*) -> output (*), the same shape.
    """

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
