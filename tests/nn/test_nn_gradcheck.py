"""Finite-difference checks (float64) of the nn.functional ops, first and second
derivatives -- no PyTorch needed."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import gradcheck, gradgradcheck

F = mg.nn.functional


def leaf(shape, seed, low=-1.0, high=1.0):
    values = np.random.default_rng(seed).uniform(low, high, size=shape)
    return mg.tensor(values, requires_grad=True)


TARGET = mg.tensor([0, 3, 2, 4])
WEIGHT = mg.tensor(np.random.default_rng(10).uniform(0.5, 2, size=5))
# constants (not views of the checked input: gradcheck perturbs it in place)
SOFT = mg.tensor(np.random.default_rng(11).uniform(0.1, 1, size=(4, 5))).softmax(1)
OTHER = mg.tensor(np.random.default_rng(12).normal(size=(4, 5)))
MATRIX = mg.tensor(np.random.default_rng(13).normal(size=(3, 5)))

CASES = {
    "cross_entropy": lambda x: F.cross_entropy(x, TARGET),
    "cross_entropy_weighted_smoothed_ignored": lambda x: F.cross_entropy(
        x, TARGET, WEIGHT, ignore_index=3, label_smoothing=0.2),
    "cross_entropy_none_sum": lambda x: F.cross_entropy(x, TARGET, reduction="none",
                                                        label_smoothing=0.1) * 1.5,
    "cross_entropy_soft": lambda x: F.cross_entropy(x, SOFT, label_smoothing=0.1),
    "nll_loss": lambda x: F.nll_loss(x.log_softmax(1), TARGET, WEIGHT, ignore_index=2),
    "mse_loss": lambda x: F.mse_loss(x, OTHER),
    "layer_norm": lambda x: F.layer_norm(x, (5,), WEIGHT, WEIGHT * 0.1),
    "linear": lambda x: F.linear(x, MATRIX, WEIGHT[:3]),
    "dropout": lambda x: F.dropout(x, 0.4, generator=mg.random.Generator(3)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_first_and_second_derivatives(name):
    x = leaf((4, 5), 9)
    assert gradcheck(CASES[name], (x,))
    assert gradgradcheck(CASES[name], (x,))


def test_linear_and_embedding_weight_gradients():
    x = leaf((3, 4), 1)
    w = leaf((2, 4), 2)
    b = leaf((2,), 3)
    assert gradcheck(lambda x, w, b: F.linear(x, w, b), (x, w, b))
    assert gradgradcheck(lambda x, w, b: F.linear(x, w, b).tanh(), (x, w, b))
    for shape in [(4,), (2, 3, 4)]:          # 1-D and batched inputs, and no bias
        v = leaf(shape, 5)
        assert gradcheck(lambda v, w: F.linear(v, w), (v, w))
        assert gradgradcheck(lambda v, w, b: F.linear(v, w, b), (v, w, b))
    with pytest.raises(TypeError, match="linear: input is float64 but the weight is float32"):
        F.linear(x, w.detach().float())
    with pytest.raises(ValueError, match=r"linear: bias of shape \[3\]"):
        F.linear(x, w, leaf((3,), 6))
    table = leaf((6, 3), 4)
    idx = mg.tensor([[0, 2, 2], [5, 1, 0]])
    assert gradcheck(lambda t: F.embedding(idx, t) ** 2, (table,))
    assert gradgradcheck(lambda t: F.embedding(idx, t) ** 2, (table,))
