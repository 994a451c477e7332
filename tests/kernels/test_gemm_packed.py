"""The packed small-m product of the recurrent step loops (csrc/gemm_packed.c).

mg_gemm_packed_once (also mg_gemm's path for tall products) packs op(B) with a
chosen micro-kernel (portable, AVX2, AVX-512: each one this CPU runs) into an
empty pack (so through mg_repack_b's growing buffer) and multiplies once, A
read as stored or transposed.  Oracle: numpy in float64.  The step loops that use it (and
their split of the batch among threads) are checked through the rnn kernels
against the numpy reference of test_rnn_kernels.py.
"""
import numpy as np
import pytest

from minigrad._native import ffi, lib
from test_rnn_kernels import cast, compare_with_reference, make_problem, ragged_lengths

BEST, PORTABLE, AVX2, AVX512 = -1, 0, 1, 2
KERNELS = {"best": BEST, "portable": PORTABLE, "avx2": AVX2, "avx512": AVX512}
DTYPES = {np.float32: lib.MG_FLOAT32, np.float64: lib.MG_FLOAT64}
# m straddles the register tiles (4/6/8 rows) and the 64-row chunks; n and k are not
# multiples of any panel width (8, 16 or 32 values) nor of a cache line
SIZES = [(1, 1, 1), (3, 5, 7), (32, 33, 17), (33, 100, 37), (64, 48, 256), (1, 131, 64),
         (65, 17, 9), (130, 70, 129)]


def ptr(a):
    return ffi.NULL if a is None else ffi.cast("void *", a.ctypes.data)


