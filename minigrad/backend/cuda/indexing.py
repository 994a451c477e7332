"""gather (index_select) and scatter_add along one axis on the device --
backend/cpu/indexing.py's names, shapes and semantics over CudaArrays
(csrc/cuda/gather.cu).

    gather(src, idx, axis)           -> src.shape[:axis] + idx.shape + src.shape[axis+1:]
    scatter_add(dst, idx, src, axis) dst += src at idx along axis, in place; -> dst

`idx` is int64, on the device (a CudaArray) or on the host (a numpy array, e.g.
indices computed by numpy from a mask: copied to the device here).  An index
outside [-n, n) raises IndexError; the kernel checks them before writing (and
accepts NULL data pointers for empty problems, so empty arrays go through it too).
"""
import math

import numpy as np

from minigrad._native import lib
from minigrad.backend.cpu.reductions import normalize_axis
from minigrad.backend.cuda import runtime
from minigrad.backend.cuda.array import CudaArray
from minigrad.backend.cuda.common import (INT64, check, contiguous, describe, dtype_code,
                                          int64_ptr, to_device)

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


def _axis(kernel, arr, axis):
    if arr.ndim == 0:
        raise ValueError(f"{kernel}: expected an array with at least one dimension, got a "
                         f"0-d array")
    return normalize_axis(kernel, arr.shape, axis)


def _index_error(kernel, status, n, axis, shape):
    if status == lib.MG_ERR_INDEX:
        raise IndexError(f"{kernel}: index out of range for axis {axis} of size {n} "
                         f"(shape {tuple(shape)}); indices must lie in [{-n}, {n})")


def gather(src, idx, axis):
    """src's slices along `axis` picked by `idx` (numpy.take / torch.index_select)."""
    kernel = "gather"
    dtype = dtype_code(src, kernel, floats_only=False)
    src = contiguous(src)
    axis = _axis(kernel, src, axis)
    flat, idx_shape = _indices(idx, kernel)
    shape = src.shape
    outer, n, inner = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])
    out = CudaArray.empty(shape[:axis] + idx_shape + shape[axis + 1:], src.dtype)
    status = runtime.api().gather(dtype, outer, n, inner, int64_ptr(flat), flat.size,
                                  src.pointer(), out.pointer())
    _index_error(kernel, status, n, axis, shape)
    check(status, "mg_cuda_gather",
          lambda: f"src shape={shape}, idx shape={idx_shape}, axis={axis}")
    return out


def scatter_add(dst, idx, src, axis):
    """dst[..., idx[j], ...] += src[..., j, ...] along `axis`, in place; returns dst.
    dst: float32/float64, C-contiguous, writable; repeated indices accumulate."""
    kernel = "scatter_add"
    dtype = dtype_code(dst, kernel)
    if not dst.flags.c_contiguous:
        raise ValueError(f"{kernel}: dst must be C-contiguous (it is written in place), "
                         f"got strides {dst.strides}")
    if not dst.flags.writeable:
        raise ValueError(f"{kernel}: dst is read-only")
    axis = _axis(kernel, dst, axis)
    flat, idx_shape = _indices(idx, kernel)
    dtype_code(src, kernel)
    src = contiguous(src)
    if src.dtype != dst.dtype:
        raise TypeError(f"{kernel}: src and dst must share one dtype, got {src.dtype} and "
                        f"{dst.dtype}")
    shape = dst.shape
    expected = shape[:axis] + idx_shape + shape[axis + 1:]
    if src.shape != expected:
        raise ValueError(f"{kernel}: src has shape {tuple(src.shape)}, expected {expected} "
                         f"(dst shape {tuple(shape)}, idx shape {idx_shape}, axis {axis})")
    outer, n, inner = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])
    status = runtime.api().scatter_add(dtype, outer, n, inner, int64_ptr(flat), flat.size,
                                       src.pointer(), dst.pointer())
    _index_error(kernel, status, n, axis, shape)
    check(status, "mg_cuda_scatter_add",
          lambda: f"dst shape={shape}, idx shape={idx_shape}, axis={axis}")
    return dst
