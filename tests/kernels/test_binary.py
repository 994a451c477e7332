"""Broadcasting binary ops, ops with a scalar, where and clamp (csrc/binary.c)
against numpy in float64 (and numpy's int64 for integers)."""
import fractions

import numpy as np
import pytest

from minigrad._native import KernelError, ffi, lib
from minigrad.backend.cpu import elementwise as E

F32, F64, I64 = np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64)
ALL_DTYPES = [F32, F64, I64]

ORACLE = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
    "pow": np.power, "maximum": np.maximum, "minimum": np.minimum,
    "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
    "gt": np.greater, "ge": np.greater_equal,
}
OPS = list(ORACLE)
COMPARISONS = ["eq", "ne", "lt", "le", "gt", "ge"]


def op_dtype_cases():
    return [pytest.param(op, dt, id=f"{op}-{dt}") for op in OPS for dt in ALL_DTYPES
            if not (dt == I64 and op in ("div", "pow"))]


def values(rng, shape, dtype, op="add", role="a"):
    """Test values: halves (so comparisons see ties), positive-heavy bases and
    small exponents for pow, non-zero divisors."""
    if dtype == I64:
        return np.asarray(rng.integers(-6, 7, size=shape), np.int64)
    v = np.asarray(np.round(rng.standard_normal(shape) * 4) / 2)
    if op == "pow":
        v = rng.uniform(-2, 3, size=shape) if role == "a" else rng.uniform(-2.5, 2.5, size=shape)
    if op == "div" and role == "b":
        v = np.where(v == 0, 0.75, v)
    return v.astype(dtype)


def oracle(op, a, b):
    """numpy's answer, computed in float64 (int64 for integers), cast back."""
    dtype = a.dtype
    with np.errstate(all="ignore"):
        if dtype == I64:
            return ORACLE[op](a, b).astype(I64)
        return ORACLE[op](a.astype(F64), b.astype(F64)).astype(dtype)


def assert_matches(got, want):
    assert got.shape == want.shape and got.dtype == want.dtype
    if got.dtype == I64:
        np.testing.assert_array_equal(got, want)
    else:
        rtol, atol = (2e-6, 1e-6) if got.dtype == F32 else (1e-14, 1e-14)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)


def layout(arr, kind):
    """The same values as `arr` in another memory layout."""
    if kind == "c" or arr.ndim == 0:
        return arr
    if kind == "f":
        return np.asfortranarray(arr)
    if kind == "rev":  # negative strides on every axis
        index = (slice(None, None, -1),) * arr.ndim
        return np.ascontiguousarray(arr[index])[index]
    if kind == "step":  # every other element of a bigger buffer
        big = np.zeros(tuple(2 * d + 1 for d in arr.shape), arr.dtype)
        index = tuple(slice(1, 2 * d + 1, 2) for d in arr.shape)
        big[index] = arr
        return big[index]
    raise ValueError(kind)


SHAPE_PAIRS = [
    ((), ()), ((), (3,)), ((4,), ()), ((1,), (5,)), ((5,), (5,)), ((0,), (0,)),
    ((0,), (1,)), ((3, 1), (1, 4)), ((3, 4), (4,)), ((3, 4), (3, 1)), ((2, 3, 4), (4,)),
    ((2, 3, 4), (3, 1)), ((2, 1, 4), (1, 3, 1)), ((2, 0, 3), (3,)), ((1, 1), (1,)),
    ((4, 1, 1, 3, 1), (1, 2, 5, 1, 2)), ((2, 1, 2, 1, 2, 1, 2), (1, 2, 1, 2, 1, 2, 1)),
]


# ---- binary: values, broadcasting, layouts ------------------------------------------


@pytest.mark.parametrize("op,dtype", op_dtype_cases())
def test_binary_matches_numpy_over_shapes(op, dtype):
    rng = np.random.default_rng(hash(op) % 1000)
    for sa, sb in SHAPE_PAIRS + [(b, a) for a, b in SHAPE_PAIRS]:
        a, b = values(rng, sa, dtype, op, "a"), values(rng, sb, dtype, op, "b")
        assert_matches(E.binary(op, a, b), oracle(op, a, b))


