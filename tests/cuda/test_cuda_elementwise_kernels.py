"""The CUDA elementwise, copy, gather and random kernels (csrc/cuda/elementwise.cu,
copy.cu, gather.cu, random.cu) against the CPU kernels of the same name.

Each test runs the same call through ``lib.mg_X`` on host buffers and through
``lib.mg_cuda_X`` on device buffers and compares: bit for bit where both sides
do IEEE-exact work (add, sqrt, comparisons, where, clamp, copies, casts, gather,
uniform and bernoulli draws), within a few ulp where the math library differs
(exp, log, tanh, sigmoid, pow, the normal draw's log/sin/cos, fused
multiply-adds, atomicAdd ordering in scatter_add).  Shape grids include sizes
0 and 1, broadcasting, transposed and reversed (negative-stride) views, int64
ops; bad arguments must give the CPU's status codes.

Runs only on a build with MINIGRAD_CUDA=1 and a visible GPU; skipped otherwise
(MINIGRAD_REQUIRE_CUDA=1 turns the skip into a failure, for the GPU machine).
"""
import threading

import numpy as np
import pytest

from minigrad._native import ffi, lib

from cuda_kernel_helpers import (ALL, CODE, F32, FLOATS, I64, OK, cuda_ok, from_device, gpu,
                                 require_cuda, seed_of)  # noqa: F401  (gpu: a fixture)

pytestmark = pytest.mark.cuda

require_cuda()


def host(arr):
    """Host pointer to element [0, ..., 0] of any array (views included)."""
    return ffi.cast("void *", arr.__array_interface__["data"][0])


