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
from minigrad.backend.cpu.common import copy_into

__all__ = ["unary", "unary_backward", "binary", "binary_scalar", "where",
           "clamp", "clamp_backward", "fill", "fill_", "cast"]

_F32, _F64, _I64 = np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64)
_FLOAT_CODES = {_F32: lib.MG_FLOAT32, _F64: lib.MG_FLOAT64}
_ALL_CODES = {_F32: lib.MG_FLOAT32, _F64: lib.MG_FLOAT64, _I64: lib.MG_INT64}
_INT64_CODE = lib.MG_INT64

_UNARY_OPS = {
    "neg": lib.MG_NEG, "abs": lib.MG_ABS, "exp": lib.MG_EXP, "log": lib.MG_LOG,
    "sqrt": lib.MG_SQRT, "tanh": lib.MG_TANH, "sigmoid": lib.MG_SIGMOID,
    "relu": lib.MG_RELU, "square": lib.MG_SQUARE, "reciprocal": lib.MG_RECIPROCAL,
    "sign": lib.MG_SIGN,
}
# Which saved array each derivative reads (mg_unary_backward's contract): the
# output y for these, nothing for neg, the input x for the rest.
_BACKWARD_READS_Y = frozenset(("tanh", "sigmoid", "exp", "sqrt"))

_BINARY_OPS = {
    "add": lib.MG_ADD, "sub": lib.MG_SUB, "mul": lib.MG_MUL, "div": lib.MG_DIV,
    "pow": lib.MG_POW, "maximum": lib.MG_MAXIMUM, "minimum": lib.MG_MINIMUM,
    "eq": lib.MG_EQ, "ne": lib.MG_NE, "lt": lib.MG_LT, "le": lib.MG_LE,
    "gt": lib.MG_GT, "ge": lib.MG_GE,
}
_FLOAT_ONLY_OPS = frozenset(("div", "pow"))  # no int64 kernel: cast to float first

_INF = float("inf")
_MAX_EXACT_INT = 2 ** 53  # integers a double holds exactly

# ---------------------------------------------------------------------------
# argument checks (the slow paths: they run when the fast checks fail)


def _describe(arr):
    if isinstance(arr, (np.ndarray, np.generic)):
        return f"{arr.dtype}{list(arr.shape)}"
    return type(arr).__name__


def _op_code(table, op, kernel):
    code = table.get(op) if isinstance(op, str) else None
    if code is None:
        raise ValueError(f"{kernel}: unknown op {op!r}; expected one of {', '.join(table)}")
    return code


def _dtype_code(arr, codes, kernel):
    """C dtype code of `arr` (an array, or a numpy scalar, which acts as a 0-d
    array), or a TypeError naming the kernel."""
    code = codes.get(arr.dtype) if isinstance(arr, (np.ndarray, np.generic)) else None
    if code is None:
        allowed = "float32 or float64" if len(codes) == 2 else "float32, float64 or int64"
        raise TypeError(f"{kernel}: expected a numpy array of {allowed}, got {_describe(arr)}")
    return code


def _same_dtype(kernel, *arrays):
    first = arrays[0].dtype
    if any(arr.dtype != first for arr in arrays[1:]):
        raise TypeError(f"{kernel}: operands must share one dtype, got "
                        + " and ".join(_describe(a) for a in arrays))


def _to_float(value, kernel, name):
    """float(value) for real numbers; TypeError for anything else (strings included)."""
    if not isinstance(value, (str, bytes)):
        try:
            return float(value)
        except (TypeError, ValueError, OverflowError):
            pass
    raise TypeError(f"{kernel}: {name} must be a real number, got {value!r}")


