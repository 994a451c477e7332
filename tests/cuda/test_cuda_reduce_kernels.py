"""The CUDA reduction, softmax, cross-entropy and optimizer kernels (csrc/cuda/reduce.cu,
softmax.cu, loss.cu, optim.cu) against the CPU kernels of the same name.

Each test runs one call through ``lib.mg_X`` on host buffers and through ``lib.mg_cuda_X`` on
device buffers and compares: bit for bit where both sides are exact (max/min, argmax/argmin,
int64 sums, the optimizer updates, which do the CPU's operations in the CPU's order without
FMAs), within a few roundings where the summation order or the math library differs (float
sums, softmax, logsumexp, cross-entropy, norms).  The (outer, n, inner) grids reach every
kernel layout: one thread per line (n <= 8, or inner > 1 with >= 65536 lines), a warp per row
(n <= 1024), a block per row, column tiles, and rows/columns cut into chunks (n >= 16384 rows,
n >= 1024 columns with few outputs).  Outputs are allocated with a guard tail that must stay
untouched.  Bad arguments must give the CPU's status codes.

Runs only on a build with MINIGRAD_CUDA=1 and a visible GPU; skipped otherwise
(MINIGRAD_REQUIRE_CUDA=1 turns the skip into a failure, for the GPU machine).
"""
import math
import platform
import threading

import numpy as np
import pytest

from minigrad._native import ffi, lib

from cuda_kernel_helpers import (ALL, CODE, F32, F64, FLOATS, I64, OK, cuda_ok, gpu,
                                 require_cuda, seed_of, sentinel)  # noqa: F401  (gpu: a fixture)

pytestmark = pytest.mark.cuda

require_cuda()


def host(arr):
    """Host pointer to a C-contiguous array (NULL for None).  It does not keep the array
    alive: pass arrays that outlive the call."""
    if arr is None:
        return ffi.NULL
    assert arr.flags.c_contiguous
    return ffi.cast("void *", arr.__array_interface__["data"][0])


def close(got, want, dtype, rtol=None, atol=None):
    """Within a few roundings of `dtype`; NaN (and inf) positions must agree."""
    if rtol is None:
        rtol = 2e-5 if np.dtype(dtype) == F32 else 1e-12
    if atol is None:
        atol = rtol
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)


def draw(rng, shape, dtype):
    if np.dtype(dtype) == I64:
        return rng.integers(-1000, 1000, shape).astype(np.int64)
    return (rng.standard_normal(shape) * 3).astype(dtype)


# Every layout of line_reduce.cuh (see the module docstring), with sizes 0 and 1.
REDUCE_SHAPES = [
    (0, 5, 3), (3, 0, 2), (2, 3, 0), (1, 1, 1), (4, 7, 1), (2, 1, 5),  # empty, tiny
    (5, 9, 1), (3, 1000, 1), (2, 1024, 1),                             # a warp per row
    (3, 1025, 1), (2, 10000, 1),                                       # a block per row
    (2, 50000, 1), (1, 100000, 1),                                     # rows in chunks
    (3, 17, 5), (2, 40, 70), (2, 1000, 32),                            # column tiles
    (1, 5000, 3), (4, 3000, 33),                                       # columns in chunks
    (2, 20, 40000),                                                    # one thread per column
]


# ---- reduce -------------------------------------------------------------------------------

def cpu_reduce(op, x, outer, n, inner):
    want = np.empty(outer * inner, x.dtype)
    assert lib.mg_reduce(CODE[x.dtype], op, outer, n, inner, host(x), host(want)) == OK
    return want


@pytest.mark.parametrize("dtype", ALL, ids=str)
@pytest.mark.parametrize("shape", REDUCE_SHAPES, ids=str)
def test_reduce_matches_cpu(gpu, dtype, shape):
    outer, n, inner = shape
    rng = np.random.default_rng(seed_of(shape, str(dtype)))
    x = draw(rng, outer * n * inner, dtype)
    dx = gpu.put(x)
    ops = [("SUM", lib.MG_SUM)] + ([("MAX", lib.MG_MAX), ("MIN", lib.MG_MIN)] if n else [])
    for name, op in ops:
        want = cpu_reduce(op, x, outer, n, inner)
        dout = gpu.out(outer * inner, dtype)
        cuda_ok(lib.mg_cuda_reduce(CODE[dtype], op, outer, n, inner, dx, dout), name)
        got = gpu.get(dout, (outer * inner,), dtype)
        if name != "SUM" or dtype == I64:
            np.testing.assert_array_equal(got, want, err_msg=name)
        else:  # double accumulation on the GPU, pairwise float on the CPU
            scale = np.abs(x.astype(np.float64)).reshape(outer, n, inner).sum(axis=1).ravel()
            eps = 2e-6 if dtype == F32 else 1e-13
            assert np.all(np.abs(got.astype(np.float64) - want) <= eps * scale + 1e-30), name


