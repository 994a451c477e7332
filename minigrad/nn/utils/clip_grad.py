"""Gradient clipping: rescale all gradients by their joint norm, or clamp each value."""
import math

from minigrad.autograd.grad_mode import no_grad
from minigrad.creation import tensor
from minigrad.ops.common import kernels
from minigrad.tensor import Tensor


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Scale the gradients of `parameters` in place so that their joint norm (the
    norm of all gradients concatenated) is at most max_norm.

    norm_type: p of the p-norm, or inf for the largest absolute value.  Returns the
    total norm before clipping, as a 0-d tensor.  error_if_nonfinite: raise a
    RuntimeError when that norm is nan or inf (otherwise the gradients are scaled
    by max_norm / norm, which makes them nan or 0, as in PyTorch).

    Each gradient's sum |g|^p is one pass of the C kernel (accumulated in double;
    on a GPU the kernel hands the number back, which waits for the device); the
    scaling is one in-place multiply per gradient.  The returned norm lives on
    the gradients' device.
    """
    grads = _grads(parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not grads:
        return tensor(0.0)
    parts = [kernels(g).norm_pow(g._array, norm_type) for g in grads]
    if norm_type == math.inf:
        total = max(parts)
    elif norm_type == -math.inf:
        total = min(parts)
    elif norm_type == 0.0:
        total = sum(parts)
    else:
        total = math.fsum(parts) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           f"`parameters` is non-finite ({total}), so it cannot be clipped. To "
                           f"disable this error and scale the gradients by the non-finite norm "
                           f"anyway, set `error_if_nonfinite=False`")
    clip_coef = max_norm / (total + 1e-6)
    if clip_coef < 1.0 or math.isnan(clip_coef):
        with no_grad():
            for g in grads:
                g.mul_(clip_coef)
    return tensor(total, dtype=grads[0].dtype, device=grads[0].device)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient value of `parameters` to [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.clamp_(-clip_value, clip_value)
