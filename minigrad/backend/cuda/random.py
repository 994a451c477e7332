"""Counter-based random numbers on the device (csrc/cuda/random.cu): the same
Philox4x32-10 stream as the CPU table, so a draw with one (seed, offset) gives
the same numbers on both devices (up to float rounding of the transforms).

    uniform(shape, dtype, seed, offset, low=0.0, high=1.0)
    normal(shape, dtype, seed, offset, mean=0.0, std=1.0)
    bernoulli(shape, dtype, seed, offset, p)
    advance(n) -> int      how far a draw of n numbers moves the offset (host arithmetic,
                           the CPU table's: one Philox counter per 4 numbers)
"""
import math

from minigrad._native import lib
from minigrad.backend.cpu import random as _cpu
from minigrad.backend.cpu.random import advance  # noqa: F401  (identical on both devices)
from minigrad.backend.cuda import runtime
from minigrad.backend.cuda.array import CudaArray
from minigrad.backend.cuda.common import FLOAT32, check

__all__ = ["uniform", "normal", "bernoulli", "advance"]


def _draw(kernel, name, shape, dtype, seed, offset, *params):
    shape = _cpu._shape(shape, kernel)
    dt = _cpu._dtype(dtype, kernel)
    seed = _cpu._u64(seed, "seed", kernel)
    offset = _cpu._u64(offset, "offset", kernel)
    out = CudaArray.empty(shape, dt)
    if out.size:
        fn = getattr(runtime.api(), name)
        code = lib.MG_FLOAT32 if dt == FLOAT32 else lib.MG_FLOAT64
        check(fn(code, out.size, seed, offset, *params, out.pointer()), f"mg_cuda_{name}",
              lambda: f"shape={shape}, dtype={dt}, params={params}")
    return out


def uniform(shape, dtype, seed, offset, low=0.0, high=1.0):
    """Uniform numbers in [low, high)."""
    low, high = _cpu._real(low, "low", "uniform"), _cpu._real(high, "high", "uniform")
    if low > high or not math.isfinite(high - low):
        raise ValueError(f"uniform: expected low <= high with a finite range, "
                         f"got low={low}, high={high}")
    return _draw("uniform", "random_uniform", shape, dtype, seed, offset, low, high)


def normal(shape, dtype, seed, offset, mean=0.0, std=1.0):
    """Normal numbers with the given mean and standard deviation (std >= 0)."""
    mean, std = _cpu._real(mean, "mean", "normal"), _cpu._real(std, "std", "normal")
    if std < 0:
        raise ValueError(f"normal: std must be >= 0, got {std}")
    return _draw("normal", "random_normal", shape, dtype, seed, offset, mean, std)


def bernoulli(shape, dtype, seed, offset, p):
    """1.0 with probability p, else 0.0 (0 <= p <= 1)."""
    p = _cpu._real(p, "p", "bernoulli")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"bernoulli: p must lie in [0, 1], got {p}")
    return _draw("bernoulli", "random_bernoulli", shape, dtype, seed, offset, p)