@pytest.mark.parametrize("kind", ["f", "rev", "step"])
@pytest.mark.parametrize("op,dtype", [("add", F32), ("sub", F64), ("mul", I64), ("div", F32),
                                      ("pow", F64), ("maximum", F32), ("lt", I64), ("ge", F64)])
def test_binary_views_pass_without_copy(op, dtype, kind):
    rng = np.random.default_rng(1)
    for sa, sb in [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 3, 4), (3, 1)), ((5, 1, 3), (1, 4, 3))]:
        a, b = values(rng, sa, dtype, op, "a"), values(rng, sb, dtype, op, "b")
        want = oracle(op, a, b)
        assert_matches(E.binary(op, layout(a, kind), b), want)
        assert_matches(E.binary(op, a, layout(b, kind)), want)
        assert_matches(E.binary(op, layout(a, kind), layout(b, kind)), want)


def test_binary_broadcast_views_and_transposes():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((4, 5))
    row = rng.standard_normal(5)
    assert_matches(E.binary("add", a, np.broadcast_to(row, (4, 5))), a + row)  # stride 0
    assert_matches(E.binary("mul", a.T, a.T), a.T * a.T)
    assert_matches(E.binary("sub", a.T, row[:4]), a.T - row[:4])
    assert_matches(E.binary("div", a[::2, 1::2], a[1::2, -2::-2]), a[::2, 1::2] / a[1::2, -2::-2])
    # a field of a structured array: byte strides that are not a multiple of 8
    rec = np.zeros(6, dtype=[("x", "f8"), ("y", "f4")])
    rec["x"] = np.arange(6.0)
    assert rec["x"].strides[0] % 8 != 0
    assert_matches(E.binary("add", rec["x"], np.ones(6)), np.arange(6.0) + 1)


def test_binary_misaligned_buffers():
    raw = np.zeros(8 * 9 + 1, np.uint8)
    a = np.frombuffer(raw.data, np.float64, count=9, offset=1)  # not 8-byte aligned
    assert not a.flags.aligned
    b = np.arange(9.0)
    assert_matches(E.binary("add", a, b), b.copy())
    assert_matches(E.binary("mul", b.reshape(3, 3), a.reshape(3, 3)), np.zeros((3, 3)))


def test_nan_propagation_and_special_values():
    nan, inf = np.nan, np.inf
    a = np.array([nan, 1.0, nan, -inf, 0.0, -0.0, 2.0])
    b = np.array([1.0, nan, nan, 3.0, -0.0, 0.0, inf])
    for dt in (F32, F64):
        x, y = a.astype(dt), b.astype(dt)
        for op in ("maximum", "minimum", "add", "mul", "div") + tuple(COMPARISONS):
            want = oracle(op, x, y)
            got = E.binary(op, x, y)
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=op)
            np.testing.assert_array_equal(got[~np.isnan(got)], want[~np.isnan(want)], err_msg=op)


def test_pow_follows_c_pow():
    base = np.array([-2.0, -2.0, 0.0, 0.0, 2.0, -8.0, np.inf, -np.inf, 1.0, np.nan, 0.5])
    expo = np.array([0.5, 3.0, 0.0, -1.0, -2.0, 1 / 3, -1.0, 3.0, np.nan, 0.0, np.inf])
    with np.errstate(all="ignore"):
        for dt in (F32, F64):
            want = np.power(base.astype(dt), expo.astype(dt))
            got = E.binary("pow", base.astype(dt), expo.astype(dt))
            np.testing.assert_array_equal(got, want)  # NaN == NaN for assert_array_equal
    assert np.isnan(E.binary("pow", np.array([-2.0]), np.array([0.5])))[0]


def test_comparisons_write_one_and_zero_in_the_dtype():
    for dt in ALL_DTYPES:
        a = np.array([1, 2, 3], dt)
        b = np.array([2, 2, 2], dt)
        got = E.binary("lt", a, b)
        assert got.dtype == dt
        np.testing.assert_array_equal(got, np.array([1, 0, 0], dt))
        np.testing.assert_array_equal(E.binary("ge", a, b), np.array([0, 1, 1], dt))


def test_int64_wraps_like_numpy():
    big = np.array([2 ** 62, -2 ** 63, 2 ** 63 - 1], np.int64)
    two = np.array([4, 1, 1], np.int64)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(E.binary("mul", big, two), big * two)
        np.testing.assert_array_equal(E.binary("add", big, two), big + two)
        np.testing.assert_array_equal(E.binary("sub", big, two), big - two)


