"""fill, strided copy and dtype conversion (csrc/copy.c), through the wrappers
(elementwise.fill/fill_/cast, common.contiguous/copy_into) and directly."""
import numpy as np
import pytest

from minigrad._native import ffi, lib
from minigrad.backend.cpu import elementwise as E
from minigrad.backend.cpu.common import address, cat_into, contiguous, copy_into, pointer

F32, F64, I64 = np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64)
ALL_DTYPES = [F32, F64, I64]
INT64_MIN, INT64_MAX = -2 ** 63, 2 ** 63 - 1


def sample(rng, shape, dtype):
    if dtype == I64:
        return np.asarray(rng.integers(-1000, 1000, size=shape), I64)
    return np.asarray(rng.standard_normal(shape), dtype)


def views(x):
    """Non-contiguous views of a 3-D array x (transposed, sliced, reversed,
    broadcast)."""
    return [x.transpose(2, 0, 1), x[:, ::2], x[::-1, :, ::-1], x[1:, 1:, 1:], x[..., 0],
            x[:, :1, :], np.broadcast_to(x[:, :1, :], x.shape)]


def test_pointers_to_the_first_element_of_any_layout():
    """address/pointer give the C kernels element [0, ..., 0] of every view (the first
    element in memory order need not be it: reversed and transposed views)."""
    x = sample(np.random.default_rng(0), (4, 5, 6), F32)
    for v in views(x) + [x, x[2, 3], x[:, :, 2:3].transpose(2, 1, 0), x[3:, 4:, 5:]]:
        want = v.__array_interface__["data"][0]
        for fn in (address, pointer):
            assert int(ffi.cast("uintptr_t", fn(v))) == want
    empty = x[:0]
    assert int(ffi.cast("uintptr_t", address(empty))) == empty.__array_interface__["data"][0]


# ---- fill -------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_fill(dtype, threads):
    for shape in [(), 0, 5, (2, 3), (0, 4), (70001,)]:
        value = 2.0 if dtype == I64 else -1.25
        got = E.fill(shape, value, dtype)
        want = np.full(shape, value, dtype)
        assert got.shape == want.shape and got.dtype == dtype and got.flags.c_contiguous
        np.testing.assert_array_equal(got, want)
    arr = sample(np.random.default_rng(0), (3, 4), dtype)
    assert E.fill_(arr, 7) is arr
    np.testing.assert_array_equal(arr, np.full((3, 4), 7, dtype))


def test_fill_conversions_and_errors():
    got = E.fill(6, 0, I64)
    for value, want in [(2.9, 2), (-2.9, -2), (np.nan, 0), (1e300, INT64_MAX),
                        (-1e300, INT64_MIN), (np.inf, INT64_MAX), (-np.inf, INT64_MIN)]:
        E.fill_(got, value)
        assert (got == want).all(), value
    np.testing.assert_array_equal(E.fill(2, np.inf, F32), [np.inf, np.inf])
    assert np.isnan(E.fill(2, np.nan, F64)).all()
    np.testing.assert_array_equal(E.fill(2, 1e300, F32), [np.inf, np.inf])
    with pytest.raises(ValueError, match="negative"):
        E.fill((2, -1), 0.0, F32)
    with pytest.raises(TypeError, match="dtype"):
        E.fill(3, 0.0, np.int32)
    with pytest.raises(TypeError, match="dtype"):
        E.fill(3, 0.0, "not a dtype")
    with pytest.raises(ValueError, match="C-contiguous"):
        E.fill_(np.ones((3, 4)).T, 0.0)
    ro = np.ones(3)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        E.fill_(ro, 0.0)
    with pytest.raises(TypeError, match="real number"):
        E.fill_(np.ones(3), "1")
    with pytest.raises(TypeError, match="int32"):
        E.fill_(np.ones(3, np.int32), 0)


# ---- cast -------------------------------------------------------------------------


@pytest.mark.parametrize("dst", ALL_DTYPES)
@pytest.mark.parametrize("src", ALL_DTYPES)
def test_cast_all_pairs(src, dst, threads):
    rng = np.random.default_rng(1)
    for shape in [(), (0,), (7,), (3, 4, 5), (70001,)]:
        x = sample(rng, shape, src) * (100 if src != I64 else 1)
        want = x.astype(dst)
        for view in [x] + (views(x) if x.ndim == 3 else []):
            got = E.cast(view, dst)
            assert got.dtype == dst and got.shape == view.shape and got.flags.c_contiguous
            np.testing.assert_array_equal(got, view.astype(dst))
        np.testing.assert_array_equal(E.cast(x, dst), want)


