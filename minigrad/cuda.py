"""minigrad.cuda: is there a usable CUDA device, which one, and CUDA errors as exceptions.

    import minigrad
    if minigrad.cuda.is_available():
        print(minigrad.cuda.device_count(), minigrad.cuda.get_device_name(0))

Every minigrad imports this module, with or without the CUDA backend: a build
made without ``MINIGRAD_CUDA=1`` has no ``lib.mg_cuda_*`` functions and simply
reports ``is_available() == False``.  Importing never touches the GPU; the first
question (``is_available``, ``device_count``) asks the CUDA runtime once and the
answer is kept for the life of the process (the visible devices cannot change
after the runtime has started).

Other modules call :func:`require` before doing CUDA work, and :func:`check` on
the status of every ``lib.mg_cuda_*`` call: a failed CUDA call becomes a
:class:`CudaError` whose message names the call, e.g.
``mg_cuda_malloc: CUDA call failed: cudaMalloc: out of memory (error 2)``.
"""
import functools

from minigrad._native import KernelError, ffi, lib
from minigrad._native import check as _check_status

__all__ = ["CudaError", "is_built", "is_available", "device_count", "require", "check",
           "last_error", "get_device_name", "synchronize", "memory_info"]

MG_ERR_CUDA = 9  # csrc/minigrad.h
NOT_BUILT = ("this build of minigrad has no CUDA backend; "
             "rebuild with MINIGRAD_CUDA=1 (make cuda)")


class CudaError(KernelError):
    """A CUDA runtime call inside a kernel failed; the message names that call and
    CUDA's reason (from ``mg_cuda_last_error``)."""

    def __init__(self, kernel, status, details=""):
        super().__init__(kernel, status, details)
        self.cuda_message = last_error()
        message = f"{kernel}: CUDA call failed: {self.cuda_message or 'no message recorded'}"
        self.args = (message + (f" ({details})" if details else ""),)


def is_built():
    """True when this minigrad was compiled with the CUDA backend (``MINIGRAD_CUDA=1``),
    whether or not a GPU is present."""
    return hasattr(lib, "mg_cuda_device_count")


def last_error():
    """The message of the calling thread's last failed CUDA call ("" if none, or if this
    build has no CUDA backend)."""
    if not is_built():
        return ""
    return ffi.string(lib.mg_cuda_last_error()).decode(errors="replace")


def check(status, kernel, details=""):
    """Raise unless `status` (from a ``lib.mg_cuda_*`` call) is MG_OK: a
    :class:`CudaError` for a failed CUDA call, else a :class:`KernelError` as for CPU
    kernels (bad sizes, dtypes, ...).  `details` may be a callable, built only on failure.
    Call it on the thread that made the call: the CUDA message is kept per thread."""
    if status == MG_ERR_CUDA:
        raise CudaError(kernel, status, details() if callable(details) else details)
    _check_status(status, kernel, details)


@functools.lru_cache(maxsize=None)
def _probe():
    """(device count, why there is none) -- asked once per process."""
    if not is_built():
        return 0, NOT_BUILT
    count = ffi.new("int *")
    status = lib.mg_cuda_device_count(count)
    if status != 0:
        return 0, last_error() or f"mg_cuda_device_count failed (status {status})"
    if count[0] == 0:
        # No GPU or no (recent enough) driver: the runtime's reason is recorded.
        return 0, last_error() or "cudaGetDeviceCount reported 0 devices"
    return count[0], ""


def device_count():
    """The number of CUDA devices visible to this process (0 without the CUDA backend,
    a GPU or a recent enough driver)."""
    return _probe()[0]


def is_available():
    """True when this build has the CUDA backend and at least one device is visible.
    Never raises."""
    return device_count() > 0


def require(what=None):
    """Raise RuntimeError unless CUDA can be used, saying why: the build has no CUDA
    backend, or no device is visible (with the CUDA runtime's reason).  `what` names
    the thing that needed CUDA, e.g. ``require("Tensor.to('cuda')")``."""
    count, reason = _probe()
    if count > 0:
        return
    prefix = f"{what}: " if what else ""
    if not is_built():
        raise RuntimeError(prefix + NOT_BUILT)
    raise RuntimeError(prefix + f"no CUDA device is visible: {reason}")


def _check_device(device):
    if not isinstance(device, int) or isinstance(device, bool):
        raise TypeError(f"CUDA device index must be an int, got {type(device).__name__}")
    count = device_count()
    if not 0 <= device < count:
        raise ValueError(f"CUDA device {device} does not exist: {count} device(s) visible")


def get_device_name(device=0):
    """The name of CUDA device `device` (an index), e.g. ``"NVIDIA H100 80GB HBM3"``."""
    require("minigrad.cuda.get_device_name")
    _check_device(device)
    buf = ffi.new("char[]", 256)
    check(lib.mg_cuda_device_name(device, buf, len(buf)), "mg_cuda_device_name",
          lambda: f"device {device}")
    return ffi.string(buf).decode(errors="replace")


def synchronize():
    """Wait until all queued CUDA work has finished; raises CudaError if any of it failed
    (kernels are launched asynchronously, so their errors surface here)."""
    require("minigrad.cuda.synchronize")
    check(lib.mg_cuda_synchronize(), "mg_cuda_synchronize")


def memory_info():
    """(free, total) memory of the current CUDA device, in bytes."""
    require("minigrad.cuda.memory_info")
    free, total = ffi.new("int64_t *"), ffi.new("int64_t *")
    check(lib.mg_cuda_memory_info(free, total), "mg_cuda_memory_info")
    return int(free[0]), int(total[0])
