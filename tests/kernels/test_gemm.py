"""gemm and matmul (minigrad/backend/cpu/linalg.py, csrc/gemm*.c) against numpy in float64.

Both kernels are checked: the BLAS path (mg_gemm; in a build without BLAS it
falls back to the built-in kernel) and minigrad's own blocked kernel
(mg_gemm_builtin), over odd sizes, every transpose combination, batch strides
(0 included), alpha/beta, views, both dtypes and 1 and 2 threads.
"""
import concurrent.futures
import itertools
import types

import numpy as np
import pytest

from minigrad._native import KernelError, ffi, lib
from minigrad.backend import cpu
from minigrad.backend.cpu import linalg

# Sizes that straddle the register tile (6 x 16 floats, 6 x 8 doubles) and its edges.
SIZES = [(0, 3, 4), (3, 0, 4), (3, 4, 0), (1, 1, 1), (1, 7, 33), (7, 1, 65), (33, 65, 1),
         (7, 33, 65), (65, 7, 33), (33, 130, 7), (130, 65, 33), (6, 16, 8), (12, 32, 5),
         (130, 130, 130)]
# Sizes past the cache blocks of the built-in kernel (KC = 256 deep, 768 rows of A
# packed per round, NC = 2048 columns of B per panel).
BLOCKED_SIZES = [(800, 20, 300), (13, 2100, 260), (50, 40, 513)]


def rng(seed=0):
    return np.random.default_rng(seed)


def randn(shape, dtype, seed=0):
    return rng(seed).standard_normal(shape).astype(dtype)


def op(x, trans):
    return np.swapaxes(x, -1, -2) if trans else x


def assert_gemm_close(got, a, b, trans_a, trans_b, alpha=1.0, beta=0.0, c0=None):
    """got == alpha * op(a) @ op(b) + beta * c0 within a bound proportional to the
    magnitudes summed (|alpha| |op(a)| @ |op(b)| + |beta c0|) and to k."""
    a64, b64 = op(a.astype(np.float64), trans_a), op(b.astype(np.float64), trans_b)
    want = alpha * np.matmul(a64, b64)
    scale = abs(alpha) * np.matmul(np.abs(a64), np.abs(b64))
    if c0 is not None and beta != 0:
        want = want + beta * c0.astype(np.float64)
        scale = scale + np.abs(beta * c0.astype(np.float64))
    k = a64.shape[-1]
    eps = np.finfo(got.dtype).eps
    assert got.shape == want.shape
    assert got.dtype == a.dtype
    err = np.abs(got - want)
    bound = 4 * (k + 2) * eps * scale + np.finfo(got.dtype).tiny
    assert np.all(err <= bound), f"max error {err.max()} (bound {bound.max()})"


def stored(shape_mk, trans, dtype, seed, batch=None):
    """A random operand whose op() has shape shape_mk, stored transposed when `trans`."""
    rows, cols = shape_mk[::-1] if trans else shape_mk
    shape = (rows, cols) if batch is None else (batch, rows, cols)
    return randn(shape, dtype, seed)


# ---- gemm: the kernel contract ---------------------------------------------

@pytest.mark.parametrize("builtin", [False, True], ids=["blas", "builtin"])
@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([False, True], repeat=2)))
def test_gemm_sizes_and_transposes(builtin, trans_a, trans_b, dtype, threads):
    for i, (m, n, k) in enumerate(SIZES):
        a = stored((m, k), trans_a, dtype, seed=i)
        b = stored((k, n), trans_b, dtype, seed=100 + i)
        got = cpu.gemm(a, b, trans_a=trans_a, trans_b=trans_b, builtin=builtin)
        assert_gemm_close(got, a, b, trans_a, trans_b)


@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, True), (False, True)])
def test_builtin_across_cache_blocks(trans_a, trans_b, dtype, threads):
    for i, (m, n, k) in enumerate(BLOCKED_SIZES):
        a = stored((m, k), trans_a, dtype, seed=i)
        b = stored((k, n), trans_b, dtype, seed=10 + i)
        c0 = randn((m, n), dtype, seed=20 + i)
        got = cpu.gemm(a, b, trans_a, trans_b, alpha=0.5, beta=-1.5, out=c0.copy(), builtin=True)
        assert_gemm_close(got, a, b, trans_a, trans_b, 0.5, -1.5, c0)


