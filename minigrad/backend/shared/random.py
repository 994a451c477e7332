"""The random family's rules, the same on every device: a draw's shape, dtype,
seed and offset, and each distribution's parameters.  (The Philox stream
itself is one in csrc/random.c and csrc/cuda/random.cu.)
"""
import math
import numbers
import operator

from minigrad._native import lib
from minigrad.backend.shared.checks import FLOAT32, FLOAT_DTYPES, dtype_argument

_U64_LIMIT = 1 << 64


def _shape(shape, kernel):
    """`shape` as a tuple of non-negative ints (an int means a 1-D shape)."""
    try:
        dims = (operator.index(shape),)
    except TypeError:
        try:
            dims = tuple(operator.index(d) for d in shape)
        except TypeError:
            raise TypeError(f"{kernel}: shape must be an int or a sequence of ints, "
                            f"got {shape!r}") from None
    if any(d < 0 for d in dims):
        raise ValueError(f"{kernel}: shape {dims} has a negative size")
    return dims


def _u64(value, name, kernel):
    """seed / offset: an int in [0, 2**64)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{kernel}: {name} must be an int, got {value!r}")
    value = int(value)
    if not 0 <= value < _U64_LIMIT:
        raise ValueError(f"{kernel}: {name} must lie in [0, 2**64), got {value}")
    return value


def _real(value, name, kernel):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{kernel}: {name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{kernel}: {name} must be finite, got {value}")
    return value


def draw_args(kernel, shape, dtype, seed, offset):
    """(shape tuple, numpy dtype, C dtype code, seed, offset) of a draw, checked."""
    shape = _shape(shape, kernel)
    dt = dtype_argument(dtype, kernel, FLOAT_DTYPES)
    seed = _u64(seed, "seed", kernel)
    offset = _u64(offset, "offset", kernel)
    return shape, dt, lib.MG_FLOAT32 if dt == FLOAT32 else lib.MG_FLOAT64, seed, offset


def uniform_params(low, high):
    """(low, high): finite, low <= high, a finite range."""
    low, high = _real(low, "low", "uniform"), _real(high, "high", "uniform")
    if low > high or not math.isfinite(high - low):
        raise ValueError(f"uniform: expected low <= high with a finite range, "
                         f"got low={low}, high={high}")
    return low, high


def normal_params(mean, std):
    """(mean, std): finite, std >= 0."""
    mean, std = _real(mean, "mean", "normal"), _real(std, "std", "normal")
    if std < 0:
        raise ValueError(f"normal: std must be >= 0, got {std}")
    return mean, std


def bernoulli_p(p):
    """p: in [0, 1]."""
    p = _real(p, "p", "bernoulli")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"bernoulli: p must lie in [0, 1], got {p}")
    return p