# ---- threads and chunk boundaries -----------------------------------------------------


@pytest.mark.parametrize("dtype", [F32, F64, I64])
def test_large_broadcasts_across_threads(threads, dtype):
    rng = np.random.default_rng(3)
    cases = [((100003,), (100003,)), ((257, 301), (301,)), ((3, 40000), (3, 1)),
             ((40000, 3), (1,)), ((2, 170, 130), (170, 1))]
    for sa, sb in cases:
        a, b = values(rng, sa, dtype), values(rng, sb, dtype)
        for op in ("add", "mul", "gt"):
            assert_matches(E.binary(op, a, b), oracle(op, a, b))
    a = values(rng, (300, 400), dtype)
    assert_matches(E.binary("sub", a.T, a[::-1].T), oracle("sub", a.T, a[::-1].T))
    assert_matches(E.binary_scalar("mul", a, 3), oracle("mul", a, np.array(3, dtype)))
    cond = values(rng, (300, 400), dtype)
    np.testing.assert_array_equal(E.where(cond, a, a.T[:1].T), np.where(cond != 0, a, a[:, :1]))


# ---- out and aliasing -----------------------------------------------------------------


def test_out_in_place_and_aliasing():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((4, 5))
    b = rng.standard_normal((4, 5))
    want = a + b
    x = a.copy()
    assert E.binary("add", x, b, out=x) is x
    assert_matches(x, want)
    y = b.copy()
    assert E.binary("add", a, y, out=y) is y
    assert_matches(y, want)
    # broadcast operand read from inside out: b is a row of out
    x = a.copy()
    E.binary("sub", x, x[1], out=x)
    assert_matches(x, a - a[1])
    # partially overlapping contiguous views, both directions, across threads
    for n in (10, 100001):
        buf = rng.standard_normal(n + 1)
        want = buf[1:] + buf[:-1]
        x = buf.copy()
        E.binary("add", x[1:], x[:-1], out=x[:-1])
        assert_matches(x[:-1], want)
        x = buf.copy()
        E.binary("add", x[1:], x[:-1], out=x[1:])
        assert_matches(x[1:], want)
    x = a.copy()
    E.binary("mul", x, x, out=x)
    assert_matches(x, a * a)


def test_out_validation():
    a = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"out is float64\[3, 2\]"):
        E.binary("add", a, a, out=np.empty((3, 2)))
    with pytest.raises(ValueError, match="C-contiguous"):
        E.binary("add", a, a, out=np.empty((3, 2)).T)
    with pytest.raises(ValueError, match="out is"):
        E.binary("add", a, a, out=np.empty((2, 3), np.float32))
    ro = np.empty((2, 3))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        E.binary("add", a, a, out=ro)
    with pytest.raises(ValueError, match=r"out is float64\[2\]"):
        E.binary("add", a, np.ones(3), out=np.empty(2))
    col, row = np.ones((3, 1)), np.ones((1, 4))  # out = an input smaller than the result
    with pytest.raises(ValueError, match=r"expected float64\[3, 4\]"):
        E.binary("add", col, row, out=col)
    for f in (lambda: E.binary("add", ro, ro, out=ro), lambda: E.binary_scalar("add", ro, 1, out=ro),
              lambda: E.clamp(ro, 0, 1, out=ro), lambda: E.unary("neg", ro, out=ro)):
        with pytest.raises(ValueError, match="read-only"):
            f()


# ---- errors -------------------------------------------------------------------------


def test_binary_argument_errors():
    a32, a64 = np.ones((2, 3), np.float32), np.ones((2, 3))
    with pytest.raises(TypeError, match=r"float32\[2, 3\] and float64\[2, 3\]"):
        E.binary("add", a32, a64)
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4,\)"):
        E.binary("add", a64, np.ones(4))
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(3, 3\)"):
        E.binary("mul", a64, np.ones((3, 3)))
    with pytest.raises(ValueError, match="unknown op 'mod'"):
        E.binary("mod", a64, a64)
    for op in ("div", "pow"):
        with pytest.raises(TypeError, match="int64"):
            E.binary(op, np.ones(3, np.int64), np.ones(3, np.int64))
    with pytest.raises(TypeError, match="int32"):
        E.binary("add", np.ones(3, np.int32), np.ones(3, np.int32))
    with pytest.raises(TypeError, match="list"):
        E.binary("add", [1.0], a64)
    with pytest.raises(KernelError, match="mg_binary"):  # more dims than the C core walks
        E.binary("add", np.ones((1, 2) * 9), np.ones((2, 1) * 9))