@pytest.mark.parametrize("builtin", [False, True], ids=["blas", "builtin"])
@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (0.5, -2.0), (-1.0, 0.0), (2.0, 0.25)])
def test_gemm_alpha_beta(builtin, alpha, beta, dtype):
    for i, (m, n, k) in enumerate([(7, 33, 65), (1, 1, 1), (33, 17, 3)]):
        a, b = randn((m, k), dtype, i), randn((n, k), dtype, i + 1)
        c0 = randn((m, n), dtype, i + 2)
        out = c0.copy()
        got = cpu.gemm(a, b, trans_b=True, alpha=alpha, beta=beta, out=out, builtin=builtin)
        assert got is out
        assert_gemm_close(got, a, b, False, True, alpha, beta, c0)


@pytest.mark.parametrize("builtin", [False, True], ids=["blas", "builtin"])
@pytest.mark.parametrize("m,n,k", [(7, 33, 65), (130, 65, 33), (5, 3, 0), (1, 1, 1)])
def test_beta_zero_ignores_nan_in_out(builtin, m, n, k, dtype, threads):
    a, b = randn((m, k), dtype, 1), randn((k, n), dtype, 2)
    out = np.full((m, n), np.nan, dtype)
    cpu.gemm(a, b, alpha=1.5, beta=0.0, out=out, builtin=builtin)
    assert np.isfinite(out).all()
    assert_gemm_close(out, a, b, False, False, alpha=1.5)


@pytest.mark.parametrize("beta", [0.0, 1.0, -0.5])
def test_scaling_by_beta_alone_across_threads(beta, dtype, threads):
    """k == 0: C = beta * C over a matrix big enough to be split across threads."""
    c0 = randn((300, 250), dtype, 4)
    out = c0.copy()
    if beta == 0.0:
        out[::7] = np.nan  # beta == 0 writes zeros without reading C
    cpu.gemm(np.empty((300, 0), dtype), np.empty((0, 250), dtype), beta=beta, out=out)
    np.testing.assert_array_equal(out, (beta * c0).astype(dtype))


@pytest.mark.parametrize("builtin", [False, True], ids=["blas", "builtin"])
def test_k_zero_and_alpha_zero_scale_out_by_beta(builtin, dtype):
    c0 = randn((4, 5), dtype, 3)
    out = c0.copy()
    cpu.gemm(np.empty((4, 0), dtype), np.empty((0, 5), dtype), beta=0.5, out=out, builtin=builtin)
    np.testing.assert_allclose(out, 0.5 * c0, rtol=1e-6)
    # alpha == 0: op(A) @ op(B) is not computed (BLAS's rule), so NaN there does not leak.
    a = np.full((4, 3), np.nan, dtype)
    out = c0.copy()
    cpu.gemm(a, randn((3, 5), dtype), alpha=0.0, beta=2.0, out=out, builtin=builtin)
    np.testing.assert_allclose(out, 2.0 * c0, rtol=1e-6)


@pytest.mark.parametrize("builtin", [False, True], ids=["blas", "builtin"])
@pytest.mark.parametrize("batched", ["both", "a_only", "b_only"])
def test_gemm_batched_and_stride_zero(builtin, batched, dtype, threads):
    for i, (m, n, k) in enumerate([(7, 33, 65), (1, 5, 3), (20, 20, 20), (0, 4, 4)]):
        for trans_a, trans_b in itertools.product([False, True], repeat=2):
            a = stored((m, k), trans_a, dtype, i, batch=None if batched == "b_only" else 5)
            b = stored((k, n), trans_b, dtype, i + 1, batch=None if batched == "a_only" else 5)
            c0 = randn((5, m, n), dtype, i + 2)
            got = cpu.gemm(a, b, trans_a, trans_b, alpha=1.5, beta=0.5, out=c0.copy(),
                           builtin=builtin)
            assert_gemm_close(got, a, b, trans_a, trans_b, 1.5, 0.5, c0)


@pytest.mark.parametrize("builtin", [False, True], ids=["blas", "builtin"])
def test_many_small_problems(builtin, dtype, threads):
    # Small problems in a big batch run one per thread in the built-in kernel.
    a, b = randn((300, 20, 21), dtype, 1), randn((300, 21, 19), dtype, 2)
    assert_gemm_close(cpu.gemm(a, b, builtin=builtin), a, b, False, False)
    b2 = randn((19, 21), dtype, 3)
    assert_gemm_close(cpu.gemm(a, b2, trans_b=True, builtin=builtin), a, b2, False, True)