def _check_out(out, shape, dtype, kernel):
    """`out` must be a writable, aligned, C-contiguous array of `shape` and `dtype`."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{kernel}: out must be a numpy array, got {_describe(out)}")
    if out.shape != shape or out.dtype != dtype:
        raise ValueError(f"{kernel}: out is {_describe(out)}, expected {dtype}{list(shape)}")
    flags = out.flags
    if not (flags.c_contiguous and flags.aligned):
        raise ValueError(f"{kernel}: out must be C-contiguous (got strides {out.strides})")
    if not flags.writeable:
        raise ValueError(f"{kernel}: out is read-only")


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
        return copy_into(arr, np.empty(arr.shape, arr.dtype))
    # Memory that C cannot address by element strides (misaligned, or strides
    # that are not a multiple of the item size): numpy's own copy, a container
    # operation with no arithmetic, repairs the layout.
    return np.array(arr, order="C", copy=True)


def _data_address(arr):
    return arr.__array_interface__["data"][0]


def _pointer(arr):
    """Pointer to element [0, ..., 0] of `arr` -- for a reversed view that is
    not the lowest address; C walks back from it.  Needs _c_layout_ok(arr)."""
    if arr.flags.c_contiguous:
        return ffi.from_buffer(arr)
    return ffi.cast("void *", _data_address(arr))


def _stride_array(arr, ndim):
    """C element strides of `arr` over an `ndim`-dim broadcast shape: missing
    leading dims and size-1 dims get stride 0 (broadcast)."""
    size = arr.itemsize
    strides = [0] * (ndim - arr.ndim)
    strides += [s // size if d != 1 else 0 for d, s in zip(arr.shape, arr.strides)]
    return ffi.new("int64_t[]", strides)


_ONE_STRIDE = ffi.new("int64_t[1]", [1])
_SIZE_CACHE = {}


def _size_array(n):
    """A cached C int64_t[1] holding n: the shape of a flat (1-D) call."""
    arr = _SIZE_CACHE.get(n)
    if arr is None:
        if len(_SIZE_CACHE) >= 1024:
            _SIZE_CACHE.clear()
        arr = _SIZE_CACHE[n] = ffi.new("int64_t[1]", [n])
    return arr


def _broadcast_shape(kernel, *shapes):
    """numpy's broadcasting rule on shape tuples; ValueError naming every shape."""
    ndim = max(len(s) for s in shapes)
    result = [1] * ndim
    for shape in shapes:
        offset = ndim - len(shape)
        for i, size in enumerate(shape):
            have = result[offset + i]
            if size != have:
                if have == 1:
                    result[offset + i] = size
                elif size != 1:
                    raise ValueError(f"{kernel}: shapes "
                                     + " and ".join(str(tuple(s)) for s in shapes)
                                     + " are not broadcastable")
    return tuple(result)


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
        else copy_into(arr, np.empty(arr.shape, arr.dtype))


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
    if not (flags.c_contiguous and flags.aligned):
        x = _contiguous(x)
    if out is None:
        out = np.empty(x.shape, x.dtype)
    elif out is not x or not out.flags.writeable:
        _check_out(out, x.shape, x.dtype, f"unary({op!r})")
        x = _unalias(x, out)
    status = lib.mg_unary(dtype, code, x.size, ffi.from_buffer(x), ffi.from_buffer(out))
    if status:
        check(status, "mg_unary", f"op={op}, x={_describe(x)}")
    return out


def unary_backward(op, x, y, gy):
    """gx = gy * op'(x), computed from the input x or the forward output
    y = op(x), whichever the derivative reads (tanh, sigmoid, exp, sqrt read
    y; neg reads neither; the others read x); the unread one may be None.
    All arrays share gy's shape and dtype."""
    kernel = f"unary_backward({op!r})"
    code = _op_code(_UNARY_OPS, op, "unary_backward")
    dtype = _dtype_code(gy, _FLOAT_CODES, kernel)
    px = py = ffi.NULL
    saved = None
    if op != "neg":
        name, saved = ("y", y) if op in _BACKWARD_READS_Y else ("x", x)
        if saved is None:
            raise ValueError(f"{kernel}: the derivative of {op} reads {name}, got None")
        _dtype_code(saved, _FLOAT_CODES, kernel)
        if saved.dtype != gy.dtype or saved.shape != gy.shape:
            raise (TypeError if saved.dtype != gy.dtype else ValueError)(
                f"{kernel}: {name} is {_describe(saved)} but gy is {_describe(gy)}")
        saved = _contiguous(saved)
        if name == "y":
            py = ffi.from_buffer(saved)
        else:
            px = ffi.from_buffer(saved)
    gy = _contiguous(gy)
    gx = np.empty(gy.shape, gy.dtype)
    status = lib.mg_unary_backward(dtype, code, gy.size, px, py, ffi.from_buffer(gy),
                                   ffi.from_buffer(gx))
    if status:
        check(status, "mg_unary_backward", f"op={op}, gy={_describe(gy)}")
    return gx


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
            out = np.empty(shape, a.dtype)
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
            out = np.empty(shape, a.dtype)
        else:  # even out = a must have the broadcast shape
            _check_out(out, shape, a.dtype, f"binary({op!r})")
            a2, b2 = _unalias(a, out), _unalias(b, out)
            if a2 is not a or b2 is not b:  # a copy has new strides
                a, b = a2, b2
                shape, c_shape, sa, sb = _binary_layout(op, a, b)
        status = lib.mg_binary(dtype, code, len(shape), c_shape, _pointer(a), sa,
                               _pointer(b), sb, ffi.from_buffer(out))
    if status:
        check(status, "mg_binary", f"op={op}, a={_describe(a)}, b={_describe(b)}")
    return out


