"""Matrix multiply on the device: ``gemm`` and ``matmul`` with the CPU table's
contract (backend/cpu/linalg.py), ending in one call of ``mg_cuda_gemm`` (cuBLAS
when the build has it) or ``mg_cuda_gemm_builtin`` (the tiled kernel):
for each of ``batch`` problems, ``C = alpha * op(A) @ op(B) + beta * C``.

A matrix is read in place when its last two dims are a row-major matrix with a
row stride (its leading dimension) or the transpose of one -- ``w.T`` goes in
as the transposed flag, not as a copy; a batch needs one stride between
matrices (0 reuses one).  Anything else is first made contiguous.  The
argument and shape rules are backend/shared/linalg.py's.
"""
from minigrad.backend.cuda import runtime
from minigrad.backend.cuda.array import CudaArray
from minigrad.backend.cuda.common import (broadcast_to, check, contiguous, device_input,
                                          may_share_memory)
from minigrad.backend.shared.linalg import check_gemm_out, gemm_args, matmul_args

__all__ = ["gemm", "matmul"]


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
    a, b = device_input(a, kernel, "a"), device_input(b, kernel, "b")
    code, batch, m, n, k, shape = gemm_args(kernel, a, b, trans_a, trans_b)
    if out is None:
        out = CudaArray.empty(shape, a.dtype)
        beta = 0.0
    else:
        out = device_input(out, kernel, "out")
        check_gemm_out(kernel, out, shape, a, b, may_share_memory)
    _run(kernel, code, a, bool(trans_a), b, bool(trans_b), batch, m, n, k, float(alpha),
         float(beta), out)
    return out


def matmul(a, b):
    """numpy.matmul for float32/float64 CudaArrays of ndim >= 1 (see the CPU table)."""
    a, b = device_input(a, "matmul", "a"), device_input(b, "matmul", "b")
    code, a3, b3, batch_shape, batch, m, n, k, result_shape = matmul_args(a, b, broadcast_to,
                                                                          contiguous)
    out = CudaArray.empty(batch_shape + (m, n), a.dtype)
    _run("gemm", code, a3, False, b3, False, batch, m, n, k, 1.0, 0.0, out)
    return out if result_shape is None else out.reshape(result_shape)
