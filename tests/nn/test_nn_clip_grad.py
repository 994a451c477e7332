"""nn.utils.clip_grad_norm_ / clip_grad_value_ against PyTorch, and the non-finite cases."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

torch = pytest.importorskip("torch")


def grads_pair(seed, dtype=np.float32, scale=3.0, empty=True):
    rng = np.random.default_rng(seed)
    # (PyTorch refuses an empty gradient for the inf-norm: no identity for max)
    shapes = [(4, 3), (3,), (2, 2, 2)] + ([(0,)] if empty else [])
    arrays = [(rng.normal(size=s) * scale).astype(dtype) for s in shapes]
    mine, theirs = [], []
    for a in arrays:
        p = nn.Parameter(mg.tensor(np.zeros_like(a)))
        p.grad = mg.tensor(a)
        t = torch.nn.Parameter(torch.zeros(a.shape, dtype=torch.from_numpy(a).dtype))
        t.grad = torch.tensor(a)
        mine.append(p)
        theirs.append(t)
    return mine, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, dtype):
    mine, theirs = grads_pair(1, dtype, empty=norm_type != math.inf)
    total = nn.utils.clip_grad_norm_(mine, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(total.item(), expected.item(), **tol)
    assert total.dtype == dtype and total.shape == ()
    for p, t in zip(mine, theirs):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), **tol)
    if max_norm < total.item():  # really clipped: the new norm is max_norm
        flat = np.concatenate([p.grad.numpy().ravel() for p in mine]).astype(np.float64)
        new = np.abs(flat).max() if norm_type == math.inf else \
            (np.abs(flat) ** norm_type).sum() ** (1 / norm_type)
        assert new == pytest.approx(max_norm, rel=1e-4)


def test_clip_grad_norm_skips_missing_grads_and_accepts_one_tensor():
    p = nn.Parameter(mg.ones(4))
    q = nn.Parameter(mg.ones(4))  # no grad: ignored
    p.grad = mg.full((4,), 2.0)
    assert nn.utils.clip_grad_norm_([p, q], 1.0).item() == pytest.approx(4.0)
    np.testing.assert_allclose(p.grad.numpy(), 0.5, rtol=1e-5)  # 2 * 1/4
    assert q.grad is None
    p.grad = mg.full((4,), 2.0)
    assert nn.utils.clip_grad_norm_(p, 100.0).item() == pytest.approx(4.0)
    assert nn.utils.clip_grad_norm_([q], 1.0).item() == 0.0


@pytest.mark.parametrize("bad", [math.inf, math.nan])
def test_clip_grad_norm_non_finite(bad):
    p = nn.Parameter(mg.ones(3))
    p.grad = mg.tensor([1.0, bad, 2.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(p.grad.numpy(), [1.0, bad, 2.0])  # untouched on error
    # without the flag PyTorch scales by max_norm / total anyway: nan, or 0 for an inf norm
    theirs = torch.tensor([1.0, bad, 2.0])
    t = torch.nn.Parameter(torch.ones(3))
    t.grad = theirs
    torch.nn.utils.clip_grad_norm_([t], 1.0)
    total = nn.utils.clip_grad_norm_([p], 1.0)
    assert not math.isfinite(total.item())
    np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())


def test_clip_grad_value():
    mine, theirs = grads_pair(2)
    nn.utils.clip_grad_value_(mine, 0.7)
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for p, t in zip(mine, theirs):
        np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())
    assert max(np.abs(p.grad.numpy()).max(initial=0) for p in mine) == pytest.approx(0.7)
