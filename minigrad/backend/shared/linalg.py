"""The matrix-multiply family's rules, the same on every device: gemm's
operand, shape and `out` checks, and numpy's matmul rules (1-D operands,
broadcast batch dims) down to the (batch, m, n, k) problem one gemm call runs.

How an operand is read in place (its leading dimension, a transposed view
passed as a flag) depends on the device's strides and pointers, and stays in
each table's linalg.py; so does the kernel call.
"""
import numpy as np

from minigrad.backend.shared.checks import FLOAT_CODES, describe


# gemm_args and matmul_args run for every product of a training loop: the dtype
# test is inline in both, only the message is built here.
def _dtype_error(kernel, a, b):
    return TypeError(f"{kernel}: expected two float32 or two float64 arrays, got "
                     f"{describe(a)} and {describe(b)}")


def gemm_args(kernel, a, b, trans_a, trans_b):
    """(dtype code, batch, m, n, k, out shape) of gemm(a, b, trans_a, trans_b):
    a (m, k) or (batch, m, k), (k, m) / (batch, k, m) when trans_a; b likewise
    (k, n), (n, k) when trans_b; out (batch, m, n) when either is 3-D, else (m, n)."""
    code = FLOAT_CODES.get(a.dtype)
    if code is None or b.dtype != a.dtype:
        raise _dtype_error(kernel, a, b)
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
    return code, batch, m, n, k, shape


def check_gemm_out(kernel, out, shape, a, b, may_share_memory):
    """gemm's `out` (an array of the table's device): `shape` and a's dtype,
    C-contiguous, writable, and overlapping neither operand (`may_share_memory`
    is the device's overlap test)."""
    if out.shape != shape or out.dtype != a.dtype:
        raise ValueError(f"{kernel}: out must be {a.dtype}{list(shape)}, "
                         f"got {describe(out)}")
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError(f"{kernel}: out must be C-contiguous and writeable")
    if may_share_memory(out, a) or may_share_memory(out, b):
        raise ValueError(f"{kernel}: out must not overlap a or b")


def matmul_args(a, b, broadcast_to, contiguous):
    """numpy.matmul's rules for a (..., m, k) @ b (..., k, n), ndim >= 1 each, down to
    one gemm problem: (dtype code, a3, b3, batch_shape, batch, m, n, k, result_shape).

    a3 and b3 are the operands as gemm takes them (see as_batch; a 1-D a is a row
    (1, k), a 1-D b a column (k, 1)); batch_shape is the broadcast of their batch
    dims and batch its product.  The product is computed as batch_shape + (m, n),
    then seen as result_shape, which drops the dim of a 1-D operand (None: nothing
    dropped).  `broadcast_to` and `contiguous` are the device's (see as_batch)."""
    code = FLOAT_CODES.get(a.dtype)
    if code is None or b.dtype != a.dtype:
        raise _dtype_error("matmul", a, b)
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
        try:
            batch_shape = np.broadcast_shapes(a_batch, b_batch)
        except ValueError:
            raise ValueError(f"matmul: batch dims of shapes {list(a.shape)} and "
                             f"{list(b.shape)} do not broadcast") from None
    batch = 1
    for d in batch_shape:
        batch *= d
    result_shape = None
    if a.ndim == 1 or b.ndim == 1:
        result_shape = batch_shape + ((m,) if a.ndim > 1 else ()) + ((n,) if b.ndim > 1 else ())
    if a2.ndim != 2:  # (a matrix, the common case, goes in as it is)
        a2 = as_batch(a2, batch_shape, batch, broadcast_to, contiguous)
    if b2.ndim != 2:
        b2 = as_batch(b2, batch_shape, batch, broadcast_to, contiguous)
    return code, a2, b2, batch_shape, batch, m, n, k, result_shape


def _collapsible(x):
    """Whether x's batch dims (all but the last two) can be read with one stride."""
    dims = [(n, s) for n, s in zip(x.shape[:-2], x.strides[:-2]) if n != 1]
    return all(s == s_next * n_next for (_, s), (n_next, s_next) in zip(dims, dims[1:]))


def as_batch(x, batch_shape, batch, broadcast_to, contiguous):
    """x (a matmul operand, ndim >= 2) as one matrix (2-D, reused for every batch
    entry) or as (batch, rows, cols), its batch dims broadcast to batch_shape;
    copies (with the device's `contiguous`) only when no view will do.
    `broadcast_to(x, shape)` is the device's broadcasting view."""
    if x.ndim == 2 or (x.ndim == 3 and x.shape[0] == batch):
        return x
    matrix = x.shape[-2:]
    if all(d == 1 for d in x.shape[:-2]):
        return x.reshape(matrix)  # dropping size-1 dims is always a view
    if x.shape[:-2] != batch_shape:  # partly broadcast: a zero stride among others
        x = broadcast_to(x, batch_shape + matrix)
    if not _collapsible(x):
        x = contiguous(x)
    return x.reshape((batch,) + matrix)
