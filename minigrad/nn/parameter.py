"""Parameter: a Tensor that a Module registers as one of its learnable weights."""
from minigrad import dtypes
from minigrad.ops.common import kernels
from minigrad.tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor with ``requires_grad=True`` (by default) that, assigned as an
    attribute of a :class:`~minigrad.nn.Module`, is registered in its parameters.

    ``Parameter(t)`` shares ``t``'s values (no copy when ``t`` is a contiguous
    Tensor), as PyTorch's does; numpy arrays and nested lists are copied.
    Ops on a Parameter return plain Tensors.
    """
    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            array = dtypes.as_array([], dtypes.get_default_dtype())
            device = "cpu"
        elif isinstance(data, Tensor):
            # Optimizers update parameters in place through the C kernels, which
            # need one contiguous buffer.
            array = kernels(data).contiguous(data._array)
            device = data.device
        else:
            array = dtypes.as_array(data)
            device = "cpu"
        self._init(array, device)
        if isinstance(data, Tensor) and array is data._array:
            self._version = data._version  # the same storage: one version counter
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        # copy.deepcopy(module) / copy.copy: rebuild from a copy of the values.
        return (_rebuild_parameter, (self._array.copy(), self.requires_grad))


def _rebuild_parameter(array, requires_grad):
    from minigrad.creation import from_numpy
    return Parameter(from_numpy(array), requires_grad)
