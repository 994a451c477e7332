"""Unary ops and their derivatives (csrc/unary.c, csrc/vecmath.h) against numpy.

exp, tanh and sigmoid do not use libm: their accuracy is measured here in
units in the last place against a reference of higher precision (float64
numpy for float32, long double numpy for float64), over a wide range that
includes subnormals, overflow thresholds, infinities and NaN.
"""
import numpy as np
import pytest

from minigrad._native import ffi, lib
from minigrad.backend.cpu import elementwise as E

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)

# The float64 oracle of each forward op, and of each derivative from (x, y, gy).
FORWARD = {
    "neg": np.negative, "abs": np.abs, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
    "tanh": np.tanh, "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "relu": lambda x: np.where(x < 0, 0.0, x), "square": np.square,
    "reciprocal": lambda x: 1 / x, "sign": np.sign,
}
BACKWARD = {
    "neg": lambda x, y, g: -g, "abs": lambda x, y, g: g * np.sign(x),
    "exp": lambda x, y, g: g * y, "log": lambda x, y, g: g / x,
    "sqrt": lambda x, y, g: g / (2 * y), "tanh": lambda x, y, g: g * (1 - y * y),
    "sigmoid": lambda x, y, g: g * y * (1 - y), "relu": lambda x, y, g: np.where(x <= 0, 0.0, g),
    "square": lambda x, y, g: 2 * g * x, "reciprocal": lambda x, y, g: -g / (x * x),
    "sign": lambda x, y, g: np.zeros_like(g),
}
OPS = list(FORWARD)
READS_Y = {"tanh", "sigmoid", "exp", "sqrt"}
POSITIVE_DOMAIN = {"log", "sqrt"}


def tolerance(dtype):
    return (2e-6, 1e-6) if dtype == F32 else (1e-13, 1e-14)


def inputs(rng, shape, dtype, op):
    x = rng.standard_normal(shape) * 3
    if op in POSITIVE_DOMAIN:
        x = np.abs(x) + 0.1
    if op == "reciprocal":
        x = np.where(np.abs(x) < 0.1, 0.5, x)
    if op in ("sign", "relu", "abs"):
        x = np.round(x)  # exact zeros
    return np.asarray(x, dtype)


def noncontiguous(x):
    """Views with the values of x: transposed, reversed, strided."""
    views = []
    if x.ndim == 2:
        views.append(np.asfortranarray(x))
    if x.ndim >= 1:
        index = (slice(None, None, -1),) * x.ndim
        views.append(np.ascontiguousarray(x[index])[index])
        big = np.zeros(tuple(2 * d for d in x.shape), x.dtype)
        step = tuple(slice(None, None, 2) for _ in x.shape)
        big[step] = x
        views.append(big[step])
    return views


SHAPES = [(), (0,), (1,), (7,), (33,), (4, 5), (2, 0, 3), (3, 1, 17)]


