"""Elementwise kernels: unary ops, broadcasting binary ops, where, clamp, fill, cast.

Every function takes and returns numpy arrays; the arithmetic runs in C
(csrc/unary.c, csrc/binary.c, csrc/copy.c).  Shapes:

    unary(op, x)                 x: any shape             -> x's shape
    unary_backward(op, x, y, gy) x, y, gy: one shape      -> gx, that shape
    binary(op, a, b)             a, b: broadcastable      -> broadcast shape
    binary_scalar(op, a, s)      a: any shape, s: number  -> a's shape
    where(cond, a, b)            all three broadcastable  -> broadcast shape
    clamp(x, lo, hi)             x: any shape             -> x's shape
    clamp_backward(x, lo, hi, gy)                         -> gx, x's shape
    fill(shape, value, dtype)                             -> shape
    cast(x, dtype)               x: any shape             -> x's shape

Inputs may have any layout, including transposed, sliced or reversed views:
`binary` and `where` hand a view's element strides straight to C (no copy),
the others make it contiguous first.  `out`, where accepted, must be
C-contiguous with the result's shape and dtype, and may be an input
(in-place); an input that overlaps `out` in any other way is copied first.

These run for every small tensor op, so the common case -- known op and
dtype, equal shapes, contiguous operands -- takes a short path: errors are
diagnosed only after the fast checks fail, and the C shape and stride arrays
come from caches.
"""
import numpy as np

from minigrad._native import check, ffi, lib
from minigrad.backend.cpu.common import copy_into, pointer
from minigrad.backend.cpu.host_cache import empty
from minigrad.backend.shared.c_args import ONE_STRIDE as _ONE_STRIDE
from minigrad.backend.shared.c_args import size_array as _size_array
from minigrad.backend.shared.checks import DTYPE_CODES as _ALL_CODES
from minigrad.backend.shared.checks import FLOAT_CODES as _FLOAT_CODES
from minigrad.backend.shared.checks import dtype_argument, expected_dtypes
from minigrad.backend.shared.checks import op_code as _op_code
# The op tables, rules and messages are the same on every device
# (backend/shared/elementwise.py); what stays here is the host side: numpy
# layouts, pointers and the fast paths.  The names the fast paths read are
# bound here as module globals (no attribute lookup per call).
from minigrad.backend.shared.elementwise import BACKWARD_READS_Y as _BACKWARD_READS_Y
from minigrad.backend.shared.elementwise import BINARY_OPS as _BINARY_OPS
from minigrad.backend.shared.elementwise import FLOAT_ONLY_OPS as _FLOAT_ONLY_OPS
from minigrad.backend.shared.elementwise import MAX_EXACT_INT as _MAX_EXACT_INT
from minigrad.backend.shared.elementwise import UNARY_OPS as _UNARY_OPS
from minigrad.backend.shared.elementwise import broadcast_shape as _broadcast_shape
from minigrad.backend.shared.elementwise import (
    check_like_gy, check_out, clamp_bounds, fill_shape, int64_comparison,
    int64_scalar_needs_rewrite, int64_undefined, same_dtype, saved_for_backward, to_float)

__all__ = ["unary", "unary_backward", "binary", "binary_scalar", "where",
           "clamp", "clamp_backward", "fill", "fill_", "cast"]

_INT64_CODE = lib.MG_INT64

# ---------------------------------------------------------------------------
# argument checks (the slow paths: they run when the fast checks fail)


def _describe(arr):
    if isinstance(arr, (np.ndarray, np.generic)):
        return f"{arr.dtype}{list(arr.shape)}"
    return type(arr).__name__


def _dtype_code(arr, codes, kernel):
    """C dtype code of `arr` (an array, or a numpy scalar, which acts as a 0-d
    array), or a TypeError naming the kernel."""
    code = codes.get(arr.dtype) if isinstance(arr, (np.ndarray, np.generic)) else None
    if code is None:
        raise TypeError(f"{kernel}: expected a numpy array of {expected_dtypes(codes)}, "
                        f"got {_describe(arr)}")
    return code


