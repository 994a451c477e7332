"""Elementwise kernels on the device: unary ops, broadcasting binary ops, where,
clamp, fill, cast -- the names, shapes and semantics of backend/cpu/elementwise.py
(its docstring lists them), over CudaArrays (csrc/cuda/elementwise.cu, copy.cu
do the work).  The op tables and argument rules are backend/shared/elementwise.py.

`binary` and `where` hand a view's element strides to the kernel (no copy);
the others make inputs contiguous first.  `out`, where accepted, is a
C-contiguous CudaArray of the result's shape and dtype and may be an input.
"""
import numpy as np

from minigrad.backend.cuda import runtime
from minigrad.backend.cuda.array import CudaArray
from minigrad.backend.cuda.common import (ONE_STRIDE, check, contiguous, describe, device_input,
                                          int64_array, may_share_memory, optional_ptr,
                                          size_array, to_device)
from minigrad.backend.shared.checks import (DTYPE_CODES, FLOAT_CODES, dtype_argument,
                                           expected_dtypes, op_code)
from minigrad.backend.shared.elementwise import (
    BINARY_OPS, FLOAT_ONLY_OPS, UNARY_OPS, broadcast_shape, check_like_gy, check_out,
    clamp_bounds, fill_shape, int64_comparison, int64_scalar_needs_rewrite,
    int64_undefined, same_dtype, saved_for_backward, to_float)

__all__ = ["unary", "unary_backward", "binary", "binary_scalar", "where",
           "clamp", "clamp_backward", "fill", "fill_", "cast"]

_INT64_CODE = DTYPE_CODES[np.dtype(np.int64)]


def _dtype_code(arr, codes, kernel, name="input"):
    arr = device_input(arr, kernel, name)
    code = codes.get(arr.dtype)
    if code is None:
        raise TypeError(f"{kernel}: expected an array of {expected_dtypes(codes)}, "
                        f"got {describe(arr)}")
    return code


def _check_out(out, shape, dtype, kernel):
    check_out(device_input(out, kernel, "out"), shape, dtype, kernel)


def _unalias(arr, out):
    """`arr`, or a contiguous copy of it when it overlaps `out` other than element for
    element (C could read an element after writing it)."""
    if arr is out or not may_share_memory(arr, out):
        return arr
    if arr.shape == out.shape and arr.flags.c_contiguous and arr.offset == out.offset:
        return arr
    return arr.copy()


def _strides_over(arr, ndim):
    """Element strides of `arr` over an ndim-dim broadcast shape (0 where it broadcasts)."""
    strides = [0] * (ndim - arr.ndim)
    strides += [s if n != 1 else 0 for n, s in zip(arr.shape, arr.element_strides)]
    return int64_array(strides)


def _new_or_checked_out(out, shape, dtype, kernel, *inputs):
    """A new output, or `out` checked, with the inputs that overlap it copied."""
    if out is None:
        return CudaArray.empty(shape, dtype), inputs
    _check_out(out, shape, dtype, kernel)
    return out, tuple(_unalias(x, out) for x in inputs)


# ---- unary ----------------------------------------------------------------------------


def unary(op, x, out=None):
    """y = op(x) elementwise (see the CPU table for the ops); x float32 or float64."""
    kernel = f"unary({op!r})"
    code = op_code(UNARY_OPS, op, "unary")
    dtype = _dtype_code(x, FLOAT_CODES, kernel)
    x = contiguous(x)
    out, (x,) = _new_or_checked_out(out, x.shape, x.dtype, kernel, x)
    if x.size:
        check(runtime.api().unary(dtype, code, x.size, x.pointer(), out.pointer()),
              "mg_cuda_unary", lambda: f"op={op}, x={describe(x)}")
    return out


