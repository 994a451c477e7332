"""Matrix multiplication, with numpy's rules for vectors and batch dims."""
from minigrad.autograd.function import Function
from minigrad.ops.common import kernels, same_device, shape_str, unbroadcast


class MatMul(Function):
    """out = a @ b for a (..., m, k), b (..., k, n) -> (..., m, n), batch dims broadcast.

    d/da = g @ b^T,  d/db = a^T @ g  (each summed over the batch dims it was broadcast
    across).  The transposes are views: the gemm kernel reads them through its
    transpose flags, without copies."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        if a.dtype != b.dtype:
            raise TypeError(f"matmul: expected one dtype, got {a.dtype} and {b.dtype}")
        if a.device is not b.device:  # (devices are interned: identity is the fast test)
            same_device("matmul", a, b)
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(f"matmul: shapes {shape_str(a, b)} cannot be multiplied "
                             f"({a.shape[-1]} != {b.shape[-2]})")
        return kernels(a).matmul(a._array, b._array)

    def backward(self, g):
        a, b = self.saved_tensors
        ga = unbroadcast(g @ b.mT, a.shape) if self.inputs[0] is not None else None
        if self.inputs[1] is None:
            gb = None
        elif b.ndim == 2 and a.ndim > 2:
            # (..., m, k) @ (k, n), e.g. a Linear layer on (T, B, H): every row of every
            # batch meets the same b, so its gradient is ONE (k, rows) @ (rows, n) gemm
            # rather than a batch of small ones summed afterwards.
            gb = a.reshape(-1, a.shape[-1]).mT @ g.reshape(-1, g.shape[-1])
        else:
            gb = unbroadcast(a.mT @ g, b.shape)
        return ga, gb


def matmul(a, b):
    """Matrix product with numpy/PyTorch semantics:
    (n,)@(n,) -> (); (m,k)@(k,) -> (m,); (k,)@(k,n) -> (n,); (...,m,k)@(...,k,n) -> (...,m,n)."""
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both arguments need at least 1 dim, got shapes "
                         f"{shape_str(a, b)}")
    if a.ndim == 1 and b.ndim == 1:
        if a.shape != b.shape:
            raise ValueError(f"matmul: vectors of shapes {shape_str(a, b)} differ in length")
        return MatMul.apply(a.unsqueeze(0), b.unsqueeze(1)).reshape(())
    if a.ndim == 1:
        return MatMul.apply(a.unsqueeze(0), b).squeeze(-2)
    if b.ndim == 1:
        return MatMul.apply(a, b.unsqueeze(1)).squeeze(-1)
    return MatMul.apply(a, b)


def mm(a, b):
    """2-D matrix product (m, k) @ (k, n) -> (m, n)."""
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"mm: expected 2-D tensors, got shapes {shape_str(a, b)}")
    return MatMul.apply(a, b)
