"""minigrad.nn.functional: the layers and losses as functions (PyTorch's F).

    import minigrad.nn.functional as F
    loss = F.cross_entropy(logits, target)

Two ops here are their own Functions, because one C kernel does the whole
job: ``cross_entropy`` (fused log-softmax + negative log-likelihood, stable
for large logits) and ``embedding`` (a gather whose gradient skips
``padding_idx``).  The others are composed from Tensor ops, so their
gradients come from those ops' backward formulas.

Indices and targets live on the input's device (a list or numpy array is
copied there); on a GPU their range is checked by the kernels (gather,
cross-entropy), nll_loss reads its targets back to the host to check them.
"""
import numpy as np

from minigrad import dtypes
from minigrad.autograd.function import Function
from minigrad.backend import for_device
from minigrad.creation import ones
from minigrad.ops import reduce as _reduce
from minigrad.ops.common import kernels, same_device
from minigrad.ops.elementwise import relu, sigmoid, tanh  # noqa: F401  (re-exported)
from minigrad.ops.index import IndexAddToZeros, IndexSelect
from minigrad.ops.linalg import AddMM
from minigrad.tensor import Tensor

_REDUCTIONS = ("none", "mean", "sum")


def softmax(input, dim=-1):
    """exp(x) / sum(exp(x)) along `dim`, computed stably.  Shape: as the input."""
    return _reduce.softmax(input, dim)


def log_softmax(input, dim=-1):
    """x - logsumexp(x) along `dim`, computed stably.  Shape: as the input."""
    return _reduce.log_softmax(input, dim)


# ---- layers ----------------------------------------------------------------------------


def linear(input, weight, bias=None):
    """y = x W^T + b: one op (AddMM), whose gemm reads W transposed through its flag
    (no transpose op on the tape) and adds the bias row onto the product in place.

    Shape: input (*, in_features), weight (out_features, in_features),
    bias (out_features,) or None -> output (*, out_features)."""
    if input.ndim == 0:
        raise ValueError("linear: the input must have at least 1 dim, got a 0-d tensor")
    if weight.ndim != 2 or input.shape[-1] != weight.shape[-1]:
        raise ValueError(f"linear: input of shape {list(input.shape)} does not match weight of "
                         f"shape {list(weight.shape)} (expected input (*, {weight.shape[-1]}))")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"linear: bias of shape {list(bias.shape)} does not match weight of "
                         f"shape {list(weight.shape)} (expected ({weight.shape[0]},))")
    if input.dtype != weight.dtype or (bias is not None and bias.dtype != input.dtype):
        raise TypeError(f"linear: input is {input.dtype} but the weight is {weight.dtype}"
                        + ("" if bias is None else f" and the bias {bias.dtype}"))
    x = input if input.ndim == 2 else input.reshape(-1, input.shape[-1])
    out = AddMM.apply(bias, x, weight, 1.0, 1.0, True, "linear")
    return out if input.ndim == 2 else out.reshape(input.shape[:-1] + (weight.shape[0],))


class Embedding(Function):
    """out = weight[indices]: shape indices.shape + (embedding_dim,).

    The gradient is scatter-added back to the rows (repeated indices accumulate);
    positions holding `padding_idx` send no gradient, so that row never learns."""

    def forward(self, weight, indices, padding_idx):
        self.weight_shape, self.indices, self.padding_idx = weight.shape, indices, padding_idx
        return kernels(weight).gather(weight._array, indices, 0)

    def backward(self, g):
        if self.padding_idx is not None:
            k = kernels(g)
            keep = k.cast(k.binary_scalar("ne", self.indices, self.padding_idx), g.dtype)
            g = g * Tensor._wrap(keep.reshape(keep.shape + (1,)), g.device)
        return IndexAddToZeros.apply(g, self.weight_shape, 0, self.indices)

    def release_extra(self):
        self.indices = None


def embedding(input, weight, padding_idx=None):
    """Rows of `weight` picked by the int64 indices in `input`.

    Shape: input (*) int64, weight (num_embeddings, embedding_dim)
    -> output (*, embedding_dim).  padding_idx: a row that receives no gradient
    (negative values count from the end)."""
    indices = _int64_array(input, "embedding", "input", weight)
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), "
                         f"got shape {list(weight.shape)}")
    num = weight.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within "
                             f"[-{num}, {num})")
        padding_idx %= num
    if weight.device == dtypes.CPU:  # (on a GPU the gather kernel checks the range)
        _check_index_range(indices, num, None, "embedding", "input", "embeddings")
    return Embedding.apply(weight, indices, padding_idx)