def unary_backward(op, x, y, gy):
    """gx = gy * op'(x), from x or from y = op(x) -- whichever the derivative reads
    (tanh, sigmoid, exp, sqrt read y; neg neither; the others x)."""
    kernel = f"unary_backward({op!r})"
    code = op_code(UNARY_OPS, op, "unary_backward")
    dtype = _dtype_code(gy, FLOAT_CODES, kernel, "gy")
    px = py = None
    if op != "neg":
        name, saved = saved_for_backward(kernel, op, x, y)
        _dtype_code(saved, FLOAT_CODES, kernel, name)
        check_like_gy(kernel, name, saved, gy)
        saved = contiguous(saved)
        if name == "y":
            py = saved
        else:
            px = saved
    gy = contiguous(gy)
    gx = CudaArray.empty(gy.shape, gy.dtype)
    if gy.size:
        check(runtime.api().unary_backward(dtype, code, gy.size, optional_ptr(px),
                                           optional_ptr(py), gy.pointer(), gx.pointer()),
              "mg_cuda_unary_backward", lambda: f"op={op}, gy={describe(gy)}")
    return gx


# ---- binary ---------------------------------------------------------------------------


def binary(op, a, b, out=None):
    """out = op(a, b) with numpy broadcasting (ops and dtypes as the CPU table's)."""
    kernel = f"binary({op!r})"
    code = op_code(BINARY_OPS, op, "binary")
    dtype = _dtype_code(a, DTYPE_CODES, kernel, "a")
    _dtype_code(b, DTYPE_CODES, kernel, "b")
    same_dtype(kernel, a, b)
    if dtype == _INT64_CODE and op in FLOAT_ONLY_OPS:
        raise int64_undefined(kernel, a, b)
    api = runtime.api()
    if a.shape == b.shape and a.flags.c_contiguous and b.flags.c_contiguous:
        out, (a, b) = _new_or_checked_out(out, a.shape, a.dtype, kernel, a, b)
        if not out.size:
            return out
        status = api.binary(dtype, code, 1, size_array(a.size), a.pointer(), ONE_STRIDE,
                            b.pointer(), ONE_STRIDE, out.pointer())
    else:
        shape = broadcast_shape(kernel, a.shape, b.shape)
        out, (a, b) = _new_or_checked_out(out, shape, a.dtype, kernel, a, b)
        if not out.size:
            return out
        ndim = len(shape)
        status = api.binary(dtype, code, ndim, int64_array(shape), a.pointer(),
                            _strides_over(a, ndim), b.pointer(), _strides_over(b, ndim),
                            out.pointer())
    check(status, "mg_cuda_binary", lambda: f"op={op}, a={describe(a)}, b={describe(b)}")
    return out


def binary_scalar(op, a, scalar, scalar_first=False, out=None):
    """out = op(a, scalar), or op(scalar, a) when scalar_first (rules as the CPU table's:
    an int64 array needs an exactly held integer scalar, except in comparisons)."""
    kernel = f"binary_scalar({op!r})"
    code = op_code(BINARY_OPS, op, "binary_scalar")
    dtype = _dtype_code(a, DTYPE_CODES, kernel, "a")
    s = to_float(scalar, kernel, "scalar")
    if dtype == _INT64_CODE and int64_scalar_needs_rewrite(kernel, op, a, s, scalar):
        return _int64_compare(op, a, scalar, scalar_first, out)
    a = contiguous(a)
    out, (a,) = _new_or_checked_out(out, a.shape, a.dtype, kernel, a)
    if a.size:
        check(runtime.api().binary_scalar(dtype, code, a.size, a.pointer(), s,
                                          1 if scalar_first else 0, out.pointer()),
              "mg_cuda_binary_scalar", lambda: f"op={op}, a={describe(a)}, scalar={scalar!r}")
    return out


def _int64_compare(op, a, scalar, scalar_first, out):
    """int64 array vs a scalar a double does not hold exactly: the exact integer
    comparison or constant that shared.elementwise.int64_comparison finds."""
    how, op, value = int64_comparison(op, scalar, scalar_first)
    if how == "scalar":
        return binary_scalar(op, a, value, False, out)
    if how == "array":
        return binary(op, a, to_device(np.array(value, np.int64)), out=out)
    if out is None:
        return fill(a.shape, value, a.dtype)
    _check_out(out, a.shape, a.dtype, f"binary_scalar({op!r})")
    return fill_(out, value)


