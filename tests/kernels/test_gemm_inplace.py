"""Small products without packing B ahead (csrc/gemm_packed.c, mg_gemm_inplace), the path
mg_gemm takes instead of BLAS for products too small to repay BLAS's copies of A and B;
and tall products with B packed once (mg_gemm_packed_once), the path it takes past those.

Each micro-kernel this CPU runs, A and B as stored or transposed (B's panels then go
through the in-register transpose), against numpy in float64: row counts that straddle
the register tiles (and a single row block, whose panels are read in place), widths with
and without a partial last panel, k over several slices of the panel copy (256 rows) and
not a multiple of the transpose's blocks, leading dimensions wider than the matrices.
Then mg_gemm itself on the shapes it routes to either (at 1 and 2 threads)."""
import os
import subprocess
import sys

import numpy as np
import pytest

from minigrad._native import ffi, lib
from minigrad.backend.cpu import linalg
from test_gemm_packed import (AVX512, DTYPES, every_product, operands, ptr, reference,
                               tolerance)

# (m, n, k): m 1, 7 (one row block), 16, 33 (a partial block); n a multiple of every panel
# width (64) and not (40, 100); k past one slice of 256 rows (300, 513)
SIZES = [(1, 64, 5), (7, 100, 33), (16, 64, 128), (33, 40, 300), (33, 100, 513), (64, 128, 64)]


