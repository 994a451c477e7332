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
The argument rules are the same on every device: backend/shared/random.py.
"""
import numbers

import numpy as np

from minigrad._native import check, lib
from minigrad.backend.cpu.common import ptr
from minigrad.backend.shared.random import bernoulli_p, draw_args, normal_params, uniform_params

__all__ = ["uniform", "normal", "bernoulli", "advance"]


def _draw(kernel, fn, shape, dtype, seed, offset, *params):
    shape, dt, code, seed, offset = draw_args(kernel, shape, dtype, seed, offset)
    out = np.empty(shape, dt)
    check(fn(code, out.size, seed, offset, *params, ptr(out)), f"mg_random_{kernel}",
          lambda: f"shape={shape}, dtype={dt}, params={params}")
    return out


def uniform(shape, dtype, seed, offset, low=0.0, high=1.0):
    """Uniform numbers in [low, high) (never `high` itself; low == high gives low)."""
    low, high = uniform_params(low, high)
    return _draw("uniform", lib.mg_random_uniform, shape, dtype, seed, offset, low, high)


def normal(shape, dtype, seed, offset, mean=0.0, std=1.0):
    """Normal numbers with the given mean and standard deviation (std >= 0)."""
    mean, std = normal_params(mean, std)
    return _draw("normal", lib.mg_random_normal, shape, dtype, seed, offset, mean, std)


def bernoulli(shape, dtype, seed, offset, p):
    """1.0 with probability p, else 0.0 (0 <= p <= 1)."""
    p = bernoulli_p(p)
    return _draw("bernoulli", lib.mg_random_bernoulli, shape, dtype, seed, offset, p)


def advance(n):
    """How far a draw of n numbers moves the offset (the same for every dtype
    and distribution): ceil(n / 4), one Philox counter per 4 numbers."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"advance: expected a non-negative int, got {n!r}")
    return int(lib.mg_random_advance(int(n)))