def where(cond, a, b):
    """out = a where cond != 0 else b, broadcasting all three; cond has a's dtype."""
    kernel = "where"
    dtype = _dtype_code(a, DTYPE_CODES, kernel, "a")
    _dtype_code(b, DTYPE_CODES, kernel, "b")
    _dtype_code(cond, DTYPE_CODES, kernel, "cond")
    same_dtype(kernel, cond, a, b)
    shape = broadcast_shape(kernel, cond.shape, a.shape, b.shape)
    out = CudaArray.empty(shape, a.dtype)
    if out.size:
        ndim = len(shape)
        check(runtime.api().where(dtype, ndim, int64_array(shape),
                                  cond.pointer(), _strides_over(cond, ndim),
                                  a.pointer(), _strides_over(a, ndim),
                                  b.pointer(), _strides_over(b, ndim), out.pointer()),
              "mg_cuda_where", lambda: f"cond={describe(cond)}, a={describe(a)}, "
                                       f"b={describe(b)}")
    return out


# ---- clamp ----------------------------------------------------------------------------


def clamp(x, lo=None, hi=None, out=None):
    """min(max(x, lo), hi) elementwise; None means no bound (rules as the CPU table's)."""
    kernel = "clamp"
    dtype = _dtype_code(x, DTYPE_CODES, kernel)
    lo, hi = clamp_bounds(kernel, x, lo, hi, dtype == _INT64_CODE)
    x = contiguous(x)
    out, (x,) = _new_or_checked_out(out, x.shape, x.dtype, kernel, x)
    if x.size:
        check(runtime.api().clamp(dtype, x.size, x.pointer(), lo, hi, out.pointer()),
              "mg_cuda_clamp", lambda: f"x={describe(x)}, lo={lo}, hi={hi}")
    return out


def clamp_backward(x, lo, hi, gy):
    """gx = gy where lo <= x <= hi, else 0; x and gy: one shape and float dtype."""
    kernel = "clamp_backward"
    dtype = _dtype_code(x, FLOAT_CODES, kernel, "x")
    _dtype_code(gy, FLOAT_CODES, kernel, "gy")
    same_dtype(kernel, x, gy)
    check_like_gy(kernel, "x", x, gy)
    lo, hi = clamp_bounds(kernel, x, lo, hi, False)
    x, gy = contiguous(x), contiguous(gy)
    gx = CudaArray.empty(gy.shape, gy.dtype)
    if x.size:
        check(runtime.api().clamp_backward(dtype, x.size, x.pointer(), lo, hi, gy.pointer(),
                                           gx.pointer()),
              "mg_cuda_clamp_backward", lambda: f"x={describe(x)}, lo={lo}, hi={hi}")
    return gx


# ---- fill, cast -----------------------------------------------------------------------


def fill_(arr, value):
    """arr[...] = value in place (arr C-contiguous); int64 truncates toward zero."""
    dtype = _dtype_code(arr, DTYPE_CODES, "fill_")
    if not arr.flags.c_contiguous:
        raise ValueError(f"fill_: array must be C-contiguous (got strides {arr.strides})")
    if not arr.flags.writeable:
        raise ValueError("fill_: array is read-only")
    value = to_float(value, "fill_", "value")
    if arr.size:
        check(runtime.api().fill(dtype, arr.size, value, arr.pointer()), "mg_cuda_fill",
              lambda: f"arr={describe(arr)}")
    return arr


def fill(shape, value, dtype):
    """A new C-contiguous device array of `shape` and `dtype` holding `value`."""
    dt = dtype_argument(dtype, "fill", DTYPE_CODES)
    return fill_(CudaArray.empty(fill_shape(shape), dt), value)


def cast(x, dtype):
    """A new array of x's shape converted to `dtype` (as the CPU table's cast)."""
    src = _dtype_code(x, DTYPE_CODES, "cast")
    dt = dtype_argument(dtype, "cast", DTYPE_CODES)
    x = contiguous(x)
    out = CudaArray.empty(x.shape, dt)
    if x.size:
        check(runtime.api().cast(src, DTYPE_CODES[dt], x.size, x.pointer(), out.pointer()),
              "mg_cuda_cast", lambda: f"x={describe(x)}, dtype={dt}")
    return out