def _check_out(out, shape, dtype, kernel):
    """`out` must be a writable, aligned, C-contiguous array of `shape` and `dtype`."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{kernel}: out must be a numpy array, got {_describe(out)}")
    check_out(out, shape, dtype, kernel)


# ---------------------------------------------------------------------------
# layouts, pointers, caches


def _c_layout_ok(arr):
    """True when C can address `arr` by element strides: aligned, and every
    byte stride a multiple of the item size (a field of a structured array
    may break either)."""
    flags = arr.flags
    if flags.c_contiguous:
        return flags.aligned
    size = arr.itemsize
    return flags.aligned and all(s % size == 0 for s in arr.strides)


def _contiguous(arr):
    """`arr` if C can read it as one flat buffer, else a contiguous copy."""
    flags = arr.flags
    if flags.c_contiguous and flags.aligned:
        return arr
    if _c_layout_ok(arr):
        return copy_into(arr, empty(arr.shape, arr.dtype))
    # Memory that C cannot address by element strides (misaligned, or strides
    # that are not a multiple of the item size): numpy's own copy, a container
    # operation with no arithmetic, repairs the layout.
    return np.array(arr, order="C", copy=True)


def _data_address(arr):
    return arr.__array_interface__["data"][0]


_ROW_LAYOUTS = {}


def _row_layout(arr):
    """(rows, cols, row stride) in elements when `arr` is rows of contiguous elements
    evenly spaced (a slice along the last dim of a contiguous array: the gates of a
    (B, 4H) matrix), so that C reads it in place; else None.  Cached by layout: a
    recurrent step slices the same gates at every step."""
    if not arr.flags.aligned:
        return None
    key = (arr.shape, arr.strides, arr.itemsize)
    try:
        return _ROW_LAYOUTS[key]
    except KeyError:
        if len(_ROW_LAYOUTS) >= 512:
            _ROW_LAYOUTS.clear()
        layout = _ROW_LAYOUTS[key] = _find_row_layout(*key)
        return layout


def _find_row_layout(shape, strides, item):
    if len(shape) < 2 or 0 in shape:
        return None
    cols = shape[-1]
    if strides[-1] != item and cols > 1:
        return None
    ld, rem = divmod(strides[-2], item)
    rows = shape[-2]
    for i in range(len(shape) - 3, -1, -1):  # leading dims that continue the row spacing
        if strides[i] != strides[i + 1] * shape[i + 1]:
            return None
        rows *= shape[i]
    if rem or ld < cols:
        return None
    return rows, cols, ld


def _stride_array(arr, ndim):
    """C element strides of `arr` over an `ndim`-dim broadcast shape: missing
    leading dims and size-1 dims get stride 0 (broadcast)."""
    size = arr.itemsize
    strides = [0] * (ndim - arr.ndim)
    strides += [s // size if d != 1 else 0 for d, s in zip(arr.shape, arr.strides)]
    return ffi.new("int64_t[]", strides)


_LAYOUT_CACHE = {}


def _binary_layout(op, a, b):
    """(out shape, C shape array, a's and b's C stride arrays), cached by the
    operands' shapes and strides: a training loop repeats the same few
    broadcasts (bias rows, per-column scales) at every step."""
    key = (a.shape, a.strides, b.shape, b.strides, a.itemsize)
    layout = _LAYOUT_CACHE.get(key)
    if layout is None:
        shape = _broadcast_shape(f"binary({op!r})", a.shape, b.shape)
        ndim = len(shape)
        layout = (shape, ffi.new("int64_t[]", shape), _stride_array(a, ndim),
                  _stride_array(b, ndim))
        if len(_LAYOUT_CACHE) >= 512:
            _LAYOUT_CACHE.clear()
        _LAYOUT_CACHE[key] = layout
    return layout


def _unalias(arr, out):
    """`arr`, or a contiguous copy of it when it shares memory with `out` in
    any way other than being exactly out's elements: C may otherwise read an
    element after an earlier iteration or another thread overwrote it."""
    if arr is out or not np.may_share_memory(arr, out):
        return arr
    if (arr.shape == out.shape and arr.flags.c_contiguous
            and _data_address(arr) == _data_address(out)):
        return arr
    return np.array(arr, order="C", copy=True) if not _c_layout_ok(arr) \
        else copy_into(arr, empty(arr.shape, arr.dtype))


# ---------------------------------------------------------------------------
# unary


def unary(op, x, out=None):
    """y = op(x) elementwise.  op: neg, abs, exp, log, sqrt, tanh, sigmoid
    (never overflows), relu, square, reciprocal, sign.  x: float32 or float64,
    any shape and layout.  out: optional result (C-contiguous, x's shape and
    dtype; may be x itself)."""
    try:
        code = _UNARY_OPS[op]
        dtype = _FLOAT_CODES[x.dtype]
    except (KeyError, AttributeError, TypeError):
        _op_code(_UNARY_OPS, op, "unary")
        _dtype_code(x, _FLOAT_CODES, f"unary({op!r})")
        raise
    flags = x.flags
    rows = None
    if not (flags.c_contiguous and flags.aligned):
        rows = _row_layout(x)
        if rows is None:
            x = _contiguous(x)
    if out is None:
        out = empty(x.shape, x.dtype)
    elif out is not x or not out.flags.writeable:
        _check_out(out, x.shape, x.dtype, f"unary({op!r})")
        x = _unalias(x, out)
        rows = None if x.flags.c_contiguous else rows
    if rows is not None:  # a slice along the last dim, read in place
        status = lib.mg_unary_rows(dtype, code, rows[0], rows[1], pointer(x), rows[2],
                                   ffi.from_buffer(out))
    else:
        status = lib.mg_unary(dtype, code, x.size, ffi.from_buffer(x), ffi.from_buffer(out))
    if status:
        check(status, "mg_unary", f"op={op}, x={_describe(x)}")
    return out


def unary_backward(op, x, y, gy):
    """gx = gy * op'(x), computed from the input x or the forward output
    y = op(x), whichever the derivative reads (tanh, sigmoid, exp, sqrt read
    y; neg reads neither; the others read x); the unread one may be None.
    All arrays share gy's shape and dtype."""
    try:  # every backward step of a unary op comes here: the checks inline, first
        code = _UNARY_OPS[op]
        reads_y = op in _BACKWARD_READS_Y
        saved = y if reads_y else x
        dtype = _FLOAT_CODES[gy.dtype]
        if op != "neg" and (_FLOAT_CODES[saved.dtype] != dtype or saved.shape != gy.shape):
            raise TypeError
    except (KeyError, AttributeError, TypeError):
        _unary_backward_argument_error(op, x, y, gy)
    px = py = ffi.NULL
    if op != "neg":
        saved = _contiguous(saved)
        if reads_y:
            py = ffi.from_buffer(saved)
        else:
            px = ffi.from_buffer(saved)
    gy = _contiguous(gy)
    gx = empty(gy.shape, gy.dtype)
    status = lib.mg_unary_backward(dtype, code, gy.size, px, py, ffi.from_buffer(gy),
                                   ffi.from_buffer(gx))
    if status:
        check(status, "mg_unary_backward", f"op={op}, gy={_describe(gy)}")
    return gx


