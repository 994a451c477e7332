"""Moving tensors between devices, differentiably.

`to_device(x, device)` copies x to another device (x itself when it is already
there).  Its gradient flows back to x's device: the backward of a CPU -> CUDA
copy is a CUDA -> CPU copy of the gradient, so a loss computed on the GPU
trains parameters that live on the CPU, and the other way round.
"""
from minigrad.autograd.function import Function
from minigrad.backend import transfer


class ToDevice(Function):
    """out = x on another device;  the gradient is moved back to x's device."""

    def forward(self, x, device):
        self.source, self.out_device = x.device, device
        return transfer(x._array, x.device, device)

    def backward(self, g):
        return to_device(g, self.source)


def to_device(x, device):
    """x copied to `device` (a canonical device, already checked); x itself when there."""
    if x.device == device:
        return x
    return ToDevice.apply(x, device)