def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero each element with probability p and scale the rest by 1/(1-p) (in training);
    the identity otherwise.  Shape: as the input."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if inplace:
        raise NotImplementedError("dropout: inplace=True is not supported (autograd records "
                                  "no in-place ops); use inplace=False")
    if not training or p == 0.0:
        return input
    from minigrad import random
    k = kernels(input)
    if p == 1.0:
        return input * 0.0
    keep = random.draw("bernoulli", input.shape, input.dtype, generator, 1.0 - p,
                       device=input.device)
    mask = k.binary_scalar("mul", keep, 1.0 / (1.0 - p))
    return input * Tensor._wrap(mask, input.device)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias over the last len(normalized_shape)
    dims (biased variance, as PyTorch).

    Shape: input (*, *normalized_shape); weight and bias normalized_shape or None."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if k == 0 or input.shape[input.ndim - k:] != normalized_shape or input.ndim < k:
        raise ValueError(f"layer_norm: expected input with shape [*, "
                         f"{', '.join(map(str, normalized_shape))}], got {list(input.shape)}")
    dims = tuple(range(input.ndim - k, input.ndim))
    centered = input - input.mean(dims, keepdim=True)
    var = (centered * centered).mean(dims, keepdim=True)
    out = centered * (var + eps) ** -0.5
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


# ---- losses ----------------------------------------------------------------------------


def _int64_array(t, op, name, like):
    """The int64 indices of a Tensor (or array, or list) as a contiguous array on the
    device of tensor `like` (a Tensor must already be there; others are copied)."""
    if isinstance(t, Tensor):
        if t.device != like.device:
            same_device(op, like, t)
        array = kernels(t).contiguous(t._array)
    else:
        array = np.ascontiguousarray(t)
        if array.dtype == dtypes.int64:
            array = kernels(like).to_device(array)
    if array.dtype != dtypes.int64:
        raise TypeError(f"{op}: {name} must hold int64 indices, got {array.dtype} "
                        f"(shape {list(array.shape)})")
    return array


def _check_index_range(indices, n, ignore_index, op, name, what="classes"):
    """IndexError naming the first index outside [0, n) (ignore_index excepted).
    (Validation of int64 indices, before any kernel runs; no floating-point math.)"""
    if indices.size == 0:
        return
    bad = (indices < 0) | (indices >= n)
    if ignore_index is not None:
        bad &= indices != ignore_index
    if bad.any():
        pos = np.unravel_index(int(np.flatnonzero(bad)[0]), indices.shape)
        raise IndexError(f"{op}: {name}[{', '.join(map(str, pos))}] = {int(indices[pos])} is out "
                         f"of range for {n} {what} (expected values in [0, {n})"
                         + (f" or ignore_index={ignore_index})" if ignore_index is not None
                            else ")"))


def _check_reduction(reduction, op):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: {reduction} is not a valid value for reduction "
                         f"(expected 'none', 'mean' or 'sum')")


def _rows(input, target, op):
    """(input as (n, C), target as an int64 array (n,), shape of a per-element loss).

    Accepts input (C,) with target (), (N, C) with (N,), and (N, C, d1, ...) with
    (N, d1, ...) -- the class dim is moved last and the rest flattened."""
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have at least 1 dim (classes), got a 0-d tensor")
    t = _int64_array(target, op, "target", input)
    if input.ndim == 1:
        expected = ()
    else:
        expected = (input.shape[0],) + tuple(input.shape[2:])
    if t.shape != expected:
        raise ValueError(f"{op}: expected target of shape {list(expected)} for input of shape "
                         f"{list(input.shape)}, got {list(t.shape)}")
    c = input.shape[0] if input.ndim == 1 else input.shape[1]
    if input.ndim == 1:
        rows = input.reshape(1, c)
    elif input.ndim == 2:
        rows = input
    else:
        order = (0,) + tuple(range(2, input.ndim)) + (1,)
        rows = input.permute(order).reshape(-1, c)
    return rows, t.reshape(-1), expected