def inplace(dtype, kernel, trans_a, trans_b, a, b, c, beta, k=None):
    m, n = c.shape
    k = a.shape[1 - trans_a] if k is None else k
    return lib.mg_gemm_inplace(DTYPES[dtype], kernel, trans_a, trans_b, m, n, k, ptr(a),
                               a.strides[0] // a.itemsize, ptr(b), b.strides[0] // b.itemsize,
                               beta, ptr(c), c.strides[0] // c.itemsize)


@every_product(SIZES)
def test_matches_numpy(kernel, dtype, trans_a, trans_b, m, n, k):
    a, b = operands(m, n, k, trans_b, dtype, trans_a=trans_a)
    # leading dimensions wider than the matrices: views into wider buffers
    wide_a = np.zeros((a.shape[0], a.shape[1] + 3), dtype)
    wide_a[:, :a.shape[1]] = a
    wide_b = np.zeros((b.shape[0], b.shape[1] + 5), dtype)
    wide_b[:, :b.shape[1]] = b
    tol = tolerance(dtype, k)
    expected = reference(a, b, trans_b, trans_a)
    for name, a_, b_ in (("contiguous", a, b),
                         ("wide", wide_a[:, :a.shape[1]], wide_b[:, :b.shape[1]])):
        c = np.full((m, n + 2), np.nan, dtype)[:, :n]  # beta == 0 must not read C
        status = inplace(dtype, kernel, trans_a, trans_b, a_, b_, c, 0.0)
        if status == lib.MG_ERR_UNSUPPORTED:
            pytest.skip("this CPU lacks the micro-kernel's instructions")
        assert status == lib.MG_OK
        np.testing.assert_allclose(c, expected, rtol=tol, atol=tol, err_msg=name)
        c0 = np.random.default_rng(1).standard_normal((m, n)).astype(dtype)
        c = c0.copy()
        assert inplace(dtype, kernel, trans_a, trans_b, a_, b_, c, -0.5) == lib.MG_OK
        np.testing.assert_allclose(c, expected - 0.5 * c0, rtol=tol, atol=tol, err_msg=name)


def test_empty_sizes_and_bad_arguments():
    a, b = operands(4, 6, 5, 0, np.float32)
    c = np.ones((4, 6), np.float32)
    f32 = lib.MG_FLOAT32

    def call(dtype=f32, kernel=-1, trans_a=0, trans_b=0, m=4, n=6, k=5, a_=a, lda=5, b_=b,
             ldb=6, c_=c, ldc=6, beta=0.0):
        return lib.mg_gemm_inplace(dtype, kernel, trans_a, trans_b, m, n, k, ptr(a_), lda,
                                   ptr(b_), ldb, beta, ptr(c_), ldc)

    assert call(m=0, beta=1.0) == lib.MG_OK and (c == 1).all()
    assert call(n=0, beta=1.0) == lib.MG_OK and (c == 1).all()
    assert call(k=0, a_=None, b_=None, beta=0.5) == lib.MG_OK and (c == 0.5).all()
    assert call() == lib.MG_OK
    np.testing.assert_allclose(c, a @ b, rtol=1e-5)
    assert call(dtype=lib.MG_INT64) == lib.MG_ERR_DTYPE
    assert call(kernel=3) == lib.MG_ERR_OP
    assert call(trans_a=2) == lib.MG_ERR_OP
    assert call(trans_b=2) == lib.MG_ERR_OP
    assert call(trans_b=1, ldb=5, n=4) == lib.MG_OK  # B stored (n, k) = (4, 5)
    for bad in ({"m": -1}, {"n": -1}, {"k": -1}, {"lda": 4}, {"ldb": 5}, {"ldc": 5},
                {"trans_a": 1, "lda": 3}, {"trans_b": 1, "ldb": 4}):
        assert call(**bad) == lib.MG_ERR_SIZE, bad
    for null in ({"a_": None}, {"b_": None}, {"c_": None}):
        assert call(**null) == lib.MG_ERR_NULL, null


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_mg_gemm_routes_small_products_here(threads, dtype):
    """The shapes of a recurrent step and of a Linear layer's forward and gradients at a
    small batch, which mg_gemm sends to mg_gemm_inplace on an AVX-512 CPU (and a few it
    does not: under 3 rows, 3 rows with B as stored or 9-12 with under 2M multiply-adds,
    a wasteful last panel, too little or too much work, a slice of A too big for L2),
    against numpy."""
    rng = np.random.default_rng(2)
    routed = []
    for m, n, k, trans_a, trans_b in [
            (32, 512, 128, 0, 0), (32, 128, 512, 0, 0), (128, 512, 32, 1, 0),
            (40, 256, 300, 1, 0), (32, 1024, 384, 0, 0), (32, 512, 128, 0, 1),
            (48, 256, 300, 1, 1), (32, 1024, 256, 0, 1),
            (8, 512, 128, 0, 0), (3, 1024, 256, 0, 1), (10, 512, 128, 0, 1),
            (5, 1024, 256, 0, 0), (14, 1024, 256, 1, 0), (12, 1024, 256, 0, 0),
            (2, 1024, 512, 0, 1), (3, 1024, 256, 0, 0), (10, 512, 128, 0, 0),
            (32, 65, 128, 0, 1), (64, 64, 64, 0, 0), (4096, 256, 65, 0, 0),
            (8192, 64, 64, 0, 1)]:
        a, b = operands(m, n, k, trans_b, dtype, seed=m + n + k, trans_a=trans_a)
        if lib.mg_gemm_inplace_suits(DTYPES[dtype], trans_b, m, n, k):
            routed.append((m, n, k))
        want, tol = reference(a, b, trans_b, trans_a), tolerance(dtype, k)
        got = linalg.gemm(a, b, trans_a=bool(trans_a), trans_b=bool(trans_b))
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
        # batched: one problem per entry
        got = linalg.gemm(np.stack([a, 2 * a]), b, trans_a=bool(trans_a), trans_b=bool(trans_b))
        np.testing.assert_allclose(got[1], 2 * want, rtol=tol, atol=2 * tol)
    if lib.mg_gemm_inplace(DTYPES[dtype], AVX512, 0, 0, 0, 0, 0, ffi.NULL, 0, ffi.NULL, 0, 0.0,
                           ffi.NULL, 0) == lib.MG_ERR_UNSUPPORTED:
        assert routed == []  # BLAS keeps them all without AVX-512
        return
    # the same at any thread count: mg_gemm shares bigger products among its threads,
    # and each thread's part asks again
    small = [(32, 512, 128), (32, 128, 512), (128, 512, 32), (40, 256, 300), (32, 512, 128)]
    more = [(32, 1024, 384), (48, 256, 300), (32, 1024, 256)]
    few_rows = [(8, 512, 128), (3, 1024, 256), (10, 512, 128), (5, 1024, 256),
                (14, 1024, 256), (12, 1024, 256)]
    assert sorted(routed) == sorted(small + more + few_rows)


def check_gemm_over_nan_and_with_beta(a, b, trans_a, trans_b, seed):
    """mg_gemm (through linalg.gemm) against numpy: with beta == 0 into C full of NaN (not
    read), and with beta != 0 onto random C."""
    want = reference(a, b, trans_b, trans_a)
    m, n = want.shape
    tol = tolerance(a.dtype, a.shape[0] if trans_a else a.shape[1])
    got = linalg.gemm(a, b, trans_a=bool(trans_a), trans_b=bool(trans_b),
                      out=np.full((m, n), np.nan, a.dtype))
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    c0 = np.random.default_rng(seed).standard_normal((m, n)).astype(a.dtype)
    got = linalg.gemm(a, b, trans_a=bool(trans_a), trans_b=bool(trans_b), beta=-0.5,
                      out=c0.copy())
    np.testing.assert_allclose(got, want - 0.5 * c0, rtol=tol, atol=tol)


# (m, n, k, trans_a, trans_b) past mg_gemm_inplace_suits's limits (a slice of A over 1 MB,
# or over 2^25 multiply-adds), and whether mg_gemm_packed_suits takes them in float32 and
# in float64: m not a multiple of the 8-row tile; B as stored and transposed; not A read
# transposed, a wasteful last panel (n = 100), a B over 2 MB (float64 only, then both).
TALL = [((4096, 64, 96, 0, 1), True, True), ((1030, 288, 300, 0, 0), True, True),
        ((300, 512, 600, 0, 1), True, False), ((4096, 64, 96, 1, 0), False, False),
        ((2000, 100, 260, 0, 1), False, False), ((260, 1100, 1000, 0, 0), False, False)]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_mg_gemm_packs_b_once_for_tall_products(threads, dtype):
    """A layer's input projection over a whole sequence, its input gradient: mg_gemm packs
    op(B) once and runs the packed product (each thread its band of rows), against numpy,
    with beta == 0 over NaN and beta != 0."""
    routed, expected = [], []
    for (m, n, k, trans_a, trans_b), f32, f64 in TALL:
        a, b = operands(m, n, k, trans_b, dtype, seed=m + k, trans_a=trans_a)
        if lib.mg_gemm_packed_suits(DTYPES[dtype], trans_a, trans_b, m, n, k):
            routed.append((m, n, k))
        if f32 if dtype == np.float32 else f64:
            expected.append((m, n, k))
        check_gemm_over_nan_and_with_beta(a, b, trans_a, trans_b, seed=3)
    if lib.mg_gemm_inplace(DTYPES[dtype], AVX512, 0, 0, 0, 0, 0, ffi.NULL, 0, ffi.NULL, 0, 0.0,
                           ffi.NULL, 0) == lib.MG_ERR_UNSUPPORTED:
        assert routed == []  # BLAS keeps them all without AVX-512
        return
    assert routed == expected
    for (m, n, k, _, trans_b), _, _ in TALL:  # never both routes
        assert not (lib.mg_gemm_inplace_suits(DTYPES[dtype], trans_b, m, n, k) and
                    lib.mg_gemm_packed_suits(DTYPES[dtype], 0, trans_b, m, n, k))


# (m, n, k, trans_a, trans_b), and how many last columns mg_gemm multiplies apart in float32
# (panels of 32) and in float64 (panels of 16): a char decoder's n = 65 tall and at a small
# batch, A read transposed (the whole panels then go to mg_gemm_inplace), two columns past;
# none where the rest would stay with BLAS anyway (too little work), too many columns past
# (n = 69; 68 and 66 in float64), or a last panel that pads little already (n = 290).
RAGGED = [((2048, 65, 128, 0, 1), 1, 1), ((32, 65, 512, 0, 1), 1, 1),
          ((1024, 65, 128, 1, 0), 1, 1), ((300, 66, 64, 0, 0), 2, 0),
          ((32, 65, 128, 0, 1), 0, 0), ((2048, 69, 128, 0, 1), 0, 0),
          ((64, 68, 256, 0, 0), 0, 0), ((300, 290, 64, 0, 1), 0, 0)]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_mg_gemm_splits_off_a_ragged_last_column(threads, dtype):
    """n = 65: 64 columns by the packed kernels, the last by BLAS's matrix-vector product
    (each thread's band asks again), against numpy, with beta == 0 over NaN and beta != 0."""
    has_avx512 = lib.mg_gemm_inplace(DTYPES[dtype], AVX512, 0, 0, 0, 0, 0, ffi.NULL, 0,
                                     ffi.NULL, 0, 0.0, ffi.NULL, 0) == lib.MG_OK
    for (m, n, k, trans_a, trans_b), f32, f64 in RAGGED:
        ragged = lib.mg_gemm_ragged_columns(DTYPES[dtype], trans_a, trans_b, m, n, k)
        assert ragged == ((f32 if dtype == np.float32 else f64) if has_avx512 else 0), (m, n, k)
        a, b = operands(m, n, k, trans_b, dtype, seed=n + k, trans_a=trans_a)
        check_gemm_over_nan_and_with_beta(a, b, trans_a, trans_b, seed=4)


def test_environment_turns_the_routing_off():
    """MINIGRAD_SMALL_GEMM=0 keeps every product with BLAS (read when the core first asks)."""
    code = ("from minigrad._native import lib; "
            "print(lib.mg_gemm_inplace_suits(lib.MG_FLOAT32, 0, 32, 512, 128), "
            "lib.mg_gemm_packed_suits(lib.MG_FLOAT32, 0, 1, 4096, 64, 96))")
    env = dict(os.environ, MINIGRAD_NUM_THREADS="1")
    on = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    off = subprocess.run([sys.executable, "-c", code], env=dict(env, MINIGRAD_SMALL_GEMM="0"),
                         capture_output=True, text=True)
    assert off.returncode == 0 and off.stdout.strip() == "0 0", off.stderr
    has_avx512 = lib.mg_gemm_inplace(lib.MG_FLOAT32, AVX512, 0, 0, 0, 0, 0, ffi.NULL, 0,
                                     ffi.NULL, 0, 0.0, ffi.NULL, 0) == lib.MG_OK
    assert on.stdout.strip() == ("1 1" if has_avx512 else "0 0"), on.stderr