# Products of at least 2**19 multiply-adds, which mg_gemm shares among its threads in bands
# of C's rows (whole multiples of 8) when C is taller than wide, else of its columns (of 32):
# partial last bands, and more threads than bands (13 x 33: two of each).
SHARED_SIZES = [(1000, 24, 40), (9, 2000, 50), (37, 70, 300), (300, 1025, 8), (13, 33, 2000)]


@pytest.mark.parametrize("team", [2, 3])
@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([False, True], repeat=2)))
def test_products_shared_among_threads(team, trans_a, trans_b, dtype, thread_knobs):
    import minigrad
    minigrad.set_num_threads(team)
    for i, (m, n, k) in enumerate(SHARED_SIZES):
        assert m * n * k >= 1 << 19
        # views into wider buffers: leading dimensions past the matrices' widths
        a_wide = stored((m, k + 3) if not trans_a else (m + 3, k), trans_a, dtype, i)
        b_wide = stored((k + 5, n) if trans_b else (k, n + 5), trans_b, dtype, i + 1)
        a, b = a_wide[:, :(m if trans_a else k)], b_wide[:, :(k if trans_b else n)]
        for alpha, beta in [(1.0, 0.0), (1.0, 1.0), (0.5, -2.0)]:
            c0 = randn((m, n), dtype, i + 2)
            got = cpu.gemm(a, b, trans_a, trans_b, alpha=alpha, beta=beta, out=c0.copy())
            assert_gemm_close(got, a, b, trans_a, trans_b, alpha, beta, c0)
        # batches of fewer products than threads (each one shared), and of more
        for batch in (2, 4):
            a3 = stored((m, k), trans_a, dtype, i + 3, batch=batch)
            got = cpu.gemm(a3, b, trans_a, trans_b)
            assert_gemm_close(got, a3, np.broadcast_to(b, (batch,) + b.shape), trans_a, trans_b)


@pytest.mark.parametrize("builtin", [False, True], ids=["blas", "builtin"])
def test_gemm_reads_views_in_place_or_copies(builtin, dtype):
    base = randn((40, 70), dtype, 1)
    b = randn((30, 9), dtype, 2)
    views = [base[3:10, 5:35],            # row stride 70 (lda > k)
             base[5:35, 3:10].T,          # a transposed view with a row stride
             base[:14:2, :30],            # every other row
             base[10:3:-1, :30],          # negative row stride: copied
             base[:7, :60:2]]             # column stride 2: copied
    for a in views:
        assert_gemm_close(cpu.gemm(a, b, builtin=builtin), a, b, False, False)
        assert_gemm_close(cpu.gemm(a.T, b, trans_a=True, builtin=builtin), a.T, b, True, False)
    stack = randn((4, 7, 30), dtype, 3)
    for a3 in (stack[::-1], stack[:, :, ::-1], stack.swapaxes(1, 2).copy().swapaxes(1, 2)):
        assert_gemm_close(cpu.gemm(a3, b, builtin=builtin), a3, b, False, False)


@pytest.mark.parametrize("builtin", [False, True], ids=["blas", "builtin"])
def test_concurrent_calls_from_python_threads(builtin, threads):
    # cffi releases the GIL: calls running at once must not share any state in C.
    problems = [(randn((70, 90), np.float32, i), randn((90, 50 + i), np.float32, 10 + i))
                for i in range(8)]
    want = [cpu.gemm(a, b, builtin=builtin) for a, b in problems]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(3):
            got = list(pool.map(lambda ab: cpu.gemm(*ab, builtin=builtin), problems))
            for g, w in zip(got, want):  # the built-in kernel is deterministic
                np.testing.assert_allclose(g, w, rtol=1e-6, atol=0 if builtin else 1e-6)


def test_builtin_matches_blas(dtype, threads):
    a, b = randn((65, 130), dtype, 1), randn((130, 33), dtype, 2)
    blas = cpu.gemm(a, b)
    own = cpu.gemm(a, b, builtin=True)
    tol = 1e-4 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(own, blas, rtol=tol, atol=tol)


# ---- gemm: refusals ---------------------------------------------------------

