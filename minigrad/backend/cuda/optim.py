"""Fused optimizer updates and the gradient-norm reduction on the device
(csrc/cuda/optim.cu): backend/cpu/optim.py's contract over CudaArrays.

Each ``*_step`` updates ``param`` and its state arrays in place (PyTorch's
formulas); all arrays of one call share one shape and float dtype, param and
state arrays are C-contiguous, writable and do not overlap (``grad`` may be any
layout).  ``norm_pow`` returns a Python float (the kernel writes it to host
memory, which synchronises with the device).  The argument rules are
backend/shared/optim.py's.
"""
from minigrad._native import ffi
from minigrad.backend.cuda import runtime
from minigrad.backend.cuda.common import (check, contiguous, device_input, dtype_code,
                                          may_share_memory, optional_ptr)
from minigrad.backend.shared.optim import (adagrad_hyperparameters, adam_hyperparameters,
                                           check_update, details as _details, norm_pow_p,
                                           rmsprop_hyperparameters, sgd_hyperparameters)

__all__ = ["sgd_step", "adam_step", "adagrad_step", "rmsprop_step", "norm_pow"]


def _check_update(op, param, grad, **state):
    """(dtype code, contiguous grad) after checking the arrays of one update."""
    param = device_input(param, op, "param")
    grad = device_input(grad, op, "grad")
    code = dtype_code(param, op)
    inplace = {"param": param}
    for name, arr in state.items():
        if arr is not None:
            inplace[name] = device_input(arr, op, name)
    check_update(op, param, grad, inplace, may_share_memory)
    return code, contiguous(grad)


def sgd_step(param, grad, buf, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
             nesterov=False, maximize=False, first_step=False):
    """One SGD update (torch.optim.SGD), in place on param and buf."""
    op = "sgd_step"
    momentum, dampening = sgd_hyperparameters(op, momentum, dampening, nesterov, buf)
    code, grad = _check_update(op, param, grad, buf=buf)
    if not param.size:
        return
    check(runtime.api().sgd_step(code, param.size, param.pointer(), grad.pointer(),
                                 optional_ptr(buf if momentum != 0 else None), float(lr),
                                 momentum, dampening, float(weight_decay), int(bool(nesterov)),
                                 int(bool(maximize)), int(bool(first_step))),
          "mg_cuda_sgd_step", _details(param))


def adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps,
              weight_decay=0.0, decoupled=False, max_exp_avg_sq=None, maximize=False):
    """One Adam update (AdamW when `decoupled`), in place on param and state."""
    op = "adam_step"
    step, beta1, beta2 = adam_hyperparameters(op, step, beta1, beta2, exp_avg, exp_avg_sq)
    code, grad = _check_update(op, param, grad, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq,
                               max_exp_avg_sq=max_exp_avg_sq)
    if not param.size:
        return
    check(runtime.api().adam_step(code, param.size, param.pointer(), grad.pointer(),
                                  exp_avg.pointer(), exp_avg_sq.pointer(),
                                  optional_ptr(max_exp_avg_sq), float(lr), beta1, beta2,
                                  float(eps), float(weight_decay), int(bool(decoupled)), step,
                                  int(bool(maximize))),
          "mg_cuda_adam_step", _details(param))


def adagrad_step(param, grad, state_sum, step, lr, lr_decay=0.0, weight_decay=0.0, eps=1e-10,
                 maximize=False):
    """One Adagrad update, in place on param and state_sum."""
    op = "adagrad_step"
    step = adagrad_hyperparameters(op, step, state_sum)
    code, grad = _check_update(op, param, grad, state_sum=state_sum)
    if not param.size:
        return
    check(runtime.api().adagrad_step(code, param.size, param.pointer(), grad.pointer(),
                                     state_sum.pointer(), float(lr), float(lr_decay),
                                     float(weight_decay), float(eps), step, int(bool(maximize))),
          "mg_cuda_adagrad_step", _details(param))


def rmsprop_step(param, grad, square_avg, lr, alpha=0.99, eps=1e-8, weight_decay=0.0,
                 momentum=0.0, momentum_buf=None, grad_avg=None, maximize=False):
    """One RMSprop update, in place on param and state (grad_avg: centered)."""
    op = "rmsprop_step"
    momentum = rmsprop_hyperparameters(op, momentum, square_avg, momentum_buf)
    code, grad = _check_update(op, param, grad, square_avg=square_avg,
                               momentum_buf=momentum_buf, grad_avg=grad_avg)
    if not param.size:
        return
    check(runtime.api().rmsprop_step(code, param.size, param.pointer(), grad.pointer(),
                                     square_avg.pointer(),
                                     optional_ptr(momentum_buf if momentum > 0 else None),
                                     optional_ptr(grad_avg), float(lr), float(alpha),
                                     float(eps), float(weight_decay), momentum,
                                     int(bool(maximize))),
          "mg_cuda_rmsprop_step", _details(param))


def norm_pow(x, p):
    """sum(|x| ** p) over all elements as a Python float (inf: max |x|, -inf: min |x|,
    0: the number of non-zeros)."""
    op = "norm_pow"
    code = dtype_code(x, op)
    p = norm_pow_p(op, p, x)
    if x.size == 0:
        return 0.0
    x = contiguous(x)
    out = ffi.new("double *")
    check(runtime.api().norm_pow(code, x.size, x.pointer(), p, out), "mg_cuda_norm_pow",
          lambda: f"shape={x.shape}, p={p}")
    return out[0]

