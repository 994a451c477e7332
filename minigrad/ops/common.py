"""Helpers shared by the ops: the kernel table of a tensor, scalars as tensors,
dims, and summing a broadcast gradient back to its input's shape."""
from minigrad import dtypes
from minigrad.backend import for_device
from minigrad.tensor import Tensor

_tables = {}


def kernels(t):
    """The kernel table (backend module) of tensor `t`'s device."""
    table = _tables.get(t.device)
    if table is None:
        table = _tables[t.device] = for_device(t.device)
    return table


def same_device(op, *tensors):
    """RuntimeError naming the op, both devices and the shapes unless every tensor
    (None entries skipped) lives on one device."""
    first = tensors[0]
    for t in tensors[1:]:
        if t is not None and t.device != first.device:
            raise RuntimeError(f"{op}: expected all tensors on one device, got "
                               f"{first.device} and {t.device} (shapes {list(first.shape)} "
                               f"and {list(t.shape)})")


def is_scalar(value):
    return isinstance(value, (int, float, bool)) and not isinstance(value, Tensor)


def as_tensor_like(value, like):
    """`value` as a Tensor on `like`'s device (Tensors pass through unchanged)."""
    if isinstance(value, Tensor):
        return value
    dtype = like.dtype if is_scalar(value) and (dtypes.is_float(like.dtype)
                                                or isinstance(value, int)) else None
    return Tensor(value, dtype=dtype, device=like.device)


def normalize_dim(dim, ndim, op):
    """`dim` in [0, ndim), negative dims counted from the end; IndexError otherwise."""
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor of {ndim} dims")
    return dim % max(ndim, 1)


def normalize_dims(dim, ndim, op):
    """A sorted tuple of dims from None (all), an int or a sequence."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int):
        dim = (dim,)
    dims = sorted({normalize_dim(d, ndim, op) for d in dim})
    return tuple(dims)


def shape_str(*tensors):
    return " and ".join(f"{list(t.shape)}" for t in tensors)


def unbroadcast(grad, shape):
    """Sum `grad` over the dims that broadcasting added or stretched, back to `shape`."""
    if grad.shape == shape:
        return grad
    from minigrad.ops.reduce import sum as sum_
    extra = grad.ndim - len(shape)
    dims = tuple(range(extra)) + tuple(extra + i for i, n in enumerate(shape)
                                       if n == 1 and grad.shape[extra + i] != 1)
    return sum_(grad, dims, keepdim=True).reshape(shape)


def implicit_grad(output, gradient, op):
    """The gradient to start backward with: ones for a scalar, else the given one."""
    if gradient is None:
        if output.numel() != 1:
            raise RuntimeError(f"{op}: grad can be implicitly created only for scalar outputs; "
                               f"pass a gradient of shape {list(output.shape)}")
        k = kernels(output)
        return Tensor._wrap(k.fill_(k.empty(output.shape, output.dtype), 1.0), output.device)
    if not isinstance(gradient, Tensor):
        gradient = Tensor(gradient, dtype=output.dtype, device=output.device)
    elif gradient.device != output.device:
        raise RuntimeError(f"{op}: the gradient is on {gradient.device} but the output is on "
                           f"{output.device} (shape {list(output.shape)})")
    if gradient.shape != output.shape:
        raise RuntimeError(f"{op}: gradient has shape {list(gradient.shape)} but the output has "
                           f"shape {list(output.shape)}")
    return gradient