@pytest.mark.parametrize("dtype", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("op", OPS)
def test_forward_matches_numpy(op, dtype):
    rng = np.random.default_rng(OPS.index(op))
    rtol, atol = tolerance(dtype)
    for shape in SHAPES:
        x = inputs(rng, shape, dtype, op)
        want = FORWARD[op](x.astype(F64))
        for view in [x] + noncontiguous(x):
            got = E.unary(op, view)
            assert got.shape == x.shape and got.dtype == dtype
            np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("op", OPS)
def test_backward_matches_numpy(op, dtype):
    rng = np.random.default_rng(7 + OPS.index(op))
    rtol, atol = tolerance(dtype)
    for shape in [(), (0,), (5,), (3, 4)]:
        x = inputs(rng, shape, dtype, op)
        y = E.unary(op, x)
        gy = np.asarray(rng.standard_normal(shape), dtype)
        want = BACKWARD[op](x.astype(F64), y.astype(F64), gy.astype(F64))
        saved_x = None if op in READS_Y or op == "neg" else x
        saved_y = y if op in READS_Y else None
        got = E.unary_backward(op, saved_x, saved_y, gy)
        assert got.shape == gy.shape and got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
        if x.ndim == 2:  # views for every argument
            got = E.unary_backward(op, None if saved_x is None else x.T.copy().T,
                                   None if saved_y is None else y[::-1][::-1], gy.T.copy().T)
            np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", [F32, F64], ids=["f32", "f64"])
def test_large_arrays_across_threads(threads, dtype):
    rng = np.random.default_rng(11)
    rtol, atol = tolerance(dtype)
    n = 3 * 8192 * 5 + 3  # several parallel blocks and a ragged end
    for op in OPS:
        x = inputs(rng, n, dtype, op)
        np.testing.assert_allclose(E.unary(op, x), FORWARD[op](x.astype(F64)), rtol=rtol, atol=atol)
    x = inputs(rng, n, dtype, "tanh")
    y, gy = E.unary("tanh", x), np.asarray(rng.standard_normal(n), dtype)
    np.testing.assert_allclose(E.unary_backward("tanh", None, y, gy),
                               gy * (1 - y.astype(F64) ** 2), rtol=rtol, atol=atol)
    np.testing.assert_allclose(E.unary_backward("relu", x, None, gy), np.where(x > 0, gy, 0))


def test_relu_gradient_passes_at_nan_as_pytorch(dtype):
    # PyTorch's threshold: 0 where x <= 0, else the incoming gradient -- at NaN too, so that a
    # NaN input shows in the gradient instead of vanishing into a 0
    x = np.array([np.nan, -1.0, 0.0, 2.0], dtype)
    gy = np.array([3.0, 3.0, 3.0, 3.0], dtype)
    np.testing.assert_array_equal(E.unary_backward("relu", x, None, gy), [3, 0, 0, 3])


def row_slices(rng, dtype, op):
    """Slices along the last dim (the gates of a (B, 4H) matrix, of a (T, B, 4H) one), which
    C reads in place by rows, and views whose rows are not evenly spaced (copied first)."""
    gates = inputs(rng, (5, 4 * 7), dtype, op)
    seq = inputs(rng, (3, 5, 4 * 7), dtype, op)
    return {
        "gate": (gates[:, 7:14], (5, 7, 28)),
        "last gate": (gates[:, 21:], (5, 7, 28)),
        "one row": (gates[2:3, 3:9], (1, 6, 28)),
        "sequence gate": (seq[..., 14:21], (15, 7, 28)),
        "rows of a sequence": (seq[1:, 1:4, 2:5], None),  # rows 28 apart, blocks 140 apart
        "every other row": (gates[::2, :7], (3, 7, 56)),
    }


@pytest.mark.parametrize("dtype", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("op", OPS)
def test_row_slices_read_in_place(op, dtype):
    rng = np.random.default_rng(13)
    rtol, atol = tolerance(dtype)
    for name, (x, layout) in row_slices(rng, dtype, op).items():
        assert E._row_layout(x) == layout, name
        want = FORWARD[op](x.astype(F64))
        np.testing.assert_allclose(E.unary(op, x), want, rtol=rtol, atol=atol, err_msg=name)
        out = np.full(x.shape, np.nan, dtype)
        assert E.unary(op, x, out=out) is out
        np.testing.assert_allclose(out, want, rtol=rtol, atol=atol, err_msg=name)


@pytest.mark.parametrize("dtype", [F32, F64], ids=["f32", "f64"])
def test_row_slices_across_threads(threads, dtype):
    rng = np.random.default_rng(14)
    rtol, atol = tolerance(dtype)
    x = inputs(rng, (4099, 3 * 37), dtype, "tanh")[:, 37:74]  # many ranges of rows, ragged end
    for op in ("tanh", "sigmoid", "relu", "square"):
        np.testing.assert_allclose(E.unary(op, x), FORWARD[op](x.astype(F64)), rtol=rtol,
                                   atol=atol)


def test_every_alignment_and_length():
    """The vector loops start at y's first 64-byte boundary: every start offset
    and short lengths around the vector widths."""
    rng = np.random.default_rng(12)
    for dtype in (F32, F64):
        rtol, atol = tolerance(dtype)
        buf = np.asarray(rng.standard_normal(200) * 5, dtype)
        out = np.zeros(200, dtype)
        for start in range(17):
            for length in (0, 1, 2, 3, 5, 8, 15, 16, 17, 31, 33, 64, 100):
                x = buf[start:start + length]
                o = out[start:start + length]
                for op in ("exp", "tanh", "sigmoid"):
                    E.unary(op, x, out=o)
                    np.testing.assert_allclose(o, FORWARD[op](x.astype(F64)), rtol=rtol, atol=atol)


def test_in_place_and_out():
    x = np.linspace(-3, 3, 11)
    want = np.tanh(x)
    y = x.copy()
    assert E.unary("tanh", y, out=y) is y
    np.testing.assert_allclose(y, want, rtol=1e-14)
    out = np.empty(11)
    assert E.unary("exp", x, out=out) is out
    np.testing.assert_allclose(out, np.exp(x), rtol=1e-14)
    buf = np.linspace(-1, 1, 100001)  # overlapping but shifted: computed from a copy
    want = np.abs(buf[1:])
    E.unary("abs", buf[1:], out=buf[:-1])
    np.testing.assert_array_equal(buf[:-1], want)
    with pytest.raises(ValueError, match="out is"):
        E.unary("neg", x, out=np.empty(10))
    with pytest.raises(ValueError, match="C-contiguous"):
        E.unary("neg", np.ones((2, 3)), out=np.empty((3, 2)).T)


# ---- accuracy of the vectorised exp, tanh, sigmoid ------------------------------------


def ulp_error(got, ref, dtype):
    """|got - ref| in units of the last place of ref rounded to `dtype`
    (spacing floored at the smallest subnormal).  ref beyond the dtype's range
    must come out as an infinity of the same sign (error 0), else inf."""
    info = np.finfo(dtype)
    big = np.abs(ref) > info.max
    rounded = np.where(big, 0, ref).astype(dtype)
    spacing = np.maximum(np.spacing(np.abs(rounded)), info.smallest_subnormal).astype(ref.dtype)
    err = np.abs(got.astype(ref.dtype) - np.where(big, 0, ref)) / spacing
    same_inf = np.isinf(got) & (np.sign(got) == np.sign(ref))
    err[big] = np.where(same_inf[big], 0, np.inf)
    both_nan = np.isnan(got) & np.isnan(ref)
    err[both_nan] = 0
    return err.astype(np.float64)


def accuracy_inputs(dtype, rng):
    info = np.finfo(dtype)
    bits = np.uint32 if dtype == F32 else np.uint64
    random_bits = rng.integers(0, np.iinfo(bits).max, size=200_000, dtype=bits,
                               endpoint=True).view(dtype)
    tiny = info.smallest_subnormal
    special = [0.0, -0.0, tiny, -tiny, 1e3 * tiny, info.tiny, -info.tiny, 1.0, -1.0,
               1000.0, -1000.0, 88.7, -88.7, 88.72283, 88.72284, 89.0, -87.33, -103.97, -104.0,
               709.78, 709.79, -745.13, -745.14, 710.0, -746.0, 9.0, 9.1, 10.0, 19.0, 20.0,
               info.max, -info.max, np.inf, -np.inf, np.nan]
    grid = np.linspace(-120, 120, 240_001)
    wide = np.linspace(-800, 800, 80_001)
    x = np.concatenate([random_bits[np.isfinite(random_bits)],
                        np.asarray(special + list(grid) + list(wide), F64).astype(dtype)])
    return x


# max error allowed, in ulp (measured: f32 exp 1.01, tanh 2.49, sigmoid 2.25;
# f64 exp 1.05, tanh 2.36, sigmoid 2.31)
ULP_BOUND = {"exp": 1.5, "tanh": 3.0, "sigmoid": 3.0}


@pytest.mark.parametrize("dtype", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("op", ["exp", "tanh", "sigmoid"])
def test_vector_math_accuracy(op, dtype):
    wide = np.longdouble if dtype == F64 else np.float64
    if np.finfo(wide).nmant <= np.finfo(dtype).nmant:
        pytest.skip("no wider float type for a reference on this platform")
    x = accuracy_inputs(dtype, np.random.default_rng(13))
    xw = x.astype(wide)
    with np.errstate(all="ignore"):
        ref = {"exp": np.exp, "tanh": np.tanh, "sigmoid": lambda v: 1 / (1 + np.exp(-v))}[op](xw)
    got = E.unary(op, x)
    err = ulp_error(got, ref, dtype)
    worst = int(np.argmax(err))
    assert err[worst] <= ULP_BOUND[op], f"{op}({x[worst]!r}) = {got[worst]!r}, want {ref[worst]!r}"


@pytest.mark.parametrize("dtype", [F32, F64], ids=["f32", "f64"])
def test_vector_math_special_values(dtype):
    inf, nan = np.inf, np.nan
    x = np.array([inf, -inf, nan, -nan, 1000, -1000, 1e30, -1e30, 0.0, -0.0], dtype)
    tanh = E.unary("tanh", x)
    np.testing.assert_array_equal(tanh, np.array([1, -1, nan, nan, 1, -1, 1, -1, 0, 0], dtype))
    assert np.signbit(tanh[9])  # tanh(-0) = -0
    sig = E.unary("sigmoid", x)
    np.testing.assert_array_equal(sig, np.array([1, 0, nan, nan, 1, 0, 1, 0, 0.5, 0.5], dtype))
    ex = E.unary("exp", x)
    np.testing.assert_array_equal(ex, np.array([inf, 0, nan, nan, inf, 0, inf, 0, 1, 1], dtype))
    # subnormal results: exp and sigmoid keep them, tanh(subnormal) = itself
    info = np.finfo(dtype)
    lowest = np.log(np.asarray(info.smallest_subnormal, F64)) + 0.5
    sub = np.array([lowest, lowest + 1], dtype)
    assert (E.unary("exp", sub) > 0).all() and (E.unary("exp", sub) < info.tiny).all()
    assert (E.unary("sigmoid", sub) > 0).all()
    tiny = np.array([info.smallest_subnormal, -3 * info.smallest_subnormal], dtype)
    np.testing.assert_array_equal(E.unary("tanh", tiny), tiny)


# ---- errors --------------------------------------------------------------------------


def test_argument_errors():
    with pytest.raises(TypeError, match="int64"):
        E.unary("exp", np.ones(3, np.int64))
    with pytest.raises(ValueError, match="unknown op 'cosh'"):
        E.unary("cosh", np.ones(3))
    with pytest.raises(TypeError, match="list"):
        E.unary("exp", [1.0, 2.0])
    with pytest.raises(ValueError, match="reads y"):
        E.unary_backward("tanh", np.ones(3), None, np.ones(3))
    with pytest.raises(ValueError, match="reads x"):
        E.unary_backward("log", None, np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match=r"float64\[4\]"):
        E.unary_backward("relu", np.ones(4), None, np.ones(3))
    with pytest.raises(TypeError, match="float32"):
        E.unary_backward("relu", np.ones(3, np.float32), None, np.ones(3))
    np.testing.assert_array_equal(E.unary_backward("neg", None, None, np.ones(2)), [-1, -1])


def test_c_entry_points_validate():
    x = np.ones(4)
    p = ffi.from_buffer(x)
    assert lib.mg_unary(lib.MG_INT64, lib.MG_EXP, 4, p, p) == lib.MG_ERR_DTYPE
    assert lib.mg_unary(lib.MG_FLOAT64, 11, 4, p, p) == lib.MG_ERR_OP
    assert lib.mg_unary(lib.MG_FLOAT64, -1, 4, p, p) == lib.MG_ERR_OP
    assert lib.mg_unary(lib.MG_FLOAT64, lib.MG_EXP, -4, p, p) == lib.MG_ERR_SIZE
    assert lib.mg_unary(lib.MG_FLOAT64, lib.MG_EXP, 4, ffi.NULL, p) == lib.MG_ERR_NULL
    assert lib.mg_unary(lib.MG_FLOAT64, lib.MG_EXP, 0, ffi.NULL, ffi.NULL) == lib.MG_OK
    rows = lib.mg_unary_rows
    assert rows(lib.MG_FLOAT64, lib.MG_EXP, 2, 2, p, 2, p) == lib.MG_OK
    np.testing.assert_allclose(x, np.e)
    assert rows(lib.MG_FLOAT64, lib.MG_EXP, 2, 3, p, 2, p) == lib.MG_ERR_SIZE  # ldx < cols
    assert rows(lib.MG_FLOAT64, lib.MG_EXP, -1, 2, p, 2, p) == lib.MG_ERR_SIZE
    assert rows(lib.MG_FLOAT64, lib.MG_EXP, 2, -1, p, 2, p) == lib.MG_ERR_SIZE
    assert rows(lib.MG_INT64, lib.MG_EXP, 2, 2, p, 2, p) == lib.MG_ERR_DTYPE
    assert rows(lib.MG_FLOAT64, 11, 2, 2, p, 2, p) == lib.MG_ERR_OP
    assert rows(lib.MG_FLOAT64, lib.MG_EXP, 2, 2, ffi.NULL, 2, p) == lib.MG_ERR_NULL
    assert rows(lib.MG_FLOAT64, lib.MG_EXP, 0, 2, ffi.NULL, 2, ffi.NULL) == lib.MG_OK
    assert lib.mg_unary_backward(lib.MG_FLOAT64, lib.MG_TANH, 4, p, ffi.NULL, p, p) \
        == lib.MG_ERR_NULL
    assert lib.mg_unary_backward(lib.MG_FLOAT64, lib.MG_NEG, 4, ffi.NULL, ffi.NULL, p, p) \
        == lib.MG_OK
    assert lib.mg_unary_backward(lib.MG_FLOAT64, lib.MG_LOG, 4, ffi.NULL, p, p, p) \
        == lib.MG_ERR_NULL
