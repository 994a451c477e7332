"""Random numbers from a counter-based generator (Philox4x32-10, csrc/random.c).

The generator keeps no state: a draw is a pure function of (seed, offset) and
the element index, so the caller (minigrad's Generator) owns the state and
moves `offset` forward by advance(n) after drawing n numbers.  The same
(seed, offset) always gives the same numbers, whatever the thread count.

    uniform(shape, dtype, seed, offset, low=0.0, high=1.0)   values in [low, high)
    normal(shape, dtype, seed, offset, mean=0.0, std=1.0)    Box-Muller
    bernoulli(shape, dtype, seed, offset, p)                 1 with probability p, else 0
    advance(n) -> int                                        how far a draw of n moves offset

shape: an int or a sequence of ints; dtype: float32 or float64; seed and
offset: ints in [0, 2**64).  Each returns a new array of `shape` and `dtype`.
"""
import math
import numbers
import operator

import numpy as np

from minigrad._native import check, lib
from minigrad.backend.cpu.common import FLOAT_DTYPES, ptr

__all__ = ["uniform", "normal", "bernoulli", "advance"]

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


def _dtype(dtype, kernel):
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"{kernel}: dtype must be float32 or float64, got {dtype!r}")
    return dt


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


def _draw(kernel, fn, shape, dtype, seed, offset, *params):
    shape = _shape(shape, kernel)
    dt = _dtype(dtype, kernel)
    seed = _u64(seed, "seed", kernel)
    offset = _u64(offset, "offset", kernel)
    out = np.empty(shape, dt)
    code = lib.MG_FLOAT32 if dt == FLOAT_DTYPES[0] else lib.MG_FLOAT64
    check(fn(code, out.size, seed, offset, *params, ptr(out)), f"mg_random_{kernel}",
          lambda: f"shape={shape}, dtype={dt}, params={params}")
    return out


def uniform(shape, dtype, seed, offset, low=0.0, high=1.0):
    """Uniform numbers in [low, high) (never `high` itself; low == high gives low)."""
    low, high = _real(low, "low", "uniform"), _real(high, "high", "uniform")
    if low > high or not math.isfinite(high - low):
        raise ValueError(f"uniform: expected low <= high with a finite range, "
                         f"got low={low}, high={high}")
    return _draw("uniform", lib.mg_random_uniform, shape, dtype, seed, offset, low, high)


def normal(shape, dtype, seed, offset, mean=0.0, std=1.0):
    """Normal numbers with the given mean and standard deviation (std >= 0)."""
    mean, std = _real(mean, "mean", "normal"), _real(std, "std", "normal")
    if std < 0:
        raise ValueError(f"normal: std must be >= 0, got {std}")
    return _draw("normal", lib.mg_random_normal, shape, dtype, seed, offset, mean, std)


def bernoulli(shape, dtype, seed, offset, p):
    """1.0 with probability p, else 0.0 (0 <= p <= 1)."""
    p = _real(p, "p", "bernoulli")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"bernoulli: p must lie in [0, 1], got {p}")
    return _draw("bernoulli", lib.mg_random_bernoulli, shape, dtype, seed, offset, p)


def advance(n):
    """How far a draw of n numbers moves the offset (the same for every dtype
    and distribution): ceil(n / 4), one Philox counter per 4 numbers."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"advance: expected a non-negative int, got {n!r}")
    return int(lib.mg_random_advance(int(n)))