def test_c_entry_points_validate():
    one = ffi.new("int64_t[]", [1])
    x = np.ones(4)
    px = ffi.from_buffer(x)
    shape4 = ffi.new("int64_t[]", [4])
    ok = lib.mg_binary(lib.MG_FLOAT64, lib.MG_ADD, 1, shape4, px, one, px, one, px)
    assert ok == lib.MG_OK
    assert lib.mg_binary(7, lib.MG_ADD, 1, shape4, px, one, px, one, px) == lib.MG_ERR_DTYPE
    assert lib.mg_binary(lib.MG_FLOAT64, 13, 1, shape4, px, one, px, one, px) == lib.MG_ERR_OP
    assert lib.mg_binary(lib.MG_FLOAT64, -1, 1, shape4, px, one, px, one, px) == lib.MG_ERR_OP
    assert lib.mg_binary(lib.MG_INT64, lib.MG_DIV, 1, shape4, px, one, px, one, px) \
        == lib.MG_ERR_DTYPE
    assert lib.mg_binary(lib.MG_FLOAT64, lib.MG_ADD, -1, shape4, px, one, px, one, px) \
        == lib.MG_ERR_SIZE
    assert lib.mg_binary(lib.MG_FLOAT64, lib.MG_ADD, 17, ffi.new("int64_t[]", [1] * 17),
                         px, one, px, one, px) == lib.MG_ERR_SIZE
    neg = ffi.new("int64_t[]", [-4])
    assert lib.mg_binary(lib.MG_FLOAT64, lib.MG_ADD, 1, neg, px, one, px, one, px) \
        == lib.MG_ERR_SIZE
    huge = ffi.new("int64_t[]", [2 ** 40, 2 ** 40])
    zeros = ffi.new("int64_t[]", [0, 0])
    assert lib.mg_binary(lib.MG_FLOAT64, lib.MG_ADD, 2, huge, px, zeros, px, zeros, px) \
        == lib.MG_ERR_SIZE
    assert lib.mg_binary(lib.MG_FLOAT64, lib.MG_ADD, 1, shape4, ffi.NULL, one, px, one, px) \
        == lib.MG_ERR_NULL
    assert lib.mg_binary(lib.MG_FLOAT64, lib.MG_ADD, 1, shape4, px, ffi.NULL, px, one, px) \
        == lib.MG_ERR_NULL
    assert lib.mg_binary(lib.MG_FLOAT64, lib.MG_ADD, 1, ffi.NULL, px, one, px, one, px) \
        == lib.MG_ERR_NULL
    empty = ffi.new("int64_t[]", [0])
    assert lib.mg_binary(lib.MG_FLOAT64, lib.MG_ADD, 1, empty, ffi.NULL, one, ffi.NULL, one,
                         ffi.NULL) == lib.MG_OK
    # scalar, where, clamp
    assert lib.mg_binary_scalar(lib.MG_INT64, lib.MG_ADD, 4, px, 2.5, 0, px) == lib.MG_ERR_OP
    assert lib.mg_binary_scalar(lib.MG_INT64, lib.MG_ADD, 4, px, float("nan"), 0, px) \
        == lib.MG_ERR_OP
    assert lib.mg_binary_scalar(lib.MG_INT64, lib.MG_POW, 4, px, 2.0, 0, px) == lib.MG_ERR_DTYPE
    assert lib.mg_binary_scalar(lib.MG_FLOAT64, lib.MG_ADD, -1, px, 2.0, 0, px) == lib.MG_ERR_SIZE
    assert lib.mg_binary_scalar(lib.MG_FLOAT64, lib.MG_ADD, 4, ffi.NULL, 2.0, 0, px) \
        == lib.MG_ERR_NULL
    assert lib.mg_where(5, 1, shape4, px, one, px, one, px, one, px) == lib.MG_ERR_DTYPE
    assert lib.mg_where(lib.MG_FLOAT64, 1, shape4, px, one, px, one, ffi.NULL, one, px) \
        == lib.MG_ERR_NULL
    assert lib.mg_clamp(lib.MG_INT64, 4, px, float("nan"), 1.0, px) == lib.MG_ERR_OP
    assert lib.mg_clamp(lib.MG_FLOAT64, -2, px, 0.0, 1.0, px) == lib.MG_ERR_SIZE
    assert lib.mg_clamp(9, 4, px, 0.0, 1.0, px) == lib.MG_ERR_DTYPE
    assert lib.mg_clamp_backward(lib.MG_INT64, 4, px, 0.0, 1.0, px, px) == lib.MG_ERR_DTYPE
    assert lib.mg_clamp_backward(lib.MG_FLOAT64, 4, px, 0.0, 1.0, ffi.NULL, px) \
        == lib.MG_ERR_NULL


