"""Matrix multiplication, with numpy's rules for vectors and batch dims, and addmm
(a matrix product added onto another tensor in the same gemm)."""
import numpy as np

from minigrad.autograd.deferred import matmul_grad
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
        if self.inputs[0] is None:
            ga = None
        elif a.ndim == 2 and b.ndim == 2:
            ga = matmul_grad(g, b.mT)
        else:
            ga = unbroadcast(g @ b.mT, a.shape)
        if self.inputs[1] is None:
            gb = None
        elif b.ndim == 2 and a.ndim > 2:
            # (..., m, k) @ (k, n), e.g. a Linear layer on (T, B, H): every row of every
            # batch meets the same b, so its gradient is ONE (k, rows) @ (rows, n) gemm
            # rather than a batch of small ones summed afterwards.
            gb = matmul_grad(a.reshape(-1, a.shape[-1]).mT, g.reshape(-1, g.shape[-1]))
        elif a.ndim == 2 and b.ndim == 2:
            gb = matmul_grad(a.mT, g)
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


class AddMM(Function):
    """out = beta * input + alpha * (mat1 @ op(mat2)): mat1 (m, k); op(mat2) (k, n) is
    mat2 itself, or mat2^T when `transposed` (a Linear layer's weight (n, k), read
    through the gemm's flag: no transpose op); input broadcastable to (m, n) (a bias
    row (n,), a full (m, n), ...) or None (nothing added).

    One op instead of a matmul and an add: the gemm writes the product, and input
    is added onto it in place, by strides (a bias row is never copied out to a full
    matrix).  beta = 0 ignores input (NaN included).
    d/dinput = beta * g (summed back to input's shape), d/dmat1 = alpha * g @ op(mat2)^T,
    d/dop(mat2) = alpha * mat1^T @ g."""

    def forward(self, input, mat1, mat2, beta, alpha, transposed, op):
        self.save_for_backward(mat1, mat2)  # (input's gradient needs only its shape)
        self.input_shape = None if input is None else input.shape
        self.beta, self.alpha, self.transposed = beta, alpha, transposed
        if mat1.dtype != mat2.dtype or (input is not None and input.dtype != mat1.dtype):
            raise TypeError(f"{op}: expected one dtype, got " + ", ".join(
                str(t.dtype) for t in (input, mat1, mat2) if t is not None))
        if not (mat1.device is mat2.device and (input is None or input.device is mat1.device)):
            same_device(op, mat1, mat2, input)
        n, k_2 = (mat2.shape[0], mat2.shape[1]) if transposed else mat2.shape[::-1]
        if mat1.ndim != 2 or mat2.ndim != 2 or mat1.shape[1] != k_2:
            raise ValueError(f"{op}: expected matrices (m, k) and "
                             f"{'(n, k)' if transposed else '(k, n)'}, got {shape_str(mat1, mat2)}")
        shape = (mat1.shape[0], n)
        add = input is not None and beta != 0
        if add and input.shape != shape and not _broadcasts_to(input.shape, shape):
            raise ValueError(f"{op}: input of shape {list(input.shape)} does not broadcast "
                             f"to the product's shape {list(shape)}")
        k = kernels(mat1)
        out = k.gemm(mat1._array, mat2._array, trans_b=transposed, alpha=alpha)
        if add:
            added = input._array if beta == 1 else k.binary_scalar("mul", input._array, beta)
            k.binary("add", out, added, out=out)
        return out

    def backward(self, g):
        mat1, mat2 = self.saved_tensors
        edges = self.inputs if self.input_shape is not None else (None,) + self.inputs
        ga = g if self.alpha == 1 else g * self.alpha
        gi = g1 = g2 = None
        if edges[0] is not None:
            gi = unbroadcast(g if self.beta == 1 else g * self.beta, self.input_shape)
        if edges[1] is not None:
            g1 = matmul_grad(ga, mat2 if self.transposed else mat2.mT)
        if edges[2] is not None:
            g2 = matmul_grad(ga.mT, mat1) if self.transposed else matmul_grad(mat1.mT, ga)
        return (g1, g2) if self.input_shape is None else (gi, g1, g2)


def _broadcasts_to(shape, target):
    """Whether numpy's broadcasting takes `shape` to `target` unchanged."""
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta * input + alpha * (mat1 @ mat2) in one gemm (PyTorch's addmm): mat1 (m, k),
    mat2 (k, n), input broadcastable to (m, n)."""
    from minigrad.ops.common import as_tensor_like
    return AddMM.apply(as_tensor_like(input, mat1), mat1, mat2, float(beta), float(alpha),
                       False, "addmm")
