"""Reductions and softmax over one axis: sum / max / min, argmax / argmin,
softmax / log_softmax and their backward, logsumexp.

Every function takes and returns numpy arrays; the arithmetic runs in C
(csrc/reduce.c, csrc/softmax.c).  C sees the input as (outer, n, inner), n
being the reduced axis, so any axis costs the same and needs no transpose.
Shapes:

    reduce(op, x, axis=None)            x: any shape -> x.shape without `axis`
                                        (axis=None: all elements -> 0-d array)
    arg_reduce(op, x, axis=None)        the same shapes, int64 indices (axis=None:
                                        an index into the flattened array)
    softmax(x, axis=-1, log=False)      x: any shape -> same shape
    softmax_backward(y, gy, axis=-1, log=False)
                                        y (softmax's output), gy: one shape -> gx
    logsumexp(x, axis=None)             x: any shape -> x.shape without `axis`

op is 'sum', 'max' or 'min' for reduce (float32, float64, int64; int64 sums
wrap around) and 'argmax' or 'argmin' for arg_reduce (first occurrence).  NaN
propagates as in PyTorch: max/min of a slice holding NaN is NaN, and
argmax/argmin point at its first NaN.  softmax and logsumexp take float32 or
float64.  Negative axes count from the end; a 0-d array has one axis (0 or
-1), as in PyTorch.  Inputs may be any layout; non-contiguous ones are copied
by the C strided-copy kernel first.  The op tables, axis rules and messages
are the same on every device: backend/shared/reductions.py.
"""
import numpy as np

from minigrad._native import check, ffi, lib
from minigrad.backend.cpu.common import INT64 as _INT64
from minigrad.backend.cpu.common import contiguous, dtype_code, ptr
from minigrad.backend.cpu.host_cache import empty
from minigrad.backend.shared.checks import op_code as _op_code
from minigrad.backend.shared.reductions import ARG_OPS as _ARG_OPS
from minigrad.backend.shared.reductions import REDUCE_OPS as _REDUCE_OPS
from minigrad.backend.shared.reductions import (  # noqa: F401  (normalize_axis: for indexing)
    check_softmax_pair, details as _details, empty_axis_error, normalize_axis, split_axis)

__all__ = ["reduce", "arg_reduce", "softmax", "softmax_backward", "logsumexp"]


def c_input(arr, kernel, floats_only=True):
    """(array, dtype code): `arr` checked (a numpy array of a supported dtype,
    else TypeError naming `kernel`), then made C-contiguous and aligned so that
    C can read it as a flat buffer."""
    if isinstance(arr, np.generic):  # a numpy scalar: a 0-d array
        arr = np.asarray(arr)
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{kernel}: expected a numpy array, got {type(arr).__name__}")
    code = dtype_code(arr, kernel, floats_only=floats_only)
    if not arr.flags.aligned:  # C may not read misaligned elements; numpy re-lays them
        return np.array(arr, order="C", copy=True), code
    return contiguous(arr), code


def int64_ptr(arr):
    """An int64_t * to a C-contiguous int64 array (ptr() gives a char *)."""
    return ffi.from_buffer("int64_t[]", arr)


def reduce(op, x, axis=None):
    """op ('sum', 'max', 'min') of `x` over `axis` (None: every element).

    x: float32, float64 or int64, any shape -> x.shape with `axis` removed.
    The sum over an empty axis is 0; max/min over one is a ValueError."""
    kernel = f"reduce({op!r})"
    code = _op_code(_REDUCE_OPS, op, "reduce")
    x, dtype = c_input(x, kernel, floats_only=False)
    outer, n, inner, out_shape = split_axis(kernel, x.shape, axis)
    out = empty(out_shape, x.dtype)
    if out.size == 0:
        return out
    if n == 0 and op != "sum":
        raise empty_axis_error(kernel, op, x.shape, axis)
    check(lib.mg_reduce(dtype, code, outer, n, inner, ptr(x), ptr(out)),
          "mg_reduce", _details(x, axis))
    return out


def arg_reduce(op, x, axis=None):
    """Index of the first max ('argmax') or min ('argmin') of `x` along `axis`.

    x: float32, float64 or int64, any shape -> int64 array of x.shape without
    `axis`; axis=None gives a 0-d index into the flattened array."""
    kernel = f"arg_reduce({op!r})"
    code = _op_code(_ARG_OPS, op, "arg_reduce")
    x, dtype = c_input(x, kernel, floats_only=False)
    outer, n, inner, out_shape = split_axis(kernel, x.shape, axis)
    out = empty(out_shape, _INT64)
    if out.size == 0:
        return out
    if n == 0:
        raise empty_axis_error(kernel, op, x.shape, axis)
    check(lib.mg_arg_reduce(dtype, code, outer, n, inner, ptr(x), int64_ptr(out)),
          "mg_arg_reduce", _details(x, axis))
    return out


def softmax(x, axis=-1, log=False):
    """softmax (or log_softmax when `log`) of `x` along `axis`.

    x: float32 or float64, any shape -> same shape.  Stable for large inputs;
    rows holding NaN or +inf, and rows that are all -inf, give NaN (PyTorch)."""
    kernel = "log_softmax" if log else "softmax"
    x, dtype = c_input(x, kernel)
    outer, n, inner, _ = split_axis(kernel, x.shape, axis)
    y = empty(x.shape, x.dtype)
    if y.size == 0:
        return y
    check(lib.mg_softmax(dtype, int(bool(log)), outer, n, inner, ptr(x), ptr(y)),
          "mg_softmax", _details(x, axis))
    return y


def softmax_backward(y, gy, axis=-1, log=False):
    """Gradient of softmax (log_softmax when `log`) from its output `y` and the
    output's gradient `gy`:

        softmax:     gx = y * (gy - sum(gy * y, axis))
        log_softmax: gx = gy - exp(y) * sum(gy, axis)

    y, gy: one shape and float dtype -> gx of that shape."""
    kernel = "log_softmax_backward" if log else "softmax_backward"
    y, dtype = c_input(y, kernel)
    gy, _ = c_input(gy, kernel)
    if gy.dtype != y.dtype or gy.shape != y.shape:
        check_softmax_pair(kernel, y, gy)  # raises
    outer, n, inner, _ = split_axis(kernel, y.shape, axis)
    gx = empty(y.shape, y.dtype)
    if gx.size == 0:
        return gx
    check(lib.mg_softmax_backward(dtype, int(bool(log)), outer, n, inner,
                                  ptr(y), ptr(gy), ptr(gx)),
          "mg_softmax_backward", _details(y, axis))
    return gx


def logsumexp(x, axis=None):
    """log(sum(exp(x))) along `axis` (None: every element), computed stably.

    x: float32 or float64, any shape -> x.shape without `axis`.  An empty axis
    gives -inf; a slice that is all -inf gives -inf, one with +inf gives +inf."""
    kernel = "logsumexp"
    x, dtype = c_input(x, kernel)
    outer, n, inner, out_shape = split_axis(kernel, x.shape, axis)
    out = empty(out_shape, x.dtype)
    if out.size == 0:
        return out
    check(lib.mg_logsumexp(dtype, outer, n, inner, ptr(x), ptr(out)),
          "mg_logsumexp", _details(x, axis))
    return out