def test_cast_float_to_int64_is_defined_everywhere():
    x = np.array([2.9, -2.9, 0.5, -0.5, np.nan, np.inf, -np.inf, 1e300, -1e300,
                  9.2e18, -9.3e18, 2.0 ** 62])
    want = [2, -2, 0, 0, 0, INT64_MAX, INT64_MIN, INT64_MAX, INT64_MIN,
            9200000000000000000, INT64_MIN, 2 ** 62]
    np.testing.assert_array_equal(E.cast(x, I64), want)
    with np.errstate(over="ignore"):
        x32 = x.astype(F32)  # 1e300 becomes inf
    np.testing.assert_array_equal(E.cast(x32, I64)[:9], want[:9])
    big = np.array([INT64_MAX, INT64_MIN, 2 ** 53 + 1], I64)
    np.testing.assert_array_equal(E.cast(big, F64), big.astype(F64))
    np.testing.assert_array_equal(E.cast(big, F32), big.astype(F32))
    with pytest.raises(TypeError, match="dtype"):
        E.cast(np.ones(3), np.int8)
    with pytest.raises(TypeError, match="bool"):
        E.cast(np.ones(3, bool), F32)


# ---- contiguous / copy_into ---------------------------------------------------------


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_contiguous_of_views(dtype):
    x = sample(np.random.default_rng(2), (4, 6, 5), dtype)
    assert contiguous(x) is x
    for view in views(x) + [x[:, :, 2:3], x[:0], x.reshape(-1)[::-3], x[2, 3, 4][()]]:
        view = np.asarray(view)
        got = contiguous(view)
        assert got.flags.c_contiguous and got.dtype == dtype and got.shape == view.shape
        np.testing.assert_array_equal(got, view)
    high = np.arange(2 ** 10, dtype=dtype).reshape((2,) * 10).transpose(range(9, -1, -1))
    np.testing.assert_array_equal(contiguous(high), high)  # 10 dims


