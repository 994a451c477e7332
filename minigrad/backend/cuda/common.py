"""What every CUDA kernel wrapper shares: dtype codes, device pointers, errors,
allocation, contiguity, copies and host <-> device transfers.

A wrapper takes CudaArrays, checks dtypes and shapes *before* any pointer
reaches C (cffi checks neither), makes inputs contiguous with the strided-copy
kernel, allocates outputs, calls the kernel through the active api and turns a
bad status into a KernelError naming the kernel and the sizes -- with the text
of the failing CUDA call for MG_ERR_CUDA.

A numpy array handed to a CUDA wrapper where device data is expected is a
tensor on the wrong device: RuntimeError naming the kernel and both devices.
"""
import numpy as np

from minigrad._native import KernelError, ffi
from minigrad.backend.cuda import runtime
from minigrad.backend.cuda.array import CudaArray, view_strides
from minigrad.backend.shared import checks
# The dtype codes, the host shape / stride arguments and the one-dtype check are
# the same on every device (backend/shared); the CUDA wrappers import them from here.
from minigrad.backend.shared.c_args import ONE_STRIDE, int64_array, size_array  # noqa: F401
from minigrad.backend.shared.concat import cat_by_copies
from minigrad.backend.shared.checks import (  # noqa: F401
    DTYPE_CODES, FLOAT32, FLOAT64, FLOAT_CODES, FLOAT_DTYPES, INT64, same_dtype)

__all__ = ["empty", "contiguous", "copy_into", "cat_into", "broadcast_to", "reshape_view",
           "to_device", "to_host", "synchronize"]


def check(status, kernel, details=""):
    """Raise KernelError unless `status` is MG_OK; MG_ERR_CUDA carries the CUDA call's
    message.  `details` may be a callable (built only on failure)."""
    if status:
        if status == runtime.MG_ERR_CUDA:
            from minigrad.cuda import check as cuda_check  # CudaError with CUDA's message
            cuda_check(status, kernel, details)
        raise KernelError(kernel, status, details() if callable(details) else details)


def describe(arr):
    if isinstance(arr, (CudaArray, np.ndarray)):
        return f"{arr.dtype}{list(arr.shape)}"
    return type(arr).__name__


def device_input(arr, kernel, name="input"):
    """`arr` must be a CudaArray; a numpy array means a CPU tensor met a CUDA one."""
    if isinstance(arr, CudaArray):
        return arr
    if isinstance(arr, (np.ndarray, np.generic)):
        raise RuntimeError(f"{kernel}: expected all tensors on one device, got cpu ({name} "
                           f"{describe(np.asarray(arr))}) and cuda:0")
    raise TypeError(f"{kernel}: expected a CUDA array for {name}, got {type(arr).__name__}")


def dtype_code(arr, kernel, floats_only=True):
    """The C dtype code of a CudaArray, or a TypeError naming `kernel` and the dtype."""
    return checks.dtype_code(device_input(arr, kernel), kernel, floats_only)


def ptr(arr):
    """A pointer to element [0, ..., 0] of a CudaArray (NULL for an empty one)."""
    return arr.pointer()


def optional_ptr(arr):
    return ffi.NULL if arr is None else arr.pointer()


def int64_ptr(arr):
    """An int64_t * to an int64 CudaArray (pointer() gives a char *), NULL for None."""
    return ffi.NULL if arr is None else ffi.cast("int64_t *", arr.pointer())


# ---- allocation, views ------------------------------------------------------------


def empty(shape, dtype):
    """A new contiguous device array of `shape` (an int or a tuple) and `dtype`."""
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    return CudaArray.empty(shape, dtype)


def broadcast_to(arr, shape):
    """numpy.broadcast_to for CudaArrays (a read-only view)."""
    return device_input(arr, "broadcast_to").broadcast_to(shape)


def reshape_view(arr, shape):
    """`arr` in `shape` as a view, or None when its strides need a copy."""
    strides = view_strides(arr.shape, arr.element_strides, tuple(shape))
    return None if strides is None else arr._view(tuple(shape), strides, arr.offset)


def may_share_memory(a, b):
    """Whether a and b may touch a common byte (same buffer, overlapping extents)."""
    if a.buffer is not b.buffer or a.size == 0 or b.size == 0:
        return False
    (lo_a, hi_a), (lo_b, hi_b) = _extent(a), _extent(b)
    return lo_a < hi_b and lo_b < hi_a


def _extent(arr):
    """[lo, hi) element range of the buffer that `arr` addresses."""
    lo = hi = arr.offset
    for n, s in zip(arr.shape, arr.element_strides):
        if s > 0:
            hi += (n - 1) * s
        else:
            lo += (n - 1) * s
    return lo, hi + 1


# ---- copies ---------------------------------------------------------------------


def copy_into(src, dst):
    """dst[...] = src through the strided-copy kernel; `dst` may be a view.  Both have
    one shape and one dtype.  Returns dst."""
    src = device_input(src, "copy", "source")
    dst = device_input(dst, "copy", "destination")
    checks.check_copy(src, dst)
    if src.size == 0:
        return dst
    if src.buffer is dst.buffer and may_share_memory(src, dst) and not _same_elements(src, dst):
        src = src.copy()  # C would read elements an earlier step already overwrote
    api = runtime.api()
    if src.flags.c_contiguous and dst.flags.c_contiguous:
        status = api.copy_strided(src.itemsize, 1, size_array(src.size), src.pointer(),
                                  ONE_STRIDE, dst.pointer(), ONE_STRIDE)
    else:
        status = api.copy_strided(src.itemsize, src.ndim, int64_array(src.shape),
                                  src.pointer(), int64_array(src.element_strides),
                                  dst.pointer(), int64_array(dst.element_strides))
    check(status, "mg_cuda_copy_strided", lambda: f"shape={src.shape}")
    return dst


def cat_into(arrays, dim, stacked, out):
    """out = the arrays joined along `dim`, or (stacked) stacked along a new dim `dim`
    (the CPU table's cat_into), one strided copy per piece.  Returns out."""
    return cat_by_copies(arrays, dim, stacked, out, copy_into)


def _same_elements(a, b):
    return a.offset == b.offset and a.element_strides == b.element_strides


def contiguous(arr):
    """`arr` itself when C-contiguous, else a contiguous copy made by the copy kernel."""
    arr = device_input(arr, "contiguous")
    if arr.flags.c_contiguous:
        return arr
    return copy_into(arr, CudaArray.empty(arr.shape, arr.dtype))


# ---- transfers ------------------------------------------------------------------


def to_device(array):
    """A device copy of a host array (numpy array, numpy scalar or CudaArray: itself).
    Values of other dtypes are refused: convert first."""
    if isinstance(array, CudaArray):
        return array
    array = np.asarray(array)
    if array.dtype not in DTYPE_CODES:
        raise TypeError(f"to_device: unsupported dtype {array.dtype}; minigrad supports "
                        f"float32, float64 and int64")
    return CudaArray.from_numpy(array)


def to_host(arr):
    """A host copy of a CudaArray (a new C-contiguous numpy array); numpy arrays pass."""
    if isinstance(arr, np.ndarray):
        return arr
    return device_input(arr, "to_host").to_numpy()


def synchronize():
    """Wait for every launched kernel (reports an earlier launch's failure)."""
    runtime.api().synchronize()
