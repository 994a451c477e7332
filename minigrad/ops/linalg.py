"""Matrix multiplication, with numpy's rules for vectors and batch dims, and addmm
(a matrix product added onto another tensor in the same gemm)."""
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


class AddMM(Function):
    """out = beta * input + alpha * (mat1 @ mat2): mat1 (m, k), mat2 (k, n), input
    broadcastable to (m, n) (a bias row (n,), a full (m, n), ...).

    One op instead of a matmul and an add: the gemm writes the product, and input
    is added onto it in place, by strides (a bias row is never copied out to a full
    matrix).  beta = 0 ignores input (NaN included).
    d/dinput = beta * g (summed back to input's shape), d/dmat1 = alpha * g @ mat2^T,
    d/dmat2 = alpha * mat1^T @ g."""

    def forward(self, input, mat1, mat2, beta, alpha):
        self.save_for_backward(input, mat1, mat2)
        self.beta, self.alpha = beta, alpha
        if not (input.dtype == mat1.dtype == mat2.dtype):
            raise TypeError(f"addmm: expected one dtype, got {input.dtype}, {mat1.dtype} and "
                            f"{mat2.dtype}")
        if not (input.device is mat1.device is mat2.device):
            same_device("addmm", input, mat1, mat2)
        if mat1.ndim != 2 or mat2.ndim != 2 or mat1.shape[1] != mat2.shape[0]:
            raise ValueError(f"addmm: expected matrices (m, k) and (k, n), got "
                             f"{shape_str(mat1, mat2)}")
        shape = (mat1.shape[0], mat2.shape[1])
        if beta != 0 and not _broadcasts(input.shape, shape):
            raise ValueError(f"addmm: input of shape {list(input.shape)} does not broadcast "
                             f"to the product's shape {list(shape)}")
        k = kernels(mat1)
        out = k.gemm(mat1._array, mat2._array, alpha=alpha)
        if beta != 0:
            added = input._array if beta == 1 else k.binary_scalar("mul", input._array, beta)
            k.binary("add", out, added, out=out)
        return out

    def backward(self, g):
        input, mat1, mat2 = self.saved_tensors
        gi = g1 = g2 = None
        if self.inputs[0] is not None:
            gi = unbroadcast(g if self.beta == 1 else g * self.beta, input.shape)
        ga = g if self.alpha == 1 else g * self.alpha
        if self.inputs[1] is not None:
            g1 = ga @ mat2.mT
        if self.inputs[2] is not None:
            g2 = mat1.mT @ ga
        return gi, g1, g2


def _broadcasts(shape, target):
    """Whether `shape` broadcasts to `target` (numpy's rule, target unchanged)."""
    if len(shape) > len(target):
        return False
    return all(n == 1 or n == t for n, t in zip(reversed(shape), reversed(target)))


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta * input + alpha * (mat1 @ mat2) in one gemm (PyTorch's addmm): mat1 (m, k),
    mat2 (k, n), input broadcastable to (m, n)."""
    from minigrad.ops.common import as_tensor_like
    return AddMM.apply(as_tensor_like(input, mat1), mat1, mat2, float(beta), float(alpha))