def packed_product(dtype, kernel, trans_b, a, b, c, beta, m=None, n=None, k=None, trans_a=0):
    """Status of C = op(A) op(B) + beta C through the hook; sizes and leading dims from the
    arrays (a is stored (k, m) when trans_a)."""
    m = a.shape[trans_a] if m is None else m
    k = a.shape[1 - trans_a] if k is None else k
    n = c.shape[1] if n is None else n
    return lib.mg_gemm_packed_once(DTYPES[dtype], kernel, trans_a, trans_b, m, n, k, ptr(a),
                                   a.strides[0] // a.itemsize, ptr(b),
                                   b.strides[0] // b.itemsize, beta, ptr(c),
                                   c.strides[0] // c.itemsize)


def run_or_skip(dtype, kernel, *args, **kw):
    status = packed_product(dtype, kernel, *args, **kw)
    if status == lib.MG_ERR_UNSUPPORTED and kernel != BEST:
        pytest.skip("this CPU lacks the micro-kernel's instructions")
    assert status == lib.MG_OK, lib.mg_status_string(status)


def operands(m, n, k, trans_b, dtype, seed=0, trans_a=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    return a, b


def reference(a, b, trans_b, trans_a=0):
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return (a64.T if trans_a else a64) @ (b64.T if trans_b else b64)


def tolerance(dtype, k):
    return (1e-5 if dtype == np.float32 else 1e-12) * max(1, k) ** 0.5


def every_product(sizes):
    """The grid of a product test: micro-kernel x dtype x op(A) x op(B) x (m, n, k)."""
    marks = [pytest.mark.parametrize("kernel", KERNELS.values(), ids=KERNELS.keys()),
             pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"]),
             pytest.mark.parametrize("trans_b", [0, 1], ids=["B", "Bt"]),
             pytest.mark.parametrize("trans_a", [0, 1], ids=["A", "At"]),
             pytest.mark.parametrize("m,n,k", sizes)]

    def decorate(test):
        for mark in marks:
            test = mark(test)
        return test
    return decorate


@every_product(SIZES)
def test_matches_numpy(kernel, dtype, trans_a, trans_b, m, n, k):
    a, b = operands(m, n, k, trans_b, dtype, trans_a=trans_a)
    c = np.full((m, n), np.nan, dtype)  # beta == 0 must not read C
    run_or_skip(dtype, kernel, trans_b, a, b, c, 0.0, trans_a=trans_a)
    tol = tolerance(dtype, k)
    expected = reference(a, b, trans_b, trans_a)
    np.testing.assert_allclose(c, expected, rtol=tol, atol=tol)
    # beta != 0 accumulates onto what is there
    c0 = np.random.default_rng(1).standard_normal((m, n)).astype(dtype)
    for beta in (1.0, -0.5):
        c = c0.copy()
        run_or_skip(dtype, kernel, trans_b, a, b, c, beta, trans_a=trans_a)
        np.testing.assert_allclose(c, expected + beta * c0.astype(np.float64), rtol=tol, atol=tol)


@pytest.mark.parametrize("kernel", KERNELS.values(), ids=KERNELS.keys())
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_leading_dimensions_and_views(kernel, dtype):
    """Rows of A, B and C wider than the matrices: only the (m, n) block of C changes."""
    m, n, k = 33, 37, 19
    for trans_a, trans_b in ((0, 0), (0, 1), (1, 0), (1, 1)):
        a_big, b_big = operands(m + 3, n + 5, k + 3, trans_b, dtype, seed=2, trans_a=trans_a)
        a = a_big[:m, 2:2 + k] if not trans_a else a_big[:k, 2:2 + m]
        b = b_big[:k, 1:1 + n] if not trans_b else b_big[:n, 1:1 + k]
        c_big = np.zeros((m, n + 9), dtype)
        c = c_big[:, 4:4 + n]
        run_or_skip(dtype, kernel, trans_b, a, b, c, 0.0, trans_a=trans_a)
        tol = tolerance(dtype, k)
        np.testing.assert_allclose(c, reference(a, b, trans_b, trans_a), rtol=tol, atol=tol)
        assert not c_big[:, :4].any() and not c_big[:, 4 + n:].any()


@pytest.mark.parametrize("kernel", KERNELS.values(), ids=KERNELS.keys())
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("m", [70, 200])
def test_transposed_a_far_apart(kernel, dtype, m):
    """A read transposed with its stored rows a page or more apart (lda = 1100): the
    product copies each slice of k (and chunk of rows) into blocks first; k spans
    several slices, m ends in a short block."""
    k, n = 300, 45
    rng = np.random.default_rng(m)
    a = rng.standard_normal((k, 1100)).astype(dtype)[:, 5:5 + m]  # stored (k, m), lda 1100
    b = rng.standard_normal((k, n)).astype(dtype)
    c0 = rng.standard_normal((m, n)).astype(dtype)
    c = c0.copy()
    run_or_skip(dtype, kernel, 0, a, b, c, 0.5, trans_a=1)
    tol = tolerance(dtype, k)
    expected = reference(a, b, 0, 1) + 0.5 * c0.astype(np.float64)
    np.testing.assert_allclose(c, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_empty_sizes(dtype):
    a, b = operands(3, 4, 5, 0, dtype)
    c = np.ones((3, 4), dtype)
    assert packed_product(dtype, BEST, 0, a, b, c, 1.0, m=0) == lib.MG_OK
    assert (c == 1).all()
    assert packed_product(dtype, BEST, 0, a, b, c, 1.0, n=0) == lib.MG_OK
    assert (c == 1).all()
    # k == 0: C = beta C, A and B not read (NULL is fine)
    status = lib.mg_gemm_packed_once(DTYPES[dtype], BEST, 0, 0, 3, 4, 0, ffi.NULL, 0, ffi.NULL,
                                     4, 0.5, ptr(c), 4)
    assert status == lib.MG_OK and (c == 0.5).all()
    c[:] = np.nan
    status = lib.mg_gemm_packed_once(DTYPES[dtype], BEST, 1, 1, 3, 4, 0, ffi.NULL, 3, ffi.NULL,
                                     0, 0.0, ptr(c), 4)
    assert status == lib.MG_OK and (c == 0).all()


def test_bad_arguments():
    a, b = operands(4, 6, 5, 0, np.float32)
    c = np.zeros((4, 6), np.float32)
    f32 = lib.MG_FLOAT32

    def call(dtype=f32, kernel=BEST, trans_a=0, trans_b=0, m=4, n=6, k=5, a_=a, lda=5, b_=b,
             ldb=6, c_=c, ldc=6):
        return lib.mg_gemm_packed_once(dtype, kernel, trans_a, trans_b, m, n, k, ptr(a_), lda,
                                       ptr(b_), ldb, 0.0, ptr(c_), ldc)

    assert call() == lib.MG_OK
    assert call(dtype=lib.MG_INT64) == lib.MG_ERR_DTYPE
    assert call(kernel=3) == lib.MG_ERR_OP
    assert call(kernel=-2) == lib.MG_ERR_OP
    assert call(trans_b=2) == lib.MG_ERR_OP
    assert call(trans_a=2) == lib.MG_ERR_OP
    assert call(trans_a=1, lda=4) == lib.MG_OK  # A stored (k, m) = (5, 4)
    for bad in ({"m": -1}, {"n": -1}, {"k": -1}, {"lda": 4}, {"ldb": 5}, {"ldc": 5},
                {"trans_b": 1, "ldb": 4}, {"trans_a": 1, "lda": 3}):
        assert call(**bad) == lib.MG_ERR_SIZE, bad
    assert call(a_=None) == lib.MG_ERR_NULL
    assert call(b_=None) == lib.MG_ERR_NULL
    assert call(c_=None) == lib.MG_ERR_NULL


# ---- through the recurrent layers -----------------------------------------------
# The step loops run every per-step product through the packed kernel and, with
# several threads, give each thread its own block of batch rows (multiples of 8)
# for the whole sequence.  Batches that do not split evenly, layers big enough to
# be split, and ragged / reversed sequences.

@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
@pytest.mark.parametrize("B", [1, 3, 33])
def test_layers_odd_batches(cell, B, threads):
    H = {"lstm": 90, "gru": 105, "rnn_tanh": 190}[cell]  # T*B*G*H*H: big enough to split
    P, D = make_problem(cell, T=4, B=B, n_in=6, H=H, seed=B, scale=0.1)
    lengths = ragged_lengths(4, B)
    for dtype, tol in ((np.float32, 1e-5), (np.float64, 1e-10)):
        for reverse, lens in ((False, None), (True, lengths)):
            compare_with_reference(cell, cast(P, dtype), cast(D, dtype), lens, reverse, tol)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_relu"])
@pytest.mark.parametrize("T,B", [(40, 9), (300, 1)])
def test_layers_backward_in_chunks(cell, T, B):
    """Sequences longer than one chunk of the backward pass (about 256 rows of gate
    gradients): weight gradients summed over chunks, first steps gathered across them."""
    P, D = make_problem(cell, T, B, n_in=3, H=5, seed=T, scale=0.3)
    lengths = np.resize(np.array([T, 0, 1, T - 7, 30], np.int64), B)
    for dtype, tol in ((np.float32, 1e-5), (np.float64, 1e-10)):
        for reverse in (False, True):
            for lens in (None, lengths):
                compare_with_reference(cell, cast(P, dtype), cast(D, dtype), lens, reverse, tol)
