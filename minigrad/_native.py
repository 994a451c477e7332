"""The compiled C core (``minigrad._C``) and the one place its status codes become exceptions."""
import os

# Two settings for the libraries _C loads, each read once, when its library loads:
# - OpenMP threads that spin after a parallel loop fight OpenBLAS's own spinning
#   threads for the cores: on a 2-core machine an OpenMP loop right after a BLAS
#   call was seen to stall for ~20 ms.  Sleeping waits (libgomp) avoid that.
# - OpenBLAS's own workers spin after each call too; a short timeout (2^4 cycles)
#   hands the core back to our OpenMP threads (2-thread LSTM training 0.82x -> 1.02x
#   of PyTorch, measured).
# A user's own setting wins.  Ours are taken out of the environment again once the
# libraries are loaded: a library loaded later (PyTorch brings its own libgomp) or a
# child process would read them too -- PyTorch's LSTM ran 4x slower at 2 threads
# with passive waits.
_LOAD_SETTINGS = {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_THREAD_TIMEOUT": "4"}
_ours = [name for name in _LOAD_SETTINGS if name not in os.environ]
os.environ.update({name: _LOAD_SETTINGS[name] for name in _ours})
try:
    try:
        # The scipy-openblas32 wheel's library must be loaded before _C, which links
        # to it: an editable install keeps _C in the source tree, where the rpath
        # baked into it cannot reach site-packages.
        import scipy_openblas32  # noqa: F401
    except ImportError:  # a build without that BLAS does not need it
        pass
    from minigrad._C import ffi, lib
finally:
    for name in _ours:
        os.environ.pop(name, None)

__all__ = ["ffi", "lib", "KernelError", "check"]


class KernelError(RuntimeError):
    """A C kernel refused its arguments; the message names the kernel and the sizes."""

    def __init__(self, kernel, status, details=""):
        self.kernel = kernel
        self.status = status
        reason = ffi.string(lib.mg_status_string(status)).decode()
        if status == lib.MG_ERR_CUDA and hasattr(lib, "mg_cuda_last_error"):
            # which CUDA call failed, and why (recorded by the calling thread's kernel)
            reason += ": " + ffi.string(lib.mg_cuda_last_error()).decode(errors="replace")
        super().__init__(f"{kernel}: {reason}" + (f" ({details})" if details else ""))


def check(status, kernel, details=""):
    """Raise KernelError unless `status` is MG_OK.  `details` may be a callable, so
    building the message costs nothing on the fast path."""
    if status != 0:
        raise KernelError(kernel, status, details() if callable(details) else details)
