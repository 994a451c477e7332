"""Reduction kernels (sum / max / min, argmax / argmin) against numpy float64,
over shape grids, every axis, non-contiguous inputs, NaN, long rows that take
the chunked parallel path, and bad arguments."""
import zlib

import numpy as np
import pytest

import minigrad
from minigrad._native import KernelError, ffi, lib
from minigrad.backend.cpu import arg_reduce, reduce


# ---- helpers ----------------------------------------------------------------

SHAPES = [(), (0,), (1,), (7,), (3, 0), (0, 4), (1, 1), (5, 3), (2, 1, 3), (3, 4, 17),
          (2, 70, 3)]
LAYOUTS = ["contiguous", "transposed", "strided", "reversed"]
NUM_DTYPES = [np.float32, np.float64, np.int64]


def seed_of(*parts):
    """A reproducible seed from test parameters (hash() of a str varies per run)."""
    return zlib.crc32(repr(parts).encode())


def axes_of(shape):
    return [None] + list(range(len(shape))) + ([-1] if shape else [0, -1])


def make(rng, shape, dtype, layout="contiguous"):
    """An array of `shape` and `dtype` in the given memory layout."""
    def draw(s):
        if np.dtype(dtype) == np.int64:
            return rng.integers(-1000, 1000, s).astype(np.int64)
        return rng.standard_normal(s).astype(dtype)
    if layout == "contiguous" or len(shape) == 0:
        return draw(shape)
    if layout == "transposed":
        return np.ascontiguousarray(draw(shape[::-1])).T
    if layout == "strided":  # every other element of the last axis
        big = draw(shape[:-1] + (2 * shape[-1],))
        return big[..., ::2]
    return draw(shape)[::-1]  # reversed first axis: a negative stride


def oracle_axis(axis, ndim):
    """numpy's axis for our axis (a 0-d array accepts 0 and -1, meaning all)."""
    return None if ndim == 0 else axis


def sum_tolerance(x, axis, dtype):
    """atol for a float sum: relative to the sum of |x| (sums can cancel)."""
    scale = np.abs(x.astype(np.float64)).sum(axis=oracle_axis(axis, x.ndim))
    eps = 2e-6 if np.dtype(dtype) == np.float32 else 1e-13
    return eps * scale + 1e-30


# ---- values against numpy ------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", NUM_DTYPES, ids=["f32", "f64", "i64"])
def test_sum_max_min_match_numpy(threads, shape, layout, dtype):
    rng = np.random.default_rng(seed_of(shape, layout))
    x = make(rng, shape, dtype, layout)
    assert x.shape == shape
    for axis in axes_of(shape):
        ax = oracle_axis(axis, x.ndim)
        got = reduce("sum", x, axis)
        want = x.astype(np.float64).sum(axis=ax) if dtype != np.int64 else x.sum(axis=ax)
        assert got.dtype == x.dtype and got.shape == np.shape(want)
        if dtype == np.int64:
            np.testing.assert_array_equal(got, want)
        else:
            assert np.all(np.abs(got - want) <= sum_tolerance(x, axis, dtype))
        n = x.size if ax is None else x.shape[ax]
        if n == 0 and np.size(want) > 0:
            continue  # max/min of an empty axis: tested in test_empty_axis
        for op, fn in (("max", np.max), ("min", np.min)):
            got = reduce(op, x, axis)
            assert got.dtype == x.dtype
            np.testing.assert_array_equal(got, fn(x, axis=ax))


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", NUM_DTYPES, ids=["f32", "f64", "i64"])
def test_argmax_argmin_match_numpy_with_ties(threads, shape, layout, dtype):
    rng = np.random.default_rng(seed_of(shape, layout, "arg"))
    x = make(rng, shape, dtype, layout)
    # few distinct values: many ties, so "first occurrence" is really tested
    x[...] = rng.integers(0, 3, x.shape)
    for axis in axes_of(shape):
        ax = oracle_axis(axis, x.ndim)
        n = x.size if ax is None else x.shape[ax]
        if n == 0:
            continue
        for op, fn in (("argmax", np.argmax), ("argmin", np.argmin)):
            got = arg_reduce(op, x, axis)
            assert got.dtype == np.int64
            np.testing.assert_array_equal(got, fn(x, axis=ax))


@pytest.mark.parametrize("inner", [1, 3, 70], ids=lambda i: f"inner{i}")
def test_long_axis_uses_chunks_and_matches(threads, dtype, inner):
    """Rows longer than one parallel chunk (16384 elements), contiguous or strided."""
    rng = np.random.default_rng(inner)
    n = 40_000 if inner == 1 else 5_000
    x = rng.standard_normal((2, n, inner)).astype(dtype)
    want = x.astype(np.float64).sum(axis=1)
    assert np.all(np.abs(reduce("sum", x, 1) - want) <= sum_tolerance(x, 1, dtype))
    np.testing.assert_array_equal(reduce("max", x, 1), x.max(axis=1))
    np.testing.assert_array_equal(reduce("min", x, 1), x.min(axis=1))
    np.testing.assert_array_equal(arg_reduce("argmax", x, 1), x.argmax(axis=1))
    np.testing.assert_array_equal(arg_reduce("argmin", x, 1), x.argmin(axis=1))


