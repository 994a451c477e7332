"""Counter-based random numbers on the device (csrc/cuda/random.cu): the same
Philox4x32-10 stream as the CPU table, so a draw with one (seed, offset) gives
the same numbers on both devices (up to float rounding of the transforms).

    uniform(shape, dtype, seed, offset, low=0.0, high=1.0)
    normal(shape, dtype, seed, offset, mean=0.0, std=1.0)
    bernoulli(shape, dtype, seed, offset, p)
    advance(n) -> int      how far a draw of n numbers moves the offset (host arithmetic,
                           the CPU table's: one Philox counter per 4 numbers)

The argument rules are backend/shared/random.py's.
"""
from minigrad.backend.cpu.random import advance  # noqa: F401  (host arithmetic, one for both)
from minigrad.backend.cuda import runtime
from minigrad.backend.cuda.array import CudaArray
from minigrad.backend.cuda.common import check
from minigrad.backend.shared.random import bernoulli_p, draw_args, normal_params, uniform_params

__all__ = ["uniform", "normal", "bernoulli", "advance"]


def _draw(kernel, name, shape, dtype, seed, offset, *params):
    shape, dt, code, seed, offset = draw_args(kernel, shape, dtype, seed, offset)
    out = CudaArray.empty(shape, dt)
    if out.size:
        fn = getattr(runtime.api(), name)
        check(fn(code, out.size, seed, offset, *params, out.pointer()), f"mg_cuda_{name}",
              lambda: f"shape={shape}, dtype={dt}, params={params}")
    return out


def uniform(shape, dtype, seed, offset, low=0.0, high=1.0):
    """Uniform numbers in [low, high)."""
    low, high = uniform_params(low, high)
    return _draw("uniform", "random_uniform", shape, dtype, seed, offset, low, high)


def normal(shape, dtype, seed, offset, mean=0.0, std=1.0):
    """Normal numbers with the given mean and standard deviation (std >= 0)."""
    mean, std = normal_params(mean, std)
    return _draw("normal", "random_normal", shape, dtype, seed, offset, mean, std)


def bernoulli(shape, dtype, seed, offset, p):
    """1.0 with probability p, else 0.0 (0 <= p <= 1)."""
    p = bernoulli_p(p)
    return _draw("bernoulli", "random_bernoulli", shape, dtype, seed, offset, p)
