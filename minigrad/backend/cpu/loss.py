"""Cross-entropy kernels: fused log-softmax + negative log-likelihood.

Semantics are PyTorch's ``F.cross_entropy(..., reduction='none')`` with class
weights, ``ignore_index`` and ``label_smoothing``.  Per row i with target t:

    loss[i] = -(1 - ls) * w[t] * logp[i, t] - ls / c * sum_j w[j] * logp[i, j]

and 0 where ``target[i] == ignore_index``.  The caller reduces: a mean is
``loss.sum() / row_weight.sum()``, as PyTorch divides by the summed weights of
the rows that count.  The argument rules are the same on every device:
backend/shared/loss.py.
"""
import numpy as np

from minigrad._native import check, ffi, lib
from minigrad.backend.cpu.common import contiguous, dtype_code, ptr
from minigrad.backend.cpu.host_cache import empty
from minigrad.backend.shared.loss import (check_grad_loss, check_rows, check_target,
                                          check_weight, label_smoothing_of, raise_bad_target)

__all__ = ["cross_entropy", "cross_entropy_backward"]


def _check_inputs(op, rows, target, weight, label_smoothing, rows_name):
    """Shapes and dtypes shared by forward and backward; returns contiguous
    (rows, target, weight) and the C dtype code."""
    if not isinstance(rows, np.ndarray) or not isinstance(target, np.ndarray):
        raise TypeError(f"{op}: expected numpy arrays, got {type(rows).__name__} and "
                        f"{type(target).__name__}")
    code = dtype_code(rows, op)
    check_rows(op, rows, rows_name)
    check_target(op, target, rows, rows_name)
    if weight is not None:
        if not isinstance(weight, np.ndarray):
            raise TypeError(f"{op}: weight must be a numpy array or None, "
                            f"got {type(weight).__name__}")
        check_weight(op, weight, rows)
        weight = contiguous(weight)
    label_smoothing = label_smoothing_of(op, label_smoothing)
    return contiguous(rows), contiguous(target), weight, code, label_smoothing


def _optional(arr):
    """A pointer to `arr`, or NULL for None."""
    return ffi.NULL if arr is None else ptr(arr)


def _int64_ptr(arr):
    """An int64_t * to a contiguous int64 array (ptr() gives a char *)."""
    return ffi.from_buffer("int64_t[]", arr)


def cross_entropy(logits, target, weight=None, ignore_index=-100, label_smoothing=0.0):
    """Per-row cross-entropy of ``logits`` (n, c) against int64 ``target`` (n,).

    weight: (c,) class weights of the logits' dtype, or None.  Returns
    ``(loss (n,), row_weight (n,), log_probs (n, c))``: ``row_weight[i]`` is
    ``w[target[i]]`` (1 without weights, 0 for ignored rows), the denominator
    of a mean; ``log_probs`` is what :func:`cross_entropy_backward` needs.
    Raises IndexError for a target outside [0, c) that is not ``ignore_index``.
    """
    op = "cross_entropy"
    logits, target, weight, code, ls = _check_inputs(op, logits, target, weight,
                                                     label_smoothing, "logits")
    n, c = logits.shape
    ignore_index = int(ignore_index)
    loss = empty(n, logits.dtype)
    row_weight = empty(n, logits.dtype)
    log_probs = empty((n, c), logits.dtype)
    status = lib.mg_cross_entropy(code, n, c, ptr(logits), _int64_ptr(target),
                                  _optional(weight), ignore_index, ls,
                                  ptr(loss), ptr(row_weight), ptr(log_probs))
    if status == lib.MG_ERR_INDEX:
        raise_bad_target(op, target, c, ignore_index)
    check(status, "mg_cross_entropy", lambda: f"logits {logits.shape}, target {target.shape}")
    return loss, row_weight, log_probs


def cross_entropy_backward(log_probs, target, grad_loss, weight=None, ignore_index=-100,
                           label_smoothing=0.0):
    """Gradient (n, c) of the per-row losses with respect to the logits.

    log_probs: (n, c) from :func:`cross_entropy`; grad_loss: (n,) gradient of
    each row's loss (same dtype); the other arguments as in the forward.
    """
    op = "cross_entropy_backward"
    log_probs, target, weight, code, ls = _check_inputs(op, log_probs, target, weight,
                                                        label_smoothing, "log_probs")
    n, c = log_probs.shape
    if not isinstance(grad_loss, np.ndarray):
        raise TypeError(f"{op}: grad_loss must be a numpy array, got {type(grad_loss).__name__}")
    check_grad_loss(op, grad_loss, log_probs)
    grad_loss = contiguous(grad_loss)
    ignore_index = int(ignore_index)
    grad = empty((n, c), log_probs.dtype)
    status = lib.mg_cross_entropy_backward(code, n, c, ptr(log_probs), _int64_ptr(target),
                                           _optional(weight),
                                           ignore_index, ls, ptr(grad_loss), ptr(grad))
    if status == lib.MG_ERR_INDEX:
        raise_bad_target(op, target, c, ignore_index)
    check(status, "mg_cross_entropy_backward",
          lambda: f"log_probs {log_probs.shape}, target {target.shape}")
    return grad
