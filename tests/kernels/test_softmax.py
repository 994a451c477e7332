"""softmax / log_softmax / their backward / logsumexp against numpy float64:
shape grids, every axis, non-contiguous inputs, stability at extreme values,
infinities and NaN, finite differences, and bad arguments."""
import zlib

import numpy as np
import pytest

from minigrad._native import ffi, lib
from minigrad.backend.cpu import logsumexp, softmax, softmax_backward

INF = np.inf


# ---- helpers ----------------------------------------------------------------

SHAPES = [(), (1,), (6,), (0, 3), (3, 0), (1, 1), (4, 5), (2, 1, 3), (3, 4, 70), (2, 300)]
LAYOUTS = ["contiguous", "transposed", "strided", "reversed"]


def seed_of(*parts):
    return zlib.crc32(repr(parts).encode())


def make(rng, shape, dtype, layout="contiguous", scale=3.0):
    def draw(s):
        return (rng.standard_normal(s) * scale).astype(dtype)
    if layout == "contiguous" or len(shape) == 0:
        return draw(shape)
    if layout == "transposed":
        return np.ascontiguousarray(draw(shape[::-1])).T
    if layout == "strided":
        return draw(shape[:-1] + (2 * shape[-1],))[..., ::2]
    return draw(shape)[::-1]


def axes_of(shape):
    return list(range(len(shape))) + [-1]


def np_axis(axis, ndim):
    return None if ndim == 0 else axis


def ref_log_softmax(x, axis):
    x = x.astype(np.float64)
    if x.ndim == 0:
        return np.zeros_like(x)
    m = x.max(axis=axis, keepdims=True, initial=-INF)
    with np.errstate(divide="ignore", invalid="ignore"):  # empty axes: log(0)
        return (x - m) - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def ref_logsumexp(x, axis):
    x = x.astype(np.float64)
    m = x.max(axis=axis, keepdims=True, initial=-INF)
    return (m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))).squeeze(axis)


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)


# ---- values against numpy ----------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_forward_matches_numpy(threads, dtype, shape, layout):
    rng = np.random.default_rng(seed_of(shape, layout))
    x = make(rng, shape, dtype, layout)
    for axis in axes_of(shape):
        want_log = ref_log_softmax(x, np_axis(axis, x.ndim))
        y = softmax(x, axis)
        assert y.dtype == x.dtype and y.shape == x.shape
        np.testing.assert_allclose(y, np.exp(want_log), **tol(dtype))
        np.testing.assert_allclose(softmax(x, axis, log=True), want_log, **tol(dtype))
        if x.ndim and x.shape[axis] and x.size:
            np.testing.assert_allclose(logsumexp(x, axis), ref_logsumexp(x, axis), **tol(dtype))


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_backward_matches_formula(threads, dtype, shape, layout):
    rng = np.random.default_rng(seed_of(shape, layout, "bwd"))
    x = make(rng, shape, dtype, layout)
    gy = make(rng, shape, dtype, layout, scale=1.0)
    for axis in axes_of(shape):
        ax = np_axis(axis, x.ndim)
        y = softmax(x, axis)
        g = gy.astype(np.float64)
        p = np.exp(ref_log_softmax(x, ax))
        want = p * (g - (g * p).sum(axis=ax, keepdims=True))
        np.testing.assert_allclose(softmax_backward(y, gy, axis), want, **tol(dtype))
        logp = softmax(x, axis, log=True)
        want = g - p * g.sum(axis=ax, keepdims=True)
        np.testing.assert_allclose(softmax_backward(logp, gy, axis, log=True), want, **tol(dtype))