def estrides(arr):
    return ffi.new("int64_t[]", [s // arr.itemsize for s in arr.strides] or [0])


def shape_arg(shape):
    return ffi.new("int64_t[]", list(shape) or [0])


# ---- data ------------------------------------------------------------------------------

SPECIALS = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 2.0]


def draw(rng, shape, dtype):
    """Normal floats with some NaN/inf/0 sprinkled in; small int64 values (so that
    comparisons hit equality) with a few huge ones (so that add/mul wrap)."""
    size = int(np.prod(shape, dtype=np.int64))
    if np.dtype(dtype) == I64:
        flat = rng.integers(-4, 5, size).astype(np.int64)
        if size >= 3:
            flat[rng.integers(0, size, max(1, size // 7))] = 2**62 + 12345
            flat[rng.integers(0, size, max(1, size // 11))] = -(2**63)
    else:
        flat = (rng.standard_normal(size) * 3).astype(dtype)
        if size >= 4:
            picks = rng.integers(0, size, max(1, size // 5))
            flat[picks] = rng.choice(np.array(SPECIALS, dtype), picks.size)
    return flat.reshape(shape)


def make_view(rng, shape, dtype, layout):
    """(base, view): `base` is a contiguous array (what gets uploaded), `view` a view
    of it with `shape`: the base itself, a transpose, or reversed along every axis."""
    shape = tuple(shape)
    if layout == "transposed" and len(shape) >= 2:
        base = draw(rng, shape[::-1], dtype)
        return base, base.T
    base = draw(rng, shape, dtype)
    if layout == "reversed" and len(shape) >= 1:
        return base, base[(slice(None, None, -1),) * len(shape)]
    return base, base


def assert_same(got, want, dtype, exact=True, rtol=None, atol=0.0):
    """Bit-exact (NaN == NaN) or within rtol; NaN positions must agree either way."""
    if exact:
        np.testing.assert_array_equal(got, want)
        return
    if rtol is None:
        rtol = 2e-6 if np.dtype(dtype) == F32 else 1e-14
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)


LAYOUTS = ["contiguous", "transposed", "reversed"]


# ---- unary -----------------------------------------------------------------------------

UNARY_OPS = {name: getattr(lib, "MG_" + name) for name in
             ["NEG", "ABS", "EXP", "LOG", "SQRT", "TANH", "SIGMOID", "RELU", "SQUARE",
              "RECIPROCAL", "SIGN"]}
LIBM_UNARY = {"EXP", "LOG", "TANH", "SIGMOID"}  # CUDA's libdevice vs vecmath.h/glibc
READS_Y = {"EXP", "SQRT", "TANH", "SIGMOID"}


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("n", [0, 1, 7, 1000, 70001])
def test_unary_matches_cpu(gpu, dtype, n):
    rng = np.random.default_rng(n)
    x = draw(rng, (n,), dtype)
    if n >= 8:  # far outside exp's range: tanh/sigmoid must saturate, not overflow to NaN
        x[:8] = np.array([-1000, 1000, -100, 100, -30, 30, 1e-30, -1e-30], dtype)
    dx = gpu.put(x)
    dy = gpu.empty((n,), dtype)
    for name, op in UNARY_OPS.items():
        want = np.empty(n, dtype)
        assert lib.mg_unary(CODE[dtype], op, n, host(x), host(want)) == OK
        cuda_ok(lib.mg_cuda_unary(CODE[dtype], op, n, dx, dy), name)
        got = from_device(dy, (n,), dtype)
        tiny = np.finfo(dtype).tiny
        assert_same(got, want, dtype, exact=name not in LIBM_UNARY, atol=4 * tiny)
        if name in ("TANH", "SIGMOID"):
            assert not np.isnan(got[~np.isnan(x)]).any(), name


def test_unary_in_place(gpu):
    x = np.linspace(-3, 3, 101).astype(np.float32)
    dx = gpu.put(x)
    cuda_ok(lib.mg_cuda_unary(lib.MG_FLOAT32, lib.MG_SQUARE, x.size, dx, dx))
    np.testing.assert_array_equal(from_device(dx, x.shape, x.dtype), x * x)


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("n", [0, 1, 1000, 65537])
def test_unary_backward_matches_cpu(gpu, dtype, n):
    rng = np.random.default_rng(n + 1)
    x = draw(rng, (n,), dtype)
    if n >= 4:
        x[:4] = 0  # relu'(0) = abs'(0) = 0
    gy = draw(rng, (n,), dtype)
    dx, dgy, dgx = gpu.put(x), gpu.put(gy), gpu.empty((n,), dtype)
    eps = np.finfo(dtype).eps
    for name, op in UNARY_OPS.items():
        y = np.empty(n, dtype)
        assert lib.mg_unary(CODE[dtype], op, n, host(x), host(y)) == OK
        dy = gpu.put(y)  # the CPU's forward output, so only the backward is compared
        want = np.empty(n, dtype)
        # the pointer the op does not read is NULL on both sides
        hx, hy = (ffi.NULL, host(y)) if name in READS_Y else (host(x), ffi.NULL)
        dxp, dyp = (ffi.NULL, dy) if name in READS_Y else (dx, ffi.NULL)
        if name == "NEG":
            hx = hy = dxp = dyp = ffi.NULL
        assert lib.mg_unary_backward(CODE[dtype], op, n, hx, hy, host(gy), host(want)) == OK
        cuda_ok(lib.mg_cuda_unary_backward(CODE[dtype], op, n, dxp, dyp, dgy, dgx), name)
        got = from_device(dgx, (n,), dtype)
        # nvcc may fuse g * (1 - y*y) into an FMA: a difference of an ulp of |g|
        atol = 4 * eps * np.nan_to_num(np.abs(gy), posinf=0).astype(dtype)
        with np.errstate(invalid="ignore"):
            close = (got == want) | (np.isnan(got) & np.isnan(want)) | \
                (np.abs(got - want) <= atol + 4 * eps * np.abs(want))
        assert close.all(), (name, x[~close][:5], got[~close][:5], want[~close][:5])


# ---- binary --------------------------------------------------------------------------------

BINARY_OPS = {name: getattr(lib, "MG_" + name) for name in
              ["ADD", "SUB", "MUL", "DIV", "POW", "MAXIMUM", "MINIMUM",
               "EQ", "NE", "LT", "LE", "GT", "GE"]}
INT_BINARY = [k for k in BINARY_OPS if k not in ("DIV", "POW")]
BROADCAST = [((), ()), ((0,), (0,)), ((1,), (1,)), ((5,), ()), ((), (5,)),
             ((4, 3), (3,)), ((4, 1), (1, 3)), ((2, 3, 4), (2, 1, 4)), ((3, 0, 2), (1, 2)),
             ((2, 1, 3, 1), (4, 1, 1)), ((33, 65), (33, 65)), ((1, 1, 7), (7, 1, 1))]
NUMPY_BINARY = {"ADD": np.add, "SUB": np.subtract, "MUL": np.multiply,
                "MAXIMUM": np.maximum, "MINIMUM": np.minimum, "EQ": np.equal,
                "NE": np.not_equal, "LT": np.less, "LE": np.less_equal,
                "GT": np.greater, "GE": np.greater_equal}


@pytest.mark.parametrize("dtype", ALL, ids=str)
@pytest.mark.parametrize("shapes", BROADCAST, ids=str)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_binary_matches_cpu(gpu, dtype, shapes, layout):
    rng = np.random.default_rng(seed_of(dtype, shapes, layout))
    base_a, a = make_view(rng, shapes[0], dtype, layout)
    base_b, b = make_view(rng, shapes[1], dtype, "contiguous" if layout == "transposed"
                          else layout)
    out_shape = np.broadcast_shapes(a.shape, b.shape)
    ab, bb = np.broadcast_to(a, out_shape), np.broadcast_to(b, out_shape)
    da = gpu.view(gpu.put(base_a), base_a, a)
    db = gpu.view(gpu.put(base_b), base_b, b)
    dout = gpu.empty(out_shape, dtype)
    nd, shape = len(out_shape), shape_arg(out_shape)
    sa, sb = estrides(ab), estrides(bb)
    for name in (INT_BINARY if dtype == I64 else BINARY_OPS):
        op = BINARY_OPS[name]
        want = np.empty(out_shape, dtype)
        assert lib.mg_binary(CODE[dtype], op, nd, shape, host(a), sa, host(b), sb,
                             host(want)) == OK
        cuda_ok(lib.mg_cuda_binary(CODE[dtype], op, nd, shape, da, sa, db, sb, dout), name)
        got = from_device(dout, out_shape, dtype)
        assert_same(got, want, dtype, exact=name != "POW", rtol=1e-5 if dtype == F32 else None)
        if name in NUMPY_BINARY and dtype != I64:  # and numpy agrees (outside the NaN cases)
            with np.errstate(all="ignore"):
                ref = NUMPY_BINARY[name](a, b).astype(dtype)
            np.testing.assert_array_equal(got, ref)


def test_int64_wraps_like_the_cpu(gpu):
    a = np.array([2**62, -(2**63), 2**63 - 1, 3], np.int64)
    b = np.array([2**62, -1, 1, -(2**63)], np.int64)
    da, db, dout = gpu.put(a), gpu.put(b), gpu.empty(4, np.int64)
    one = ffi.new("int64_t[1]", [1])
    for name in ("ADD", "SUB", "MUL"):
        cuda_ok(lib.mg_cuda_binary(lib.MG_INT64, BINARY_OPS[name], 1, ffi.new("int64_t[1]", [4]),
                                   da, one, db, one, dout))
        with np.errstate(over="ignore"):
            want = NUMPY_BINARY[name](a, b)  # numpy wraps int64 too
        np.testing.assert_array_equal(from_device(dout, 4, np.int64), want)


@pytest.mark.parametrize("dtype", ALL, ids=str)
@pytest.mark.parametrize("n", [0, 1, 9, 4099])
def test_binary_scalar_matches_cpu(gpu, dtype, n):
    rng = np.random.default_rng(n + 7)
    a = draw(rng, (n,), dtype)
    da, dout = gpu.put(a), gpu.empty((n,), dtype)
    scalars = [3.0, -2.0, 0.0] if dtype == I64 else [2.0, 0.5, -1.5, 0.1, np.nan, np.inf, 1e300]
    for name in (INT_BINARY if dtype == I64 else BINARY_OPS):
        for s in scalars:
            for first in (0, 1):
                want = np.empty(n, dtype)
                assert lib.mg_binary_scalar(CODE[dtype], BINARY_OPS[name], n, host(a), s, first,
                                            host(want)) == OK
                cuda_ok(lib.mg_cuda_binary_scalar(CODE[dtype], BINARY_OPS[name], n, da, s,
                                                  first, dout), name)
                assert_same(from_device(dout, (n,), dtype), want, dtype, exact=name != "POW",
                            rtol=1e-5 if dtype == F32 else None)


# ---- where, clamp ----------------------------------------------------------------------

WHERE = [((), (), ()), ((0, 3), (3,), (1, 3)), ((4, 3), (3,), (4, 1)), ((2, 3, 4),) * 3,
         ((5,), (), (5,)), ((2, 1, 6), (1, 4, 1), (6,)), ((1,), (1,), (1,))]


@pytest.mark.parametrize("dtype", ALL, ids=str)
@pytest.mark.parametrize("shapes", WHERE, ids=str)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_where_matches_cpu(gpu, dtype, shapes, layout):
    rng = np.random.default_rng(seed_of(dtype, shapes, layout))
    views = [make_view(rng, s, dtype, layout) for s in shapes]
    base_c, c = views[0]
    if c.size:  # zeros and NaN in the condition (NaN != 0 counts as true)
        base_c[...] = rng.choice(np.array([0, 1, -3] + ([np.nan] if dtype != I64 else [5]),
                                          dtype), base_c.shape)
    out_shape = np.broadcast_shapes(*(v.shape for _, v in views))
    args_h, args_d = [], []
    for base, v in views:
        strides = estrides(np.broadcast_to(v, out_shape))
        args_h += [host(v), strides]
        args_d += [gpu.view(gpu.put(base), base, v), strides]
    want = np.empty(out_shape, dtype)
    dout = gpu.empty(out_shape, dtype)
    nd, shape = len(out_shape), shape_arg(out_shape)
    assert lib.mg_where(CODE[dtype], nd, shape, *args_h, host(want)) == OK
    cuda_ok(lib.mg_cuda_where(CODE[dtype], nd, shape, *args_d, dout))
    np.testing.assert_array_equal(from_device(dout, out_shape, dtype), want)


CLAMP_BOUNDS = [(-1.0, 1.0), (-np.inf, 0.5), (0.5, np.inf), (2.0, -2.0), (np.nan, 1.0),
                (-1.0, np.nan), (-0.5, 1.5), (-1e300, 1e300), (1.0, 1.0)]


@pytest.mark.parametrize("dtype", ALL, ids=str)
@pytest.mark.parametrize("n", [0, 1, 1001])
def test_clamp_matches_cpu(gpu, dtype, n):
    rng = np.random.default_rng(n + 3)
    x, gy = draw(rng, (n,), dtype), draw(rng, (n,), dtype)
    if dtype != I64 and n > 4:
        x[:4] = [-1.0, 1.0, 0.5, -0.5]  # exactly on a bound: the gradient passes
    dx, dgy, dout = gpu.put(x), gpu.put(gy), gpu.empty((n,), dtype)
    for lo, hi in CLAMP_BOUNDS:
        nan_bound = np.isnan(lo) or np.isnan(hi)
        want = np.empty(n, dtype)
        status = lib.mg_clamp(CODE[dtype], n, host(x), lo, hi, host(want))
        assert lib.mg_cuda_clamp(CODE[dtype], n, dx, lo, hi, dout) == status
        if status != OK:
            assert dtype == I64 and nan_bound and status == lib.MG_ERR_OP
            continue
        np.testing.assert_array_equal(from_device(dout, (n,), dtype), want)
        if dtype == I64:
            continue
        assert lib.mg_clamp_backward(CODE[dtype], n, host(x), lo, hi, host(gy),
                                     host(want)) == OK
        cuda_ok(lib.mg_cuda_clamp_backward(CODE[dtype], n, dx, lo, hi, dgy, dout))
        np.testing.assert_array_equal(from_device(dout, (n,), dtype), want)


# ---- fill, copy_strided, cast -----------------------------------------------------------

@pytest.mark.parametrize("dtype", ALL, ids=str)
def test_fill_matches_cpu(gpu, dtype):
    n = 1037
    dout = gpu.empty(n, dtype)
    for value in [0.0, -2.5, 1e300, -np.inf, np.nan, 3.0e19, -7.0]:
        want = np.empty(n, dtype)
        assert lib.mg_fill(CODE[dtype], n, value, host(want)) == OK
        cuda_ok(lib.mg_cuda_fill(CODE[dtype], n, value, dout))
        np.testing.assert_array_equal(from_device(dout, n, dtype), want)
    cuda_ok(lib.mg_cuda_fill(CODE[dtype], 0, 1.0, ffi.NULL))


def test_grid_stride_loops_cover_every_element(gpu):
    """More elements than one grid of mg_cuda_blocks' largest size (65535 * 8 blocks
    of 256): every thread loops; the tail must be written too."""
    n = 65535 * 8 * 256 + 1000
    p = ffi.new("void **")
    cuda_ok(lib.mg_cuda_malloc(n * 4, p))
    gpu.ptrs.append(p[0])
    cuda_ok(lib.mg_cuda_fill(lib.MG_FLOAT32, n, 1.5, p[0]))
    cuda_ok(lib.mg_cuda_unary(lib.MG_FLOAT32, lib.MG_NEG, n, p[0], p[0]))
    tail = from_device(ffi.cast("char *", p[0]) + (n - 5000) * 4, 5000, np.float32)
    head = from_device(p[0], 5000, np.float32)
    assert (tail == -1.5).all() and (head == -1.5).all()


COPY_SHAPES = [(), (0,), (1,), (7,), (4, 3), (2, 3, 4), (3, 1, 5, 2), (0, 5)]


@pytest.mark.parametrize("dtype", ALL, ids=str)
@pytest.mark.parametrize("shape", COPY_SHAPES, ids=str)
@pytest.mark.parametrize("src_layout", LAYOUTS)
@pytest.mark.parametrize("dst_layout", LAYOUTS)
def test_copy_strided_matches_cpu(gpu, dtype, shape, src_layout, dst_layout):
    """Copy a view into a view of a sentinel-filled buffer; the whole buffer must
    come out as the CPU's (nothing written outside the destination view)."""
    rng = np.random.default_rng(seed_of(dtype, shape, src_layout, dst_layout))
    base_s, s = make_view(rng, shape, dtype, src_layout)
    base_d, d = make_view(rng, shape, dtype, dst_layout)
    base_d[...] = 77
    dbase_d = gpu.put(base_d)
    ds, dd = gpu.view(gpu.put(base_s), base_s, s), gpu.view(dbase_d, base_d, d)
    nd, shp = len(shape), shape_arg(shape)
    ss, sd = estrides(s), estrides(d)
    assert lib.mg_copy_strided(dtype.itemsize, nd, shp, host(s), ss, host(d), sd) == OK
    cuda_ok(lib.mg_cuda_copy_strided(dtype.itemsize, nd, shp, ds, ss, dd, sd))
    np.testing.assert_array_equal(from_device(dbase_d, base_d.shape, dtype), base_d)


def test_copy_strided_zero_dims_reads_no_strides(gpu):
    src, dst = gpu.put(np.array([4.25])), gpu.empty(1, np.float64, fill=0)
    cuda_ok(lib.mg_cuda_copy_strided(8, 0, ffi.NULL, src, ffi.NULL, dst, ffi.NULL))
    assert from_device(dst, 1, np.float64)[0] == 4.25


CAST_VALUES = [0.0, -0.0, 1.5, -1.5, 2.5, -7.9, np.nan, np.inf, -np.inf, 1e30, -1e30,
               9.2e18, -9.3e18, 16777217.0, 1e-45, 3.4e38, 1e300]


@pytest.mark.parametrize("src_dtype", ALL, ids=str)
@pytest.mark.parametrize("dst_dtype", ALL, ids=str)
def test_cast_matches_cpu(gpu, src_dtype, dst_dtype):
    if src_dtype == I64:
        src = np.array([0, -1, 2**53 + 1, 2**63 - 1, -(2**63), 16777217, 12345678901], np.int64)
    else:
        with np.errstate(over="ignore"):
            src = np.array(CAST_VALUES, np.float64).astype(src_dtype)
    n = src.size
    dsrc, ddst = gpu.put(src), gpu.empty(n, dst_dtype)
    want = np.empty(n, dst_dtype)
    assert lib.mg_cast(CODE[src_dtype], CODE[dst_dtype], n, host(src), host(want)) == OK
    cuda_ok(lib.mg_cuda_cast(CODE[src_dtype], CODE[dst_dtype], n, dsrc, ddst))
    np.testing.assert_array_equal(from_device(ddst, n, dst_dtype), want)
    # in place (same dtype) is a no-op
    cuda_ok(lib.mg_cuda_cast(CODE[src_dtype], CODE[src_dtype], n, dsrc, dsrc))
    np.testing.assert_array_equal(from_device(dsrc, n, src_dtype), src)


# ---- gather, scatter_add -----------------------------------------------------------------

GATHER = [(1, 5, 1, [0, -1, 4, 2, 2]), (3, 4, 6, [3, -4, 0, 0]), (2, 1, 3, [0, -1]),
          (0, 4, 3, [1, 2]), (2, 3, 0, [1]), (2, 3, 4, []), (4, 1000, 257, [999, -1000, 5] * 11)]


@pytest.mark.parametrize("dtype", ALL, ids=str)
@pytest.mark.parametrize("case", GATHER, ids=str)
def test_gather_matches_cpu(gpu, dtype, case):
    outer, n, inner, idx = case
    rng = np.random.default_rng(len(idx) + n)
    src = draw(rng, (outer, n, inner), dtype)
    idx = np.array(idx, np.int64)
    out_shape = (outer, idx.size, inner)
    dsrc, didx, dout = gpu.put(src), gpu.put(idx), gpu.empty(out_shape, dtype)
    want = np.empty(out_shape, dtype)
    assert lib.mg_gather(CODE[dtype], outer, n, inner, host(idx), idx.size, host(src),
                         host(want)) == OK
    cuda_ok(lib.mg_cuda_gather(CODE[dtype], outer, n, inner, didx, idx.size, dsrc, dout))
    np.testing.assert_array_equal(from_device(dout, out_shape, dtype), want)
    np.testing.assert_array_equal(want, np.take(src, idx, axis=1))


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("case", GATHER, ids=str)
def test_scatter_add_matches_cpu(gpu, dtype, case):
    outer, n, inner, idx = case
    rng = np.random.default_rng(len(idx) + n + 1)
    idx = np.array(idx, np.int64)
    dst = draw(rng, (outer, n, inner), dtype)
    dst[~np.isfinite(dst)] = 1.0  # sums of inf and -inf would be NaN in any order
    src = rng.standard_normal((outer, idx.size, inner)).astype(dtype)
    ddst, didx, dsrc = gpu.put(dst), gpu.put(idx), gpu.put(src)
    want = dst.copy()
    assert lib.mg_scatter_add(CODE[dtype], outer, n, inner, host(idx), idx.size, host(src),
                              host(want)) == OK
    cuda_ok(lib.mg_cuda_scatter_add(CODE[dtype], outer, n, inner, didx, idx.size, dsrc, ddst))
    got = from_device(ddst, dst.shape, dtype)
    # atomicAdd sums repeated indices in no fixed order: rounding differs from the CPU's
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == F32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got, want, **tol)


@pytest.mark.parametrize("bad", [5, -6, 2**62, -(2**63)])
def test_gather_out_of_range_is_an_index_error_and_writes_nothing(gpu, bad):
    src = np.arange(2 * 5 * 3, dtype=np.float32).reshape(2, 5, 3)
    idx = np.array([0, 4, bad, -5], np.int64)
    dsrc, didx = gpu.put(src), gpu.put(idx)
    dout = gpu.empty((2, 4, 3), np.float32, fill=-9)
    assert lib.mg_gather(lib.MG_FLOAT32, 2, 5, 3, host(idx), 4, host(src),
                         host(np.empty((2, 4, 3), np.float32))) == lib.MG_ERR_INDEX
    assert lib.mg_cuda_gather(lib.MG_FLOAT32, 2, 5, 3, didx, 4, dsrc, dout) == lib.MG_ERR_INDEX
    assert (from_device(dout, (2, 4, 3), np.float32) == -9).all()
    ddst = gpu.empty((2, 5, 3), np.float32, fill=1)
    dsrc2 = gpu.empty((2, 4, 3), np.float32, fill=1)
    assert lib.mg_cuda_scatter_add(lib.MG_FLOAT32, 2, 5, 3, didx, 4, dsrc2,
                                   ddst) == lib.MG_ERR_INDEX
    assert (from_device(ddst, (2, 5, 3), np.float32) == 1).all()
    # the flag is cleared between calls: a good call right after succeeds
    good = gpu.put(np.array([1, -1], np.int64))
    cuda_ok(lib.mg_cuda_gather(lib.MG_FLOAT32, 2, 5, 3, good, 2, dsrc, dout))
    # indices are checked even when nothing would be copied (outer == 0), as on the CPU
    assert lib.mg_cuda_gather(lib.MG_FLOAT32, 0, 5, 3, didx, 4, dsrc, dout) == lib.MG_ERR_INDEX
    # any index is out of range of an empty axis
    assert lib.mg_cuda_gather(lib.MG_FLOAT32, 2, 0, 3, good, 2, dsrc, dout) == lib.MG_ERR_INDEX


def test_index_checks_from_several_threads(gpu):
    """Each host thread has its own device flag: concurrent good and bad gathers
    (cffi releases the GIL) each get their own answer."""
    src = np.arange(40, dtype=np.float64).reshape(1, 10, 4)
    dsrc = gpu.put(src)
    good, bad = gpu.put(np.arange(10, dtype=np.int64)), gpu.put(np.array([3, 10], np.int64))
    outs = [gpu.empty((1, 10, 4), np.float64) for _ in range(4)]
    errors = []

    def run(k):
        for _ in range(50):
            if k % 2:
                status = lib.mg_cuda_gather(lib.MG_FLOAT64, 1, 10, 4, bad, 2, dsrc, outs[k])
                want = lib.MG_ERR_INDEX
            else:
                status = lib.mg_cuda_gather(lib.MG_FLOAT64, 1, 10, 4, good, 10, dsrc, outs[k])
                want = OK
            if status != want:
                errors.append((k, status))

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    np.testing.assert_array_equal(from_device(outs[0], (1, 10, 4), np.float64), src)


# ---- random --------------------------------------------------------------------------------

SEEDS = [0, 1, 2**40 + 7, 2**64 - 1]
OFFSETS = [0, 5, 2**32 - 2, 2**64 - 2]  # the last two carry into the high word / wrap


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("offset", OFFSETS)
def test_random_draws_match_cpu(gpu, dtype, seed, offset):
    code = CODE[dtype]
    for n in (0, 1, 3, 4, 5, 11, 1001):
        dout = gpu.empty(n, dtype)
        want = np.empty(n, dtype)
        for low, high in [(0.0, 1.0), (-2.0, 3.0), (2.5, 2.5), (1.0, 1.0 + 1e-7)]:
            assert lib.mg_random_uniform(code, n, seed, offset, low, high, host(want)) == OK
            cuda_ok(lib.mg_cuda_random_uniform(code, n, seed, offset, low, high, dout))
            np.testing.assert_array_equal(from_device(dout, n, dtype), want)
        for p in (0.0, 0.3, 0.5, 1.0):
            assert lib.mg_random_bernoulli(code, n, seed, offset, p, host(want)) == OK
            cuda_ok(lib.mg_cuda_random_bernoulli(code, n, seed, offset, p, dout))
            np.testing.assert_array_equal(from_device(dout, n, dtype), want)
        for mean, std in [(0.0, 1.0), (3.0, 2.0), (1.5, 0.0)]:
            assert lib.mg_random_normal(code, n, seed, offset, mean, std, host(want)) == OK
            cuda_ok(lib.mg_cuda_random_normal(code, n, seed, offset, mean, std, dout))
            tol = dict(rtol=1e-5, atol=1e-5) if dtype == F32 else dict(rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(from_device(dout, n, dtype), want, **tol)


def test_random_large_draw_matches_cpu(gpu):
    n = 300_001
    for dtype in FLOATS:
        dout, want = gpu.empty(n, dtype), np.empty(n, dtype)
        assert lib.mg_random_uniform(CODE[dtype], n, 9, 77, -1.0, 2.0, host(want)) == OK
        cuda_ok(lib.mg_cuda_random_uniform(CODE[dtype], n, 9, 77, -1.0, 2.0, dout))
        np.testing.assert_array_equal(from_device(dout, n, dtype), want)


# ---- bad arguments: the CPU's status codes ------------------------------------------------

def _bad_cases():
    """(name, args) with pointer slots 'X' (a valid 16-element input), 'Y' (a valid
    output), 'I' (int64 indices [0, 1]) or None (NULL); sizes as given."""
    s1, s17 = [2], [1] * 17
    f32, f64, i64 = lib.MG_FLOAT32, lib.MG_FLOAT64, lib.MG_INT64
    neg, relu, tanh = lib.MG_NEG, lib.MG_RELU, lib.MG_TANH
    add, div, pw = lib.MG_ADD, lib.MG_DIV, lib.MG_POW
    return [
        ("unary", (i64, neg, 2, "X", "Y")), ("unary", (7, neg, 2, "X", "Y")),
        ("unary", (f32, 11, 2, "X", "Y")), ("unary", (f32, -1, 2, "X", "Y")),
        ("unary", (f32, neg, -1, "X", "Y")), ("unary", (f32, neg, 2, None, "Y")),
        ("unary", (f32, neg, 0, None, None)),
        ("unary_backward", (f32, relu, 2, None, "X", "X", "Y")),
        ("unary_backward", (f32, tanh, 2, "X", None, "X", "Y")),
        ("unary_backward", (f32, neg, 2, None, None, "X", "Y")),
        ("unary_backward", (f32, neg, 2, None, None, None, "Y")),
        ("unary_backward", (i64, neg, 2, None, None, "X", "Y")),
        ("binary", (i64, div, 1, s1, "X", [1], "X", [1], "Y")),
        ("binary", (i64, pw, 1, s1, "X", [1], "X", [1], "Y")),
        ("binary", (f32, 13, 1, s1, "X", [1], "X", [1], "Y")),
        ("binary", (9, add, 1, s1, "X", [1], "X", [1], "Y")),
        ("binary", (f32, add, 17, s17, "X", [0] * 17, "X", [0] * 17, "Y")),
        ("binary", (f32, add, -1, s1, "X", [1], "X", [1], "Y")),
        ("binary", (f32, add, 1, [-2], "X", [1], "X", [1], "Y")),
        ("binary", (f32, add, 1, None, "X", [1], "X", [1], "Y")),
        ("binary", (f32, add, 1, s1, "X", None, "X", [1], "Y")),
        ("binary", (f32, add, 1, s1, None, [1], "X", [1], "Y")),
        ("binary", (f32, add, 1, s1, "X", [1], "X", [1], None)),
        ("binary", (f32, add, 1, [0], None, None, None, None, None)),
        ("binary", (f32, add, 3, [2**40, 2**40, 2**40], "X", [0] * 3, "X", [0] * 3, "Y")),
        ("binary_scalar", (i64, add, 2, "X", 1.5, 0, "Y")),
        ("binary_scalar", (i64, add, 2, "X", float("nan"), 0, "Y")),
        ("binary_scalar", (i64, add, 2, "X", 2.0**63, 0, "Y")),
        ("binary_scalar", (i64, div, 2, "X", 2.0, 0, "Y")),
        ("binary_scalar", (f32, add, -2, "X", 2.0, 0, "Y")),
        ("binary_scalar", (f32, add, 2, None, 2.0, 0, "Y")),
        ("where", (5, 1, s1, "X", [1], "X", [1], "X", [1], "Y")),
        ("where", (f32, 1, s1, "X", [1], None, [1], "X", [1], "Y")),
        ("where", (f32, 1, s1, "X", [1], "X", [1], "X", None, "Y")),
        ("where", (f32, 1, [-1], "X", [1], "X", [1], "X", [1], "Y")),
        ("clamp", (i64, 2, "X", float("nan"), 1.0, "Y")),
        ("clamp", (3, 2, "X", 0.0, 1.0, "Y")), ("clamp", (f32, -1, "X", 0.0, 1.0, "Y")),
        ("clamp", (f32, 2, "X", 0.0, 1.0, None)),
        ("clamp_backward", (i64, 2, "X", 0.0, 1.0, "X", "Y")),
        ("clamp_backward", (f32, 2, "X", 0.0, 1.0, None, "Y")),
        ("fill", (3, 2, 1.0, "Y")), ("fill", (f32, -2, 1.0, "Y")), ("fill", (f32, 2, 1.0, None)),
        ("copy_strided", (2, 1, s1, "X", [1], "Y", [1])),
        ("copy_strided", (4, 17, s17, "X", [0] * 17, "Y", [0] * 17)),
        ("copy_strided", (4, 1, [-1], "X", [1], "Y", [1])),
        ("copy_strided", (4, 1, s1, "X", None, "Y", [1])),
        ("copy_strided", (4, 1, s1, None, [1], "Y", [1])),
        ("copy_strided", (4, 1, [0], None, None, None, None)),
        ("cast", (f32, 3, 2, "X", "Y")), ("cast", (-1, f32, 2, "X", "Y")),
        ("cast", (f32, f64, -1, "X", "Y")), ("cast", (f32, f64, 2, "X", None)),
        ("gather", (4, 1, 2, 1, "I", 2, "X", "Y")),
        ("gather", (f32, -1, 2, 1, "I", 2, "X", "Y")),
        ("gather", (f32, 1, 2, 1, None, 2, "X", "Y")),
        ("gather", (f32, 1, 2, 1, None, 0, None, None)),
        ("gather", (f32, 1, 2, 1, "I", 2, None, "Y")),
        ("gather", (f32, 1, 1, 1, "I", 2, "X", "Y")),
        ("scatter_add", (i64, 1, 2, 1, "I", 2, "X", "Y")),
        ("scatter_add", (f32, 1, 2, -1, "I", 2, "X", "Y")),
        ("scatter_add", (f32, 1, 2, 1, "I", 2, "X", None)),
        ("scatter_add", (f32, 1, 1, 1, "I", 2, "X", "Y")),
        ("random_uniform", (i64, 2, 0, 0, 0.0, 1.0, "Y")),
        ("random_uniform", (f32, -1, 0, 0, 0.0, 1.0, "Y")),
        ("random_uniform", (f32, 2, 0, 0, 0.0, 1.0, None)),
        ("random_uniform", (f32, 2, 0, 0, 1.0, 0.0, "Y")),
        ("random_uniform", (f32, 2, 0, 0, 0.0, float("inf"), "Y")),
        ("random_uniform", (f32, 2, 0, 0, -1e308, 1e308, "Y")),
        ("random_normal", (f32, 2, 0, 0, 0.0, -1.0, "Y")),
        ("random_normal", (f32, 2, 0, 0, float("nan"), 1.0, "Y")),
        ("random_bernoulli", (f32, 2, 0, 0, 1.5, "Y")),
        ("random_bernoulli", (f32, 2, 0, 0, float("nan"), "Y")),
        ("random_bernoulli", (f32, 0, 0, 0, 0.5, None)),
    ]


BAD_CASES = _bad_cases()


@pytest.mark.parametrize("case", range(len(BAD_CASES)),
                         ids=[f"{i}-{c[0]}" for i, c in enumerate(BAD_CASES)])
def test_bad_arguments_give_the_cpu_status(gpu, case):
    name, args = BAD_CASES[case]
    hx = np.zeros(16, np.float64)
    hy = np.zeros(16, np.float64)
    hi = np.array([0, 1], np.int64)
    dev = {"X": gpu.put(hx), "Y": gpu.put(hy), "I": gpu.put(hi)}
    hst = {"X": host(hx), "Y": host(hy), "I": host(hi)}

    def resolve(table):
        out = []
        for a in args:
            if a is None:
                out.append(ffi.NULL)
            elif isinstance(a, str):
                out.append(table[a])
            elif isinstance(a, list):
                out.append(ffi.new("int64_t[]", a))
            else:
                out.append(a)
        return out

    cpu_status = getattr(lib, "mg_" + name)(*resolve(hst))
    cuda_status = getattr(lib, "mg_cuda_" + name)(*resolve(dev))
    assert cuda_status == cpu_status, (name, args)
    cuda_ok(lib.mg_cuda_synchronize(), "no asynchronous error either")