def _unary_backward_argument_error(op, x, y, gy):
    """Raise the exception that says why unary_backward() refused its arguments."""
    kernel = f"unary_backward({op!r})"
    _op_code(_UNARY_OPS, op, "unary_backward")
    _dtype_code(gy, _FLOAT_CODES, kernel)
    name, saved = ("y", y) if op in _BACKWARD_READS_Y else ("x", x)
    if saved is None:
        saved_for_backward(kernel, op, x, y)  # raises
    _dtype_code(saved, _FLOAT_CODES, kernel)
    check_like_gy(kernel, name, saved, gy)
    raise AssertionError("unary_backward: arguments refused without a reason")


# ---------------------------------------------------------------------------
# binary


def binary(op, a, b, out=None):
    """out = op(a, b) with numpy broadcasting.
    op: add, sub, mul, div, pow (C pow: NaN for a negative base and a
    fractional exponent), maximum, minimum (NaN propagates), eq, ne, lt, le,
    gt, ge (1 or 0 in the operands' dtype).  a, b: one dtype -- float32,
    float64, or int64 for all ops but div and pow -- any layouts.
    out: optional, C-contiguous, of the broadcast shape; may be a or b."""
    try:
        code = _BINARY_OPS[op]
        dtype = _ALL_CODES[a.dtype]
        if b.dtype != a.dtype or (dtype == _INT64_CODE and op in _FLOAT_ONLY_OPS):
            raise TypeError
    except (KeyError, AttributeError, TypeError):
        _binary_argument_error(op, a, b)
    shape = a.shape
    fa, fb = a.flags, b.flags
    if shape == b.shape and fa.c_contiguous and fb.c_contiguous and fa.aligned and fb.aligned:
        # the common case: one flat row
        if out is None:
            out = empty(shape, a.dtype)
        else:
            if (out is not a and out is not b) or not out.flags.writeable:
                _check_out(out, shape, a.dtype, f"binary({op!r})")
            a, b = _unalias(a, out), _unalias(b, out)
        status = lib.mg_binary(dtype, code, 1, _size_array(a.size), ffi.from_buffer(a),
                               _ONE_STRIDE, ffi.from_buffer(b), _ONE_STRIDE,
                               ffi.from_buffer(out))
    else:
        # broadcasting or views: C walks the operands by their strides
        if not _c_layout_ok(a):
            a = _contiguous(a)
        if not _c_layout_ok(b):
            b = _contiguous(b)
        shape, c_shape, sa, sb = _binary_layout(op, a, b)
        if out is None:
            out = empty(shape, a.dtype)
        else:  # even out = a must have the broadcast shape
            _check_out(out, shape, a.dtype, f"binary({op!r})")
            a2, b2 = _unalias(a, out), _unalias(b, out)
            if a2 is not a or b2 is not b:  # a copy has new strides
                a, b = a2, b2
                shape, c_shape, sa, sb = _binary_layout(op, a, b)
        status = lib.mg_binary(dtype, code, len(shape), c_shape, pointer(a), sa,
                               pointer(b), sb, ffi.from_buffer(out))
    if status:
        check(status, "mg_binary", f"op={op}, a={_describe(a)}, b={_describe(b)}")
    return out


