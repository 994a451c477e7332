"""Fused optimizer updates and the gradient-norm reduction.

Each ``*_step`` updates ``param`` and its state arrays in place, in one pass
over memory, following PyTorch's optimizer formulas (``torch.optim``'s
single-tensor CPU path, operation by operation, so float32 trajectories match
to rounding).  All arrays of one call share one shape and one float dtype;
``param`` and the state arrays must be C-contiguous, writable and must not
overlap one another (``grad`` may be any layout: it is copied when strided).

State initialisation is the caller's: zeros for Adam's moments, RMSprop's
averages and buffer, ``initial_accumulator_value`` for Adagrad's ``state_sum``.
``step`` arguments count updates including this one (1 on the first call).
The argument rules are the same on every device: backend/shared/optim.py.
"""
import numpy as np

from minigrad._native import check, ffi, lib
from minigrad.backend.cpu.common import contiguous, dtype_code, ptr
from minigrad.backend.shared.optim import (adagrad_hyperparameters, adam_hyperparameters,
                                           check_update, details as _details, norm_pow_p,
                                           rmsprop_hyperparameters, sgd_hyperparameters)

__all__ = ["sgd_step", "adam_step", "adagrad_step", "rmsprop_step", "norm_pow"]


def _check_update(op, param, grad, **state):
    """Check the arrays of one update; returns (dtype code, contiguous grad).

    `state` maps names to the in-place state arrays (None where unused)."""
    if not isinstance(param, np.ndarray) or not isinstance(grad, np.ndarray):
        raise TypeError(f"{op}: param and grad must be numpy arrays, got "
                        f"{type(param).__name__} and {type(grad).__name__}")
    code = dtype_code(param, op)
    inplace = {"param": param}
    for name, arr in state.items():
        if arr is None:
            continue
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"{op}: {name} must be a numpy array, got {type(arr).__name__}")
        inplace[name] = arr
    check_update(op, param, grad, inplace, np.may_share_memory)
    return code, contiguous(grad)


def _optional(arr):
    return ffi.NULL if arr is None else ptr(arr)


def sgd_step(param, grad, buf, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
             nesterov=False, maximize=False, first_step=False):
    """One SGD update (``torch.optim.SGD``), in place on param and buf.

    buf: the momentum buffer (param's shape), or None when momentum == 0.
    first_step: the buffer has no history yet; it becomes the (decayed) grad.
    """
    op = "sgd_step"
    momentum, dampening = sgd_hyperparameters(op, momentum, dampening, nesterov, buf)
    code, grad = _check_update(op, param, grad, buf=buf)
    check(lib.mg_sgd_step(code, param.size, ptr(param), ptr(grad),
                          _optional(buf if momentum != 0 else None), float(lr), momentum,
                          dampening, float(weight_decay), int(bool(nesterov)),
                          int(bool(maximize)), int(bool(first_step))),
          "mg_sgd_step", _details(param))


def adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps,
              weight_decay=0.0, decoupled=False, max_exp_avg_sq=None, maximize=False):
    """One Adam update (AdamW when ``decoupled``), in place on param and state.

    exp_avg, exp_avg_sq: the moment estimates; max_exp_avg_sq: the running max
    of exp_avg_sq for amsgrad, or None.  step: 1-based count including this one
    (drives the bias corrections).
    """
    op = "adam_step"
    step, beta1, beta2 = adam_hyperparameters(op, step, beta1, beta2, exp_avg, exp_avg_sq)
    code, grad = _check_update(op, param, grad, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq,
                               max_exp_avg_sq=max_exp_avg_sq)
    check(lib.mg_adam_step(code, param.size, ptr(param), ptr(grad), ptr(exp_avg),
                           ptr(exp_avg_sq), _optional(max_exp_avg_sq), float(lr), beta1, beta2,
                           float(eps), float(weight_decay), int(bool(decoupled)), step,
                           int(bool(maximize))),
          "mg_adam_step", _details(param))


def adagrad_step(param, grad, state_sum, step, lr, lr_decay=0.0, weight_decay=0.0, eps=1e-10,
                 maximize=False):
    """One Adagrad update, in place on param and state_sum.

    The learning rate is ``lr / (1 + (step - 1) * lr_decay)``; state_sum starts
    at ``initial_accumulator_value`` (filled by the caller).
    """
    op = "adagrad_step"
    step = adagrad_hyperparameters(op, step, state_sum)
    code, grad = _check_update(op, param, grad, state_sum=state_sum)
    check(lib.mg_adagrad_step(code, param.size, ptr(param), ptr(grad), ptr(state_sum),
                              float(lr), float(lr_decay), float(weight_decay), float(eps), step,
                              int(bool(maximize))),
          "mg_adagrad_step", _details(param))


def rmsprop_step(param, grad, square_avg, lr, alpha=0.99, eps=1e-8, weight_decay=0.0,
                 momentum=0.0, momentum_buf=None, grad_avg=None, maximize=False):
    """One RMSprop update, in place on param and state.

    momentum_buf: needed when momentum > 0 (zeros at first); grad_avg: pass an
    array (zeros at first) for the centered variant, None otherwise.
    """
    op = "rmsprop_step"
    momentum = rmsprop_hyperparameters(op, momentum, square_avg, momentum_buf)
    code, grad = _check_update(op, param, grad, square_avg=square_avg,
                               momentum_buf=momentum_buf, grad_avg=grad_avg)
    check(lib.mg_rmsprop_step(code, param.size, ptr(param), ptr(grad), ptr(square_avg),
                              _optional(momentum_buf if momentum > 0 else None),
                              _optional(grad_avg), float(lr), float(alpha), float(eps),
                              float(weight_decay), momentum, int(bool(maximize))),
          "mg_rmsprop_step", _details(param))


def norm_pow(x, p):
    """sum(|x| ** p) over all elements, accumulated in double, as a Python float.

    p = inf gives max |x|, p = -inf min |x|, p = 0 the number of non-zeros
    (``torch.linalg.vector_norm``'s conventions); the p-norm is the result
    to the power 1/p.  x may be any layout.
    """
    op = "norm_pow"
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{op}: expected a numpy array, got {type(x).__name__}")
    code = dtype_code(x, op)
    p = norm_pow_p(op, p, x)
    x = contiguous(x)
    out = ffi.new("double *")
    check(lib.mg_norm_pow(code, x.size, ptr(x), p, out), "mg_norm_pow",
          lambda: f"shape={x.shape}, p={p}")
    return out[0]