def test_gemm_wrapper_rejects_bad_arguments():
    f32, f64 = randn((3, 4), np.float32), randn((4, 5), np.float64)
    with pytest.raises(TypeError, match="gemm"):
        cpu.gemm(f32, f64)
    with pytest.raises(TypeError, match="int64"):
        cpu.gemm(np.ones((3, 4), np.int64), np.ones((4, 5), np.int64))
    with pytest.raises(ValueError, match=r"\[3, 4\].*\[5, 4\]"):
        cpu.gemm(f32, randn((5, 4), np.float32))
    with pytest.raises(ValueError, match="2-D or 3-D"):
        cpu.gemm(randn((4,), np.float32), randn((4, 5), np.float32))
    with pytest.raises(ValueError, match="shapes"):
        cpu.gemm(randn((2, 3, 4), np.float32), randn((3, 4, 5), np.float32))
    b = randn((4, 5), np.float32)
    with pytest.raises(ValueError, match="out"):
        cpu.gemm(f32, b, out=np.empty((5, 3), np.float32))
    with pytest.raises(ValueError, match="out"):
        cpu.gemm(f32, b, out=np.empty((3, 5), np.float64))
    with pytest.raises(ValueError, match="contiguous"):
        cpu.gemm(f32, b, out=np.empty((5, 3), np.float32).T)
    square = randn((4, 4), np.float32)
    with pytest.raises(ValueError, match="overlap"):
        cpu.gemm(square, square, out=square)


def c_gemm(fn, *, dtype=lib.MG_FLOAT32, ta=0, tb=0, batch=1, m=2, n=3, k=4, lda=None, sa=0,
           ldb=None, sb=0, ldc=None, sc=0, a=True, b=True, c=True):
    """Call a C gemm entry point on small valid buffers, overriding one argument."""
    buf_a = np.zeros(64, np.float64)
    buf_b, buf_c = buf_a.copy(), buf_a.copy()
    lda = (m if ta else k) if lda is None else lda
    ldb = (k if tb else n) if ldb is None else ldb
    ldc = n if ldc is None else ldc
    ptr = lambda buf, use: ffi.from_buffer(buf) if use else ffi.NULL  # noqa: E731
    return fn(dtype, ta, tb, batch, m, n, k, 1.0, ptr(buf_a, a), lda, sa, ptr(buf_b, b), ldb, sb,
              0.0, ptr(buf_c, c), ldc, sc)


@pytest.mark.parametrize("fn", [lib.mg_gemm, lib.mg_gemm_builtin], ids=["blas", "builtin"])
def test_c_entry_points_validate(fn):
    assert c_gemm(fn) == lib.MG_OK
    assert c_gemm(fn, dtype=lib.MG_INT64) == lib.MG_ERR_DTYPE
    assert c_gemm(fn, dtype=7) == lib.MG_ERR_DTYPE
    assert c_gemm(fn, ta=2) == lib.MG_ERR_OP
    for bad in ({"m": -1}, {"n": -1}, {"k": -1}, {"batch": -1}, {"lda": 3}, {"ldb": 2},
                {"ldc": 2}, {"ta": 1, "lda": 1}, {"tb": 1, "ldb": 3}, {"sa": -1}, {"sb": -4},
                {"batch": 2, "sc": 0}, {"batch": 2, "sc": 5}):
        assert c_gemm(fn, **bad) == lib.MG_ERR_SIZE, bad
    assert c_gemm(fn, a=False) == lib.MG_ERR_NULL
    assert c_gemm(fn, b=False) == lib.MG_ERR_NULL
    assert c_gemm(fn, c=False) == lib.MG_ERR_NULL
    # Nothing to compute: no pointer is needed.
    assert c_gemm(fn, m=0, a=False, b=False, c=False) == lib.MG_OK
    assert c_gemm(fn, batch=0, a=False, b=False, c=False) == lib.MG_OK
    assert c_gemm(fn, k=0, a=False, b=False) == lib.MG_OK
    assert c_gemm(fn, batch=2, sc=6) == lib.MG_OK


def test_kernel_error_names_the_kernel(monkeypatch):
    failing = types.SimpleNamespace(mg_gemm=lambda *args: lib.MG_ERR_NOMEM)
    monkeypatch.setattr(linalg, "lib", failing)
    with pytest.raises(KernelError, match=r"mg_gemm: out of memory \(a \[3, 4\]"):
        cpu.gemm(randn((3, 4), np.float32), randn((4, 5), np.float32))


