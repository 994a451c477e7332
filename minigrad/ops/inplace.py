"""In-place updates: add_, mul_, zero_, fill_, copy_, clamp_, uniform_, normal_ ...

They change a tensor's values where it stands and bump its version counter,
so a backward that saved the old values notices.  They are not recorded:
applied to a tensor that takes part in autograd (requires grad, grad mode on)
they raise, as PyTorch does for leaves -- use them under no_grad (optimizers,
initialisation) or on tensors that need no gradient.

The other operand lives on x's device (copy_ excepted: it copies across
devices, as PyTorch's does); random fills draw on x's device.
"""
import numpy as np

from minigrad.autograd import grad_mode
from minigrad.backend import transfer
from minigrad.ops.common import is_scalar, kernels, same_device
from minigrad.tensor import Tensor


def _check_inplace(x, op):
    if x.requires_grad and grad_mode._enabled[0]:
        kind = "a leaf tensor" if x._node is None else "a tensor"
        raise RuntimeError(f"{op}: {kind} that requires grad is being used in an in-place "
                           f"operation; wrap it in minigrad.no_grad() or use the out-of-place op")


def _write(x, result):
    """Store `result` (an array of x's shape) into x's storage and bump its version."""
    if result is not x._array:
        kernels(x).copy_into(result, x._array)
    x._version[0] += 1
    return x


def _binary_inplace(op, x, other):
    _check_inplace(x, op + "_")
    k = kernels(x)
    out = x._array if x._array.flags.c_contiguous else None
    if is_scalar(other):
        return _write(x, k.binary_scalar(op, x._array, other, out=out))
    if isinstance(other, Tensor):
        if other.device != x.device:
            same_device(op + "_", x, other)
        other_array = other._array
    else:
        other_array = k.to_device(np.asarray(other, x.dtype))
    if other_array.dtype != x.dtype:
        other_array = k.cast(other_array, x.dtype)
    try:
        if other_array.shape != x.shape and \
                np.broadcast_shapes(x.shape, other_array.shape) != x.shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"{op}_: the value of shape {list(other_array.shape)} cannot be broadcast "
                         f"to the tensor's shape {list(x.shape)}") from None
    return _write(x, k.binary(op, x._array, other_array, out=out))


def add_(x, other, alpha=1):
    """x += alpha * other (in place)."""
    if alpha != 1:
        other = other * alpha
    return _binary_inplace("add", x, other)


def sub_(x, other, alpha=1):
    if alpha != 1:
        other = other * alpha
    return _binary_inplace("sub", x, other)


def mul_(x, other):
    return _binary_inplace("mul", x, other)


def div_(x, other):
    return _binary_inplace("div", x, other)


def fill_(x, value):
    """Every element set to `value` (in place)."""
    _check_inplace(x, "fill_")
    k = kernels(x)
    if x._array.flags.c_contiguous:
        k.fill_(x._array, float(value))
        x._version[0] += 1
        return x
    return _write(x, k.fill(x.shape, float(value), x.dtype))


def zero_(x):
    return fill_(x, 0.0)


def copy_(x, src):
    """x's values replaced by src's (broadcast to x's shape, cast to x's dtype)."""
    _check_inplace(x, "copy_")
    k = kernels(x)
    if isinstance(src, Tensor):
        array = transfer(src._array, src.device, x.device)
    else:
        array = np.asarray(src)
        if array.dtype not in (np.float32, np.float64, np.int64):
            array = array.astype(x.dtype)
        array = k.to_device(array)
    if array.dtype != x.dtype:
        array = k.cast(k.contiguous(array), x.dtype)
    try:
        array = k.broadcast_to(array, x.shape)
    except ValueError:
        raise ValueError(f"copy_: source of shape {list(array.shape)} cannot be broadcast to "
                         f"{list(x.shape)}") from None
    k.copy_into(array, x._array)
    x._version[0] += 1
    return x


def clamp_(x, min=None, max=None):
    _check_inplace(x, "clamp_")
    return _write(x, kernels(x).clamp(x._array, min, max))


def uniform_(x, a=0.0, b=1.0, generator=None):
    """Fill with draws from U(a, b)."""
    from minigrad import random
    _check_inplace(x, "uniform_")
    return _write(x, random.draw("uniform", x.shape, x.dtype, generator, a, b, device=x.device))


def normal_(x, mean=0.0, std=1.0, generator=None):
    """Fill with draws from N(mean, std^2)."""
    from minigrad import random
    _check_inplace(x, "normal_")
    return _write(x, random.draw("normal", x.shape, x.dtype, generator, mean, std,
                                 device=x.device))


def bernoulli_(x, p=0.5, generator=None):
    from minigrad import random
    _check_inplace(x, "bernoulli_")
    return _write(x, random.draw("bernoulli", x.shape, x.dtype, generator, p, device=x.device))


