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
            device = dtypes.CPU
        elif isinstance(data, Tensor):
            # Optimizers update parameters in place through the C kernels, which
            # need one contiguous buffer.
            array = kernels(data).contiguous(data._array)
            device = data.device
        else:
            array = dtypes.as_array(data)
            device = dtypes.CPU
        self._init(array, device)
        if isinstance(data, Tensor) and array is data._array:
            self._version = data._version  # the same storage: one version counter
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        # copy.deepcopy(module) / copy.copy: rebuild from a host copy of the values, on
        # the same device.
        values = self._host_array()
        if values is self._array:
            values = values.copy()
        return (_rebuild_parameter, (values, self.requires_grad, str(self.device)))


def _rebuild_parameter(array, requires_grad, device="cpu"):
    from minigrad.creation import from_numpy
    return Parameter(from_numpy(array).to(device), requires_grad)