# ---- matmul: numpy's rules --------------------------------------------------

MATMUL_SHAPES = [((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 5)), ((3, 4), (4, 5)),
                 ((2, 3, 4), (4,)), ((4,), (2, 4, 5)), ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)),
                 ((2, 3, 4), (2, 4, 5)), ((5, 1, 3, 4), (2, 4, 6)), ((1, 2, 3, 4), (3, 1, 4, 5)),
                 ((2, 1, 3, 4), (1, 4, 5)), ((0, 3, 4), (4, 5)), ((3, 0), (0, 5)),
                 ((1, 1), (1, 1)), ((2, 2, 7, 33), (33, 65)), ((6, 1, 7), (1, 7, 1))]


@pytest.mark.parametrize("shape_a,shape_b", MATMUL_SHAPES, ids=str)
def test_matmul_matches_numpy(shape_a, shape_b, dtype, threads):
    a, b = randn(shape_a, dtype, 1), randn(shape_b, dtype, 2)
    got = cpu.matmul(a, b)
    want = np.matmul(a.astype(np.float64), b.astype(np.float64))
    assert isinstance(got, np.ndarray) and got.shape == want.shape and got.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)


def test_matmul_views(dtype):
    w = randn((30, 20), dtype, 1)
    x = randn((7, 3, 20), dtype, 2)
    base = randn((8, 40), dtype, 3)
    cases = [(x, w.T), (x.swapaxes(-1, -2).copy().swapaxes(-1, -2), w.T), (x[:, ::-1], w.T),
             (base[:, 5:25], w.T), (base[::2, :20], w[:20]), (w, base[:, :20].T),
             (x[::2], w.T[:, ::3]), (randn((3, 20), dtype)[:, None, :], randn((20, 4), dtype))]
    for a, b in cases:
        want = np.matmul(a.astype(np.float64), b.astype(np.float64))
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(cpu.matmul(a, b), want, rtol=tol, atol=tol * 10)


def test_matmul_passes_transposed_views_without_copying(monkeypatch):
    def no_copy(x):
        raise AssertionError(f"copied a {x.shape} operand")
    monkeypatch.setattr(linalg, "contiguous", no_copy)
    w = randn((30, 20), np.float32, 1)
    x = randn((7, 3, 20), np.float32, 2)
    np.testing.assert_allclose(cpu.matmul(x, w.T), np.matmul(x, w.T), rtol=1e-5, atol=1e-5)
    h = randn((3, 20), np.float32, 3)
    np.testing.assert_allclose(cpu.matmul(h, w.T), h @ w.T, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(cpu.matmul(w.T, w), w.T @ w, rtol=1e-5, atol=1e-5)
    stack = randn((4, 5, 6), np.float32, 4)
    t = stack.swapaxes(-1, -2)
    np.testing.assert_allclose(cpu.matmul(t, stack), t @ stack, rtol=1e-5, atol=1e-5)
    rows = randn((10, 50), np.float32, 5)[:, 10:30]  # a row stride, no copy needed
    np.testing.assert_allclose(cpu.matmul(rows, w.T), rows @ w.T, rtol=1e-5, atol=1e-5)


def test_matmul_rejects_bad_arguments():
    f32 = randn((3, 4), np.float32)
    with pytest.raises(TypeError, match="matmul"):
        cpu.matmul(f32, randn((4, 5), np.float64))
    with pytest.raises(TypeError, match="matmul"):
        cpu.matmul(np.ones((3, 4), np.int64), np.ones((4, 5), np.int64))
    with pytest.raises(ValueError, match=r"\[3, 4\] and \[5, 6\]"):
        cpu.matmul(f32, randn((5, 6), np.float32))
    with pytest.raises(ValueError, match=r"\[3, 4\] and \[3\]"):
        cpu.matmul(f32, randn((3,), np.float32))
    with pytest.raises(ValueError, match=r"\[2, 3, 4\] and \[3, 4, 5\]"):
        cpu.matmul(randn((2, 3, 4), np.float32), randn((3, 4, 5), np.float32))
    with pytest.raises(ValueError, match="at least one dim"):
        cpu.matmul(np.ones((), np.float32), f32)
