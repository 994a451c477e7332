"""The loopback device: the CUDA table running on the CPU kernels (a TEST device).

mg_cuda_X has exactly the signature and semantics of mg_X (csrc/cuda/
minigrad_cuda.h), so an api object whose kernels are ``lib.mg_X`` and whose
"device memory" is host memory runs everything the real GPU would -- the CUDA
kernel table, CudaArray views, transfers, Tensor.to('cuda'), Module.to('cuda'),
optimizers, checkpoints -- on a machine without a GPU.  What it cannot test is
the CUDA C code itself; the `cuda`-marked tests run the same checks on the real
device.

    from minigrad.backend.cuda import loopback
    previous = loopback.install()     # device 'cuda' now means the loopback
    ...
    loopback.uninstall(previous)      # or: with loopback.installed(): ...

Never active by default: only tests install it.  Memory comes from
``ffi.new("char[]", n)`` (kept alive by the allocator and the buffers);
memcpy is ``ffi.memmove``; there are no CUDA errors (last_error() is "").
"""
import contextlib

from minigrad._native import ffi, lib
from minigrad.backend.cuda import runtime


class LoopbackApi:
    """The CUDA api over the CPU kernels and host memory."""

    name = "loopback"

    def __init__(self):
        for n in runtime.KERNELS:
            setattr(self, n, getattr(lib, "mg_" + n))

    def malloc(self, nbytes):
        if nbytes == 0:
            return ffi.NULL
        return ffi.new("char[]", nbytes)  # freed when the last reference goes

    def free(self, base):
        pass

    def memcpy(self, dst, src, nbytes, kind):
        if kind not in (runtime.HOST_TO_DEVICE, runtime.DEVICE_TO_HOST,
                        runtime.DEVICE_TO_DEVICE):
            raise ValueError(f"memcpy: unknown kind {kind}")
        if nbytes:
            ffi.memmove(dst, src, nbytes)

    def synchronize(self):
        pass

    def last_error(self):
        return ""


def install():
    """Make device 'cuda' the loopback; returns the api that was active (or None)."""
    return runtime.install(LoopbackApi())


def uninstall(previous=None):
    """Restore the api `install` returned (None: no CUDA api until the next use)."""
    runtime.install(previous)


@contextlib.contextmanager
def installed():
    """with loopback.installed(): ... -- the loopback for the block."""
    previous = install()
    try:
        yield runtime.active()
    finally:
        uninstall(previous)