def _check_weight(weight, input, c, op):
    if weight is None:
        return None
    if not isinstance(weight, Tensor):
        raise TypeError(f"{op}: weight must be a Tensor or None, got {type(weight).__name__}")
    if weight.shape != (c,):
        raise ValueError(f"{op}: weight must have shape [{c}] (one per class), got "
                         f"{list(weight.shape)}")
    if weight.dtype != input.dtype:
        raise TypeError(f"{op}: weight has dtype {weight.dtype}, input has {input.dtype}")
    if weight.device != input.device:
        same_device(op, input, weight)
    return weight._array


class CrossEntropy(Function):
    """The fused loss: per row i with target t,

        loss_i = -(1 - ls) w_t log p_it - (ls / C) sum_j w_j log p_ij,   p = softmax(x_i)

    (0 for rows whose target is ignore_index), then reduced: 'sum', 'mean' (divided by
    the summed w_t of the rows that count) or 'none'.  One C kernel computes the
    log-softmax and the loss; backward is CrossEntropyGrad (the kernel's backward).
    Class weights get no gradient (as in PyTorch)."""

    def forward(self, logits, ctx, reduction):
        k = kernels(logits)
        loss, row_weight, log_probs = k.cross_entropy(
            logits._array, ctx.target, ctx.weight, ctx.ignore_index, ctx.label_smoothing)
        self.save_for_backward(logits)
        ctx.log_probs, ctx.row_weight = log_probs, row_weight
        self.ctx, self.reduction, self.rows = ctx, reduction, logits.shape[0]
        if reduction == "none":
            return loss
        total = k.reduce("sum", loss, None)
        if reduction == "sum":
            return total
        self.denominator = k.reduce("sum", row_weight, None)
        return k.binary("div", total, self.denominator)

    def backward(self, g):
        logits, = self.saved_tensors
        if self.reduction == "mean":
            g = g / Tensor._wrap(self.denominator, g.device)
        if self.reduction != "none":
            g = g.expand(self.rows)
        return CrossEntropyGrad.apply(logits, g, self.ctx)

    def release_extra(self):
        self.ctx = None


class CrossEntropyGrad(Function):
    """gx = g_i * (s_i p_ij - q_ij): the fused backward kernel, where q_i is row i's
    (weighted, smoothed) target distribution and s_i = sum_j q_ij.

    For double backward: gx is linear in g, and depends on the logits only through
    p = softmax(x), so d/dx is the softmax Jacobian applied to ggx * g * s."""

    def forward(self, logits, g, ctx):
        self.ctx = ctx
        self.save_for_backward(logits, g)
        return kernels(g).cross_entropy_backward(ctx.log_probs, ctx.target, g._array,
                                                 ctx.weight, ctx.ignore_index,
                                                 ctx.label_smoothing)

    def backward(self, ggx):
        logits, g = self.saved_tensors
        ctx = self.ctx
        unit = CrossEntropyGrad.apply(logits, ones(g.shape, dtype=g.dtype, device=g.device),
                                      ctx)  # s p - q
        d_g = (ggx * unit).sum(1)
        v = ggx * (g * Tensor._wrap(ctx.row_sums(), g.device)).unsqueeze(1)
        p = _reduce.softmax(logits, 1)
        d_logits = p * (v - (v * p).sum(1, keepdim=True))
        return d_logits, d_g

    def release_extra(self):
        self.ctx = None


