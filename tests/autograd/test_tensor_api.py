"""Tensor creation, dtypes, conversion, printing, indexing -- the PyTorch-shaped surface."""
import numpy as np
import pytest

import minigrad as mg


def test_dtypes_and_defaults():
    assert mg.tensor([1.0, 2.0]).dtype == mg.float32
    assert mg.tensor([1, 2]).dtype == mg.int64
    assert mg.tensor(np.zeros(3)).dtype == mg.float64
    assert mg.tensor([1, 2], dtype=mg.float64).dtype == mg.float64
    assert mg.zeros(2, 3).dtype == mg.float32 and mg.zeros(2, 3).shape == (2, 3)
    assert mg.ones((2, 3), dtype="float64").dtype == mg.float64
    assert mg.arange(5).dtype == mg.int64 and mg.arange(0.0, 1.0, 0.25).shape == (4,)
    with pytest.raises(TypeError, match="unsupported dtype"):
        mg.tensor([1, 2], dtype=np.int8)


def test_factories_values():
    np.testing.assert_array_equal(mg.full((2, 2), 7.0).numpy(), np.full((2, 2), 7.0))
    np.testing.assert_array_equal(mg.eye(3).numpy(), np.eye(3))
    x = mg.randn(3, 4)
    np.testing.assert_array_equal(mg.zeros_like(x).numpy(), np.zeros((3, 4)))
    np.testing.assert_array_equal(mg.ones_like(x).numpy(), np.ones((3, 4)))


def test_from_numpy_shares_memory():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = mg.from_numpy(a)
    a[0, 0] = 42
    assert t[0, 0].item() == 42
    with pytest.raises(TypeError):
        mg.from_numpy(np.zeros(3, dtype=np.float16))


def test_conversions():
    t = mg.tensor([[1.5, 2.5]])
    assert t.tolist() == [[1.5, 2.5]]
    assert mg.tensor([3.0]).item() == 3.0
    assert np.asarray(t).shape == (1, 2)
    assert t.to(mg.float64).dtype == mg.float64 and t.double().dtype == mg.float64
    assert t.long().tolist() == [[1, 2]]
    assert t.T.shape == (2, 1) and t.ndim == 2 and t.numel() == 2 and t.size(1) == 2
    with pytest.raises(ValueError, match="2 elements"):
        t.item()
    with pytest.raises(RuntimeError, match="requires grad"):
        mg.tensor([1.0], requires_grad=True).numpy()


