"""Reductions and softmax over one axis on the device -- backend/cpu/reductions.py's
names, shapes and semantics over CudaArrays (csrc/cuda/reduce.cu, softmax.cu).

    reduce(op, x, axis=None)       'sum', 'max', 'min'  -> x.shape without `axis`
    arg_reduce(op, x, axis=None)   'argmax', 'argmin'   -> int64, the same shape
    softmax(x, axis=-1, log=False), softmax_backward(y, gy, axis=-1, log=False)
    logsumexp(x, axis=None)

The kernels see x as (outer, n, inner) around the axis; non-contiguous inputs
are copied by the strided-copy kernel first.  The op tables, axis rules and
messages are backend/shared/reductions.py's.
"""
from minigrad.backend.cuda import runtime
from minigrad.backend.cuda.array import CudaArray
from minigrad.backend.cuda.common import INT64, check, contiguous, dtype_code, int64_ptr
from minigrad.backend.shared.checks import op_code
from minigrad.backend.shared.reductions import (ARG_OPS, REDUCE_OPS, check_softmax_pair,
                                                details, empty_axis_error, split_axis)

__all__ = ["reduce", "arg_reduce", "softmax", "softmax_backward", "logsumexp"]


def _input(x, kernel, floats_only=True):
    code = dtype_code(x, kernel, floats_only=floats_only)
    return contiguous(x), code


def reduce(op, x, axis=None):
    """op ('sum', 'max', 'min') of x over `axis` (None: every element)."""
    kernel = f"reduce({op!r})"
    code = op_code(REDUCE_OPS, op, "reduce")
    x, dtype = _input(x, kernel, floats_only=False)
    outer, n, inner, out_shape = split_axis(kernel, x.shape, axis)
    out = CudaArray.empty(out_shape, x.dtype)
    if out.size == 0:
        return out
    if n == 0 and op != "sum":
        raise empty_axis_error(kernel, op, x.shape, axis)
    check(runtime.api().reduce(dtype, code, outer, n, inner, x.pointer(), out.pointer()),
          "mg_cuda_reduce", details(x, axis))
    return out


def arg_reduce(op, x, axis=None):
    """int64 index of the first max ('argmax') or min ('argmin') along `axis`."""
    kernel = f"arg_reduce({op!r})"
    code = op_code(ARG_OPS, op, "arg_reduce")
    x, dtype = _input(x, kernel, floats_only=False)
    outer, n, inner, out_shape = split_axis(kernel, x.shape, axis)
    out = CudaArray.empty(out_shape, INT64)
    if out.size == 0:
        return out
    if n == 0:
        raise empty_axis_error(kernel, op, x.shape, axis)
    check(runtime.api().arg_reduce(dtype, code, outer, n, inner, x.pointer(), int64_ptr(out)),
          "mg_cuda_arg_reduce", details(x, axis))
    return out


def softmax(x, axis=-1, log=False):
    """softmax (log_softmax when `log`) of x along `axis`; same shape."""
    kernel = "log_softmax" if log else "softmax"
    x, dtype = _input(x, kernel)
    outer, n, inner, _ = split_axis(kernel, x.shape, axis)
    y = CudaArray.empty(x.shape, x.dtype)
    if y.size == 0:
        return y
    check(runtime.api().softmax(dtype, int(bool(log)), outer, n, inner, x.pointer(),
                                y.pointer()),
          "mg_cuda_softmax", details(x, axis))
    return y


def softmax_backward(y, gy, axis=-1, log=False):
    """gx of softmax (log_softmax) from its output y and the gradient gy (one shape)."""
    kernel = "log_softmax_backward" if log else "softmax_backward"
    y, dtype = _input(y, kernel)
    gy, _ = _input(gy, kernel)
    check_softmax_pair(kernel, y, gy)
    outer, n, inner, _ = split_axis(kernel, y.shape, axis)
    gx = CudaArray.empty(y.shape, y.dtype)
    if gx.size == 0:
        return gx
    check(runtime.api().softmax_backward(dtype, int(bool(log)), outer, n, inner, y.pointer(),
                                         gy.pointer(), gx.pointer()),
          "mg_cuda_softmax_backward", details(y, axis))
    return gx


def logsumexp(x, axis=None):
    """log(sum(exp(x))) along `axis` (None: every element), stably."""
    kernel = "logsumexp"
    x, dtype = _input(x, kernel)
    outer, n, inner, out_shape = split_axis(kernel, x.shape, axis)
    out = CudaArray.empty(out_shape, x.dtype)
    if out.size == 0:
        return out
    check(runtime.api().logsumexp(dtype, outer, n, inner, x.pointer(), out.pointer()),
          "mg_cuda_logsumexp", details(x, axis))
    return out
