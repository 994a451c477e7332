"""Making tensors: from data, filled, ranges, identity, random.

Every factory takes device= ('cpu', the default, or 'cuda'); the values are
made on that device by its kernel table (fills and random draws run there;
ranges and identities are laid out by numpy on the host and copied over).
Random draws use the same (seed, offset) stream on both devices, so a seeded
program draws the same numbers on the CPU and on the GPU.
"""
import numpy as np

from minigrad import dtypes, random
from minigrad.backend import for_device
from minigrad.tensor import Tensor


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of `data` (nested lists, numbers, numpy arrays, tensors).
    Python floats become float32 (the default dtype), ints int64.  device=None: data's
    device for a Tensor, else the CPU."""
    return Tensor(data, dtype=dtype, requires_grad=requires_grad, device=device)


def as_tensor(data, dtype=None, device=None):
    """`data` itself when it is a Tensor of that dtype and device, else tensor(...)."""
    if isinstance(data, Tensor) and (dtype is None or dtypes.as_dtype(dtype) == data.dtype) \
            and (device is None or dtypes.check_device(device) == data.device):
        return data
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array):
    """A tensor sharing memory with a numpy array of float32, float64 or int64."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    if array.dtype not in dtypes.SUPPORTED:
        raise TypeError(f"from_numpy: unsupported dtype {array.dtype}; minigrad supports "
                        f"float32, float64 and int64")
    return Tensor._wrap(array, dtypes.CPU)


def _size(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    shape = tuple(int(n) for n in shape)
    if any(n < 0 for n in shape):
        raise ValueError(f"negative dimension in size {list(shape)}")
    return shape


def _float_or(dtype):
    return dtypes.get_default_dtype() if dtype is None else dtypes.as_dtype(dtype)


def _finish(array, device, requires_grad):
    """A tensor around `array`, made by `device`'s table (a canonical device)."""
    t = Tensor._wrap(array, device)
    return t.requires_grad_(True) if requires_grad else t


def _from_host(array, device, requires_grad):
    """A tensor of a host array (numpy laid it out) on `device`."""
    device = dtypes.check_device(device)
    return _finish(for_device(device).to_device(array), device, requires_grad)


def full(size, fill_value, dtype=None, device="cpu", requires_grad=False):
    """A tensor of `size` filled with `fill_value` (dtype: int64 for an int value, else float)."""
    if dtype is None:
        dtype = dtypes.int64 if isinstance(fill_value, int) and not isinstance(fill_value, bool) \
            else dtypes.get_default_dtype()
    device = dtypes.check_device(device)
    array = for_device(device).fill(_size((size,)), float(fill_value), dtypes.as_dtype(dtype))
    return _finish(array, device, requires_grad)


def zeros(*size, dtype=None, device="cpu", requires_grad=False):
    return full(_size(size), 0.0, _float_or(dtype), device, requires_grad)


def ones(*size, dtype=None, device="cpu", requires_grad=False):
    return full(_size(size), 1.0, _float_or(dtype), device, requires_grad)


def empty(*size, dtype=None, device="cpu", requires_grad=False):
    device = dtypes.check_device(device)
    return _finish(for_device(device).empty(_size(size), _float_or(dtype)), device,
                   requires_grad)


def zeros_like(x, dtype=None, requires_grad=False):
    return full(x.shape, 0.0, dtype or x.dtype, x.device, requires_grad)


def ones_like(x, dtype=None, requires_grad=False):
    return full(x.shape, 1.0, dtype or x.dtype, x.device, requires_grad)


def full_like(x, fill_value, dtype=None, requires_grad=False):
    return full(x.shape, fill_value, dtype or x.dtype, x.device, requires_grad)


def empty_like(x, dtype=None, requires_grad=False):
    return empty(x.shape, dtype=dtype or x.dtype, device=x.device, requires_grad=requires_grad)


# Tensor.new_* create tensors like `self` (same dtype and device by default).
def new_zeros(x, *size, dtype=None):
    return zeros(_size(size), dtype=dtype or x.dtype, device=x.device)


def new_ones(x, *size, dtype=None):
    return ones(_size(size), dtype=dtype or x.dtype, device=x.device)


def new_full(x, size, fill_value, dtype=None):
    return full(size, fill_value, dtype or x.dtype, x.device)


def new_tensor(x, data, dtype=None):
    return tensor(data, dtype=dtype or x.dtype, device=x.device)


def arange(start, end=None, step=1, dtype=None, device="cpu", requires_grad=False):
    """Values from start (default 0) up to, not including, end, by step.  int64 when all
    arguments are ints, else the default float dtype."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if dtype is None:
        ints = all(isinstance(v, int) for v in (start, end, step))
        dtype = dtypes.int64 if ints else dtypes.get_default_dtype()
    array = np.arange(start, end, step, dtype=dtypes.as_dtype(dtype))
    return _from_host(array, device, requires_grad)


def linspace(start, end, steps, dtype=None, device="cpu", requires_grad=False):
    array = np.linspace(start, end, int(steps), dtype=_float_or(dtype))
    return _from_host(array, device, requires_grad)


def eye(n, m=None, dtype=None, device="cpu", requires_grad=False):
    """The identity matrix (n, m)."""
    return _from_host(np.eye(n, m, dtype=_float_or(dtype)), device, requires_grad)


def rand(*size, dtype=None, generator=None, device="cpu", requires_grad=False):
    """Uniform draws in [0, 1)."""
    device = dtypes.check_device(device)
    array = random.draw("uniform", _size(size), _float_or(dtype), generator, 0.0, 1.0,
                        device=device)
    return _finish(array, device, requires_grad)


def randn(*size, dtype=None, generator=None, device="cpu", requires_grad=False):
    """Standard normal draws."""
    device = dtypes.check_device(device)
    array = random.draw("normal", _size(size), _float_or(dtype), generator, 0.0, 1.0,
                        device=device)
    return _finish(array, device, requires_grad)


def rand_like(x, dtype=None):
    return rand(x.shape, dtype=dtype or x.dtype, device=x.device)


def randn_like(x, dtype=None):
    return randn(x.shape, dtype=dtype or x.dtype, device=x.device)


def randint(low, high=None, size=(), dtype=None, generator=None, device="cpu"):
    """Integers drawn uniformly from [low, high) (int64 unless dtype says otherwise)."""
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: expected low < high, got [{low}, {high})")
    device = dtypes.check_device(device)
    kernels = for_device(device)
    span = random.draw("uniform", _size((size,)), dtypes.float64, generator, 0.0,
                       float(high - low), device=device)
    ints = kernels.cast(span, dtypes.int64)  # truncation = floor for the non-negative draws
    if low:
        ints = kernels.binary_scalar("add", ints, int(low))
    out = Tensor._wrap(ints, device)
    return out if dtype is None else out.to(dtype)


def bernoulli(p, generator=None):
    """1 with probability p (a tensor of probabilities or a float with a size), else 0."""
    if isinstance(p, Tensor):
        u = random.draw("uniform", p.shape, p.dtype, generator, 0.0, 1.0, device=p.device)
        return Tensor._wrap(for_device(p.device).binary("lt", u, p._array), p.device)
    raise TypeError("bernoulli: expected a tensor of probabilities")
