"""Losses against PyTorch (values and input gradients), plus argument errors and the
double backward of the fused cross-entropy.  Skipped without torch."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

torch = pytest.importorskip("torch")
F = nn.functional
TF = torch.nn.functional

DTYPES = [np.float32, np.float64]
IDS = ["f32", "f64"]
C = 5


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)


def rng(seed):
    return np.random.default_rng(seed)


def targets(shape, seed, ignore=None):
    t = rng(seed).integers(0, C, size=shape).astype(np.int64)
    if ignore is not None and t.size:
        t.reshape(-1)[::3] = ignore  # every third row is ignored
    return t


def compare(m_fn, t_fn, x, dtype, *args):
    """m_fn(mg input, *args) against t_fn(torch input, *args): value and input gradient."""
    mx, tx = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    mout, tout = m_fn(mx), t_fn(tx)
    np.testing.assert_allclose(mout.detach().numpy(), tout.detach().numpy(), **tol(dtype))
    assert mout.shape == tuple(tout.shape)
    g = rng(77).uniform(0.5, 1.5, size=tuple(tout.shape)).astype(dtype)
    (tout * torch.tensor(g)).sum().backward()
    (mout * mg.tensor(g)).sum().backward()
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), **tol(dtype))


SHAPES = {"NC": ((6, C), (6,)), "NCd": ((3, C, 4), (3, 4)), "C": ((C,), ()),
          "NCde": ((2, C, 2, 3), (2, 2, 3))}


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("ignore", [None, 2], ids=["all", "ignore2"])
@pytest.mark.parametrize("smoothing", [0.0, 0.15])
def test_cross_entropy_matches_torch(dtype, shape, reduction, weighted, ignore, smoothing):
    xshape, tshape = SHAPES[shape]
    x = rng(1).normal(0, 2, size=xshape).astype(dtype)
    t = targets(tshape, 2, ignore if shape != "C" else None)
    w = rng(3).uniform(0.2, 2.0, size=C).astype(dtype) if weighted else None
    ignore_index = -100 if ignore is None else ignore
    kwargs = dict(ignore_index=ignore_index, reduction=reduction, label_smoothing=smoothing)
    compare(lambda m: F.cross_entropy(m, mg.tensor(t), None if w is None else mg.tensor(w),
                                      **kwargs),
            lambda tt: TF.cross_entropy(tt, torch.tensor(t),
                                        None if w is None else torch.tensor(w), **kwargs),
            x, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
def test_cross_entropy_module_and_large_logits(dtype):
    x = rng(4).normal(0, 1, size=(8, C)).astype(dtype) * 1e4  # exp would overflow
    t = targets((8,), 5)
    loss = nn.CrossEntropyLoss(label_smoothing=0.1)
    tloss = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    compare(lambda m: loss(m, mg.tensor(t)), lambda tt: tloss(tt, torch.tensor(t)), x, dtype)
    assert np.isfinite(loss(mg.tensor(x), mg.tensor(t)).item())


def test_cross_entropy_is_one_fused_node():
    x = mg.randn(4, C, requires_grad=True)
    with mg.autograd.Tape() as tape:
        F.cross_entropy(x, mg.tensor([0, 1, 2, 3]))
    assert [node.name for node in tape.nodes] == ["CrossEntropy"]


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_soft_targets_match_torch(dtype, reduction, smoothing):
    x = rng(6).normal(0, 2, size=(4, C, 3)).astype(dtype)
    p = rng(7).uniform(0, 1, size=(4, C, 3)).astype(dtype)
    p /= p.sum(1, keepdims=True)
    w = rng(8).uniform(0.5, 2, size=C).astype(dtype)
    compare(lambda m: F.cross_entropy(m, mg.tensor(p), mg.tensor(w), reduction=reduction,
                                      label_smoothing=smoothing),
            lambda tt: TF.cross_entropy(tt, torch.tensor(p), torch.tensor(w),
                                        reduction=reduction, label_smoothing=smoothing),
            x, dtype)


def test_cross_entropy_all_rows_ignored_and_empty_batch():
    x = mg.randn(3, C, requires_grad=True)
    t = mg.tensor([1, 1, 1])
    loss = F.cross_entropy(x, t, ignore_index=1)
    tl = TF.cross_entropy(torch.tensor(x.detach().numpy()), torch.tensor(t.numpy()),
                          ignore_index=1)
    assert np.isnan(loss.item()) and np.isnan(tl.item())  # 0 / 0, as PyTorch
    assert F.cross_entropy(x, t, ignore_index=1, reduction="sum").item() == 0.0
    empty = F.cross_entropy(mg.zeros(0, C, requires_grad=True), mg.tensor(np.zeros(0, np.int64)),
                            reduction="sum")
    assert empty.item() == 0.0


@pytest.mark.parametrize("kwargs", [dict(),
                                    dict(weighted=True, label_smoothing=0.2, ignore_index=3),
                                    dict(reduction="none", label_smoothing=0.1),
                                    dict(reduction="sum", weighted=True)],
                         ids=["plain", "weighted_smoothed_ignored", "none", "sum"])
def test_cross_entropy_double_backward_matches_torch(kwargs):
    """The fused op is twice differentiable: the gradient of (d loss/dx . v) with respect
    to the logits and to the upstream gradient u agrees with PyTorch's."""
    kwargs = dict(kwargs)
    weighted = kwargs.pop("weighted", False)
    x = rng(9).normal(size=(4, C))
    t = np.array([0, 3, 2, 4])
    w = rng(10).uniform(0.5, 2, size=C)
    v = rng(11).normal(size=(4, C))
    out_shape = (4,) if kwargs.get("reduction") == "none" else ()
    u = rng(12).uniform(0.5, 1.5, size=out_shape)
    results = []
    for lib in (mg, torch):
        lx, lu = lib.tensor(x, requires_grad=True), lib.tensor(u, requires_grad=True)
        fn = F.cross_entropy if lib is mg else TF.cross_entropy
        loss = fn(lx, lib.tensor(t), lib.tensor(w) if weighted else None, **kwargs)
        gx, = lib.autograd.grad(loss, lx, lu, create_graph=True)
        second = lib.autograd.grad((gx * lib.tensor(v)).sum(), [lx, lu])
        results.append([gx.detach().numpy()] + [s.detach().numpy() for s in second])
    for mine, theirs in zip(*results):
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("ignore", [None, 2], ids=["all", "ignore2"])
def test_nll_loss_matches_torch(dtype, shape, reduction, weighted, ignore):
    xshape, tshape = SHAPES[shape]
    x = rng(11).normal(0, 2, size=xshape).astype(dtype)
    t = targets(tshape, 12, ignore if shape != "C" else None)
    w = rng(13).uniform(0.2, 2.0, size=C).astype(dtype) if weighted else None
    kwargs = dict(ignore_index=-100 if ignore is None else ignore, reduction=reduction)
    compare(lambda m: nn.NLLLoss(None if w is None else mg.tensor(w), **kwargs)(
                m.log_softmax(1 if m.ndim > 1 else 0), mg.tensor(t)),
            lambda tt: torch.nn.NLLLoss(None if w is None else torch.tensor(w), **kwargs)(
                tt.log_softmax(1 if tt.ndim > 1 else 0), torch.tensor(t)),
            x, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_matches_torch(dtype, reduction):
    x = rng(14).normal(size=(3, 4, 2)).astype(dtype)
    y = rng(15).normal(size=(3, 4, 2)).astype(dtype)
    compare(lambda m: nn.MSELoss(reduction)(m, mg.tensor(y)),
            lambda tt: torch.nn.MSELoss(reduction=reduction)(tt, torch.tensor(y)), x, dtype)


def test_loss_argument_errors():
    x = mg.randn(4, C)
    t = mg.tensor([0, 1, 2, 3])
    for fn in (F.cross_entropy, F.nll_loss):
        with pytest.raises(IndexError, match=r"target\[1\] = 7 is out of range"):
            fn(x, mg.tensor([0, 7, 1, 1]))
        with pytest.raises(IndexError, match="out of range"):
            fn(x, mg.tensor([0, -1, 1, 1]))
        with pytest.raises((TypeError, ValueError), match="int64|probability targets"):
            fn(x, mg.tensor([0.0, 1.0, 1.0, 1.0]).reshape(2, 2))
        with pytest.raises(ValueError, match="target of shape"):
            fn(x, mg.tensor([0, 1, 2]))
        with pytest.raises(ValueError, match="reduction"):
            fn(x, t, reduction="avg")
        with pytest.raises(ValueError, match="weight must have shape"):
            fn(x, t, weight=mg.ones(C + 1))
        with pytest.raises(TypeError, match="dtype"):
            fn(x, t, weight=mg.ones(C, dtype=mg.float64))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, t, label_smoothing=1.5)
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss("avg")
    with pytest.raises(ValueError, match="probability targets"):
        F.cross_entropy(x, mg.randn(4, C + 1))
