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

This runs for every matmul of a training loop, so the common cases stay on a
short path: a few attribute reads and one C call.
"""
import numpy as np

from minigrad._native import check, ffi, lib
from minigrad.backend.cpu.common import FLOAT32, FLOAT64, contiguous

__all__ = ["gemm", "matmul"]

_DTYPE_CODES = {FLOAT32: lib.MG_FLOAT32, FLOAT64: lib.MG_FLOAT64}


def _dtype_code(kernel, a, b):
    """The C dtype code shared by a and b; TypeError unless both are one float dtype."""
    code = _DTYPE_CODES.get(a.dtype)
    if code is None or b.dtype != a.dtype:
        raise TypeError(f"{kernel}: expected two float32 or two float64 arrays, got "
                        f"{a.dtype}{list(a.shape)} and {b.dtype}{list(b.shape)}")
    return code


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
    return ffi.cast("void *", x.ctypes.data)


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
    code = _dtype_code(kernel, a, b)
    if a.ndim not in (2, 3) or b.ndim not in (2, 3):
        raise ValueError(f"{kernel}: expected 2-D or 3-D operands, got a {list(a.shape)} "
                         f"and b {list(b.shape)}")
    m, k = a.shape[-1:-3:-1] if trans_a else a.shape[-2:]
    k_b, n = b.shape[-1:-3:-1] if trans_b else b.shape[-2:]
    batches = {x.shape[0] for x in (a, b) if x.ndim == 3}
    if k != k_b or len(batches) > 1:
        raise ValueError(f"{kernel}: shapes do not match: a {list(a.shape)} (trans_a={trans_a}), "
                         f"b {list(b.shape)} (trans_b={trans_b})")
    batch = batches.pop() if batches else 1
    shape = (batch, m, n) if a.ndim == 3 or b.ndim == 3 else (m, n)
    if out is None:
        out = np.empty(shape, a.dtype)
        beta = 0.0
    else:
        if out.shape != shape or out.dtype != a.dtype:
            raise ValueError(f"{kernel}: out must be {a.dtype}{list(shape)}, "
                             f"got {out.dtype}{list(out.shape)}")
        if not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError(f"{kernel}: out must be C-contiguous and writeable")
        if np.may_share_memory(out, a) or np.may_share_memory(out, b):
            raise ValueError(f"{kernel}: out must not overlap a or b")
    _run(kernel, code, a, bool(trans_a), b, bool(trans_b), batch, m, n, k, float(alpha),
         float(beta), out)
    return out


def _batch_shape(a, b, a_batch, b_batch):
    """numpy's broadcast of two batch shapes, or a ValueError naming both operands."""
    try:
        return np.broadcast_shapes(a_batch, b_batch)
    except ValueError:
        raise ValueError(f"matmul: batch dims of shapes {list(a.shape)} and {list(b.shape)} "
                         f"do not broadcast") from None


def _collapsible(x):
    """Whether x's batch dims (all but the last two) can be read with one stride."""
    shape, strides = x.shape[:-2], x.strides[:-2]
    dims = [(n, s) for n, s in zip(shape, strides) if n != 1]
    return all(s == s_next * n_next for (_, s), (n_next, s_next) in zip(dims, dims[1:]))


def _as_batch(x, batch_shape, batch):
    """x as one matrix (2-D, reused for every batch entry) or as (batch, rows, cols),
    broadcasting its batch dims to batch_shape; copies only when no view will do."""
    if x.ndim == 2 or (x.ndim == 3 and x.shape[0] == batch):
        return x
    x_batch = x.shape[:-2]
    matrix = x.shape[-2:]
    if all(d == 1 for d in x_batch):
        return x.reshape(matrix)  # dropping size-1 dims is always a view
    if x_batch != batch_shape:  # partly broadcast: a zero stride among others
        x = np.broadcast_to(x, batch_shape + matrix)
    if not _collapsible(x):
        x = contiguous(x)
    return x.reshape((batch,) + matrix)


def matmul(a, b):
    """numpy.matmul for float32/float64 arrays of ndim >= 1.

    a (..., m, k) @ b (..., k, n) -> (..., m, n), batch dims broadcast as numpy does.
    A 1-D a is a row vector (k,) and its dim is dropped from the result; a 1-D b is a
    column vector (k,) likewise; both 1-D gives a 0-d array.
    Raises TypeError on a dtype mismatch, ValueError on a shape mismatch.
    """
    code = _dtype_code("matmul", a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must have at least one dim, got shapes "
                         f"{list(a.shape)} and {list(b.shape)}")
    a2 = a if a.ndim >= 2 else a.reshape(1, a.shape[0])
    b2 = b if b.ndim >= 2 else b.reshape(b.shape[0], 1)
    m, k = a2.shape[-2:]
    k_b, n = b2.shape[-2:]
    if k != k_b:
        raise ValueError(f"matmul: shapes {list(a.shape)} and {list(b.shape)} do not match: "
                         f"{k} (last dim of a) != {k_b} (" + ("only" if b.ndim == 1 else
                                                               "second-to-last") + " dim of b)")
    a_batch, b_batch = a2.shape[:-2], b2.shape[:-2]
    if a_batch == b_batch or not b_batch:
        batch_shape = a_batch
    elif not a_batch:
        batch_shape = b_batch
    else:
        batch_shape = _batch_shape(a, b, a_batch, b_batch)
    batch = 1
    for d in batch_shape:
        batch *= d
    out = np.empty(batch_shape + (m, n), a.dtype)
    _run("gemm", code, _as_batch(a2, batch_shape, batch), False,
         _as_batch(b2, batch_shape, batch), False, batch, m, n, k, 1.0, 0.0, out)
    if a.ndim == 1 or b.ndim == 1:
        shape = batch_shape + ((m,) if a.ndim > 1 else ()) + ((n,) if b.ndim > 1 else ())
        out = out.reshape(shape)
    return out
