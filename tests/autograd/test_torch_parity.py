"""Forward values and gradients of expressions against PyTorch (skipped without torch)."""
import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch")


def pair(shape, seed, low=-1.0, high=1.0, dtype=np.float64):
    a = np.random.default_rng(seed).uniform(low, high, size=shape).astype(dtype)
    return (mg.tensor(a, requires_grad=True),
            torch.tensor(a, requires_grad=True))


EXPRESSIONS = {
    "mlp": lambda m, x, w, b: (m.tanh(x @ w + b) ** 2).mean(),
    "softmax_ce": lambda m, x, w, b: -(m.log_softmax(x @ w, 1)[:, 0]).sum(),
    "broadcast": lambda m, x, w, b: ((x[:, :1] * b - w.sum(0)) / (1 + x.abs().sum())).sum(),
    "reductions": lambda m, x, w, b: x.var(0).sum() + x.amax(1).sum() + m.logsumexp(x, 1).mean(),
    "gates": lambda m, x, w, b: (m.sigmoid(x @ w) * m.tanh(x @ w + b)).relu().sum(),
    "shape": lambda m, x, w, b: (x.T.reshape(-1)[::2].unsqueeze(0) * 3).exp().sum(),
    "indexing": lambda m, x, w, b: x[[0, 2, 2], 1:].sum() + w[1].pow(2).sum(),
    "cat": lambda m, x, w, b: m.cat([x, x * 2], 1).sqrt().sum(),
    "where": lambda m, x, w, b: m.where(x > 0, x, x * 0.1).sum() + x.clamp(-0.3, 0.3).sum(),
    "max_min": lambda m, x, w, b: m.maximum(x, -x * 0.5).sum() + x.min(0).values.sum(),
    "addcmul": lambda m, x, w, b: (m.addcmul(x @ w, m.sigmoid(x @ w), b, value=-0.5)
                                   .tanh().sum()),
    "lerp": lambda m, x, w, b: m.lerp(m.tanh(x @ w), b, m.sigmoid(x @ w)).pow(2).sum(),
}


@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_expression_matches_torch(name, dtype):
    expr = EXPRESSIONS[name]
    low = 0.1 if name == "cat" else -1.0
    mx, tx = pair((4, 3), 1, low=low, dtype=dtype)
    mw, tw = pair((3, 5), 2, dtype=dtype)
    mb, tb = pair((5,), 3, dtype=dtype)
    m_out = expr(mg, mx, mw, mb)
    t_out = expr(torch, tx, tw, tb)
    m_out.backward()
    t_out.backward()
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(m_out.item(), t_out.item(), **tol)
    for m_t, t_t in [(mx, tx), (mw, tw), (mb, tb)]:
        if t_t.grad is None:
            assert m_t.grad is None or not np.any(m_t.grad.numpy())
        else:
            np.testing.assert_allclose(m_t.grad.numpy(), t_t.grad.numpy(), **tol)


def test_batched_matmul_broadcast_matches_torch():
    ma, ta = pair((2, 1, 3, 4), 5)
    mb, tb = pair((5, 4, 2), 6)
    (ma @ mb).sum().backward()
    (ta @ tb).sum().backward()
    np.testing.assert_allclose(ma.grad.numpy(), ta.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(mb.grad.numpy(), tb.grad.numpy(), rtol=1e-12)