def test_reduce_int64_sum_wraps(gpu):
    x = np.array([2**62, 2**62, 2**62, 5] * 3000, np.int64)  # long enough to take the chunks
    dx, dout = gpu.put(x), gpu.out(1, I64)
    cuda_ok(lib.mg_cuda_reduce(lib.MG_INT64, lib.MG_SUM, 1, x.size, 1, dx, dout))
    np.testing.assert_array_equal(gpu.get(dout, (1,), I64), cpu_reduce(lib.MG_SUM, x, 1, x.size, 1))


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("shape", [(6, 5, 1), (4, 300, 1), (3, 3000, 1), (2, 40000, 1),
                                   (3, 20, 7), (1, 3000, 3), (2, 4, 40000)], ids=str)
def test_reduce_nan_propagates(gpu, dtype, shape):
    outer, n, inner = shape
    rng = np.random.default_rng(seed_of("nan", shape))
    x = draw(rng, (outer, n, inner), dtype)
    x[0, n // 2, 0] = np.nan            # one NaN in the middle of the first line
    x[-1, n - 1, inner - 1] = np.nan    # one at the very end of the last
    x[0, 0, inner - 1] = -np.inf
    x = x.ravel()
    dx = gpu.put(x)
    for op in (lib.MG_SUM, lib.MG_MAX, lib.MG_MIN):
        want = cpu_reduce(op, x, outer, n, inner)
        dout = gpu.out(outer * inner, dtype)
        cuda_ok(lib.mg_cuda_reduce(CODE[dtype], op, outer, n, inner, dx, dout))
        got = gpu.get(dout, (outer * inner,), dtype)
        assert np.array_equal(np.isnan(got), np.isnan(want)), op
        if op != lib.MG_SUM:
            np.testing.assert_array_equal(got, want)
        assert np.isnan(got[0]) and np.isnan(got[-1])


def test_reduce_sum_of_nothing_is_zero(gpu):
    dout = gpu.out(6, F32)
    cuda_ok(lib.mg_cuda_reduce(lib.MG_FLOAT32, lib.MG_SUM, 2, 0, 3, ffi.NULL, dout))
    np.testing.assert_array_equal(gpu.get(dout, (6,), F32), np.zeros(6, F32))


# ---- argmax / argmin --------------------------------------------------------------------

def cpu_arg_reduce(op, x, outer, n, inner):
    want = np.empty(outer * inner, np.int64)
    assert lib.mg_arg_reduce(CODE[x.dtype], op, outer, n, inner, host(x), host(want)) == OK
    return want


@pytest.mark.parametrize("dtype", ALL, ids=str)
@pytest.mark.parametrize("shape", [s for s in REDUCE_SHAPES if s[1] > 0], ids=str)
def test_arg_reduce_ties_and_nan_match_cpu(gpu, dtype, shape):
    outer, n, inner = shape
    rng = np.random.default_rng(seed_of("arg", shape, str(dtype)))
    # few distinct values: many ties, so "first occurrence" is what gets tested
    x = rng.integers(-2, 3, (outer, n, inner)).astype(dtype)
    if dtype != I64 and outer * inner > 0:
        lines = x.reshape(outer, n, inner)
        lines[0, :, 0] = -np.inf                 # a line of -inf: argmax 0
        if outer * inner > 1:
            flat_lines = lines.transpose(0, 2, 1).reshape(-1, n)  # a copy: write back below
            k = flat_lines.shape[0] - 1
            flat_lines[k, n // 2] = np.nan       # two NaNs: the first one wins
            flat_lines[k, n - 1] = np.nan
            if n > 2 and k > 1:
                flat_lines[1, n - 1] = np.nan    # a NaN at the very end
            lines[...] = flat_lines.reshape(outer, inner, n).transpose(0, 2, 1)
    x = np.ascontiguousarray(x).ravel()
    dx = gpu.put(x)
    for op in (lib.MG_ARGMAX, lib.MG_ARGMIN):
        want = cpu_arg_reduce(op, x, outer, n, inner)
        dout = gpu.out(outer * inner, I64)
        cuda_ok(lib.mg_cuda_arg_reduce(CODE[dtype], op, outer, n, inner, dx, dout))
        np.testing.assert_array_equal(gpu.get(dout, (outer * inner,), I64), want, err_msg=str(op))


def test_arg_reduce_first_occurrence_in_a_long_row(gpu):
    x = np.zeros(60000, np.float32)
    x[[17, 4000, 59999]] = 5.0   # ties spread over different threads and chunks
    x[[3, 30000]] = -5.0
    dx, dout = gpu.put(x), gpu.out(1, I64)
    cuda_ok(lib.mg_cuda_arg_reduce(lib.MG_FLOAT32, lib.MG_ARGMAX, 1, x.size, 1, dx, dout))
    assert gpu.get(dout, (1,), I64)[0] == 17
    cuda_ok(lib.mg_cuda_arg_reduce(lib.MG_FLOAT32, lib.MG_ARGMIN, 1, x.size, 1, dx, dout))
    assert gpu.get(dout, (1,), I64)[0] == 3
    x[[50000, 20000]] = np.nan
    dx = gpu.put(x)
    cuda_ok(lib.mg_cuda_arg_reduce(lib.MG_FLOAT32, lib.MG_ARGMAX, 1, x.size, 1, dx, dout))
    assert gpu.get(dout, (1,), I64)[0] == 20000


def test_reductions_from_several_threads(gpu):
    """Each host thread has its own scratch for partial results: concurrent split sums."""
    rows = {k: np.full(50000, k + 1, np.float64) for k in range(4)}
    dev = {k: gpu.put(v) for k, v in rows.items()}
    outs = {k: gpu.out(1, F64) for k in rows}
    errors = []

    def run(k):
        try:
            for _ in range(5):
                status = lib.mg_cuda_reduce(lib.MG_FLOAT64, lib.MG_SUM, 1, 50000, 1, dev[k],
                                            outs[k])
                assert status == OK, status
                cuda_ok(lib.mg_cuda_synchronize())
                assert gpu.get(outs[k], (1,), F64)[0] == 50000.0 * (k + 1)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in rows]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


# ---- softmax, log_softmax, backward, logsumexp --------------------------------------------

SOFTMAX_SHAPES = [(0, 4, 1), (2, 0, 3), (3, 4, 0), (1, 1, 1), (5, 6, 1), (4, 65, 1),
                  (3, 1000, 1), (2, 5000, 1), (2, 3, 4), (3, 50, 7), (2, 700, 40),
                  (1, 20, 70000)]


def softmax_input(rng, shape, dtype, specials):
    outer, n, inner = shape
    x = (rng.standard_normal((outer, n, inner)) * 5).astype(dtype)
    if specials and outer * inner >= 4 and n >= 2:
        lines = x.transpose(0, 2, 1).reshape(-1, n).copy()
        lines[0, n // 2] = np.nan
        lines[1, n - 1] = np.inf
        lines[2, :] = -np.inf
        lines[3, 0] = -np.inf          # one -inf in an ordinary line: exp gives 0
        if lines.shape[0] > 4:
            lines[4, :] += 1000        # large values: stability
        x = lines.reshape(outer, inner, n).transpose(0, 2, 1)
    return np.ascontiguousarray(x).ravel()


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("shape", SOFTMAX_SHAPES, ids=str)
@pytest.mark.parametrize("specials", [False, True], ids=["plain", "specials"])
def test_softmax_forward_and_backward_match_cpu(gpu, dtype, shape, specials):
    outer, n, inner = shape
    size = outer * n * inner
    rng = np.random.default_rng(seed_of("softmax", shape, str(dtype), specials))
    x = softmax_input(rng, shape, dtype, specials)
    gy = rng.standard_normal(size).astype(dtype)
    dx, dgy = gpu.put(x), gpu.put(gy)
    for log in (0, 1):
        y = np.empty(size, dtype)
        assert lib.mg_softmax(CODE[dtype], log, outer, n, inner, host(x), host(y)) == OK
        dy = gpu.out(size, dtype)
        cuda_ok(lib.mg_cuda_softmax(CODE[dtype], log, outer, n, inner, dx, dy), "softmax")
        got = gpu.get(dy, (size,), dtype)
        close(got, y, dtype)

        # the backward from the CPU's forward output, so only the backward is compared
        y = np.nan_to_num(y, nan=0.5, posinf=0.5, neginf=-3.0) if specials else y
        gx = np.empty(size, dtype)
        assert lib.mg_softmax_backward(CODE[dtype], log, outer, n, inner, host(y), host(gy),
                                       host(gx)) == OK
        dyc, dgx = gpu.put(y), gpu.out(size, dtype)
        cuda_ok(lib.mg_cuda_softmax_backward(CODE[dtype], log, outer, n, inner, dyc, dgy, dgx))
        close(gpu.get(dgx, (size,), dtype), gx, dtype)


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("shape", [(4, 30, 1), (2, 3000, 1), (3, 40, 5), (1, 4, 70000)], ids=str)
def test_softmax_in_place(gpu, dtype, shape):
    outer, n, inner = shape
    size = outer * n * inner
    rng = np.random.default_rng(seed_of("inplace", shape))
    x = (rng.standard_normal(size) * 4).astype(dtype)
    gy = rng.standard_normal(size).astype(dtype)
    for log in (0, 1):
        want = np.empty(size, dtype)
        assert lib.mg_softmax(CODE[dtype], log, outer, n, inner, host(x), host(want)) == OK
        buf = gpu.put(x)
        cuda_ok(lib.mg_cuda_softmax(CODE[dtype], log, outer, n, inner, buf, buf))
        close(gpu.get(buf, (size,), dtype), want, dtype)
        gx = np.empty(size, dtype)
        assert lib.mg_softmax_backward(CODE[dtype], log, outer, n, inner, host(want), host(gy),
                                       host(gx)) == OK
        dy, g = gpu.put(want), gpu.put(gy)
        cuda_ok(lib.mg_cuda_softmax_backward(CODE[dtype], log, outer, n, inner, dy, g, g))
        close(gpu.get(g, (size,), dtype), gx, dtype)


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("shape", SOFTMAX_SHAPES + [(2, 0, 1), (3, 0, 70000)], ids=str)
@pytest.mark.parametrize("specials", [False, True], ids=["plain", "specials"])
def test_logsumexp_matches_cpu(gpu, dtype, shape, specials):
    outer, n, inner = shape
    rng = np.random.default_rng(seed_of("lse", shape, str(dtype), specials))
    x = softmax_input(rng, shape, dtype, specials)
    want = np.empty(outer * inner, dtype)
    assert lib.mg_logsumexp(CODE[dtype], outer, n, inner, host(x) if x.size else ffi.NULL,
                            host(want)) == OK
    dx = gpu.put(x)  # NULL when empty
    dout = gpu.out(outer * inner, dtype)
    cuda_ok(lib.mg_cuda_logsumexp(CODE[dtype], outer, n, inner, dx, dout))
    got = gpu.get(dout, (outer * inner,), dtype)
    close(got, want, dtype)
    if n == 0 and got.size:
        assert (got == -np.inf).all()
    if specials and got.size >= 4 and n >= 2:
        assert np.isnan(got[0]) and got[1] == np.inf and got[2] == -np.inf


# ---- cross-entropy --------------------------------------------------------------------------

def ce_case(rng, n, c, dtype, weighted, ignore_index, ignored):
    logits = (rng.standard_normal((n, c)) * 3).astype(dtype)
    target = rng.integers(0, max(c, 1), n).astype(np.int64) if c else np.full(n, ignore_index)
    if ignored and n:
        target[rng.random(n) < 0.3] = ignore_index
        target[0] = ignore_index
    if c == 0:
        target[:] = ignore_index  # the only valid target without classes
    weight = (rng.random(c) + 0.25).astype(dtype) if weighted else None
    return logits.ravel(), target, weight


def cpu_cross_entropy(dtype, n, c, logits, target, weight, ignore_index, ls):
    loss, rw, logp = np.empty(n, dtype), np.empty(n, dtype), np.empty(n * c, dtype)
    assert lib.mg_cross_entropy(CODE[dtype], n, c, host(logits), host(target), host(weight),
                                ignore_index, ls, host(loss), host(rw), host(logp)) == OK
    return loss, rw, logp


CE_SIZES = [(0, 5), (3, 0), (1, 1), (7, 5), (300, 10), (9, 100), (4, 1000), (3, 3000)]


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("size", CE_SIZES, ids=str)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("ls", [0.0, 0.1, 1.0])
@pytest.mark.parametrize("ignore_index", [-100, 2])
def test_cross_entropy_matches_cpu(gpu, dtype, size, weighted, ls, ignore_index):
    n, c = size
    rng = np.random.default_rng(seed_of("ce", size, str(dtype), weighted, ls, ignore_index))
    logits, target, weight = ce_case(rng, n, c, dtype, weighted, ignore_index, ignored=True)
    loss, rw, logp = cpu_cross_entropy(dtype, n, c, logits, target, weight, ignore_index, ls)
    dl, dt = gpu.put(logits), gpu.put(target)
    dw = gpu.put(weight) if weighted else ffi.NULL
    dloss, drw, dlogp = gpu.out(n, dtype), gpu.out(n, dtype), gpu.out(n * c, dtype)
    cuda_ok(lib.mg_cuda_cross_entropy(CODE[dtype], n, c, dl, dt, dw, ignore_index, ls,
                                      dloss, drw, dlogp), "cross_entropy")
    close(gpu.get(dlogp, (n * c,), dtype), logp, dtype)
    close(gpu.get(dloss, (n,), dtype), loss, dtype)
    np.testing.assert_array_equal(gpu.get(drw, (n,), dtype), rw)

    grad_loss = rng.standard_normal(n).astype(dtype)
    want = np.empty(n * c, dtype)
    assert lib.mg_cross_entropy_backward(CODE[dtype], n, c, host(logp), host(target),
                                         host(weight), ignore_index, ls, host(grad_loss),
                                         host(want)) == OK
    dlp, dg, dgrad = gpu.put(logp), gpu.put(grad_loss), gpu.out(n * c, dtype)
    cuda_ok(lib.mg_cuda_cross_entropy_backward(CODE[dtype], n, c, dlp, dt, dw, ignore_index, ls,
                                               dg, dgrad), "cross_entropy_backward")
    close(gpu.get(dgrad, (n * c,), dtype), want, dtype)


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("c", [5, 100, 3000])
def test_cross_entropy_in_place_log_probs(gpu, dtype, c):
    n = 6
    rng = np.random.default_rng(seed_of("ce-inplace", c))
    logits, target, weight = ce_case(rng, n, c, dtype, True, -100, ignored=False)
    loss, rw, logp = cpu_cross_entropy(dtype, n, c, logits, target, weight, -100, 0.1)
    buf, dt, dw = gpu.put(logits), gpu.put(target), gpu.put(weight)
    dloss, drw = gpu.out(n, dtype), gpu.out(n, dtype)
    cuda_ok(lib.mg_cuda_cross_entropy(CODE[dtype], n, c, buf, dt, dw, -100, 0.1, dloss, drw, buf))
    close(gpu.get(buf, (n * c,), dtype), logp, dtype)
    close(gpu.get(dloss, (n,), dtype), loss, dtype)


@pytest.mark.parametrize("bad", [5, -1, 1 << 40, -101])
def test_cross_entropy_out_of_range_target_is_an_index_error(gpu, bad):
    n, c = 8, 5
    rng = np.random.default_rng(7)
    logits, target, _ = ce_case(rng, n, c, F32, False, -100, ignored=True)
    target[5] = bad
    dl, dt = gpu.put(logits), gpu.put(target)
    dloss, drw, dlogp = gpu.out(n, F32), gpu.out(n, F32), gpu.out(n * c, F32)
    loss, rw, logp = np.empty(n, F32), np.empty(n, F32), np.empty(n * c, F32)
    cpu = lib.mg_cross_entropy(lib.MG_FLOAT32, n, c, host(logits), host(target), ffi.NULL, -100,
                               0.0, host(loss), host(rw), host(logp))
    assert cpu == lib.MG_ERR_INDEX
    assert lib.mg_cuda_cross_entropy(lib.MG_FLOAT32, n, c, dl, dt, ffi.NULL, -100, 0.0, dloss,
                                     drw, dlogp) == lib.MG_ERR_INDEX
    # nothing was written
    assert (gpu.get(dlogp, (n * c,), F32) == sentinel(F32)).all()
    assert (gpu.get(dloss, (n,), F32) == sentinel(F32)).all()
    dgrad = gpu.out(n * c, F32)
    assert lib.mg_cuda_cross_entropy_backward(lib.MG_FLOAT32, n, c, dl, dt, ffi.NULL, -100, 0.0,
                                              gpu.put(np.ones(n, F32)), dgrad) == lib.MG_ERR_INDEX
    assert (gpu.get(dgrad, (n * c,), F32) == sentinel(F32)).all()
    # and a valid call afterwards still works (the flag was reset)
    target[5] = 1
    dt = gpu.put(target)
    cuda_ok(lib.mg_cuda_cross_entropy(lib.MG_FLOAT32, n, c, dl, dt, ffi.NULL, -100, 0.0, dloss,
                                      drw, dlogp))


def test_cross_entropy_bad_arguments(gpu):
    n, c = 4, 3
    d = gpu.put(np.zeros(n * c, F32))
    t = gpu.put(np.zeros(n, np.int64))
    o = gpu.put(np.zeros(n, F32))
    f = lib.mg_cuda_cross_entropy
    assert f(lib.MG_INT64, n, c, d, t, ffi.NULL, -100, 0.0, o, o, d) == lib.MG_ERR_DTYPE
    assert f(lib.MG_FLOAT32, -1, c, d, t, ffi.NULL, -100, 0.0, o, o, d) == lib.MG_ERR_SIZE
    assert f(lib.MG_FLOAT32, n, -1, d, t, ffi.NULL, -100, 0.0, o, o, d) == lib.MG_ERR_SIZE
    assert f(lib.MG_FLOAT32, 1 << 62, 4, d, t, ffi.NULL, -100, 0.0, o, o, d) == lib.MG_ERR_SIZE
    assert f(lib.MG_FLOAT32, n, c, d, t, ffi.NULL, -100, 1.5, o, o, d) == lib.MG_ERR_OP
    assert f(lib.MG_FLOAT32, n, c, d, t, ffi.NULL, -100, math.nan, o, o, d) == lib.MG_ERR_OP
    assert f(lib.MG_FLOAT32, n, c, d, ffi.NULL, ffi.NULL, -100, 0.0, o, o, d) == lib.MG_ERR_NULL
    assert f(lib.MG_FLOAT32, n, c, ffi.NULL, t, ffi.NULL, -100, 0.0, o, o, d) == lib.MG_ERR_NULL
    assert f(lib.MG_FLOAT32, n, c, d, t, ffi.NULL, -100, 0.0, ffi.NULL, o, d) == lib.MG_ERR_NULL
    assert f(lib.MG_FLOAT32, 0, c, ffi.NULL, ffi.NULL, ffi.NULL, -100, 0.0, ffi.NULL, ffi.NULL,
             ffi.NULL) == OK
    b = lib.mg_cuda_cross_entropy_backward
    assert b(lib.MG_FLOAT32, n, c, d, t, ffi.NULL, -100, 0.0, ffi.NULL, d) == lib.MG_ERR_NULL
    assert b(lib.MG_FLOAT32, n, c, d, t, ffi.NULL, -100, 0.0, o, ffi.NULL) == lib.MG_ERR_NULL
    assert b(lib.MG_FLOAT64, n, c, d, t, ffi.NULL, -100, -0.5, o, d) == lib.MG_ERR_OP


# ---- optimizers ----------------------------------------------------------------------------

STEPS = 8
# The updates do the CPU's operations in the CPU's order, unfused, with IEEE division and sqrt
# on both sides: bit-identical where the CPU build fuses nothing either (gcc on x86-64 without
# -march has no FMA); compilers for other CPUs (aarch64) contract a*b+c into FMAs by default.
BIT_EXACT_UPDATES = platform.machine() in ("x86_64", "AMD64")
SIZE = 1027  # not a multiple of the block size


class Pair:
    """One optimizer state on both sides: host arrays for the CPU kernel, device copies."""

    def __init__(self, gpu, names, p, dtype, fills=None):
        fills = fills or {}
        self.gpu, self.host, self.dev = gpu, {}, {}
        for name in names:
            a = p.copy() if name == "param" else np.full_like(p, fills.get(name, 0.0))
            self.host[name] = a
            self.dev[name] = gpu.put(a)
        self.dtype = dtype

    def h(self, name):
        return host(self.host[name]) if name in self.host else ffi.NULL

    def d(self, name):
        return self.dev.get(name, ffi.NULL)

    def compare(self, step):
        for name, a in self.host.items():
            got = self.gpu.get(self.dev[name], a.shape, a.dtype)
            if BIT_EXACT_UPDATES:
                np.testing.assert_array_equal(got, a, err_msg=f"{name} step {step}")
            else:
                tol = dict(rtol=1e-6, atol=1e-7) if self.dtype == F32 else dict(rtol=1e-14,
                                                                                  atol=1e-15)
                np.testing.assert_allclose(got, a, err_msg=f"{name} step {step}", **tol)


def gradients(dtype, seed):
    rng = np.random.default_rng(seed)
    p = rng.standard_normal(SIZE).astype(dtype)
    grads = [rng.standard_normal(SIZE).astype(dtype) for _ in range(STEPS)]
    for g in grads:
        g[:3] = 0  # zero gradients: sqrt(0) paths
    return p, grads


SGD_CASES = [dict(lr=0.1), dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9, dampening=0.3),
             dict(lr=0.05, momentum=0.9, nesterov=1, weight_decay=0.01),
             dict(lr=0.02, momentum=0.5, weight_decay=0.1, maximize=1)]


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("case", SGD_CASES, ids=str)
def test_sgd_trajectory_matches_cpu(gpu, dtype, case):
    p, grads = gradients(dtype, seed_of("sgd", case))
    kw = dict(lr=0.0, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=0, maximize=0)
    kw.update(case)
    s = Pair(gpu, ["param"] + (["buf"] if kw["momentum"] else []), p, dtype)
    for step, g in enumerate(grads, 1):
        args = (kw["lr"], kw["momentum"], kw["dampening"], kw["weight_decay"], kw["nesterov"],
                kw["maximize"], int(step == 1))
        assert lib.mg_sgd_step(CODE[dtype], SIZE, s.h("param"), host(g), s.h("buf"), *args) == OK
        cuda_ok(lib.mg_cuda_sgd_step(CODE[dtype], SIZE, s.d("param"), gpu.put(g), s.d("buf"),
                                     *args), "sgd")
        s.compare(step)


ADAM_CASES = [dict(), dict(weight_decay=0.1), dict(weight_decay=0.1, decoupled=1),
              dict(amsgrad=True), dict(amsgrad=True, weight_decay=0.05, decoupled=1, maximize=1),
              dict(beta1=0.6, beta2=0.3)]  # |1 - beta1| >= 0.5: the other lerp branch


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("case", ADAM_CASES, ids=str)
def test_adam_trajectory_matches_cpu(gpu, dtype, case):
    p, grads = gradients(dtype, seed_of("adam", case))
    kw = dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled=0,
              maximize=0, amsgrad=False)
    kw.update(case)
    names = ["param", "exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if kw["amsgrad"] else [])
    s = Pair(gpu, names, p, dtype)
    for step, g in enumerate(grads, 1):
        args = (kw["lr"], kw["beta1"], kw["beta2"], kw["eps"], kw["weight_decay"],
                kw["decoupled"], step, kw["maximize"])
        assert lib.mg_adam_step(CODE[dtype], SIZE, s.h("param"), host(g), s.h("exp_avg"),
                                s.h("exp_avg_sq"), s.h("max_exp_avg_sq"), *args) == OK
        cuda_ok(lib.mg_cuda_adam_step(CODE[dtype], SIZE, s.d("param"), gpu.put(g), s.d("exp_avg"),
                                      s.d("exp_avg_sq"), s.d("max_exp_avg_sq"), *args), "adam")
        s.compare(step)


ADAGRAD_CASES = [dict(), dict(lr_decay=0.1), dict(weight_decay=0.1, maximize=1),
                 dict(initial=0.5)]


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("case", ADAGRAD_CASES, ids=str)
def test_adagrad_trajectory_matches_cpu(gpu, dtype, case):
    p, grads = gradients(dtype, seed_of("adagrad", case))
    kw = dict(lr=0.05, lr_decay=0.0, weight_decay=0.0, eps=1e-10, maximize=0, initial=0.0)
    kw.update(case)
    s = Pair(gpu, ["param", "sum"], p, dtype, fills={"sum": kw["initial"]})
    for step, g in enumerate(grads, 1):
        args = (kw["lr"], kw["lr_decay"], kw["weight_decay"], kw["eps"], step, kw["maximize"])
        assert lib.mg_adagrad_step(CODE[dtype], SIZE, s.h("param"), host(g), s.h("sum"),
                                   *args) == OK
        cuda_ok(lib.mg_cuda_adagrad_step(CODE[dtype], SIZE, s.d("param"), gpu.put(g), s.d("sum"),
                                         *args), "adagrad")
        s.compare(step)


RMSPROP_CASES = [dict(), dict(momentum=0.9), dict(centered=True),
                 dict(centered=True, momentum=0.5, weight_decay=0.1, maximize=1),
                 dict(alpha=0.3)]  # |1 - alpha| >= 0.5: the other lerp branch


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("case", RMSPROP_CASES, ids=str)
def test_rmsprop_trajectory_matches_cpu(gpu, dtype, case):
    p, grads = gradients(dtype, seed_of("rmsprop", case))
    kw = dict(lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, maximize=0,
              centered=False)
    kw.update(case)
    names = ["param", "square_avg"] + (["momentum_buf"] if kw["momentum"] else []) + \
        (["grad_avg"] if kw["centered"] else [])
    s = Pair(gpu, names, p, dtype)
    for step, g in enumerate(grads, 1):
        args = (kw["lr"], kw["alpha"], kw["eps"], kw["weight_decay"], kw["momentum"],
                kw["maximize"])
        assert lib.mg_rmsprop_step(CODE[dtype], SIZE, s.h("param"), host(g), s.h("square_avg"),
                                   s.h("momentum_buf"), s.h("grad_avg"), *args) == OK
        cuda_ok(lib.mg_cuda_rmsprop_step(CODE[dtype], SIZE, s.d("param"), gpu.put(g),
                                         s.d("square_avg"), s.d("momentum_buf"), s.d("grad_avg"),
                                         *args), "rmsprop")
        s.compare(step)


def test_optimizer_bad_arguments(gpu):
    p = gpu.put(np.zeros(4, F32))
    N = ffi.NULL
    F = lib.MG_FLOAT32
    assert lib.mg_cuda_sgd_step(lib.MG_INT64, 4, p, p, p, 0.1, 0, 0, 0, 0, 0, 1) == lib.MG_ERR_DTYPE
    assert lib.mg_cuda_sgd_step(F, -1, p, p, p, 0.1, 0, 0, 0, 0, 0, 1) == lib.MG_ERR_SIZE
    assert lib.mg_cuda_sgd_step(F, 4, N, p, p, 0.1, 0, 0, 0, 0, 0, 1) == lib.MG_ERR_NULL
    assert lib.mg_cuda_sgd_step(F, 4, p, p, p, 0.1, 0, 0, 0, 1, 0, 1) == lib.MG_ERR_OP
    assert lib.mg_cuda_sgd_step(F, 4, p, p, p, 0.1, 0.9, 0.1, 0, 1, 0, 1) == lib.MG_ERR_OP
    assert lib.mg_cuda_sgd_step(F, 4, p, p, N, 0.1, 0.9, 0, 0, 0, 0, 1) == lib.MG_ERR_NULL
    assert lib.mg_cuda_sgd_step(F, 0, N, N, N, 0.1, 0.9, 0, 0, 0, 0, 1) == OK
    assert lib.mg_cuda_adam_step(F, 4, p, p, p, p, N, 0.1, 0.9, 0.99, 1e-8, 0, 0, 0, 0) == \
        lib.MG_ERR_OP
    assert lib.mg_cuda_adam_step(F, 4, p, p, p, p, N, 0.1, 1.0, 0.99, 1e-8, 0, 0, 1, 0) == \
        lib.MG_ERR_OP
    assert lib.mg_cuda_adam_step(F, 4, p, p, N, p, N, 0.1, 0.9, 0.99, 1e-8, 0, 0, 1, 0) == \
        lib.MG_ERR_NULL
    assert lib.mg_cuda_adagrad_step(F, 4, p, p, p, 0.1, 0, 0, 1e-10, 0, 0) == lib.MG_ERR_OP
    assert lib.mg_cuda_adagrad_step(F, 4, p, p, N, 0.1, 0, 0, 1e-10, 1, 0) == lib.MG_ERR_NULL
    assert lib.mg_cuda_rmsprop_step(F, 4, p, p, N, N, N, 0.1, 0.99, 1e-8, 0, 0, 0) == \
        lib.MG_ERR_NULL
    assert lib.mg_cuda_rmsprop_step(F, 4, p, p, p, N, N, 0.1, 0.99, 1e-8, 0, 0.9, 0) == \
        lib.MG_ERR_NULL
    assert lib.mg_cuda_rmsprop_step(lib.MG_INT64, 4, p, p, p, N, N, 0.1, 0.99, 1e-8, 0, 0, 0) == \
        lib.MG_ERR_DTYPE


# ---- norm_pow ------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("n", [0, 1, 7, 1000, 100000])
@pytest.mark.parametrize("p", [2.0, 1.0, 0.0, 3.0, 0.5, math.inf, -math.inf])
def test_norm_pow_matches_cpu(gpu, dtype, n, p):
    rng = np.random.default_rng(seed_of("norm", n, str(dtype)))
    x = (rng.standard_normal(n) * 2).astype(dtype)
    if n >= 7:
        x[[1, 5]] = 0  # zeros: counted out by p = 0, the min |x| for -inf
    want, got = ffi.new("double *"), ffi.new("double *")
    cpu = lib.mg_norm_pow(CODE[dtype], n, host(x) if n else ffi.NULL, p, want)
    status = lib.mg_cuda_norm_pow(CODE[dtype], n, gpu.put(x), p, got)
    assert status == cpu
    if cpu == OK:
        np.testing.assert_allclose(got[0], want[0], rtol=1e-10, atol=0)
    else:
        assert (n, p) == (0, -math.inf) and cpu == lib.MG_ERR_EMPTY


@pytest.mark.parametrize("n", [5, 3000, 100000])
@pytest.mark.parametrize("p", [2.0, 0.0, 3.0, math.inf, -math.inf])
def test_norm_pow_nan_wins(gpu, n, p):
    x = np.ones(n, np.float32)
    x[n // 2] = np.nan
    got, want = ffi.new("double *"), ffi.new("double *")
    assert lib.mg_norm_pow(lib.MG_FLOAT32, n, host(x), p, want) == OK
    cuda_ok(lib.mg_cuda_norm_pow(lib.MG_FLOAT32, n, gpu.put(x), p, got))
    if p == 0:
        assert got[0] == want[0] == n  # NaN != 0: counted
    else:
        assert math.isnan(got[0]) and math.isnan(want[0])


def test_norm_pow_bad_arguments(gpu):
    x = gpu.put(np.ones(4, F64))
    out = ffi.new("double *")
    assert lib.mg_cuda_norm_pow(lib.MG_INT64, 4, x, 2.0, out) == lib.MG_ERR_DTYPE
    assert lib.mg_cuda_norm_pow(lib.MG_FLOAT64, -1, x, 2.0, out) == lib.MG_ERR_SIZE
    assert lib.mg_cuda_norm_pow(lib.MG_FLOAT64, 4, x, math.nan, out) == lib.MG_ERR_OP
    assert lib.mg_cuda_norm_pow(lib.MG_FLOAT64, 4, x, 2.0, ffi.NULL) == lib.MG_ERR_NULL
    assert lib.mg_cuda_norm_pow(lib.MG_FLOAT64, 4, ffi.NULL, 2.0, out) == lib.MG_ERR_NULL
    assert lib.mg_cuda_norm_pow(lib.MG_FLOAT64, 0, ffi.NULL, -math.inf, out) == lib.MG_ERR_EMPTY
    out[0] = 5.0
    assert lib.mg_cuda_norm_pow(lib.MG_FLOAT64, 0, ffi.NULL, math.inf, out) == OK and out[0] == 0


# ---- reduce / softmax bad arguments ----------------------------------------------------------

def test_reduce_and_softmax_bad_arguments(gpu):
    x = gpu.put(np.ones(12, F32))
    N = ffi.NULL
    F = lib.MG_FLOAT32
    r, a = lib.mg_cuda_reduce, lib.mg_cuda_arg_reduce
    assert r(7, lib.MG_SUM, 2, 3, 2, x, x) == lib.MG_ERR_DTYPE
    assert r(F, lib.MG_SUM, -1, 3, 2, x, x) == lib.MG_ERR_SIZE
    assert r(F, lib.MG_SUM, 2, -3, 2, x, x) == lib.MG_ERR_SIZE
    assert r(F, lib.MG_ARGMAX, 2, 3, 2, x, x) == lib.MG_ERR_OP
    assert r(F, 42, 2, 3, 2, x, x) == lib.MG_ERR_OP
    assert r(F, lib.MG_MAX, 2, 0, 2, x, x) == lib.MG_ERR_EMPTY
    assert r(F, lib.MG_MIN, 0, 0, 2, N, N) == lib.MG_ERR_EMPTY  # as the CPU: EMPTY first
    assert r(F, lib.MG_SUM, 0, 3, 2, N, N) == OK
    assert r(F, lib.MG_SUM, 2, 3, 2, x, N) == lib.MG_ERR_NULL
    assert r(F, lib.MG_SUM, 2, 3, 2, N, x) == lib.MG_ERR_NULL
    assert a(F, lib.MG_SUM, 2, 3, 2, x, x) == lib.MG_ERR_OP
    assert a(F, lib.MG_ARGMIN, 2, 0, 2, x, x) == lib.MG_ERR_EMPTY
    assert a(lib.MG_INT64 + 5, lib.MG_ARGMIN, 2, 3, 2, x, x) == lib.MG_ERR_DTYPE
    assert a(F, lib.MG_ARGMAX, 2, 3, 2, N, x) == lib.MG_ERR_NULL
    assert a(F, lib.MG_ARGMAX, 2, 3, 0, N, N) == OK
    for s in (lib.mg_cuda_softmax,):
        assert s(lib.MG_INT64, 0, 2, 3, 2, x, x) == lib.MG_ERR_DTYPE
        assert s(F, 0, 2, -3, 2, x, x) == lib.MG_ERR_SIZE
        assert s(F, 1, 2, 0, 2, N, N) == OK
        assert s(F, 1, 2, 3, 2, x, N) == lib.MG_ERR_NULL
    sb = lib.mg_cuda_softmax_backward
    assert sb(lib.MG_INT64, 0, 2, 3, 2, x, x, x) == lib.MG_ERR_DTYPE
    assert sb(F, 0, 2, 3, 2, x, N, x) == lib.MG_ERR_NULL
    assert sb(F, 0, 0, 3, 2, N, N, N) == OK
    lse = lib.mg_cuda_logsumexp
    assert lse(lib.MG_INT64, 2, 3, 2, x, x) == lib.MG_ERR_DTYPE
    assert lse(F, 2, 3, -2, x, x) == lib.MG_ERR_SIZE
    assert lse(F, 2, 3, 2, N, x) == lib.MG_ERR_NULL
    assert lse(F, 2, 0, 2, N, N) == lib.MG_ERR_NULL
    assert lse(F, 0, 3, 2, N, N) == OK