@pytest.mark.parametrize("layout", ["rows", "columns"])
def test_first_occurrence_in_long_rows(dtype, layout):
    """Ties far apart (the contiguous path scans blocks of 2048): the first wins."""
    x = np.zeros((2, 9000), dtype)
    x[:, [100, 3000, 4500, 8999]] = 7
    x[:, [50, 2100, 8000]] = -7
    axis = 1
    if layout == "columns":
        x, axis = np.ascontiguousarray(x.T), 0
    np.testing.assert_array_equal(arg_reduce("argmax", x, axis), [100, 100])
    np.testing.assert_array_equal(arg_reduce("argmin", x, axis), [50, 50])


# ---- accuracy and determinism -----------------------------------------------------

def test_float32_sum_is_accurate():
    """4M copies of 0.1f: a naive float32 running sum is off by about 6%."""
    n = 1 << 22
    x = np.full(n, 0.1, np.float32)
    exact = n * float(np.float32(0.1))
    assert abs(float(reduce("sum", x)) - exact) <= 1e-6 * exact
    # the same down a strided axis
    cols = np.full((1 << 20, 2), 0.1, np.float32)
    got = reduce("sum", cols, 0)
    assert np.all(np.abs(got - (1 << 20) * float(np.float32(0.1))) <= 1e-6 * (1 << 20) * 0.1)


def test_sum_is_identical_at_any_thread_count(thread_knobs):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 300_001)).astype(np.float32)
    results = []
    for t in (1, 2, 3):
        minigrad.set_num_threads(t)
        results.append((reduce("sum", x, 1), reduce("sum", x), reduce("sum", x.T, 0)))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert a.tobytes() == b.tobytes()


def test_int64_sum_wraps_like_numpy():
    x = np.array([2**62, 2**62, 2**62, 2**62, 5], np.int64)
    assert int(reduce("sum", x)) == 5
    np.testing.assert_array_equal(reduce("sum", x.reshape(1, 5), 1), x.reshape(1, 5).sum(1))


