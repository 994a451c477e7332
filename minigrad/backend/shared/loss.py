"""The cross-entropy family's rules, the same on every device: the shapes and
dtypes of rows (logits or log-probabilities), targets, class weights and
the loss gradient, label_smoothing's range, and the error naming the first
target out of range (read on the host, on that error path only).
"""
from minigrad.backend.shared.checks import INT64, describe, same_dtype


def check_rows(op, rows, rows_name):
    """rows (n, c) -> (n, c)."""
    if rows.ndim != 2:
        raise ValueError(f"{op}: {rows_name} must be 2-D (n, c), got shape {rows.shape}")
    return rows.shape


def check_target_dtype(op, target):
    """target: int64."""
    if target.dtype != INT64:
        raise TypeError(f"{op}: target must be int64, got {target.dtype} (shape {target.shape})")


def check_target(op, target, rows, rows_name):
    """target: int64 of shape (n,), rows (n, c)."""
    if target.dtype != INT64:
        check_target_dtype(op, target)  # raises
    n = rows.shape[0]
    if target.shape != (n,):
        raise ValueError(f"{op}: target must have shape ({n},) to match {rows_name} "
                         f"{rows.shape}, got {target.shape}")


def check_weight(op, weight, rows):
    """Class weights: rows' dtype, shape (c,)."""
    same_dtype(op, rows, weight)
    c = rows.shape[1]
    if weight.shape != (c,):
        raise ValueError(f"{op}: weight must have shape ({c},) for {c} classes, "
                         f"got {weight.shape}")


def label_smoothing_of(op, value):
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {value}")
    return value


def check_grad_loss(op, grad_loss, log_probs, with_dtype=False):
    """grad_loss: log_probs' dtype, shape (n,).  The shape error shows what came
    as its shape, or as dtype and shape when `with_dtype` (the CUDA table's wording)."""
    same_dtype(op, log_probs, grad_loss)
    n = log_probs.shape[0]
    if grad_loss.shape != (n,):
        got = describe(grad_loss) if with_dtype else grad_loss.shape
        raise ValueError(f"{op}: grad_loss must have shape ({n},) to match log_probs "
                         f"{log_probs.shape}, got {got}")


def raise_bad_target(op, target, c, ignore_index):
    """IndexError naming the first target outside [0, c) (a host array; error path only)."""
    for i, t in enumerate(target.tolist()):
        if t != ignore_index and not 0 <= t < c:
            raise IndexError(f"{op}: target[{i}] = {t} is out of range for {c} classes: "
                             f"expected values in [0, {c}) or ignore_index={ignore_index} "
                             f"(target shape {target.shape})")
    raise IndexError(f"{op}: a target is out of range [0, {c})")  # unreachable in practice