def _binary_argument_error(op, a, b):
    """Raise the exception that says why binary() refused its arguments."""
    kernel = f"binary({op!r})"
    _op_code(_BINARY_OPS, op, "binary")
    _dtype_code(a, _ALL_CODES, kernel)
    _dtype_code(b, _ALL_CODES, kernel)
    same_dtype(kernel, a, b)
    raise int64_undefined(kernel, a, b)


def binary_scalar(op, a, scalar, scalar_first=False, out=None):
    """out = op(a, scalar), or op(scalar, a) when scalar_first.  a: any shape
    and layout.  The scalar is rounded to a's dtype.  For int64 it must be an
    integer a double holds exactly (TypeError otherwise) -- except in
    comparisons, which are exact for any real scalar (x < 2.5 is x <= 2).
    out as in `binary`."""
    try:
        code = _BINARY_OPS[op]
        dtype = _ALL_CODES[a.dtype]
        if isinstance(scalar, str):
            raise TypeError
        s = float(scalar)
    except (KeyError, AttributeError, TypeError, ValueError, OverflowError):
        kernel = f"binary_scalar({op!r})"
        _op_code(_BINARY_OPS, op, "binary_scalar")
        _dtype_code(a, _ALL_CODES, kernel)
        to_float(scalar, kernel, "scalar")
        raise
    if dtype == _INT64_CODE and (op in _FLOAT_ONLY_OPS or not (
            s.is_integer() and abs(s) <= _MAX_EXACT_INT and s == scalar)):
        # an int64 array and a scalar that is not an exactly held integer, or div/pow
        if int64_scalar_needs_rewrite(f"binary_scalar({op!r})", op, a, s, scalar):
            return _int64_compare(op, a, scalar, scalar_first, out)
    flags = a.flags
    if not (flags.c_contiguous and flags.aligned):
        a = _contiguous(a)
    if out is None:
        out = empty(a.shape, a.dtype)
    elif out is not a or not out.flags.writeable:
        _check_out(out, a.shape, a.dtype, f"binary_scalar({op!r})")
        a = _unalias(a, out)
    status = lib.mg_binary_scalar(dtype, code, a.size, ffi.from_buffer(a), s,
                                  1 if scalar_first else 0, ffi.from_buffer(out))
    if status:
        check(status, "mg_binary_scalar", f"op={op}, a={_describe(a)}, scalar={scalar!r}")
    return out


