"""Reductions (sum, mean, max, min, var, arg-max/min) and the softmax family.

The C kernels reduce one axis of an (outer, n, inner) view; several dims are
reduced one after another.  Backward broadcasts the gradient back over the
reduced dims (a view, no copy).
"""
import collections

import numpy as np

from minigrad import dtypes
from minigrad.autograd.function import Function
from minigrad.ops.common import kernels, normalize_dim, normalize_dims
from minigrad.tensor import Tensor

MaxResult = collections.namedtuple("MaxResult", ["values", "indices"])


def _keepdim_shape(shape, dims):
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


def _reduce_array(k, op, array, dims):
    """Reduce `array` over `dims` (sorted) with kernel `op`; the dims are removed."""
    if len(dims) == array.ndim:
        return k.reduce(op, array, None)
    for d in reversed(dims):
        array = k.reduce(op, array, d)
    return array


class Sum(Function):
    """out = sum of x over dims;  d/dx = 1 for every element, so the gradient is
    broadcast back over the summed dims."""

    def forward(self, x, dims, keepdim):
        self.in_shape, self.dims = x.shape, dims
        out = _reduce_array(kernels(x), "sum", x._array, dims)
        return out.reshape(_keepdim_shape(x.shape, dims)) if keepdim else out

    def backward(self, g):
        return g.reshape(_keepdim_shape(self.in_shape, self.dims)).expand(self.in_shape)


def sum(x, dim=None, keepdim=False, dtype=None):
    """Sum over `dim` (an int, a tuple, or None for all).  Shape: x's with those dims
    removed (kept as size 1 with keepdim)."""
    if dtype is not None:
        x = x.to(dtype)
    return Sum.apply(x, normalize_dims(dim, x.ndim, "sum"), keepdim)


def mean(x, dim=None, keepdim=False):
    """Mean over `dim`; see sum for the shape."""
    if not dtypes.is_float(x.dtype):
        raise TypeError(f"mean: expected a float tensor, got {x.dtype}")
    dims = normalize_dims(dim, x.ndim, "mean")
    count = 1
    for d in dims:
        count *= x.shape[d]
    return Sum.apply(x, dims, keepdim) * (1.0 / count if count else float("nan"))


def var(x, dim=None, keepdim=False, unbiased=None, correction=None):
    """Variance over `dim` with Bessel's correction (correction=1) by default."""
    if correction is None:
        correction = 0 if unbiased is False else 1
    dims = normalize_dims(dim, x.ndim, "var")
    count = 1
    for d in dims:
        count *= x.shape[d]
    centered = x - mean(x, dims, keepdim=True)
    denom = count - correction
    return sum(centered * centered, dims, keepdim) * (1.0 / denom if denom > 0 else float("nan"))


def std(x, dim=None, keepdim=False, unbiased=None, correction=None):
    return var(x, dim, keepdim, unbiased, correction).sqrt()


# ---- max / min ------------------------------------------------------------------------


class MaxAlong(Function):
    """values of max (or min) over one dim; the gradient goes to the index that won
    (`indices`, computed by the caller, who also returns them)."""

    def forward(self, op, x, dim, keepdim, indices):
        self.in_shape, self.dim, self.keepdim, self.indices = x.shape, dim, keepdim, indices
        values = kernels(x).reduce(op, x._array, dim)
        if keepdim:
            values = values.reshape(_keepdim_shape(x.shape, (dim,)))
        return values

    def backward(self, g):
        if not self.keepdim:
            g = g.unsqueeze(self.dim)
        return g * _one_hot(self.indices, self.in_shape, self.dim, g)

    def release_extra(self):
        self.indices = None


def _one_hot(indices, shape, dim, like):
    """1 where position == indices along `dim`, else 0, in `like`'s dtype: shape `shape`."""
    k = kernels(like)
    positions = k.to_device(np.arange(shape[dim], dtype=np.int64).reshape(
        [shape[dim] if i == dim else 1 for i in range(len(shape))]))
    chosen = indices.reshape(_keepdim_shape(shape, (dim,)))
    mask = k.cast(k.binary("eq", positions, chosen), like.dtype)
    return Tensor._wrap(mask, like.device)


class MaxAll(Function):
    """max (or min) of all elements; the gradient is shared evenly among ties."""
    save_outputs = True

    def forward(self, op, x):
        self.save_for_backward(x)
        return kernels(x).reduce(op, x._array, None)

    def backward(self, g):
        from minigrad.ops.elementwise import eq
        x, = self.saved_tensors
        ties = eq(x, self.output().detach())  # 1 where x equals the extreme value
        return g * ties / ties.sum()