# ---- binary_scalar ------------------------------------------------------------------


@pytest.mark.parametrize("op,dtype", op_dtype_cases())
def test_binary_scalar_both_orders(op, dtype):
    rng = np.random.default_rng(5)
    a = values(rng, (3, 5), dtype, op, "a" if op != "pow" else "b")
    scalars = [2, -1, 0] if dtype == I64 else [2.0, -1.5, 0.5, 3.0]
    if op == "pow":
        a = np.abs(a) + 0.25  # a positive base in both orders
    for s in scalars:
        if op == "div" and s == 0:
            continue
        s_arr = np.array(s, dtype)
        assert_matches(E.binary_scalar(op, a, s), oracle(op, a, s_arr))
        if not (op == "div" and np.any(a == 0)):
            assert_matches(E.binary_scalar(op, a, s, scalar_first=True), oracle(op, s_arr, a))
    assert_matches(E.binary_scalar(op, a.T, 2), oracle(op, a.T, np.array(2, dtype)))


def test_binary_scalar_square_shortcut_and_in_place():
    x = np.array([-3.0, -0.5, 0.0, 2.0, np.nan, np.inf])
    np.testing.assert_array_equal(E.binary_scalar("pow", x, 2), np.power(x, 2))
    np.testing.assert_array_equal(E.binary_scalar("pow", x.astype(F32), 2.0),
                                  np.power(x.astype(F32), 2))
    y = x.copy()
    assert E.binary_scalar("mul", y, 3.0, out=y) is y
    np.testing.assert_array_equal(y, x * 3)
    buf = np.arange(10.0)
    E.binary_scalar("add", buf[1:], 1.0, out=buf[:-1])
    np.testing.assert_array_equal(buf[:-1], np.arange(1.0, 10.0) + 1)


def test_binary_scalar_int64_rules():
    x = np.array([-3, -2, 0, 1, 2, 3, 2 ** 60, 2 ** 60 + 1, -2 ** 63, 2 ** 63 - 1], np.int64)
    np.testing.assert_array_equal(E.binary_scalar("add", x[:6], 5), x[:6] + 5)
    np.testing.assert_array_equal(E.binary_scalar("sub", x[:6], 5, scalar_first=True), 5 - x[:6])
    with pytest.raises(TypeError, match="integer scalar"):
        E.binary_scalar("add", x, 2.5)
    with pytest.raises(TypeError, match="integer scalar"):
        E.binary_scalar("mul", x, 2 ** 60 + 1)
    with pytest.raises(TypeError, match="int64"):
        E.binary_scalar("div", x, 2)
    with pytest.raises(TypeError, match="real number"):
        E.binary_scalar("add", x, "3")
    # comparisons are exact for any real scalar
    exact = lambda v: fractions.Fraction(v) if isinstance(v, float) and np.isfinite(v) else v
    for s in [2.5, -2.5, 2, 1e300, -np.inf, np.inf, np.nan, 2 ** 60 + 1, 2 ** 63, -2 ** 63 - 1]:
        for op in COMPARISONS:
            for first in (False, True):
                f = ORACLE[op]
                want = [int(f(exact(s), v) if first else f(v, exact(s))) for v in x.tolist()]
                got = E.binary_scalar(op, x, s, scalar_first=first)
                assert got.dtype == I64
                np.testing.assert_array_equal(got, want, err_msg=f"{op} {s} first={first}")


