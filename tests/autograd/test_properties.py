"""Property-based tests: random shapes, broadcast pairs, axes and dtypes.
Forward against numpy, backward by gradcheck."""
import numpy as np
from hypothesis import given, settings, strategies as st

import minigrad as mg
from minigrad.autograd import gradcheck

dims = st.integers(min_value=0, max_value=4)
shapes = st.lists(dims, min_size=0, max_size=3).map(tuple)
small_shapes = st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple)
float_dtypes = st.sampled_from([np.float32, np.float64])


@st.composite
def broadcast_pair(draw, base=shapes):
    shape = draw(base)
    other = tuple(1 if draw(st.booleans()) else n for n in shape)
    drop = draw(st.integers(0, len(other)))
    return (shape, other[drop:]) if draw(st.booleans()) else (other[drop:], shape)


def values(shape, dtype, seed, low=-2, high=2):
    return np.random.default_rng(seed).uniform(low, high, size=shape).astype(dtype)


def tol(dtype):
    return dict(rtol=2e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(broadcast_pair(), float_dtypes, st.sampled_from(["add", "sub", "mul", "div", "maximum"]),
       st.integers(0, 1000))
def test_binary_forward_matches_numpy(pair, dtype, op, seed):
    a, b = values(pair[0], dtype, seed), values(pair[1], dtype, seed + 1, 0.5, 2)
    ref = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
           "maximum": np.maximum}[op](a, b)
    out = getattr(mg, op)(mg.tensor(a), mg.tensor(b))
    assert out.shape == ref.shape
    np.testing.assert_allclose(out.numpy(), ref, **tol(dtype))


@settings(max_examples=25, deadline=None)
@given(broadcast_pair(small_shapes), st.sampled_from(["add", "mul", "div"]), st.integers(0, 1000))
def test_binary_backward_gradcheck(pair, op, seed):
    a = mg.tensor(values(pair[0], np.float64, seed), requires_grad=True)
    b = mg.tensor(values(pair[1], np.float64, seed + 1, 0.5, 2), requires_grad=True)
    assert gradcheck(getattr(mg, op), (a, b))


@settings(max_examples=60, deadline=None)
@given(shapes, float_dtypes, st.sampled_from(["sum", "mean", "amax"]), st.data())
def test_reduction_forward_matches_numpy(shape, dtype, op, data):
    a = values(shape, dtype, 0)
    ndim = len(shape)
    dim = data.draw(st.none() | st.integers(-ndim, ndim - 1)) if ndim else None
    keepdim = data.draw(st.booleans())
    if op == "amax" and (a.size == 0 or (dim is not None and shape[dim] == 0)):
        return
    if op == "mean" and a.size == 0:
        return
    ref = {"sum": np.sum, "mean": np.mean, "amax": np.max}[op](a, axis=dim, keepdims=keepdim)
    out = getattr(mg.tensor(a), op)(dim, keepdim=keepdim) if dim is not None or op != "amax" \
        else mg.tensor(a).amax()
    if dim is None and keepdim and op != "amax":
        ref = np.asarray(ref)
    np.testing.assert_allclose(np.asarray(out.numpy()), ref, **tol(dtype))


@settings(max_examples=20, deadline=None)
@given(small_shapes, st.data())
def test_reduction_backward_gradcheck(shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = mg.tensor(values(shape, np.float64, 3), requires_grad=True)
    assert gradcheck(lambda x: x.sum(dim) * x.mean(dim, keepdim=True).sum(), (x,))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 4), st.integers(0, 4), st.integers(0, 4), st.integers(0, 2), float_dtypes,
       st.booleans(), st.booleans())
def test_matmul_forward_matches_numpy(m, k, n, batch, dtype, ta, tb):
    a = values((batch, k, m) if ta else (batch, m, k), dtype, 1) if batch else \
        values((k, m) if ta else (m, k), dtype, 1)
    b = values((n, k) if tb else (k, n), dtype, 2)
    ma, mb = mg.tensor(a), mg.tensor(b)
    ma = ma.mT if ta else ma
    mb = mb.mT if tb else mb
    ref = np.matmul(np.swapaxes(a, -1, -2) if ta else a, b.T if tb else b)
    np.testing.assert_allclose(ma.matmul(mb).numpy(), ref, **tol(dtype))


@settings(max_examples=40, deadline=None)
@given(small_shapes, st.data())
def test_shape_ops_forward_and_backward(shape, data):
    a = values(shape, np.float64, 4)
    perm = data.draw(st.permutations(range(len(shape))))
    x = mg.tensor(a, requires_grad=True)
    np.testing.assert_array_equal(x.permute(*perm).detach().numpy(), a.transpose(perm))
    np.testing.assert_array_equal(x.reshape(-1).detach().numpy(), a.reshape(-1))
    assert gradcheck(lambda x: x.permute(*perm).reshape(-1)[::2].unsqueeze(0) * 2, (x,))