def _max_or_min(op, x, dim, keepdim):
    if dim is None:
        if x.numel() == 0:
            raise RuntimeError(f"{op}(): expected a non-empty tensor; use the dim argument with an "
                               f"identity-free reduction only over non-empty dims")
        return MaxAll.apply(op, x)
    dim = normalize_dim(dim, x.ndim, op)
    if x.shape and x.shape[dim] == 0:
        raise IndexError(f"{op}(): cannot reduce over dim {dim} of size 0 (shape {list(x.shape)})")
    indices = kernels(x).arg_reduce("arg" + op, x._array, dim)
    values = MaxAlong.apply(op, x, dim, keepdim, indices)
    if keepdim:
        indices = indices.reshape(_keepdim_shape(x.shape, (dim,)))
    return MaxResult(values, Tensor._wrap(indices, x.device))


def max(x, dim=None, keepdim=False):
    """max(x) -> the largest element; max(x, dim) -> (values, indices) along dim.
    With a tensor as second argument: elementwise maximum."""
    if isinstance(dim, Tensor):
        from minigrad.ops.elementwise import maximum
        return maximum(x, dim)
    return _max_or_min("max", x, dim, keepdim)


def min(x, dim=None, keepdim=False):
    """min(x) -> the smallest element; min(x, dim) -> (values, indices) along dim."""
    if isinstance(dim, Tensor):
        from minigrad.ops.elementwise import minimum
        return minimum(x, dim)
    return _max_or_min("min", x, dim, keepdim)


def amax(x, dim=None, keepdim=False):
    return max(x) if dim is None else max(x, dim, keepdim).values


def amin(x, dim=None, keepdim=False):
    return min(x) if dim is None else min(x, dim, keepdim).values


def _arg(op, x, dim, keepdim):
    k = kernels(x)
    if dim is None:
        return Tensor._wrap(k.arg_reduce(op, x._array, None), x.device)
    dim = normalize_dim(dim, x.ndim, op)
    out = k.arg_reduce(op, x._array, dim)
    if keepdim:
        out = out.reshape(_keepdim_shape(x.shape, (dim,)))
    return Tensor._wrap(out, x.device)


def argmax(x, dim=None, keepdim=False):
    """Index of the largest element (over the flattened tensor when dim is None)."""
    return _arg("argmax", x, dim, keepdim)


def argmin(x, dim=None, keepdim=False):
    return _arg("argmin", x, dim, keepdim)


# ---- softmax family -------------------------------------------------------------------


class Softmax(Function):
    """y = softmax(x) (or log_softmax) along `dim`; backward by the fused kernel."""
    save_outputs = True

    def forward(self, x, dim, log):
        self.dim, self.log = dim, log
        return kernels(x).softmax(x._array, dim, log=log)

    def backward(self, g):
        return SoftmaxGrad.apply(self.output(), g, self.dim, self.log)


class SoftmaxGrad(Function):
    """gx from y and gy:  softmax: y * (gy - sum(gy * y));  log_softmax: gy - e^y sum(gy).

    Its backward (for second derivatives) is composed from Tensor ops."""

    def forward(self, y, g, dim, log):
        self.dim, self.log = dim, log
        self.save_for_backward(y, g)
        return kernels(y).softmax_backward(y._array, g._array, dim, log=log)

    def backward(self, ggx):
        y, g = self.saved_tensors
        d = self.dim
        d_g = SoftmaxGrad.apply(y, ggx, d, self.log) if not self.log else \
            ggx - (ggx * y.exp()).sum(d, keepdim=True)
        if self.log:
            d_y = -ggx * y.exp() * g.sum(d, keepdim=True)
        else:
            s = (g * y).sum(d, keepdim=True)
            d_y = ggx * (g - s) - g * (ggx * y).sum(d, keepdim=True)
        return d_y, d_g


def softmax(x, dim=-1):
    """exp(x) / sum(exp(x)) along dim, computed stably; same shape as x."""
    return Softmax.apply(x, normalize_dim(dim, x.ndim, "softmax"), False)


def log_softmax(x, dim=-1):
    """x - logsumexp(x) along dim, computed stably; same shape as x."""
    return Softmax.apply(x, normalize_dim(dim, x.ndim, "log_softmax"), True)


class LogSumExp(Function):
    """out = log(sum(exp(x))) along dim;  d/dx = exp(x - out) = softmax(x)."""
    save_outputs = True

    def forward(self, x, dim, keepdim):
        self.dim, self.keepdim = dim, keepdim
        self.save_for_backward(x)
        out = kernels(x).logsumexp(x._array, dim)
        return out.reshape(_keepdim_shape(x.shape, (dim,))) if keepdim else out

    def backward(self, g):
        x, = self.saved_tensors
        out = self.output()
        if not self.keepdim:
            g, out = g.unsqueeze(self.dim), out.unsqueeze(self.dim)
        return g * (x - out).exp()


def logsumexp(x, dim, keepdim=False):
    """log(sum(exp(x))) along dim, stable for large inputs."""
    return LogSumExp.apply(x, normalize_dim(dim, x.ndim, "logsumexp"), keepdim)
