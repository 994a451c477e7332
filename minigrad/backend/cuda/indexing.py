"""gather (index_select) and scatter_add along one axis on the device --
backend/cpu/indexing.py's names, shapes and semantics over CudaArrays
(csrc/cuda/gather.cu).

    gather(src, idx, axis)           -> src.shape[:axis] + idx.shape + src.shape[axis+1:]
    scatter_add(dst, idx, src, axis) dst += src at idx along axis, in place; -> dst

`idx` is int64, on the device (a CudaArray) or on the host (a numpy array, e.g.
indices computed by numpy from a mask: copied to the device here).  An index
outside [-n, n) raises IndexError; the kernel checks them before writing (and
accepts NULL data pointers for empty problems, so empty arrays go through it too).
The axis and shape rules are backend/shared/indexing.py's.
"""
import numpy as np

from minigrad.backend.cuda import runtime
from minigrad.backend.cuda.array import CudaArray
from minigrad.backend.cuda.common import (INT64, check, contiguous, describe, dtype_code,
                                          int64_ptr, to_device)
from minigrad.backend.shared.indexing import (axis_of, check_index_status, check_scatter_source,
                                              check_scatter_target, gather_layout)

__all__ = ["gather", "scatter_add"]


def _indices(idx, kernel):
    """(flat contiguous int64 CudaArray, idx's shape) from a device or host index array."""
    if isinstance(idx, np.generic):
        idx = np.asarray(idx)
    if not isinstance(idx, (np.ndarray, CudaArray)) or idx.dtype != INT64:
        got = describe(idx)
        raise TypeError(f"{kernel}: indices must be an int64 array, got {got}")
    shape = tuple(idx.shape)
    if isinstance(idx, np.ndarray):
        idx = to_device(idx)
    return contiguous(idx).reshape(-1), shape


def gather(src, idx, axis):
    """src's slices along `axis` picked by `idx` (numpy.take / torch.index_select)."""
    kernel = "gather"
    dtype = dtype_code(src, kernel, floats_only=False)
    src = contiguous(src)
    axis = axis_of(kernel, src, axis)
    flat, idx_shape = _indices(idx, kernel)
    shape = src.shape
    outer, n, inner, out_shape = gather_layout(shape, axis, idx_shape)
    out = CudaArray.empty(out_shape, src.dtype)
    status = runtime.api().gather(dtype, outer, n, inner, int64_ptr(flat), flat.size,
                                  src.pointer(), out.pointer())
    check_index_status(kernel, status, n, axis, shape)
    check(status, "mg_cuda_gather",
          lambda: f"src shape={shape}, idx shape={idx_shape}, axis={axis}")
    return out


def scatter_add(dst, idx, src, axis):
    """dst[..., idx[j], ...] += src[..., j, ...] along `axis`, in place; returns dst.
    dst: float32/float64, C-contiguous, writable; repeated indices accumulate."""
    kernel = "scatter_add"
    dtype = dtype_code(dst, kernel)
    check_scatter_target(kernel, dst)
    axis = axis_of(kernel, dst, axis)
    flat, idx_shape = _indices(idx, kernel)
    dtype_code(src, kernel)
    src = contiguous(src)
    outer, n, inner = check_scatter_source(kernel, src, dst, idx_shape, axis)
    shape = dst.shape
    status = runtime.api().scatter_add(dtype, outer, n, inner, int64_ptr(flat), flat.size,
                                       src.pointer(), dst.pointer())
    check_index_status(kernel, status, n, axis, shape)
    check(status, "mg_cuda_scatter_add",
          lambda: f"dst shape={shape}, idx shape={idx_shape}, axis={axis}")
    return dst
