"""A gradient that is a matrix product, handed to the engine before it is computed.

A weight used at every step of a recurrent loop gets one gradient per step, each a
product such as h_t^T @ g_t, and the engine sums them.  Computed first and then
added, every step writes a new (in, out) buffer with a gemm and then reads it again
to add it into the sum.  Handed over as a DeferredProduct, the product is summed in
by the gemm itself (C += A @ B: the gemm's beta = 1), with no buffer in between:
in the composed LSTM's backward that takes about 5% off each step.

Backward functions return one (through `matmul_grad`) only when the backward pass is
not recorded: with create_graph=True every gradient must be a Tensor made by
recorded ops.  The engine turns it into an ordinary Tensor (`materialize`) wherever
anything but a sum it owns receives it: hooks, autograd.grad, a first gradient.
"""
from minigrad.autograd import grad_mode


class DeferredProduct:
    """The gradient a @ b of a backward step, for a (m, k) and b (k, n), not yet computed."""
    __slots__ = ("a", "b", "shape")

    def __init__(self, a, b):
        self.a, self.b = a, b
        self.shape = (a.shape[0], b.shape[1])

    def materialize(self):
        """a @ b as a new Tensor (which nothing else holds: the caller may own it), by the
        gemm alone: nothing records it, and a and b are matrices of one dtype and device."""
        from minigrad.ops.common import kernels
        from minigrad.tensor import Tensor
        a = self.a
        return Tensor._wrap(kernels(a).gemm(a._array, self.b._array), a.device)

    def add_into(self, total):
        """total += a @ b, by one gemm writing into `total` in place (a Tensor of the
        product's shape, summed by the engine or a leaf's .grad; its version is bumped
        as add_ would).  A total the gemm cannot write (not C-contiguous, another dtype
        or device) gets the product added by add_ instead."""
        from minigrad.ops.common import kernels
        a, b, array = self.a, self.b, total._array
        if (array.flags.c_contiguous and array.dtype == a.dtype == b.dtype
                and total.device is a.device is b.device):
            kernels(total).gemm(a._array, b._array, beta=1.0, out=array)
            total._version[0] += 1
        else:
            total.add_(self.materialize())
        return total


def matmul_grad(a, b):
    """a @ b for a backward function: a DeferredProduct when the backward pass is not
    being recorded and both are matrices, else the product itself."""
    if grad_mode._enabled[0] or a.ndim != 2 or b.ndim != 2:
        return a @ b
    return DeferredProduct(a, b)