def test_copy_into_views_and_errors():
    rng = np.random.default_rng(3)
    for dtype in ALL_DTYPES:
        dst = np.zeros((5, 8), dtype)
        src = sample(rng, (8, 5), dtype).T
        copy_into(src, dst[:, ::-1].T.T)  # into a reversed view of dst
        np.testing.assert_array_equal(dst[:, ::-1], src)
        dst = np.zeros((4, 4), dtype)
        copy_into(sample(rng, (4,), dtype)[None, :].repeat(4, 0), dst)
        big = np.zeros((300, 300), dtype)
        src = sample(rng, (300, 300), dtype)
        copy_into(src.T, big)
        np.testing.assert_array_equal(big, src.T)
        copy_into(np.broadcast_to(src[0], (300, 300)), big)  # stride-0 source
        np.testing.assert_array_equal(big, np.broadcast_to(src[0], (300, 300)))
    with pytest.raises(ValueError, match="does not match"):
        copy_into(np.ones((2, 3)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="does not match"):
        copy_into(np.ones(3), np.ones(3, np.float32))
    ro = np.ones(3)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        copy_into(np.ones(3), ro)
    with pytest.raises(TypeError, match="int32"):
        copy_into(np.ones(3, np.int32), np.ones(3, np.int32))
    copy_into(np.ones((0, 3)), np.ones((0, 3)))  # nothing to do


def test_contiguous_of_a_structured_field():
    rec = np.zeros(4, dtype=[("x", "f8"), ("y", "f4")])
    rec["x"] = [1, 2, 3, 4]
    np.testing.assert_array_equal(contiguous(rec["x"]), [1, 2, 3, 4])


def test_contiguous_of_a_misaligned_array():
    raw = np.zeros(8 * 4 + 1, np.uint8)
    x = np.frombuffer(raw.data, np.float64, count=4, offset=1)
    assert x.flags.c_contiguous and not x.flags.aligned
    assert contiguous(x).flags.aligned


def test_elementwise_wrappers_repair_misaligned_arrays():
    raw = np.zeros(8 * 4 + 1, np.uint8)
    x = np.frombuffer(raw.data, np.float64, count=4, offset=1)
    np.testing.assert_array_equal(E.cast(x, F32), np.zeros(4, F32))
    np.testing.assert_array_equal(E.unary("exp", x), np.ones(4))
    rec = np.zeros(4, dtype=[("x", "f8"), ("y", "f4")])
    rec["x"] = [1, 2, 3, 4]
    np.testing.assert_array_equal(E.cast(rec["x"], I64), [1, 2, 3, 4])


# ---- the C entry points validate their arguments -------------------------------------


# ---- cat / stack (mg_concat) ------------------------------------------------------


def _joined(arrays, dim, stacked):
    return np.stack(arrays, dim) if stacked else np.concatenate(arrays, dim)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_cat_into_matches_numpy(dtype, threads):
    rng = np.random.default_rng(1)
    cases = [  # (piece shapes, dim, stacked)
        ([(32, 128)] * 4, 1, False),                 # a chunk's gradients joined
        ([(2, 3, 4), (2, 1, 4), (2, 0, 4), (2, 5, 4)], 1, False),  # uneven, an empty piece
        ([(3, 4), (5, 4)], 0, False),
        ([(2, 3), (2, 7)], 1, False),
        ([(300, 70)] * 3, 1, False),                 # enough rows to share among threads
        ([(32, 16)] * 64, 0, True),                  # the steps of a recurrent layer
        ([(4, 5)] * 3, 1, True),
        ([(4, 5)] * 3, 2, True),
        ([(7,)], 0, True),
        ([(0, 3)] * 2, 1, False),                    # nothing to copy
    ]
    for shapes, dim, stacked in cases:
        arrays = [sample(rng, shape, dtype) for shape in shapes]
        want = _joined(arrays, dim, stacked)
        got = cat_into(arrays, dim, stacked, np.full(want.shape, -7, dtype))
        np.testing.assert_array_equal(got, want, err_msg=f"{shapes} dim={dim}")


def test_cat_into_of_views_takes_the_strided_path():
    rng = np.random.default_rng(2)
    x = sample(rng, (6, 8), F64)
    pieces = [x[:, :3], x.T[:2].T, np.broadcast_to(x[:, :1], (6, 2))]  # none contiguous
    want = np.concatenate(pieces, 1)
    np.testing.assert_array_equal(cat_into(pieces, 1, False, np.empty(want.shape)), want)


def test_concat_validates():
    x, out = np.ones(12), np.zeros(12)
    p, po = ffi.from_buffer(x), ffi.from_buffer(out)
    sizes = ffi.new("int64_t[]", [2, 4])
    pieces = [p, p]
    assert lib.mg_concat(8, 2, 2, sizes, pieces, 6, po) == lib.MG_OK
    np.testing.assert_array_equal(out, 1.0)
    assert lib.mg_concat(3, 2, 2, sizes, pieces, 6, po) == lib.MG_ERR_DTYPE
    assert lib.mg_concat(8, 2, 2, sizes, pieces, 5, po) == lib.MG_ERR_SIZE  # sizes disagree
    assert lib.mg_concat(8, 2, 2, sizes, pieces, 7, po) == lib.MG_ERR_SIZE
    assert lib.mg_concat(8, -1, 2, sizes, pieces, 6, po) == lib.MG_ERR_SIZE
    assert lib.mg_concat(8, 2, 0, sizes, pieces, 6, po) == lib.MG_ERR_SIZE
    assert lib.mg_concat(8, 2, 2, ffi.new("int64_t[]", [-2, 8]), pieces, 6, po) \
        == lib.MG_ERR_SIZE
    assert lib.mg_concat(8, 2 ** 40, 2, sizes, pieces, 6 * 2 ** 30, po) == lib.MG_ERR_SIZE
    assert lib.mg_concat(8, 2, 2, ffi.NULL, pieces, 6, po) == lib.MG_ERR_NULL
    assert lib.mg_concat(8, 2, 2, sizes, [p, ffi.NULL], 6, po) == lib.MG_ERR_NULL
    assert lib.mg_concat(8, 2, 2, sizes, pieces, 6, ffi.NULL) == lib.MG_ERR_NULL
    assert lib.mg_concat(8, 0, 2, sizes, [ffi.NULL, ffi.NULL], 6, ffi.NULL) == lib.MG_OK


def test_c_entry_points_validate():
    x = np.ones(4)
    p = ffi.from_buffer(x)
    shape = ffi.new("int64_t[]", [4])
    one = ffi.new("int64_t[]", [1])
    assert lib.mg_fill(7, 4, 1.0, p) == lib.MG_ERR_DTYPE
    assert lib.mg_fill(lib.MG_FLOAT64, -1, 1.0, p) == lib.MG_ERR_SIZE
    assert lib.mg_fill(lib.MG_FLOAT64, 4, 1.0, ffi.NULL) == lib.MG_ERR_NULL
    assert lib.mg_fill(lib.MG_FLOAT64, 0, 1.0, ffi.NULL) == lib.MG_OK
    assert lib.mg_copy_strided(3, 1, shape, p, one, p, one) == lib.MG_ERR_DTYPE
    assert lib.mg_copy_strided(8, 17, ffi.new("int64_t[]", [1] * 17), p, one, p, one) \
        == lib.MG_ERR_SIZE
    assert lib.mg_copy_strided(8, -1, shape, p, one, p, one) == lib.MG_ERR_SIZE
    assert lib.mg_copy_strided(8, 1, ffi.new("int64_t[]", [-4]), p, one, p, one) \
        == lib.MG_ERR_SIZE
    assert lib.mg_copy_strided(8, 1, shape, ffi.NULL, one, p, one) == lib.MG_ERR_NULL
    assert lib.mg_copy_strided(8, 1, shape, p, ffi.NULL, p, one) == lib.MG_ERR_NULL
    assert lib.mg_copy_strided(8, 0, ffi.NULL, p, ffi.NULL, p, ffi.NULL) == lib.MG_OK
    assert lib.mg_cast(lib.MG_FLOAT64, 5, 4, p, p) == lib.MG_ERR_DTYPE
    assert lib.mg_cast(-1, lib.MG_FLOAT64, 4, p, p) == lib.MG_ERR_DTYPE
    assert lib.mg_cast(lib.MG_FLOAT64, lib.MG_FLOAT32, -4, p, p) == lib.MG_ERR_SIZE
    assert lib.mg_cast(lib.MG_FLOAT64, lib.MG_FLOAT32, 4, p, ffi.NULL) == lib.MG_ERR_NULL
