"""Fused cross-entropy on the device (csrc/cuda/loss.cu): backend/cpu/loss.py's
contract over CudaArrays -- PyTorch's ``F.cross_entropy(..., reduction='none')``
with class weights, ``ignore_index`` and ``label_smoothing``:

    cross_entropy(logits (n, c), target (n,) int64, weight (c,) or None, ...)
        -> (loss (n,), row_weight (n,), log_probs (n, c))
    cross_entropy_backward(log_probs, target, grad_loss (n,), weight, ...) -> (n, c)

`target` may be a host int64 array (copied to the device).  A target outside
[0, c) other than ignore_index raises IndexError naming the first bad one (the
targets are read back to the host only on that error path).
"""
import numpy as np

from minigrad._native import lib
from minigrad.backend.cpu.loss import _raise_bad_target
from minigrad.backend.cuda import runtime
from minigrad.backend.cuda.array import CudaArray
from minigrad.backend.cuda.common import (INT64, check, contiguous, describe, dtype_code,
                                          device_input, int64_ptr, optional_ptr, same_dtype,
                                          to_device, to_host)

__all__ = ["cross_entropy", "cross_entropy_backward"]


def _check_inputs(op, rows, target, weight, label_smoothing, rows_name):
    code = dtype_code(rows, op)
    if rows.ndim != 2:
        raise ValueError(f"{op}: {rows_name} must be 2-D (n, c), got shape {rows.shape}")
    n, c = rows.shape
    if isinstance(target, np.ndarray):
        if target.dtype != INT64:
            raise TypeError(f"{op}: target must be int64, got {target.dtype} "
                            f"(shape {target.shape})")
        target = to_device(target)
    target = device_input(target, op, "target")
    if target.dtype != INT64:
        raise TypeError(f"{op}: target must be int64, got {target.dtype} (shape {target.shape})")
    if target.shape != (n,):
        raise ValueError(f"{op}: target must have shape ({n},) to match {rows_name} "
                         f"{rows.shape}, got {target.shape}")
    if weight is not None:
        weight = device_input(weight, op, "weight")
        same_dtype(op, rows, weight)
        if weight.shape != (c,):
            raise ValueError(f"{op}: weight must have shape ({c},) for {c} classes, "
                             f"got {weight.shape}")
        weight = contiguous(weight)
    label_smoothing = float(label_smoothing)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    return contiguous(rows), contiguous(target), weight, code, label_smoothing


def cross_entropy(logits, target, weight=None, ignore_index=-100, label_smoothing=0.0):
    """Per-row cross-entropy of logits (n, c) against int64 targets (n,); returns
    (loss, row_weight, log_probs) as the CPU table's."""
    op = "cross_entropy"
    logits, target, weight, code, ls = _check_inputs(op, logits, target, weight,
                                                     label_smoothing, "logits")
    n, c = logits.shape
    ignore_index = int(ignore_index)
    loss = CudaArray.empty((n,), logits.dtype)
    row_weight = CudaArray.empty((n,), logits.dtype)
    log_probs = CudaArray.empty((n, c), logits.dtype)
    if n == 0:
        return loss, row_weight, log_probs
    status = runtime.api().cross_entropy(code, n, c, logits.pointer(), int64_ptr(target),
                                         optional_ptr(weight), ignore_index, ls,
                                         loss.pointer(), row_weight.pointer(),
                                         log_probs.pointer())
    if status == lib.MG_ERR_INDEX:
        _raise_bad_target(op, to_host(target), c, ignore_index)
    check(status, "mg_cuda_cross_entropy",
          lambda: f"logits {logits.shape}, target {target.shape}")
    return loss, row_weight, log_probs


def cross_entropy_backward(log_probs, target, grad_loss, weight=None, ignore_index=-100,
                           label_smoothing=0.0):
    """Gradient (n, c) of the per-row losses with respect to the logits."""
    op = "cross_entropy_backward"
    log_probs, target, weight, code, ls = _check_inputs(op, log_probs, target, weight,
                                                        label_smoothing, "log_probs")
    n, c = log_probs.shape
    grad_loss = device_input(grad_loss, op, "grad_loss")
    same_dtype(op, log_probs, grad_loss)
    if grad_loss.shape != (n,):
        raise ValueError(f"{op}: grad_loss must have shape ({n},) to match log_probs "
                         f"{log_probs.shape}, got {describe(grad_loss)}")
    grad_loss = contiguous(grad_loss)
    ignore_index = int(ignore_index)
    grad = CudaArray.empty((n, c), log_probs.dtype)
    if n == 0:
        return grad
    status = runtime.api().cross_entropy_backward(code, n, c, log_probs.pointer(),
                                                  int64_ptr(target), optional_ptr(weight),
                                                  ignore_index, ls, grad_loss.pointer(),
                                                  grad.pointer())
    if status == lib.MG_ERR_INDEX:
        _raise_bad_target(op, to_host(target), c, ignore_index)
    check(status, "mg_cuda_cross_entropy_backward",
          lambda: f"log_probs {log_probs.shape}, target {target.shape}")
    return grad
