"""Matrix multiply on the device: ``gemm`` and ``matmul`` with the CPU table's
contract (backend/cpu/linalg.py), ending in one call of ``mg_cuda_gemm`` (cuBLAS
when the build has it) or ``mg_cuda_gemm_builtin`` (the tiled kernel):
for each of ``batch`` problems, ``C = alpha * op(A) @ op(B) + beta * C``.

A matrix is read in place when its last two dims are a row-major matrix with a
row stride (its leading dimension) or the transpose of one -- ``w.T`` goes in
as the transposed flag, not as a copy; a batch needs one stride between
matrices (0 reuses one).  Anything else is first made contiguous.
"""
import math

from minigrad.backend.cpu.linalg import _batch_shape
from minigrad.backend.cuda import runtime
from minigrad.backend.cuda.array import CudaArray
from minigrad.backend.cuda.common import (FLOAT_CODES, check, contiguous, describe,
                                          device_input, may_share_memory)

__all__ = ["gemm", "matmul"]


def _dtype_code(kernel, a, b):
    a, b = device_input(a, kernel, "a"), device_input(b, kernel, "b")
    code = FLOAT_CODES.get(a.dtype)
    if code is None or b.dtype != a.dtype:
        raise TypeError(f"{kernel}: expected two float32 or two float64 arrays, got "
                        f"{describe(a)} and {describe(b)}")
    return code


def _layout(x):
    """(flipped, ld): element (i, j) of x's last two dims at i*ld + j (flipped False)
    or j*ld + i (flipped True), from element [..., 0, 0]; None when neither holds."""
    rows, cols = x.shape[-2:]
    row_step, col_step = x.element_strides[-2:]
    if col_step == 1 or cols <= 1:
        if rows <= 1:
            return False, max(cols, 1)
        if row_step >= cols:
            return False, row_step
    if row_step == 1 or rows <= 1:
        if cols <= 1:
            return True, max(rows, 1)
        if col_step >= rows:
            return True, col_step
    return None


def _operand(x):
    """(array, flipped, ld, batch_stride) of a 2-D or 3-D operand; copies only when the
    kernel cannot read it in place."""
    if x.flags.c_contiguous:
        rows, cols = x.shape[-2:]
        return x, False, max(cols, 1), (rows * cols if x.ndim == 3 and x.shape[0] > 1 else 0)
    stride = 0
    if x.ndim == 3 and x.shape[0] > 1:
        stride = x.element_strides[0]
        if stride < 0:
            x = contiguous(x)
            stride = x.element_strides[0]
    layout = _layout(x)
    if layout is None:
        x = contiguous(x)
        layout = (False, max(x.shape[-1], 1))
        if stride:
            stride = x.shape[-2] * x.shape[-1]
    return x, layout[0], layout[1], stride


def _run(kernel, code, a, trans_a, b, trans_b, batch, m, n, k, alpha, beta, out):
    a, flip_a, lda, stride_a = _operand(a)
    b, flip_b, ldb, stride_b = _operand(b)
    ta, tb = int(trans_a != flip_a), int(trans_b != flip_b)
    rows = m
    if batch > 1 and stride_b == 0 and not ta and stride_a == m * lda:
        batch, rows = 1, batch * m  # one tall product instead of a batch of small ones
    if out.size == 0:
        return
    api = runtime.api()
    fn = api.gemm_builtin if kernel == "gemm_builtin" else api.gemm
    status = fn(code, ta, tb, batch, rows, n, k, alpha, a.pointer(), lda, stride_a,
                b.pointer(), ldb, stride_b, beta, out.pointer(), max(n, 1), m * n)
    check(status, "mg_cuda_" + kernel, lambda: f"a {list(a.shape)} trans_a={trans_a}, "
                                               f"b {list(b.shape)} trans_b={trans_b}, "
                                               f"out {list(out.shape)}")


def gemm(a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None, builtin=False):
    """out = alpha * op(a) @ op(b) + beta * out; shapes and rules as the CPU table's gemm."""
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
        out = CudaArray.empty(shape, a.dtype)
        beta = 0.0
    else:
        out = device_input(out, kernel, "out")
        if out.shape != shape or out.dtype != a.dtype:
            raise ValueError(f"{kernel}: out must be {a.dtype}{list(shape)}, "
                             f"got {describe(out)}")
        if not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError(f"{kernel}: out must be C-contiguous and writeable")
        if may_share_memory(out, a) or may_share_memory(out, b):
            raise ValueError(f"{kernel}: out must not overlap a or b")
    _run(kernel, code, a, bool(trans_a), b, bool(trans_b), batch, m, n, k, float(alpha),
         float(beta), out)
    return out


def _collapsible(x):
    dims = [(n, s) for n, s in zip(x.shape[:-2], x.element_strides[:-2]) if n != 1]
    return all(s == s_next * n_next for (_, s), (n_next, s_next) in zip(dims, dims[1:]))


def _as_batch(x, batch_shape, batch):
    """x as one matrix (2-D) or as (batch, rows, cols), broadcasting its batch dims."""
    if x.ndim == 2 or (x.ndim == 3 and x.shape[0] == batch):
        return x
    matrix = x.shape[-2:]
    if all(d == 1 for d in x.shape[:-2]):
        return x.reshape(matrix)
    if x.shape[:-2] != batch_shape:
        x = x.broadcast_to(batch_shape + matrix)
    if not _collapsible(x):
        x = contiguous(x)
    return x.reshape((batch,) + matrix)


def matmul(a, b):
    """numpy.matmul for float32/float64 CudaArrays of ndim >= 1 (see the CPU table)."""
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
    batch = math.prod(batch_shape)
    out = CudaArray.empty(batch_shape + (m, n), a.dtype)
    _run("gemm", code, _as_batch(a2, batch_shape, batch), False,
         _as_batch(b2, batch_shape, batch), False, batch, m, n, k, 1.0, 0.0, out)
    if a.ndim == 1 or b.ndim == 1:
        shape = batch_shape + ((m,) if a.ndim > 1 else ()) + ((n,) if b.ndim > 1 else ())
        out = out.reshape(shape)
    return out