# ---- where ------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_where_broadcasts_three_ways(dtype):
    rng = np.random.default_rng(6)
    shapes = [((), (), ()), ((3, 4), (3, 4), (3, 4)), ((3, 1), (4,), ()), ((4,), (3, 1), (1, 4)),
              ((2, 1, 4), (3, 1), (2, 3, 4)), ((0, 4), (4,), (1,)), ((5,), (5,), (1,))]
    for sc, sa, sb in shapes:
        cond = rng.integers(0, 2, size=sc).astype(dtype)
        a, b = values(rng, sa, dtype), values(rng, sb, dtype)
        want = np.where(cond != 0, a, b)
        got = E.where(cond, a, b)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, want)
        for kind in ("f", "rev", "step"):
            np.testing.assert_array_equal(
                E.where(layout(cond, kind), layout(a, kind), layout(b, kind)), want)


def test_where_nan_is_true_and_errors():
    cond = np.array([np.nan, 0.0, -0.0, 2.0])
    np.testing.assert_array_equal(E.where(cond, np.ones(4), np.zeros(4)), [1, 0, 0, 1])
    with pytest.raises(TypeError, match="float32"):
        E.where(cond.astype(np.float32), np.ones(4), np.zeros(4))
    with pytest.raises(ValueError, match="not broadcastable"):
        E.where(np.ones(3), np.ones(4), np.ones(4))


# ---- clamp ------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [F32, F64])
def test_clamp_and_backward(dtype, threads):
    rng = np.random.default_rng(7)
    for n in (0, 1, 7, 70001):
        x = (np.round(rng.standard_normal(n) * 4) / 4).astype(dtype)
        for lo, hi in [(-0.5, 0.75), (None, 0.5), (-0.25, None), (None, None), (1.0, -1.0)]:
            want = x.astype(F64)
            if lo is not None:
                want = np.maximum(want, lo)
            if hi is not None:
                want = np.minimum(want, hi)
            np.testing.assert_array_equal(E.clamp(x, lo, hi), want.astype(dtype))
            gy = rng.standard_normal(n).astype(dtype)
            mask = np.ones(n, bool)
            if lo is not None:
                mask &= x >= lo
            if hi is not None:
                mask &= x <= hi
            np.testing.assert_array_equal(E.clamp_backward(x, lo, hi, gy), np.where(mask, gy, 0))


def test_clamp_special_cases():
    x = np.array([np.nan, -np.inf, np.inf, 0.5, -3.0])
    np.testing.assert_array_equal(E.clamp(x, -1, 1), [np.nan, -1, 1, 0.5, -1])
    assert np.isnan(E.clamp(x, np.nan, 1)).all()  # a NaN bound, as torch.clamp
    np.testing.assert_array_equal(E.clamp(x, 2, 1), [np.nan, 1, 1, 1, 1])  # lo > hi gives hi
    np.testing.assert_array_equal(E.clamp_backward(np.array([-1.0, 0.0, 1.0, np.nan]), -1, 1,
                                                   np.full(4, 5.0)), [5, 5, 5, 0])
    ints = np.array([-5, -1, 0, 1, 2, 5], np.int64)
    np.testing.assert_array_equal(E.clamp(ints, -1.5, 1.5), [-1, -1, 0, 1, 1, 1])
    np.testing.assert_array_equal(E.clamp(ints, 0, None), [0, 0, 0, 1, 2, 5])
    with pytest.raises(ValueError, match="NaN"):
        E.clamp(ints, np.nan, 1)
    with pytest.raises(TypeError, match="float32 or float64"):
        E.clamp_backward(ints, 0, 1, ints)
    with pytest.raises(ValueError, match="gy"):
        E.clamp_backward(np.ones(3), 0, 1, np.ones(4))
    y = np.array([3.0, -3.0]).T
    out = np.empty(2)
    assert E.clamp(y, -1, 1, out=out) is out
    np.testing.assert_array_equal(out, [1, -1])
    np.testing.assert_array_equal(E.clamp(np.arange(6.0).reshape(2, 3).T, 1, 3),
                                  np.clip(np.arange(6.0).reshape(2, 3).T, 1, 3))
