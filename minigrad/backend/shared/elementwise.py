"""The elementwise family's rules, the same on every device: op names and
their C codes, which ops have int64 kernels, numpy's broadcasting rule,
scalars and clamp bounds, the checks on `out`, and the exact rewrite of an
int64 array compared with a scalar a double does not hold.

The functions and op shapes are listed in backend/cpu/elementwise.py.  The
CPU table keeps its fast paths inline (dictionary lookups, flag tests) and
calls these only to diagnose what the fast checks refused, or off the fast
path; the CUDA table calls them directly.
"""
import numpy as np

from minigrad._native import lib
from minigrad.backend.shared.checks import describe, require_one_dtype

UNARY_OPS = {
    "neg": lib.MG_NEG, "abs": lib.MG_ABS, "exp": lib.MG_EXP, "log": lib.MG_LOG,
    "sqrt": lib.MG_SQRT, "tanh": lib.MG_TANH, "sigmoid": lib.MG_SIGMOID,
    "relu": lib.MG_RELU, "square": lib.MG_SQUARE, "reciprocal": lib.MG_RECIPROCAL,
    "sign": lib.MG_SIGN,
}
# Which saved array each derivative reads (mg_unary_backward's contract): the
# output y for these, nothing for neg, the input x for the rest.
BACKWARD_READS_Y = frozenset(("tanh", "sigmoid", "exp", "sqrt"))

BINARY_OPS = {
    "add": lib.MG_ADD, "sub": lib.MG_SUB, "mul": lib.MG_MUL, "div": lib.MG_DIV,
    "pow": lib.MG_POW, "maximum": lib.MG_MAXIMUM, "minimum": lib.MG_MINIMUM,
    "eq": lib.MG_EQ, "ne": lib.MG_NE, "lt": lib.MG_LT, "le": lib.MG_LE,
    "gt": lib.MG_GT, "ge": lib.MG_GE,
}
FLOAT_ONLY_OPS = frozenset(("div", "pow"))  # no int64 kernel: cast to float first
COMPARISONS = frozenset(("eq", "ne", "lt", "le", "gt", "ge"))
FLIPPED = {"eq": "eq", "ne": "ne", "lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}

INF = float("inf")
MAX_EXACT_INT = 2 ** 53  # integers a double holds exactly


# ---- numbers ------------------------------------------------------------------------


def to_float(value, kernel, name):
    """float(value) for real numbers; TypeError for anything else (strings included)."""
    if not isinstance(value, (str, bytes)):
        try:
            return float(value)
        except (TypeError, ValueError, OverflowError):
            pass
    raise TypeError(f"{kernel}: {name} must be a real number, got {value!r}")


def bound(value, default, kernel, name):
    """A clamp bound as a float; None means `default` (no bound)."""
    return default if value is None else to_float(value, kernel, name)


def clamp_bounds(kernel, x, lo, hi, int64):
    """(lo, hi) of clamp as floats (None: -inf, inf); a NaN bound is refused for int64 x."""
    lo = bound(lo, -INF, kernel, "lo")
    hi = bound(hi, INF, kernel, "hi")
    if int64 and (lo != lo or hi != hi):
        raise ValueError(f"{kernel}: a NaN bound has no meaning for int64 ({describe(x)})")
    return lo, hi


def fill_shape(shape):
    """fill's shape argument (an int or a sequence) as a tuple; negative sizes refused."""
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if any(int(d) < 0 for d in shape):
        raise ValueError(f"fill: negative dimension in shape {shape}")
    return shape


# ---- shapes and dtypes of operands ---------------------------------------------------


def same_dtype(kernel, *arrays):
    """TypeError unless the operands share one dtype."""
    require_one_dtype(kernel, arrays, "operands must share one dtype", " and ")


def broadcast_shape(kernel, *shapes):
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


def check_out(out, shape, dtype, kernel):
    """`out` (an array of the table's device) must be a writable, aligned,
    C-contiguous array of `shape` (a tuple) and `dtype`."""
    if out.shape != shape or out.dtype != dtype:
        raise ValueError(f"{kernel}: out is {describe(out)}, expected {dtype}{list(shape)}")
    flags = out.flags
    if not (flags.c_contiguous and flags.aligned):
        raise ValueError(f"{kernel}: out must be C-contiguous (got strides {out.strides})")
    if not flags.writeable:
        raise ValueError(f"{kernel}: out is read-only")


def saved_for_backward(kernel, op, x, y):
    """(name, array) of what the derivative of unary op `op` reads: ('y', y) or
    ('x', x); ValueError when that one is None.  Not for neg (it reads neither)."""
    name, saved = ("y", y) if op in BACKWARD_READS_Y else ("x", x)
    if saved is None:
        raise ValueError(f"{kernel}: the derivative of {op} reads {name}, got None")
    return name, saved


def check_like_gy(kernel, name, arr, gy):
    """`arr` (named `name`) must have gy's dtype (TypeError) and shape (ValueError)."""
    if arr.dtype != gy.dtype or arr.shape != gy.shape:
        raise (TypeError if arr.dtype != gy.dtype else ValueError)(
            f"{kernel}: {name} is {describe(arr)} but gy is {describe(gy)}")


# ---- int64 ----------------------------------------------------------------------------


def int64_undefined(kernel, *arrays):
    """The TypeError for div and pow (no int64 kernel) on int64 operands."""
    return TypeError(f"{kernel}: not defined for int64 ("
                     + " and ".join(describe(a) for a in arrays)
                     + "); cast to a float dtype first")


def int64_scalar_needs_rewrite(kernel, op, a, s, scalar):
    """Whether binary_scalar on an int64 array `a` must go through int64_comparison:
    False when `scalar` (s = float(scalar)) is an integer a double holds exactly;
    True for a comparison with any other real; TypeError for the other ops, and for
    div and pow whatever the scalar."""
    if op in FLOAT_ONLY_OPS:
        raise int64_undefined(kernel, a)
    if s.is_integer() and abs(s) <= MAX_EXACT_INT and s == scalar:
        return False
    if op in COMPARISONS:
        return True
    raise TypeError(f"{kernel}: an int64 array needs an integer scalar of "
                    f"magnitude <= 2**53, got {scalar!r}")


def int64_comparison(op, scalar, scalar_first):
    """An int64 array x compared with a scalar that is not an exactly held integer
    (2.5, 1e300, inf, nan, 2**60 + 1), as an exact integer comparison or a
    constant -- for integers, x < 2.5 is x <= 2.  Returns (how, op, value):

        ('fill', op, 1.0 or 0.0)   the result is that constant everywhere
        ('scalar', op, n)          binary_scalar(op, x, n), n held exactly
        ('array', op, n)           binary(op, x, n as a 0-d int64 array)

    op is the comparison to run with x on the left (flipped when scalar_first)."""
    if scalar_first:  # s < x is x > s
        op = FLIPPED[op]
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
    # else: an integer that a double cannot hold exactly
    if result is None:
        if not -2 ** 63 <= floor < 2 ** 63:
            result = {"lt": floor > 0, "le": floor > 0, "gt": floor < 0, "ge": floor < 0,
                      "eq": False, "ne": True}[op]
        elif abs(floor) <= MAX_EXACT_INT:
            return "scalar", op, floor
        else:
            return "array", op, floor
    return "fill", op, 1.0 if result else 0.0
