"""Matrix multiply: ``gemm`` (the BLAS-shaped kernel) and ``matmul`` (numpy's rules on top).

Both end in one call of the C kernel ``mg_gemm`` (BLAS when the build has
one) or ``mg_gemm_builtin`` (minigrad's own blocked kernel), which computes,
for each of ``batch`` problems, ``C = alpha * op(A) @ op(B) + beta * C``.

The kernel reads a matrix in place whenever its last two dims are a
row-major matrix with a row stride (``ld``), or the transpose of one: a view
such as ``w.T`` of a contiguous ``w`` is passed as the transposed flag, not
copied.  A batch of matrices needs one stride between them (0 reuses a single
matrix).  Anything else (negative strides, two non-unit strides, partially
broadcast batch dims) is first made contiguous by the C copy kernel.

The argument and shape rules (gemm's, and numpy's matmul rules) are the same
on every device: backend/shared/linalg.py.  This runs for every matmul of a
training loop, so the common cases stay on a short path: a few attribute
reads and one C call.
"""
import numpy as np

from minigrad._native import check, ffi, lib
from minigrad.backend.cpu.common import address, contiguous
from minigrad.backend.cpu.container import broadcast_to
from minigrad.backend.cpu.host_cache import empty
from minigrad.backend.shared.linalg import check_gemm_out, gemm_args, matmul_args

__all__ = ["gemm", "matmul"]


def _layout(x):
    """How the kernel can read the matrix in x's last two dims (rows, cols) in place:
    (flipped, ld) where element (i, j) sits at i*ld + j (flipped False: a row-major
    matrix) or at j*ld + i (flipped True: the transpose of one), counted in elements
    from element [..., 0, 0].  None when neither holds."""
    rows, cols = x.shape[-2:]
    row_step, col_step = x.strides[-2:]
    item = x.itemsize
    # A dim of size 1 (or 0) is never stepped along, so its stride does not matter.
    if col_step == item or cols <= 1:
        if rows <= 1:
            return False, cols
        if row_step % item == 0 and row_step // item >= cols:
            return False, row_step // item
    if row_step == item or rows <= 1:
        if cols <= 1:
            return True, rows
        if col_step % item == 0 and col_step // item >= rows:
            return True, col_step // item
    return None


def _pointer(x):
    """A C pointer to element [0, ..., 0] of x (any strides)."""
    if x.flags.c_contiguous:
        return ffi.from_buffer(x)
    if x.ndim >= 2:
        swapped = x.swapaxes(-1, -2)
        if swapped.flags.c_contiguous:
            return ffi.from_buffer(swapped)
    return address(x)


def _operand(x):
    """Describe a 2-D (one matrix) or 3-D (a batch) operand for the kernel:
    (pointer, flipped, ld, batch_stride).  Copies x only when it cannot be read in place."""
    if x.flags.c_contiguous:  # the common case, kept short
        rows, cols = x.shape[-2:]
        return (ffi.from_buffer(x), False, cols,
                rows * cols if x.ndim == 3 and x.shape[0] > 1 else 0)
    item = x.itemsize
    stride = 0
    if x.ndim == 3 and x.shape[0] > 1:
        stride = x.strides[0]
        if stride < 0 or stride % item:
            x = contiguous(x)
            stride = x.strides[0]
        stride //= item
    layout = _layout(x)
    if layout is None:
        x = contiguous(x)
        layout = (False, x.shape[-1])
        if stride:
            stride = x.shape[-2] * x.shape[-1]
    return _pointer(x), layout[0], layout[1], stride


def _run(kernel, code, a, trans_a, b, trans_b, batch, m, n, k, alpha, beta, out):
    """out (batch?, m, n), C-contiguous = alpha * op(a) @ op(b) + beta * out through
    the C kernel; a and b are 2-D or 3-D (a 2-D one is reused for every batch entry)."""
    pa, flip_a, lda, stride_a = _operand(a)
    pb, flip_b, ldb, stride_b = _operand(b)
    # A flipped layout stores the transpose, so the kernel's flag is the opposite of ours.
    ta, tb = int(trans_a != flip_a), int(trans_b != flip_b)
    rows = m
    if batch > 1 and stride_b == 0 and not ta and stride_a == m * lda:
        # One b under a stack of a whose rows are evenly spaced (e.g. a contiguous
        # (T, B, in) input times a weight): a single (batch*m, k) @ (k, n) product,
        # which BLAS runs far faster than batch small ones.
        batch, rows = 1, batch * m
    fn = lib.mg_gemm_builtin if kernel == "gemm_builtin" else lib.mg_gemm
    status = fn(code, ta, tb, batch, rows, n, k, alpha, pa, lda, stride_a, pb, ldb, stride_b,
                beta, ffi.from_buffer(out), n, m * n)
    check(status, "mg_" + kernel, lambda: f"a {list(a.shape)} trans_a={trans_a}, "
                                          f"b {list(b.shape)} trans_b={trans_b}, "
                                          f"out {list(out.shape)}")


def gemm(a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None, builtin=False):
    """out = alpha * op(a) @ op(b) + beta * out, op(x) = x or its transpose (last two dims).

    a: (m, k) or (batch, m, k); (k, m) / (batch, k, m) when trans_a.
    b: (k, n) or (batch, k, n); (n, k) / (batch, n, k) when trans_b.
    A 2-D operand beside a 3-D one is reused for every batch entry.
    out: (batch, m, n) when either operand is 3-D, else (m, n); C-contiguous, same
    dtype, not overlapping a or b.  Without out a new array is returned and beta is
    ignored; with out, beta == 0 overwrites it (NaN in it does not survive).
    builtin: use minigrad's own blocked kernel even when the build has BLAS.
    Returns out.
    """
    kernel = "gemm_builtin" if builtin else "gemm"
    code, batch, m, n, k, shape = gemm_args(kernel, a, b, trans_a, trans_b)
    if out is None:
        out = empty(shape, a.dtype)
        beta = 0.0
    else:
        check_gemm_out(kernel, out, shape, a, b, np.may_share_memory)
    _run(kernel, code, a, bool(trans_a), b, bool(trans_b), batch, m, n, k, float(alpha),
         float(beta), out)
    return out


def matmul(a, b):
    """numpy.matmul for float32/float64 arrays of ndim >= 1.

    a (..., m, k) @ b (..., k, n) -> (..., m, n), batch dims broadcast as numpy does.
    A 1-D a is a row vector (k,) and its dim is dropped from the result; a 1-D b is a
    column vector (k,) likewise; both 1-D gives a 0-d array.
    Raises TypeError on a dtype mismatch, ValueError on a shape mismatch.
    """
    code, a3, b3, batch_shape, batch, m, n, k, result_shape = matmul_args(a, b, broadcast_to,
                                                                          contiguous)
    out = empty(batch_shape + (m, n), a.dtype)
    _run("gemm", code, a3, False, b3, False, batch, m, n, k, 1.0, 0.0, out)
    return out if result_shape is None else out.reshape(result_shape)