def _binary_argument_error(op, a, b):
    """Raise the exception that says why binary() refused its arguments."""
    kernel = f"binary({op!r})"
    _op_code(_BINARY_OPS, op, "binary")
    _dtype_code(a, _ALL_CODES, kernel)
    _dtype_code(b, _ALL_CODES, kernel)
    _same_dtype(kernel, a, b)
    raise TypeError(f"{kernel}: not defined for int64 ({_describe(a)} and {_describe(b)}); "
                    "cast to a float dtype first")


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
        _to_float(scalar, kernel, "scalar")
        raise
    if dtype == _INT64_CODE and not (s.is_integer() and abs(s) <= _MAX_EXACT_INT and s == scalar):
        if op in _COMPARISONS:
            return _int64_compare(op, a, scalar, scalar_first, out)
        kernel = f"binary_scalar({op!r})"
        if op in _FLOAT_ONLY_OPS:
            raise TypeError(f"{kernel}: not defined for int64 ({_describe(a)}); "
                            "cast to a float dtype first")
        raise TypeError(f"{kernel}: an int64 array needs an integer scalar of "
                        f"magnitude <= 2**53, got {scalar!r}")
    if dtype == _INT64_CODE and op in _FLOAT_ONLY_OPS:
        raise TypeError(f"binary_scalar({op!r}): not defined for int64 ({_describe(a)}); "
                        "cast to a float dtype first")
    flags = a.flags
    if not (flags.c_contiguous and flags.aligned):
        a = _contiguous(a)
    if out is None:
        out = np.empty(a.shape, a.dtype)
    elif out is not a or not out.flags.writeable:
        _check_out(out, a.shape, a.dtype, f"binary_scalar({op!r})")
        a = _unalias(a, out)
    status = lib.mg_binary_scalar(dtype, code, a.size, ffi.from_buffer(a), s,
                                  1 if scalar_first else 0, ffi.from_buffer(out))
    if status:
        check(status, "mg_binary_scalar", f"op={op}, a={_describe(a)}, scalar={scalar!r}")
    return out