@pytest.mark.parametrize("n", [1, 3, 15, 16, 17, 65, 255, 256, 257, 1000])
def test_row_lengths_around_vector_widths_above_the_thread_threshold(threads, dtype, n):
    """Reduced axes of every length around the 16-wide vector steps and the
    256-element blocks, rows and columns, with enough of them (about 40,000
    elements) that the work is split into ranges across threads."""
    rng = np.random.default_rng(n)
    x = (rng.standard_normal((max(2, 40_000 // n), n)) * 4).astype(dtype)
    gy = rng.standard_normal(x.shape).astype(dtype)
    for axis in (1, 0):
        want_log = ref_log_softmax(x, axis)
        p = np.exp(want_log)
        np.testing.assert_allclose(softmax(x, axis), p, **tol(dtype))
        logp = softmax(x, axis, log=True)
        np.testing.assert_allclose(logp, want_log, **tol(dtype))
        np.testing.assert_allclose(logsumexp(x, axis), ref_logsumexp(x, axis), **tol(dtype))
        # Backward: each entry is a difference of two terms that may cancel;
        # the error allowed is relative to the terms, not to the difference.
        g = gy.astype(np.float64)
        rtol, atol = tol(dtype).values()
        dot = (g * p).sum(axis=axis, keepdims=True)
        got = softmax_backward(softmax(x, axis), gy, axis)
        err = np.abs(got - p * (g - dot))
        assert np.all(err <= rtol * p * (np.abs(g) + np.abs(dot)) + atol)
        total = g.sum(axis=axis, keepdims=True)
        got = softmax_backward(logp, gy, axis, log=True)
        err = np.abs(got - (g - p * total))
        assert np.all(err <= rtol * (np.abs(g) + p * np.abs(total)) + atol)


def test_logsumexp_over_all_elements_and_empty_axis(dtype):
    rng = np.random.default_rng(0)
    x = make(rng, (3, 4, 5), dtype)
    np.testing.assert_allclose(logsumexp(x), ref_logsumexp(x.reshape(-1), 0), **tol(dtype))
    assert logsumexp(x).shape == ()
    np.testing.assert_array_equal(logsumexp(np.zeros((2, 0), dtype), 1), [-INF, -INF])
    np.testing.assert_array_equal(logsumexp(np.zeros((0, 2), dtype), 0), [-INF, -INF])


def test_long_rows_and_float32_exp_accuracy():
    """Rows of 10,000 elements across the exp's whole useful range, float32
    checked at a few ulp against float64 on the same inputs."""
    rng = np.random.default_rng(1)
    x = rng.uniform(-80, 80, (3, 10_000)).astype(np.float32)
    for axis in (1, 0):
        want = ref_log_softmax(x, axis)
        np.testing.assert_allclose(softmax(x, axis, log=True), want, rtol=1e-6, atol=1e-5)
        p = np.exp(want)
        big = p > 1e-30  # results below FLT_MIN may flush to 0
        np.testing.assert_allclose(softmax(x, axis)[big], p[big], rtol=2e-5)
        np.testing.assert_allclose(logsumexp(x, axis), ref_logsumexp(x, axis), rtol=1e-6)


# ---- stability and special values ---------------------------------------------------

@pytest.mark.parametrize("layout", ["rows", "columns"])
def test_stable_for_large_inputs(dtype, layout):
    def run(rows, fn, **kw):
        x = np.array(rows, dtype)
        if layout == "columns":
            return fn(np.ascontiguousarray(x.T), 0, **kw).T
        return fn(x, 1, **kw)
    y = run([[1000, 0], [-1000, 0], [1e4, 1e4], [-1e4, -1e4 + 1]], softmax)
    np.testing.assert_allclose(y, [[1, 0], [0, 1], [0.5, 0.5],
                                   [1 / (1 + np.e), np.e / (1 + np.e)]], rtol=1e-6, atol=0)
    ly = run([[1000, 0], [-1000, 0]], softmax, log=True)
    np.testing.assert_allclose(ly, [[0, -1000], [-1000, 0]], rtol=1e-6)
    lse = run([[1000, 1000], [-1000, -1000]], logsumexp)
    np.testing.assert_allclose(lse, [1000 + np.log(2), -1000 + np.log(2)], rtol=1e-6)


@pytest.mark.parametrize("layout", ["rows", "columns"])
def test_infinities_and_nan_follow_pytorch(dtype, layout):
    rows = np.array([[-INF, 0.0, 1.0],      # -inf entry: probability exactly 0
                     [-INF, -INF, -INF],    # all -inf: NaN (softmax), -inf (logsumexp)
                     [INF, 0.0, 1.0],       # +inf: NaN (softmax), +inf (logsumexp)
                     [np.nan, 0.0, 1.0]],   # NaN: NaN everywhere
                    dtype)

    def run(fn, **kw):
        if layout == "columns":
            out = fn(np.ascontiguousarray(rows.T), 0, **kw)
            return out.T if out.ndim == 2 else out
        return fn(rows, 1, **kw)

    y, ly, lse = run(softmax), run(softmax, log=True), run(logsumexp)
    e = np.exp([-1.0, 0.0]) / np.exp([-1.0, 0.0]).sum()
    np.testing.assert_allclose(y[0], [0.0, e[0], e[1]], rtol=1e-6)
    assert y[0, 0] == 0.0 and ly[0, 0] == -INF
    for row in (1, 2, 3):
        assert np.isnan(y[row]).all() and np.isnan(ly[row]).all()
    assert lse[1] == -INF and lse[2] == INF and np.isnan(lse[3])
    np.testing.assert_allclose(lse[0], np.log(np.exp([0.0, 1.0]).sum()), rtol=1e-6)


def test_in_place_softmax_on_contiguous_rows(dtype):
    """Rows are read before they are written, so y may be x's own buffer at C level."""
    rng = np.random.default_rng(2)
    x = make(rng, (5, 33), dtype)
    want = softmax(x, 1)
    buf = x.copy()
    code = lib.MG_FLOAT32 if dtype == np.float32 else lib.MG_FLOAT64
    p = ffi.from_buffer(buf)
    assert lib.mg_softmax(code, 0, 5, 33, 1, p, p) == lib.MG_OK
    np.testing.assert_array_equal(buf, want)


# ---- finite differences (float64) ------------------------------------------------------

@pytest.mark.parametrize("shape,axis", [((3, 5), 1), ((3, 5), 0), ((2, 3, 4), 1), ((1,), 0)])
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_backward_by_finite_differences(shape, axis, log):
    rng = np.random.default_rng(seed_of(shape, axis, log))
    x = rng.standard_normal(shape)
    w = rng.standard_normal(shape)  # the loss is sum(w * f(x)), so gy = w

    def loss(v):
        return float((w * softmax(v, axis, log=log)).sum())

    y = softmax(x, axis, log=log)
    analytic = softmax_backward(y, w, axis, log=log)
    eps = 1e-6
    numeric = np.zeros_like(x)
    for i in np.ndindex(shape):
        step = np.zeros_like(x)
        step[i] = eps
        numeric[i] = (loss(x + step) - loss(x - step)) / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


# ---- bad arguments ---------------------------------------------------------------------

def test_bad_arguments():
    x = np.ones((2, 3), np.float32)
    with pytest.raises(TypeError, match="softmax.*int64"):
        softmax(x.astype(np.int64))
    with pytest.raises(TypeError, match="logsumexp.*int32"):
        logsumexp(x.astype(np.int32), 0)
    with pytest.raises(TypeError, match="numpy array"):
        softmax([1.0, 2.0])
    with pytest.raises(IndexError, match=r"\(2, 3\)"):
        softmax(x, 2)
    with pytest.raises(IndexError, match=r"\(2, 3\)"):
        logsumexp(x, -3)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        softmax_backward(x, np.ones((3, 2), np.float32))
    with pytest.raises(TypeError, match="dtype"):
        softmax_backward(x, np.ones((2, 3), np.float64))


def test_c_entry_points_validate():
    buf = ffi.new("double[8]")
    f64 = lib.MG_FLOAT64
    assert lib.mg_softmax(lib.MG_INT64, 0, 1, 2, 2, buf, buf) == lib.MG_ERR_DTYPE
    assert lib.mg_softmax(f64, 0, 1, -2, 2, buf, buf) == lib.MG_ERR_SIZE
    assert lib.mg_softmax(f64, 0, 1, 2, 2, ffi.NULL, buf) == lib.MG_ERR_NULL
    assert lib.mg_softmax(f64, 0, 0, 2, 2, ffi.NULL, ffi.NULL) == lib.MG_OK
    assert lib.mg_softmax_backward(f64, 1, -1, 2, 2, buf, buf, buf) == lib.MG_ERR_SIZE
    assert lib.mg_softmax_backward(f64, 1, 1, 2, 2, buf, ffi.NULL, buf) == lib.MG_ERR_NULL
    assert lib.mg_softmax_backward(9, 1, 1, 2, 2, buf, buf, buf) == lib.MG_ERR_DTYPE
    assert lib.mg_logsumexp(f64, 1, 2, -1, buf, buf) == lib.MG_ERR_SIZE
    huge = 2 ** 62  # a product past int64: refused before anything is planned
    assert lib.mg_softmax(f64, 0, huge, 2 ** 40, 4, buf, buf) == lib.MG_ERR_SIZE
    assert lib.mg_logsumexp(f64, 4, huge, 4, buf, buf) == lib.MG_ERR_SIZE
    assert lib.mg_logsumexp(f64, 1, 2, 2, buf, ffi.NULL) == lib.MG_ERR_NULL
    assert lib.mg_logsumexp(f64, 1, 0, 2, ffi.NULL, buf) == lib.MG_OK  # empty axis: -inf
    assert buf[0] == -INF and buf[1] == -INF