def test_repr_is_readable():
    assert repr(mg.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "requires_grad=True" in repr(mg.tensor([1.0], requires_grad=True))
    assert "grad_fn=<MulScalar>" in repr(mg.tensor([1.0], requires_grad=True) * 2)
    assert "grad_fn=<Mul>" in repr(mg.tensor([1.0], requires_grad=True) * mg.tensor([2.0]))
    assert "dtype=minigrad.float64" in repr(mg.tensor([1.0], dtype=mg.float64))


def test_rng_is_seeded_and_state_savable():
    mg.manual_seed(123)
    a = mg.rand(5)
    state = mg.get_rng_state()
    b = mg.randn(5)
    mg.set_rng_state(state)
    c = mg.randn(5)
    np.testing.assert_array_equal(b.numpy(), c.numpy())
    mg.manual_seed(123)
    np.testing.assert_array_equal(a.numpy(), mg.rand(5).numpy())
    assert 0 <= a.numpy().min() and a.numpy().max() < 1


def test_randint_range():
    mg.manual_seed(0)
    r = mg.randint(-3, 4, (2000,))
    assert r.dtype == mg.int64
    assert set(np.unique(r.numpy())) == set(range(-3, 4))


def test_scalar_and_dtype_promotion():
    x = mg.tensor([1, 2, 3])
    assert (x + 1).dtype == mg.int64
    assert (x * 1.5).dtype == mg.float32
    assert (x / 2).dtype == mg.float32
    assert (mg.tensor([1.0]) + mg.tensor([1.0], dtype=mg.float64)).dtype == mg.float64
    np.testing.assert_allclose((2 - mg.tensor([1.0, 3.0])).numpy(), [1.0, -1.0])
    np.testing.assert_allclose((2 / mg.tensor([1.0, 4.0])).numpy(), [2.0, 0.5])


def test_comparisons_and_where():
    x = mg.tensor([1.0, -2.0, 3.0])
    np.testing.assert_array_equal((x > 0).numpy(), [1, 0, 1])
    np.testing.assert_array_equal(mg.where(x > 0, x, mg.zeros(3)).numpy(), [1, 0, 3])
    assert not (x > 0).requires_grad


def test_basic_and_advanced_indexing_values():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    t = mg.tensor(a)
    for key in [1, (1, 2), (slice(None), 1), (Ellipsis, 2), (None, 0, slice(1, 3)),
                (slice(None, None, -1),), ([1, 0],), (1, [2, 0, 2]), (slice(0, 2), [0, 0], 1),
                (slice(None), slice(None), [3, 1])]:
        np.testing.assert_array_equal(t[key].numpy(), a[key], err_msg=str(key))
    np.testing.assert_array_equal(t[[1, 0], [2, 1]].numpy(), a[[1, 0], [2, 1]])
    np.testing.assert_array_equal(t[t > 10].numpy(), a[a > 10])
    with pytest.raises(IndexError, match="out of bounds"):
        t[5]


def test_setitem():
    t = mg.zeros(3, 4)
    t[1] = 5.0
    t[:, 0] = mg.tensor([1.0, 2.0, 3.0])
    t[2, [1, 3]] = 9.0
    expected = np.zeros((3, 4))
    expected[1] = 5
    expected[:, 0] = [1, 2, 3]
    expected[2, [1, 3]] = 9
    np.testing.assert_array_equal(t.numpy(), expected)
    with pytest.raises(RuntimeError, match="requires grad"):
        mg.zeros(2, requires_grad=True)[0] = 1.0


def test_views_share_storage_and_versions():
    x = mg.zeros(2, 3)
    v = x.view(6)
    v[0] = 1.0
    assert x[0, 0].item() == 1.0
    assert x._version is v._version and x._version[0] == 1


def test_shape_errors_are_clear():
    x = mg.zeros(2, 3)
    with pytest.raises(ValueError, match=r"shape \[4, 2\] is invalid for input of shape \[2, 3\]"):
        x.reshape(4, 2)
    with pytest.raises(IndexError, match="out of range"):
        x.sum(dim=3)
    with pytest.raises(ValueError, match="cannot be expanded"):
        x.expand(3, 3)
    with pytest.raises(RuntimeError, match="not compatible with the strides"):
        x.T.view(6)
    with pytest.raises(ValueError, match="differ outside dim"):
        mg.cat([x, mg.zeros(3, 3)], dim=1)


def test_reductions_values():
    a = np.random.default_rng(0).normal(size=(3, 4, 5))
    t = mg.tensor(a)
    np.testing.assert_allclose(t.sum().item(), a.sum())
    np.testing.assert_allclose(t.sum((0, 2)).numpy(), a.sum((0, 2)))
    np.testing.assert_allclose(t.mean(1, keepdim=True).numpy(), a.mean(1, keepdims=True))
    np.testing.assert_allclose(t.var(2).numpy(), a.var(2, ddof=1))
    np.testing.assert_allclose(t.std().item(), a.std(ddof=1))
    values, indices = t.max(1)
    np.testing.assert_array_equal(values.numpy(), a.max(1))
    np.testing.assert_array_equal(indices.numpy(), a.argmax(1))
    assert t.argmax().item() == a.argmax()
    np.testing.assert_allclose(t.logsumexp(0).numpy(), np.log(np.exp(a).sum(0)))