_COMPARISONS = frozenset(("eq", "ne", "lt", "le", "gt", "ge"))
_FLIPPED = {"eq": "eq", "ne": "ne", "lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}


def _int64_compare(op, a, scalar, scalar_first, out):
    """An int64 array compared with a scalar that is not an exactly held
    integer (2.5, 1e300, inf, nan, 2**60 + 1), rewritten as an exact integer
    comparison or a constant: for integers x, x < 2.5 is x <= 2."""
    if scalar_first:  # s < x is x > s
        op = _FLIPPED[op]
    try:
        s = scalar if isinstance(scalar, (int, np.integer)) else float(scalar)
        floor = int(s // 1)  # Python ints: exact for any size; inf and nan raise
    except (OverflowError, ValueError):
        floor = None
    result = None
    if floor is None:  # s is +-inf or nan
        s = float(scalar)
        if s != s:
            result = op == "ne"
        else:
            below = s > 0  # every x lies below +inf
            result = {"eq": False, "ne": True, "lt": below, "le": below,
                      "gt": not below, "ge": not below}[op]
    elif floor != s:  # not an integer: x == s never holds
        if op in ("eq", "ne"):
            result = op == "ne"
        else:  # x < s is x <= floor(s); x >= s is x > floor(s)
            op = {"lt": "le", "le": "le", "gt": "gt", "ge": "gt"}[op]
    else:  # an integer that a double cannot hold exactly
        pass
    if result is None:
        if not -2 ** 63 <= floor < 2 ** 63:
            result = {"lt": floor > 0, "le": floor > 0, "gt": floor < 0, "ge": floor < 0,
                      "eq": False, "ne": True}[op]
        elif abs(floor) <= _MAX_EXACT_INT:
            return binary_scalar(op, a, floor, False, out)
        else:
            return binary(op, a, np.array(floor, np.int64), out=out)
    if out is None:
        return fill(a.shape, 1.0 if result else 0.0, a.dtype)
    _check_out(out, a.shape, a.dtype, f"binary_scalar({op!r})")
    return fill_(out, 1.0 if result else 0.0)


def where(cond, a, b):
    """out = a where cond != 0 else b, broadcasting all three (numpy rules).
    cond has the dtype of a and b (float32, float64 or int64); NaN is true."""
    kernel = "where"
    dtype = _dtype_code(a, _ALL_CODES, kernel)
    _dtype_code(b, _ALL_CODES, kernel)
    _dtype_code(cond, _ALL_CODES, kernel)
    if not (cond.dtype == a.dtype == b.dtype):
        _same_dtype(kernel, cond, a, b)
    shape = a.shape
    fc, fa, fb = cond.flags, a.flags, b.flags
    if (shape == b.shape == cond.shape and fc.c_contiguous and fa.c_contiguous
            and fb.c_contiguous and fc.aligned and fa.aligned and fb.aligned):
        out = np.empty(shape, a.dtype)
        status = lib.mg_where(dtype, 1, _size_array(out.size),
                              ffi.from_buffer(cond), _ONE_STRIDE, ffi.from_buffer(a),
                              _ONE_STRIDE, ffi.from_buffer(b), _ONE_STRIDE,
                              ffi.from_buffer(out))
    else:
        cond, a, b = (x if _c_layout_ok(x) else _contiguous(x) for x in (cond, a, b))
        if not shape == b.shape == cond.shape:
            shape = _broadcast_shape(kernel, cond.shape, a.shape, b.shape)
        out = np.empty(shape, a.dtype)
        ndim = len(shape)
        status = lib.mg_where(dtype, ndim, ffi.new("int64_t[]", shape),
                              _pointer(cond), _stride_array(cond, ndim),
                              _pointer(a), _stride_array(a, ndim),
                              _pointer(b), _stride_array(b, ndim), ffi.from_buffer(out))
    if status:
        check(status, "mg_where", f"cond={_describe(cond)}, a={_describe(a)}, b={_describe(b)}")
    return out


# ---------------------------------------------------------------------------
# clamp


def _bound(value, default, kernel, name):
    return default if value is None else _to_float(value, kernel, name)


def clamp(x, lo=None, hi=None, out=None):
    """min(max(x, lo), hi) elementwise; None means no bound.  lo > hi gives hi
    everywhere and a NaN bound gives NaN (as torch.clamp).  x: float32,
    float64 or int64 (bounds are rounded inward to integers for int64).
    out: optional, as in `unary`."""
    kernel = "clamp"
    dtype = _dtype_code(x, _ALL_CODES, kernel)
    lo = _bound(lo, -_INF, kernel, "lo")
    hi = _bound(hi, _INF, kernel, "hi")
    if dtype == _INT64_CODE and (lo != lo or hi != hi):
        raise ValueError(f"{kernel}: a NaN bound has no meaning for int64 ({_describe(x)})")
    x = _contiguous(x)
    if out is None:
        out = np.empty(x.shape, x.dtype)
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
    _same_dtype(kernel, x, gy)
    if x.shape != gy.shape:
        raise ValueError(f"{kernel}: x is {_describe(x)} but gy is {_describe(gy)}")
    lo = _bound(lo, -_INF, kernel, "lo")
    hi = _bound(hi, _INF, kernel, "hi")
    x, gy = _contiguous(x), _contiguous(gy)
    gx = np.empty(gy.shape, gy.dtype)
    status = lib.mg_clamp_backward(dtype, x.size, ffi.from_buffer(x), lo, hi,
                                   ffi.from_buffer(gy), ffi.from_buffer(gx))
    if status:
        check(status, "mg_clamp_backward", f"x={_describe(x)}, lo={lo}, hi={hi}")
    return gx


# ---------------------------------------------------------------------------
# fill, cast


def _dtype_of(dtype, kernel):
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in _ALL_CODES:
        raise TypeError(f"{kernel}: dtype must be float32, float64 or int64, got {dtype!r}")
    return dt


def fill_(arr, value):
    """arr[...] = value in place; arr must be C-contiguous.  For int64 the
    value is truncated toward zero (NaN gives 0, out-of-range values saturate)."""
    dtype = _dtype_code(arr, _ALL_CODES, "fill_")
    flags = arr.flags
    if not (flags.c_contiguous and flags.aligned):
        raise ValueError(f"fill_: array must be C-contiguous (got strides {arr.strides})")
    if not flags.writeable:
        raise ValueError("fill_: array is read-only")
    status = lib.mg_fill(dtype, arr.size, _to_float(value, "fill_", "value"),
                         ffi.from_buffer(arr))
    if status:
        check(status, "mg_fill", f"arr={_describe(arr)}")
    return arr


def fill(shape, value, dtype):
    """A new C-contiguous array of `shape` (an int or a tuple) and `dtype`
    holding `value` everywhere."""
    dt = _dtype_of(dtype, "fill")
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if any(int(d) < 0 for d in shape):
        raise ValueError(f"fill: negative dimension in shape {shape}")
    return fill_(np.empty(shape, dt), value)


def cast(x, dtype):
    """A new array of x's shape converted to `dtype` (float32, float64, int64).
    float -> int64 truncates toward zero; NaN gives 0; out-of-range saturates."""
    src = _dtype_code(x, _ALL_CODES, "cast")
    dt = _dtype_of(dtype, "cast")
    x = _contiguous(x)
    out = np.empty(x.shape, dt)
    status = lib.mg_cast(src, _ALL_CODES[dt], x.size, ffi.from_buffer(x), ffi.from_buffer(out))
    if status:
        check(status, "mg_cast", f"x={_describe(x)}, dtype={dt}")
    return out
