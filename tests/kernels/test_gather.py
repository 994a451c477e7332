"""gather (index_select) and scatter_add against numpy's take and add.at: every
axis, index arrays of any shape with negative and repeated indices,
non-contiguous inputs, the adjoint identity, determinism, and bad arguments."""
import zlib

import numpy as np
import pytest

import minigrad
from minigrad._native import ffi, lib
from minigrad.backend.cpu import gather, scatter_add


# ---- helpers ----------------------------------------------------------------

SRC_SHAPES = [(1,), (5,), (4, 3), (2, 3, 4), (3, 0, 2), (0, 4)]
IDX_SHAPES = [(), (0,), (1,), (6,), (2, 3)]
ALL_DTYPES = [np.float32, np.float64, np.int64]


def seed_of(*parts):
    return zlib.crc32(repr(parts).encode())


def make(rng, shape, dtype, layout="contiguous"):
    def draw(s):
        if np.dtype(dtype) == np.int64:
            return rng.integers(-10**12, 10**12, s).astype(np.int64)
        return rng.standard_normal(s).astype(dtype)
    if layout == "contiguous" or len(shape) == 0:
        return draw(shape)
    if layout == "transposed":
        return np.ascontiguousarray(draw(shape[::-1])).T
    return draw(shape)[::-1]  # reversed: a negative stride


def indices(rng, shape, n, layout="contiguous"):
    """int64 indices in [-n, n) with repeats; a non-contiguous view if asked."""
    if n == 0:
        return np.zeros(shape, np.int64) if 0 in shape else None
    idx = rng.integers(-n, n, shape).astype(np.int64)
    if layout != "contiguous" and idx.ndim:
        idx = np.repeat(idx, 2, axis=-1)[..., ::2]  # same values, stride 2
    return idx


def add_at_oracle(dst, idx, src, axis):
    out = dst.astype(np.float64)
    np.add.at(out, (slice(None),) * axis + (idx,), src.astype(np.float64))
    return out


# ---- gather --------------------------------------------------------------------

@pytest.mark.parametrize("src_shape", SRC_SHAPES, ids=str)
@pytest.mark.parametrize("idx_shape", IDX_SHAPES, ids=str)
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=["f32", "f64", "i64"])
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "reversed"])
def test_gather_matches_take(threads, src_shape, idx_shape, dtype, layout):
    rng = np.random.default_rng(seed_of(src_shape, idx_shape, layout))
    src = make(rng, src_shape, dtype, layout)
    for axis in list(range(len(src_shape))) + [-1]:
        idx = indices(rng, idx_shape, src.shape[axis], layout)
        if idx is None:
            continue  # no index is valid on an empty axis
        got = gather(src, idx, axis)
        want = np.take(src, idx, axis=axis)
        assert got.dtype == src.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)


def test_gather_big_rows_in_parallel(threads, dtype):
    rng = np.random.default_rng(3)
    src = rng.standard_normal((1000, 64)).astype(dtype)
    idx = rng.integers(-1000, 1000, 3000)
    np.testing.assert_array_equal(gather(src, idx, 0), src[idx])
    col = np.ascontiguousarray(src[:, 0])
    np.testing.assert_array_equal(gather(col, idx, 0), col[idx])


# ---- scatter_add ------------------------------------------------------------------

