"""Fused cross-entropy on the device (csrc/cuda/loss.cu): backend/cpu/loss.py's
contract over CudaArrays -- PyTorch's ``F.cross_entropy(..., reduction='none')``
with class weights, ``ignore_index`` and ``label_smoothing``:

    cross_entropy(logits (n, c), target (n,) int64, weight (c,) or None, ...)
        -> (loss (n,), row_weight (n,), log_probs (n, c))
    cross_entropy_backward(log_probs, target, grad_loss (n,), weight, ...) -> (n, c)

`target` may be a host int64 array (copied to the device).  A target outside
[0, c) other than ignore_index raises IndexError naming the first bad one (the
targets are read back to the host only on that error path).  The argument
rules are backend/shared/loss.py's.
"""
import numpy as np

from minigrad._native import lib
from minigrad.backend.cuda import runtime
from minigrad.backend.cuda.array import CudaArray
from minigrad.backend.cuda.common import (check, contiguous, dtype_code, device_input,
                                          int64_ptr, optional_ptr, to_device, to_host)
from minigrad.backend.shared.loss import (check_grad_loss, check_rows, check_target,
                                          check_target_dtype, check_weight, label_smoothing_of,
                                          raise_bad_target)

__all__ = ["cross_entropy", "cross_entropy_backward"]


def _check_inputs(op, rows, target, weight, label_smoothing, rows_name):
    code = dtype_code(rows, op)
    check_rows(op, rows, rows_name)
    if isinstance(target, np.ndarray):  # host targets: checked here, then copied over
        check_target_dtype(op, target)
        target = to_device(target)
    target = device_input(target, op, "target")
    check_target(op, target, rows, rows_name)
    if weight is not None:
        weight = device_input(weight, op, "weight")
        check_weight(op, weight, rows)
        weight = contiguous(weight)
    label_smoothing = label_smoothing_of(op, label_smoothing)
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
        raise_bad_target(op, to_host(target), c, ignore_index)
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
    check_grad_loss(op, grad_loss, log_probs, with_dtype=True)
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
        raise_bad_target(op, to_host(target), c, ignore_index)
    check(status, "mg_cuda_cross_entropy_backward",
          lambda: f"log_probs {log_probs.shape}, target {target.shape}")
    return grad