# ---- NaN ---------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 5, 17, 300, 5000])
@pytest.mark.parametrize("where", ["first", "middle", "last", "two"])
@pytest.mark.parametrize("layout", ["rows", "columns"])
def test_nan_propagates(dtype, n, where, layout):
    rng = np.random.default_rng(n)
    x = rng.standard_normal((2, n)).astype(dtype)
    spots = {"first": [0], "middle": [n // 2], "last": [n - 1], "two": [n - 1, n // 3]}[where]
    x[1, spots] = np.nan
    if layout == "columns":  # the reduced axis is strided (inner > 1)
        x = np.ascontiguousarray(x.T)
        axis = 0
    else:
        axis = 1
    for op, fn in (("max", np.max), ("min", np.min)):
        np.testing.assert_array_equal(reduce(op, x, axis), fn(x, axis=axis))  # NaN == NaN here
    for op, fn in (("argmax", np.argmax), ("argmin", np.argmin)):
        got = arg_reduce(op, x, axis)
        np.testing.assert_array_equal(got, fn(x, axis=axis))
        assert got[1] == min(spots)
    assert np.isnan(reduce("sum", x, axis)[1])


def test_infinities():
    x = np.array([[1.0, np.inf, -np.inf, 2.0]])
    assert reduce("max", x, 1)[0] == np.inf and reduce("min", x, 1)[0] == -np.inf
    assert arg_reduce("argmax", x, 1)[0] == 1 and arg_reduce("argmin", x, 1)[0] == 2
    assert np.isnan(reduce("sum", x, 1)[0])


# ---- empty axes ---------------------------------------------------------------------

def test_empty_axis(dtype):
    x = np.zeros((3, 0), dtype)
    np.testing.assert_array_equal(reduce("sum", x, 1), np.zeros(3, dtype))
    assert reduce("sum", x).shape == () and float(reduce("sum", x)) == 0
    for op in ("max", "min"):
        with pytest.raises(ValueError, match="empty axis"):
            reduce(op, x, 1)
    for op in ("argmax", "argmin"):
        with pytest.raises(ValueError, match="empty axis"):
            arg_reduce(op, x, 1)
    # nothing to reduce into: an empty result, no error
    assert reduce("max", x, 0).shape == (0,)
    assert arg_reduce("argmax", x, 0).shape == (0,)


# ---- bad arguments -------------------------------------------------------------------

def test_bad_arguments():
    x = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match="unknown op"):
        reduce("mean", x)
    with pytest.raises(ValueError, match="unknown op"):
        arg_reduce("max", x)
    with pytest.raises(TypeError, match="int32"):
        reduce("sum", x.astype(np.int32))
    with pytest.raises(TypeError, match="float16"):
        arg_reduce("argmax", x.astype(np.float16))
    with pytest.raises(TypeError, match="numpy array"):
        reduce("sum", [[1.0, 2.0]])
    with pytest.raises(IndexError, match=r"\(2, 3\)"):
        reduce("sum", x, 2)
    with pytest.raises(IndexError, match=r"\(2, 3\)"):
        arg_reduce("argmin", x, -3)
    with pytest.raises(IndexError):
        reduce("sum", np.float32(1.0) * np.ones((), np.float32), 1)
    with pytest.raises(TypeError, match="axis"):
        reduce("sum", x, 1.0)
    with pytest.raises(TypeError, match="axis"):
        reduce("sum", x, True)


def test_c_entry_points_validate():
    buf = ffi.new("float[16]")
    out = ffi.new("float[4]")
    idx = ffi.new("int64_t[4]")
    assert lib.mg_reduce(lib.MG_FLOAT32, lib.MG_SUM, -1, 2, 2, buf, out) == lib.MG_ERR_SIZE
    assert lib.mg_reduce(lib.MG_FLOAT32, lib.MG_SUM, 1, 2, -2, buf, out) == lib.MG_ERR_SIZE
    # sizes whose product overflows (no tensor has them): refused, not planned or walked
    huge = 2 ** 62
    assert lib.mg_reduce(lib.MG_FLOAT32, lib.MG_SUM, huge, 2 ** 40, 2 ** 40, buf, out) == \
        lib.MG_ERR_SIZE
    assert lib.mg_arg_reduce(lib.MG_FLOAT32, lib.MG_ARGMAX, 2, huge, 4, buf, idx) == \
        lib.MG_ERR_SIZE
    assert lib.mg_reduce(7, lib.MG_SUM, 1, 2, 2, buf, out) == lib.MG_ERR_DTYPE
    assert lib.mg_reduce(lib.MG_FLOAT32, lib.MG_ARGMAX, 1, 2, 2, buf, out) == lib.MG_ERR_OP
    assert lib.mg_reduce(lib.MG_FLOAT32, 99, 1, 2, 2, buf, out) == lib.MG_ERR_OP
    assert lib.mg_reduce(lib.MG_FLOAT32, lib.MG_MAX, 1, 0, 2, buf, out) == lib.MG_ERR_EMPTY
    assert lib.mg_reduce(lib.MG_FLOAT32, lib.MG_SUM, 1, 2, 2, ffi.NULL, out) == lib.MG_ERR_NULL
    assert lib.mg_reduce(lib.MG_FLOAT32, lib.MG_SUM, 1, 2, 2, buf, ffi.NULL) == lib.MG_ERR_NULL
    assert lib.mg_reduce(lib.MG_FLOAT32, lib.MG_SUM, 0, 2, 2, ffi.NULL, ffi.NULL) == lib.MG_OK
    assert lib.mg_arg_reduce(lib.MG_FLOAT32, lib.MG_SUM, 1, 2, 2, buf, idx) == lib.MG_ERR_OP
    assert lib.mg_arg_reduce(lib.MG_FLOAT32, lib.MG_ARGMIN, 1, 0, 2, buf, idx) == lib.MG_ERR_EMPTY
    assert lib.mg_arg_reduce(lib.MG_FLOAT64, lib.MG_ARGMIN, 2, -1, 2, buf, idx) == lib.MG_ERR_SIZE
    assert lib.mg_arg_reduce(-1, lib.MG_ARGMIN, 1, 2, 2, buf, idx) == lib.MG_ERR_DTYPE
    assert lib.mg_arg_reduce(lib.MG_INT64, lib.MG_ARGMIN, 1, 2, 2, buf, ffi.NULL) == lib.MG_ERR_NULL


def test_kernel_error_names_kernel_and_shape(monkeypatch):
    """A failing C status surfaces as KernelError naming the C entry point and the shape."""
    import sys
    module = sys.modules["minigrad.backend.cpu.reductions"]

    class FailingLib:
        def __getattr__(self, name):
            return getattr(lib, name)

        def mg_reduce(self, *args):
            return lib.MG_ERR_NOMEM

    monkeypatch.setattr(module, "lib", FailingLib())
    with pytest.raises(KernelError, match=r"mg_reduce.*\(4, 5\)"):
        module.reduce("sum", np.ones((4, 5), np.float32), 0)
