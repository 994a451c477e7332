"""Small products with B read unpacked (csrc/gemm_packed.c, mg_gemm_inplace), the path
mg_gemm takes instead of BLAS for products too small to repay BLAS's copies of A and B.

Each micro-kernel this CPU runs, A as stored or transposed, against numpy in float64:
row counts that straddle the register tiles (and a single row block, whose panels are
read in place), widths with and without a partial last panel, k over several slices of
the panel copy (256 rows), leading dimensions wider than the matrices.  Then mg_gemm
itself on the shapes it routes here (at 1 and 2 threads, whose limits differ)."""
import numpy as np
import pytest

from minigrad._native import ffi, lib
from minigrad.backend.cpu import linalg
from test_gemm_packed import DTYPES, KERNELS, operands, ptr, reference, tolerance

# (m, n, k): m 1, 7 (one row block), 16, 33 (a partial block); n a multiple of every panel
# width (64) and not (40, 100); k past one slice of 256 rows (300, 513)
SIZES = [(1, 64, 5), (7, 100, 33), (16, 64, 128), (33, 40, 300), (33, 100, 513), (64, 128, 64)]


def inplace(dtype, kernel, trans_a, a, b, c, beta, k=None):
    m, n = c.shape
    k = a.shape[1 - trans_a] if k is None else k
    return lib.mg_gemm_inplace(DTYPES[dtype], kernel, trans_a, m, n, k, ptr(a),
                               a.strides[0] // a.itemsize, ptr(b), b.strides[0] // b.itemsize,
                               beta, ptr(c), c.strides[0] // c.itemsize)


@pytest.mark.parametrize("kernel", KERNELS.values(), ids=KERNELS.keys())
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("trans_a", [0, 1], ids=["A", "At"])
@pytest.mark.parametrize("m,n,k", SIZES)
def test_matches_numpy(kernel, dtype, trans_a, m, n, k):
    a, b = operands(m, n, k, 0, dtype, trans_a=trans_a)
    # leading dimensions wider than the matrices: views into wider buffers
    wide_a = np.zeros((a.shape[0], a.shape[1] + 3), dtype)
    wide_a[:, :a.shape[1]] = a
    wide_b = np.zeros((k, n + 5), dtype)
    wide_b[:, :n] = b
    tol = tolerance(dtype, k)
    expected = reference(a, b, 0, trans_a)
    for name, a_, b_ in (("contiguous", a, b), ("wide", wide_a[:, :a.shape[1]], wide_b[:, :n])):
        c = np.full((m, n + 2), np.nan, dtype)[:, :n]  # beta == 0 must not read C
        status = inplace(dtype, kernel, trans_a, a_, b_, c, 0.0)
        if status == lib.MG_ERR_UNSUPPORTED:
            pytest.skip("this CPU lacks the micro-kernel's instructions")
        assert status == lib.MG_OK
        np.testing.assert_allclose(c, expected, rtol=tol, atol=tol, err_msg=name)
        c0 = np.random.default_rng(1).standard_normal((m, n)).astype(dtype)
        c = c0.copy()
        assert inplace(dtype, kernel, trans_a, a_, b_, c, -0.5) == lib.MG_OK
        np.testing.assert_allclose(c, expected - 0.5 * c0, rtol=tol, atol=tol, err_msg=name)


def test_empty_sizes_and_bad_arguments():
    a, b = operands(4, 6, 5, 0, np.float32)
    c = np.ones((4, 6), np.float32)
    f32 = lib.MG_FLOAT32

    def call(dtype=f32, kernel=-1, trans_a=0, m=4, n=6, k=5, a_=a, lda=5, b_=b, ldb=6, c_=c,
             ldc=6, beta=0.0):
        return lib.mg_gemm_inplace(dtype, kernel, trans_a, m, n, k, ptr(a_), lda, ptr(b_), ldb,
                                   beta, ptr(c_), ldc)

    assert call(m=0, beta=1.0) == lib.MG_OK and (c == 1).all()
    assert call(n=0, beta=1.0) == lib.MG_OK and (c == 1).all()
    assert call(k=0, a_=None, b_=None, beta=0.5) == lib.MG_OK and (c == 0.5).all()
    assert call() == lib.MG_OK
    np.testing.assert_allclose(c, a @ b, rtol=1e-5)
    assert call(dtype=lib.MG_INT64) == lib.MG_ERR_DTYPE
    assert call(kernel=3) == lib.MG_ERR_OP
    assert call(trans_a=2) == lib.MG_ERR_OP
    for bad in ({"m": -1}, {"n": -1}, {"k": -1}, {"lda": 4}, {"ldb": 5}, {"ldc": 5},
                {"trans_a": 1, "lda": 3}):
        assert call(**bad) == lib.MG_ERR_SIZE, bad
    for null in ({"a_": None}, {"b_": None}, {"c_": None}):
        assert call(**null) == lib.MG_ERR_NULL, null


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_mg_gemm_routes_small_products_here(threads, dtype):
    """The shapes of a recurrent step and of a Linear layer's gradients at a small batch,
    which mg_gemm sends to mg_gemm_inplace (and a few it does not: one row block, a
    wasteful last panel, too little or too much work, a slice of A too big for L2), against
    numpy."""
    rng = np.random.default_rng(2)
    routed = 0
    for m, n, k, trans_a in [(32, 512, 128, 0), (32, 128, 512, 0), (128, 512, 32, 1),
                             (40, 256, 300, 1), (32, 1024, 384, 0), (8, 512, 128, 0),
                             (32, 65, 128, 0), (64, 64, 64, 0), (4096, 256, 65, 0),
                             (8192, 64, 64, 0)]:
        a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
        b = rng.standard_normal((k, n)).astype(dtype)
        routed += lib.mg_gemm_inplace_suits(DTYPES[dtype], m, n, k)
        got = linalg.gemm(a, b, trans_a=bool(trans_a))
        np.testing.assert_allclose(got, reference(a, b, 0, trans_a), rtol=tolerance(dtype, k),
                                   atol=tolerance(dtype, k))
        # batched: one problem per entry
        got = linalg.gemm(np.stack([a, 2 * a]), b, trans_a=bool(trans_a))
        np.testing.assert_allclose(got[1], 2 * reference(a, b, 0, trans_a),
                                   rtol=tolerance(dtype, k), atol=2 * tolerance(dtype, k))
    # 32 x 1024 x 384 (12.6M multiply-adds) only at one thread: at two, OpenBLAS's threads
    # (a build without OpenMP runs one thread whatever is asked)
    assert routed == (5 if lib.mg_get_num_threads() == 1 else 4)