def _int64_compare(op, a, scalar, scalar_first, out):
    """An int64 array compared with a scalar that is not an exactly held
    integer, run as the exact integer comparison or constant that
    shared.elementwise.int64_comparison finds (for integers, x < 2.5 is x <= 2)."""
    how, op, value = int64_comparison(op, scalar, scalar_first)
    if how == "scalar":
        return binary_scalar(op, a, value, False, out)
    if how == "array":
        return binary(op, a, np.array(value, np.int64), out=out)
    if out is None:
        return fill(a.shape, value, a.dtype)
    _check_out(out, a.shape, a.dtype, f"binary_scalar({op!r})")
    return fill_(out, value)


def where(cond, a, b):
    """out = a where cond != 0 else b, broadcasting all three (numpy rules).
    cond has the dtype of a and b (float32, float64 or int64); NaN is true."""
    kernel = "where"
    dtype = _dtype_code(a, _ALL_CODES, kernel)
    _dtype_code(b, _ALL_CODES, kernel)
    _dtype_code(cond, _ALL_CODES, kernel)
    if not (cond.dtype == a.dtype == b.dtype):
        same_dtype(kernel, cond, a, b)
    shape = a.shape
    fc, fa, fb = cond.flags, a.flags, b.flags
    if (shape == b.shape == cond.shape and fc.c_contiguous and fa.c_contiguous
            and fb.c_contiguous and fc.aligned and fa.aligned and fb.aligned):
        out = empty(shape, a.dtype)
        status = lib.mg_where(dtype, 1, _size_array(out.size),
                              ffi.from_buffer(cond), _ONE_STRIDE, ffi.from_buffer(a),
                              _ONE_STRIDE, ffi.from_buffer(b), _ONE_STRIDE,
                              ffi.from_buffer(out))
    else:
        cond, a, b = (x if _c_layout_ok(x) else _contiguous(x) for x in (cond, a, b))
        if not shape == b.shape == cond.shape:
            shape = _broadcast_shape(kernel, cond.shape, a.shape, b.shape)
        out = empty(shape, a.dtype)
        ndim = len(shape)
        status = lib.mg_where(dtype, ndim, ffi.new("int64_t[]", shape),
                              pointer(cond), _stride_array(cond, ndim),
                              pointer(a), _stride_array(a, ndim),
                              pointer(b), _stride_array(b, ndim), ffi.from_buffer(out))
    if status:
        check(status, "mg_where", f"cond={_describe(cond)}, a={_describe(a)}, b={_describe(b)}")
    return out


