"""Fused optimizer updates and the gradient-norm reduction on the device
(csrc/cuda/optim.cu): backend/cpu/optim.py's contract over CudaArrays.

Each ``*_step`` updates ``param`` and its state arrays in place (PyTorch's
formulas); all arrays of one call share one shape and float dtype, param and
state arrays are C-contiguous, writable and do not overlap (``grad`` may be any
layout).  ``norm_pow`` returns a Python float (the kernel writes it to host
memory, which synchronises with the device).
"""
import math

from minigrad._native import ffi
from minigrad.backend.cuda import runtime
from minigrad.backend.cuda.common import (check, contiguous, device_input, dtype_code,
                                          may_share_memory, optional_ptr)

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
    for name, arr in list(inplace.items()) + [("grad", grad)]:
        if arr.dtype != param.dtype:
            raise TypeError(f"{op}: {name} has dtype {arr.dtype}, expected {param.dtype} "
                            f"like param")
        if arr.shape != param.shape:
            raise ValueError(f"{op}: {name} has shape {arr.shape}, expected {param.shape} "
                             f"like param")
    for name, arr in inplace.items():
        if not arr.flags.c_contiguous:
            raise ValueError(f"{op}: {name} (shape {arr.shape}) must be C-contiguous: "
                             f"it is updated in place")
        if not arr.flags.writeable:
            raise ValueError(f"{op}: {name} (shape {arr.shape}) is read-only")
    named = list(inplace.items()) + [("grad", grad)]
    for i, (name_a, a) in enumerate(named):
        for name_b, b in named[i + 1:]:
            if may_share_memory(a, b):
                raise ValueError(f"{op}: {name_a} and {name_b} share memory; each needs "
                                 f"its own buffer")
    return code, contiguous(grad)


def _details(param):
    return lambda: f"shape={param.shape}, dtype={param.dtype}"


def _step_count(op, step):
    step = int(step)
    if step < 1:
        raise ValueError(f"{op}: step counts updates including this one and must be >= 1, "
                         f"got {step}")
    return step


def sgd_step(param, grad, buf, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
             nesterov=False, maximize=False, first_step=False):
    """One SGD update (torch.optim.SGD), in place on param and buf."""
    op = "sgd_step"
    momentum, dampening = float(momentum), float(dampening)
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError(f"{op}: Nesterov momentum requires momentum > 0 and zero dampening, "
                         f"got momentum={momentum}, dampening={dampening}")
    if momentum != 0 and buf is None:
        raise ValueError(f"{op}: momentum={momentum} needs a momentum buffer, got None")
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
    step = _step_count(op, step)
    beta1, beta2 = float(beta1), float(beta2)
    if not (0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0):
        raise ValueError(f"{op}: betas must be in [0, 1), got ({beta1}, {beta2})")
    if exp_avg is None or exp_avg_sq is None:
        raise ValueError(f"{op}: exp_avg and exp_avg_sq are required")
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
    step = _step_count(op, step)
    if state_sum is None:
        raise ValueError(f"{op}: state_sum is required")
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
    momentum = float(momentum)
    if square_avg is None:
        raise ValueError(f"{op}: square_avg is required")
    if momentum > 0 and momentum_buf is None:
        raise ValueError(f"{op}: momentum={momentum} needs momentum_buf, got None")
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
    p = float(p)
    if math.isnan(p):
        raise ValueError(f"{op}: p must be a number, got nan")
    if p == -math.inf and x.size == 0:
        raise ValueError(f"{op}: min |x| (p=-inf) of an empty array (shape {x.shape})")
    if x.size == 0:
        return 0.0
    x = contiguous(x)
    out = ffi.new("double *")
    check(runtime.api().norm_pow(code, x.size, x.pointer(), p, out), "mg_cuda_norm_pow",
          lambda: f"shape={x.shape}, p={p}")
    return out[0]