class _CrossEntropyContext:
    """The constants of one cross-entropy call, shared by its forward and backward."""

    def __init__(self, target, weight, ignore_index, label_smoothing, classes, device):
        self.target, self.weight, self.device = target, weight, device
        self.ignore_index, self.label_smoothing = int(ignore_index), float(label_smoothing)
        self.classes = classes
        self.log_probs = self.row_weight = None

    def row_sums(self):
        """s_i = sum_j q_ij = (1 - ls) w_t + (ls / C) sum_j w_j, 0 for ignored rows."""
        k = for_device(self.device)
        ls, c = self.label_smoothing, self.classes
        s = k.binary_scalar("mul", self.row_weight, 1.0 - ls)
        if ls:
            total_w = float(c) if self.weight is None else \
                float(k.to_host(k.reduce("sum", self.weight, None)))
            valid = k.cast(k.binary_scalar("ne", self.target, self.ignore_index),
                           self.row_weight.dtype)
            s = k.binary("add", s, k.binary_scalar("mul", valid, ls / c * total_w))
        return s


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Cross-entropy between logits and class indices (or class probabilities).

    Shape: input (C,), (N, C) or (N, C, d1, ...): unnormalised logits;
    target () / (N,) / (N, d1, ...) int64 class indices in [0, C) or ignore_index --
    or, for soft labels, a float tensor of the input's shape;
    weight (C,) or None; output a scalar, or the target's shape for reduction='none'.
    label_smoothing in [0, 1] mixes the target with the uniform distribution."""
    op = "cross_entropy"
    _check_reduction(reduction, op)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be between 0.0 and 1.0, got "
                         f"{label_smoothing}")
    if not dtypes.is_float(input.dtype):
        raise TypeError(f"{op}: input must be float32 or float64 logits, got {input.dtype}")
    if isinstance(target, Tensor) and dtypes.is_float(target.dtype):
        return _cross_entropy_soft(input, target, weight, reduction, label_smoothing)
    rows, t, out_shape = _rows(input, target, op)
    c = rows.shape[1]
    w = _check_weight(weight, input, c, op)
    # (the kernel checks every target against [0, C) and ignore_index itself)
    ctx = _CrossEntropyContext(t, w, ignore_index, label_smoothing, c, input.device)
    loss = CrossEntropy.apply(rows, ctx, reduction)
    return loss.reshape(out_shape) if reduction == "none" else loss


def _cross_entropy_soft(input, target, weight, reduction, label_smoothing):
    """Soft labels: loss = -sum_j w_j t_j log softmax(x)_j over the class dim (dim 1,
    or 0 for a 1-D input); 'mean' divides by the number of rows, as PyTorch does."""
    op = "cross_entropy"
    if target.shape != input.shape:
        raise ValueError(f"{op}: probability targets must have the input's shape "
                         f"{list(input.shape)}, got {list(target.shape)}")
    class_dim = 0 if input.ndim == 1 else 1
    c = input.shape[class_dim]
    if target.dtype != input.dtype:
        target = target.to(input.dtype)
    if label_smoothing:
        target = target * (1.0 - label_smoothing) + label_smoothing / c
    if weight is not None:
        _check_weight(weight, input, c, op)
        target = target * weight.reshape((c,) + (1,) * (input.ndim - class_dim - 1))
    loss = -(_reduce.log_softmax(input, class_dim) * target).sum(class_dim)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / (input.numel() // c if c else 0)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities: loss_i = -w_t input[i, t].

    Shape: input (C,), (N, C) or (N, C, d1, ...) log-probabilities; target () / (N,) /
    (N, d1, ...) int64; weight (C,) or None.  'mean' divides by the summed w_t of the
    rows whose target is not ignore_index."""
    op = "nll_loss"
    _check_reduction(reduction, op)
    rows, t, out_shape = _rows(input, target, op)
    n, c = rows.shape
    w = _check_weight(weight, input, c, op)
    k = kernels(rows)
    _check_index_range(k.to_host(t), c, ignore_index, op, "target")
    valid = k.binary_scalar("ne", t, int(ignore_index))   # 1 where the row counts (int64)
    safe_t = k.binary("mul", t, valid)                   # ignored rows point at class 0
    # input[i, t_i], differentiable: a gather of the flat rows at i * c + t_i
    starts = k.to_device(np.arange(0, n * c, c, dtype=np.int64))
    picked = IndexSelect.apply(rows.reshape(-1), 0, k.binary("add", starts, safe_t))
    row_weight = k.cast(valid, rows.dtype)
    if w is not None and n:
        row_weight = k.binary("mul", row_weight, k.gather(w, safe_t, 0))
    loss = -(picked * Tensor._wrap(row_weight, rows.device))
    if reduction == "none":
        return loss.reshape(out_shape)
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / Tensor._wrap(k.reduce("sum", row_weight, None), rows.device)


def mse_loss(input, target, reduction="mean"):
    """(input - target)^2, averaged ('mean'), summed ('sum') or elementwise ('none').

    Shape: input and target broadcastable (normally equal); output a scalar, or the
    broadcast shape for 'none'."""
    _check_reduction(reduction, "mse_loss")
    diff = input - target
    sq = diff * diff
    if reduction == "none":
        return sq
    return sq.sum() if reduction == "sum" else sq.mean()