# ---------------------------------------------------------------------------
# clamp


def clamp(x, lo=None, hi=None, out=None):
    """min(max(x, lo), hi) elementwise; None means no bound.  lo > hi gives hi
    everywhere and a NaN bound gives NaN (as torch.clamp).  x: float32,
    float64 or int64 (bounds are rounded inward to integers for int64).
    out: optional, as in `unary`."""
    kernel = "clamp"
    dtype = _dtype_code(x, _ALL_CODES, kernel)
    lo, hi = clamp_bounds(kernel, x, lo, hi, dtype == _INT64_CODE)
    x = _contiguous(x)
    if out is None:
        out = empty(x.shape, x.dtype)
    elif out is not x or not out.flags.writeable:
        _check_out(out, x.shape, x.dtype, kernel)
        x = _unalias(x, out)
    status = lib.mg_clamp(dtype, x.size, ffi.from_buffer(x), lo, hi, ffi.from_buffer(out))
    if status:
        check(status, "mg_clamp", f"x={_describe(x)}, lo={lo}, hi={hi}")
    return out


def clamp_backward(x, lo, hi, gy):
    """gx = gy where lo <= x <= hi (bounds included), else 0; None means no
    bound.  x and gy: one shape and dtype, float32 or float64."""
    kernel = "clamp_backward"
    dtype = _dtype_code(x, _FLOAT_CODES, kernel)
    _dtype_code(gy, _FLOAT_CODES, kernel)
    same_dtype(kernel, x, gy)
    check_like_gy(kernel, "x", x, gy)
    lo, hi = clamp_bounds(kernel, x, lo, hi, False)
    x, gy = _contiguous(x), _contiguous(gy)
    gx = empty(gy.shape, gy.dtype)
    status = lib.mg_clamp_backward(dtype, x.size, ffi.from_buffer(x), lo, hi,
                                   ffi.from_buffer(gy), ffi.from_buffer(gx))
    if status:
        check(status, "mg_clamp_backward", f"x={_describe(x)}, lo={lo}, hi={hi}")
    return gx


# ---------------------------------------------------------------------------
# fill, cast


def fill_(arr, value):
    """arr[...] = value in place; arr must be C-contiguous.  For int64 the
    value is truncated toward zero (NaN gives 0, out-of-range values saturate)."""
    dtype = _dtype_code(arr, _ALL_CODES, "fill_")
    flags = arr.flags
    if not (flags.c_contiguous and flags.aligned):
        raise ValueError(f"fill_: array must be C-contiguous (got strides {arr.strides})")
    if not flags.writeable:
        raise ValueError("fill_: array is read-only")
    status = lib.mg_fill(dtype, arr.size, to_float(value, "fill_", "value"),
                         ffi.from_buffer(arr))
    if status:
        check(status, "mg_fill", f"arr={_describe(arr)}")
    return arr


def fill(shape, value, dtype):
    """A new C-contiguous array of `shape` (an int or a tuple) and `dtype`
    holding `value` everywhere."""
    dt = dtype_argument(dtype, "fill", _ALL_CODES)
    return fill_(empty(fill_shape(shape), dt), value)


def cast(x, dtype):
    """A new array of x's shape converted to `dtype` (float32, float64, int64).
    float -> int64 truncates toward zero; NaN gives 0; out-of-range saturates."""
    src = _dtype_code(x, _ALL_CODES, "cast")
    dt = dtype_argument(dtype, "cast", _ALL_CODES)
    x = _contiguous(x)
    out = empty(x.shape, dt)
    status = lib.mg_cast(src, _ALL_CODES[dt], x.size, ffi.from_buffer(x), ffi.from_buffer(out))
    if status:
        check(status, "mg_cast", f"x={_describe(x)}, dtype={dt}")
    return out
