"""The compiled C core (``minigrad._C``) and the one place its status codes become exceptions."""
import os

# One setting for the OpenMP runtime _C loads (libgomp), read once, when it loads:
# how long a thread that finished a parallel loop spins, waiting for the next one,
# before it sleeps.  Every product and large loop is shared among one team of OpenMP
# threads (BLAS is kept to one thread: csrc/gemm.c), so a spinning thread never
# fights another pool for the cores.  Waking a sleeping one cost about 50 us here, as
# much as a recurrent step's whole (32, 256) x (256, 1024) product; spinning ~0.3 ms
# (libgomp's estimate for 30000 spins) keeps the team awake across a step's
# calls.  Measured, 2-thread composed LSTM training: 1.3x faster than with sleeping
# waits; libgomp's default (3 ms) measured the same as this shorter spin.
# A user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT wins.  Ours is taken out of the
# environment again once the library is loaded: a library loaded later (PyTorch
# brings its own libgomp) or a child process would read it too.
_LOAD_SETTINGS = {"GOMP_SPINCOUNT": "30000"}
_USER_SETTINGS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
_ours = [] if any(name in os.environ for name in _USER_SETTINGS) else list(_LOAD_SETTINGS)
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
