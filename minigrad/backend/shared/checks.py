"""Argument checks every kernel family of both tables uses: the dtype codes
C takes, the dtype check, op-name lookup, and how an array is named in an error.

The arrays given here are already known to belong to the calling table's
device (each table checks that first, with its own message).
"""
import numpy as np

from minigrad._native import lib

FLOAT32 = np.dtype(np.float32)
FLOAT64 = np.dtype(np.float64)
INT64 = np.dtype(np.int64)
FLOAT_DTYPES = (FLOAT32, FLOAT64)
FLOAT_CODES = {FLOAT32: lib.MG_FLOAT32, FLOAT64: lib.MG_FLOAT64}
DTYPE_CODES = {FLOAT32: lib.MG_FLOAT32, FLOAT64: lib.MG_FLOAT64, INT64: lib.MG_INT64}


def expected_dtypes(dtypes):
    """The two float dtypes or all three (a code table or a tuple of dtypes) as an error
    message says them."""
    return "float32 or float64" if len(dtypes) == 2 else "float32, float64 or int64"


def describe(arr):
    """An array as error messages name it: dtype and shape, e.g. float32[3, 4]."""
    return f"{arr.dtype}{list(arr.shape)}"


def dtype_code(arr, kernel, floats_only=True):
    """The C dtype code of `arr`, or a TypeError naming `kernel` and the dtype."""
    codes = FLOAT_CODES if floats_only else DTYPE_CODES
    code = codes.get(arr.dtype)
    if code is None:
        raise TypeError(f"{kernel}: expected {expected_dtypes(codes)}, got {arr.dtype} "
                        f"(shape {arr.shape})")
    return code


def require_one_dtype(kernel, arrays, rule, separator):
    """TypeError "{kernel}: {rule}, got A<separator>B..." unless `arrays` share one dtype."""
    first = arrays[0].dtype
    if any(arr.dtype != first for arr in arrays[1:]):
        raise TypeError(f"{kernel}: {rule}, got " + separator.join(describe(a) for a in arrays))


def same_dtype(kernel, *arrays):
    """Raise TypeError unless all arrays share one dtype."""
    require_one_dtype(kernel, arrays, "all inputs must have one dtype", ", ")


def dtype_argument(dtype, kernel, allowed):
    """A dtype argument (of fill, cast, a random draw) as the numpy dtype, which must
    be in `allowed` (two float dtypes or three dtypes); TypeError otherwise, also for a
    string numpy cannot parse (tested before `in`: numpy compares float64 == None as
    True, so None would pass for float64)."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt not in allowed:
        raise TypeError(f"{kernel}: dtype must be {expected_dtypes(allowed)}, got {dtype!r}")
    return dt


def op_code(table, op, kernel):
    """The C code of op name `op` in `table`, or a ValueError listing the names."""
    code = table.get(op) if isinstance(op, str) else None
    if code is None:
        raise ValueError(f"{kernel}: unknown op {op!r}; expected one of {', '.join(table)}")
    return code


def check_copy(src, dst):
    """The rules of copy_into(src, dst): one shape, one dtype (of the three C knows),
    a writable destination."""
    if src.shape != dst.shape or src.dtype != dst.dtype:
        raise ValueError(f"copy: source {describe(src)} does not match destination "
                         f"{describe(dst)}")
    if not dst.flags.writeable:
        raise ValueError("copy: destination is read-only")
    dtype_code(src, "copy", floats_only=False)