@pytest.mark.parametrize("dst_shape", [(5,), (4, 3), (2, 3, 4), (3, 1, 2)], ids=str)
@pytest.mark.parametrize("idx_shape", IDX_SHAPES, ids=str)
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_scatter_add_matches_add_at(threads, dtype, dst_shape, idx_shape, layout):
    rng = np.random.default_rng(seed_of(dst_shape, idx_shape, layout, "scatter"))
    for axis in list(range(len(dst_shape))) + [-1]:
        ax = axis % len(dst_shape)
        dst = make(rng, dst_shape, dtype)
        idx = indices(rng, idx_shape, dst_shape[ax], layout)
        src = make(rng, dst_shape[:ax] + idx.shape + dst_shape[ax + 1:], dtype, layout)
        want = add_at_oracle(dst, idx, src, ax)
        out = scatter_add(dst, idx, src, axis)
        assert out is dst
        rtol = 1e-6 if dtype == np.float32 else 1e-14
        np.testing.assert_allclose(dst, want, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("inner", [1, 3, 700], ids=lambda i: f"inner{i}")
def test_scatter_add_big_in_parallel(threads, dtype, inner):
    """Enough work to be split across threads: per outer index (inner == 1)
    or per tile of columns (700 columns: tiles of 256 and a partial one)."""
    rng = np.random.default_rng(inner)
    idx = rng.integers(-50, 50, 40_000 // inner + 1)
    dst = rng.standard_normal((3, 50, inner)).astype(dtype)
    src = rng.standard_normal((3, idx.size, inner)).astype(dtype)
    want = add_at_oracle(dst, idx, src, 1)
    scatter_add(dst, idx, src, 1)
    # about 800 additions into each row, in T: allow for their rounding
    tol = 1e-3 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(dst, want, rtol=tol, atol=tol)


def test_repeated_indices_accumulate(dtype):
    dst = np.zeros((4, 2), dtype)
    idx = np.array([1, 1, 1, -1, 3], np.int64)  # -1 is row 3
    scatter_add(dst, idx, np.ones((5, 2), dtype), 0)
    np.testing.assert_array_equal(dst, [[0, 0], [3, 3], [0, 0], [2, 2]])


def test_gather_scatter_round_trip_and_adjoint(dtype):
    """scatter_add is gather's adjoint: <gather(x, i), g> == <x, scatter_add(0, i, g)>;
    and scattering ones counts how often each row was picked."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 6))
    idx = rng.integers(-6, 6, (4, 3))       # gather along axis 1: (5, 4, 3)
    g = rng.standard_normal((5, 4, 3))
    lhs = (gather(x, idx, 1) * g).sum()
    back = scatter_add(np.zeros((5, 6)), idx, g, 1)
    np.testing.assert_allclose(lhs, (x * back).sum(), rtol=1e-12)
    counts = scatter_add(np.zeros(6, dtype), idx, np.ones(idx.shape, dtype), 0)
    np.testing.assert_array_equal(counts, np.bincount(idx.reshape(-1) % 6, minlength=6))


def test_scatter_add_same_result_at_any_thread_count(thread_knobs):
    """Repeated indices under threads: each task walks j in order, so the float
    sums are bit-for-bit the same at 1, 2 and 3 threads."""
    rng = np.random.default_rng(5)
    idx = rng.integers(0, 50, 4000)            # heavy repetition
    src = rng.standard_normal((4000, 300)).astype(np.float32)
    src1 = rng.standard_normal((3, 4000)).astype(np.float32)
    results = []
    for t in (1, 2, 3):
        minigrad.set_num_threads(t)
        results.append((scatter_add(np.zeros((50, 300), np.float32), idx, src, 0),
                        scatter_add(np.zeros((3, 50), np.float32), idx, src1, 1)))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert a.tobytes() == b.tobytes()
    np.testing.assert_allclose(results[0][0], add_at_oracle(np.zeros((50, 300)), idx, src, 0),
                               rtol=1e-5, atol=1e-4)


# ---- out-of-range indices: an error, and nothing written ---------------------------------

@pytest.mark.parametrize("bad", [4, -5, 2**40, -2**62])
def test_out_of_range_index_raises_before_writing(bad):
    src = np.arange(12.0).reshape(3, 4)
    with pytest.raises(IndexError, match=r"axis 1 of size 4.*\[-4, 4\)"):
        gather(src, np.array([0, 1, bad], np.int64), 1)
    dst = np.zeros((3, 4))
    with pytest.raises(IndexError, match="size 4"):
        scatter_add(dst, np.array([0, bad, 1], np.int64), np.ones((3, 3)), 1)
    assert not dst.any()  # the valid indices before the bad one were not applied
    with pytest.raises(IndexError):
        gather(np.zeros((2, 0)), np.array([0], np.int64), 1)  # nothing is valid on an empty axis


def test_c_gather_leaves_output_untouched_on_bad_index():
    src = ffi.new("double[4]", [1, 2, 3, 4])
    out = ffi.new("double[3]", [7, 7, 7])
    idx = ffi.new("int64_t[3]", [0, 1, 9])
    assert lib.mg_gather(lib.MG_FLOAT64, 1, 4, 1, idx, 3, src, out) == lib.MG_ERR_INDEX
    assert list(out) == [7, 7, 7]


# ---- bad arguments ---------------------------------------------------------------------

def test_bad_arguments():
    src = np.ones((3, 4), np.float32)
    idx = np.array([0, 1], np.int64)
    with pytest.raises(TypeError, match="int64"):
        gather(src, idx.astype(np.int32), 0)
    with pytest.raises(TypeError, match="int64"):
        gather(src, [0, 1], 0)
    with pytest.raises(TypeError, match="float16"):
        gather(src.astype(np.float16), idx, 0)
    with pytest.raises(ValueError, match="0-d"):
        gather(np.float32(1.0) * np.ones((), np.float32), idx, 0)
    with pytest.raises(IndexError, match=r"\(3, 4\)"):
        gather(src, idx, 2)
    with pytest.raises(TypeError, match="int64"):  # scatter_add adds: floats only
        scatter_add(np.zeros((3, 4), np.int64), idx, np.ones((2, 4), np.int64), 0)
    with pytest.raises(ValueError, match="C-contiguous"):
        scatter_add(np.zeros((4, 3), np.float32).T, idx, np.ones((2, 4), np.float32), 0)
    readonly = np.zeros((3, 4), np.float32)
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        scatter_add(readonly, idx, np.ones((2, 4), np.float32), 0)
    with pytest.raises(ValueError, match=r"expected \(2, 4\)"):
        scatter_add(np.zeros((3, 4), np.float32), idx, np.ones((2, 3), np.float32), 0)
    with pytest.raises(TypeError, match="dtype"):
        scatter_add(np.zeros((3, 4), np.float32), idx, np.ones((2, 4), np.float64), 0)
    with pytest.raises(IndexError):
        scatter_add(np.zeros((3, 4), np.float32), idx, np.ones((2, 4), np.float32), -3)


def test_c_entry_points_validate():
    buf = ffi.new("float[8]")
    idx = ffi.new("int64_t[2]", [0, 1])
    f32 = lib.MG_FLOAT32
    assert lib.mg_gather(5, 1, 2, 2, idx, 2, buf, buf) == lib.MG_ERR_DTYPE
    assert lib.mg_gather(f32, -1, 2, 2, idx, 2, buf, buf) == lib.MG_ERR_SIZE
    assert lib.mg_gather(f32, 1, 2, 2, idx, -2, buf, buf) == lib.MG_ERR_SIZE
    assert lib.mg_gather(f32, 1, 2, 2, ffi.NULL, 2, buf, buf) == lib.MG_ERR_NULL
    assert lib.mg_gather(f32, 1, 2, 2, idx, 2, ffi.NULL, buf) == lib.MG_ERR_NULL
    assert lib.mg_gather(f32, 1, 2, 2, ffi.NULL, 0, ffi.NULL, ffi.NULL) == lib.MG_OK
    assert lib.mg_scatter_add(lib.MG_INT64, 1, 2, 2, idx, 2, buf, buf) == lib.MG_ERR_DTYPE
    assert lib.mg_scatter_add(f32, 1, -2, 2, idx, 2, buf, buf) == lib.MG_ERR_SIZE
    assert lib.mg_scatter_add(f32, 1, 1, 2, idx, 2, buf, buf) == lib.MG_ERR_INDEX  # idx 1 >= 1
    assert lib.mg_scatter_add(f32, 1, 2, 2, idx, 2, buf, ffi.NULL) == lib.MG_ERR_NULL
