"""Indexing along one axis: gather (index_select) and its adjoint scatter_add.

The copying and adding run in C (csrc/gather.c); C sees the arrays as
(outer, n, inner) around `axis`.  Shapes:

    gather(src, idx, axis)           src: any dtype, ndim >= 1; idx: int64, any shape
                                     -> src.shape[:axis] + idx.shape + src.shape[axis+1:]
    scatter_add(dst, idx, src, axis) dst: float32/float64, C-contiguous, written in place;
                                     src: dst.shape[:axis] + idx.shape + dst.shape[axis+1:]
                                     -> dst

gather(src, idx, axis)[..., j, ...] = src[..., idx[j], ...] (with idx's shape
in place of the axis), i.e. numpy's take(src, idx, axis) and torch's
index_select for a 1-D idx.  scatter_add adds each slice of src into the dst
slice its index names; repeated indices accumulate (the gradient of gather,
e.g. of an embedding lookup).  Negative indices count from the end; any index
outside [-n, n) raises IndexError before anything is written.  The axis and
shape rules are the same on every device: backend/shared/indexing.py.
"""
import numpy as np

from minigrad._native import check, lib
from minigrad.backend.cpu.common import INT64 as _INT64
from minigrad.backend.cpu.common import dtype_code, ptr
from minigrad.backend.cpu.host_cache import empty
from minigrad.backend.cpu.reductions import c_input, int64_ptr
from minigrad.backend.shared.indexing import (axis_of, check_index_status, check_scatter_source,
                                              check_scatter_target, gather_layout)

__all__ = ["gather", "scatter_add"]


def _indices(idx, kernel):
    """idx as a flat C-contiguous int64 array (any shape, any layout in)."""
    if isinstance(idx, np.generic):
        idx = np.asarray(idx)
    if not isinstance(idx, np.ndarray) or idx.dtype != _INT64:
        got = f"{idx.dtype}{list(idx.shape)}" if isinstance(idx, np.ndarray) else type(idx).__name__
        raise TypeError(f"{kernel}: indices must be an int64 numpy array, got {got}")
    flat, _ = c_input(idx, kernel, floats_only=False)
    return flat.reshape(-1)


def gather(src, idx, axis):
    """src's slices along `axis` picked by `idx` (numpy.take / torch.index_select).

    src: float32, float64 or int64, ndim >= 1; idx: int64 of any shape.
    Returns src.shape[:axis] + idx.shape + src.shape[axis+1:]."""
    kernel = "gather"
    src, dtype = c_input(src, kernel, floats_only=False)
    axis = axis_of(kernel, src, axis)
    flat = _indices(idx, kernel)
    shape = src.shape
    outer, n, inner, out_shape = gather_layout(shape, axis, np.shape(idx))
    out = empty(out_shape, src.dtype)
    status = lib.mg_gather(dtype, outer, n, inner, int64_ptr(flat), flat.size, ptr(src), ptr(out))
    check_index_status(kernel, status, n, axis, shape)
    check(status, "mg_gather",
          lambda: f"src shape={shape}, idx shape={np.shape(idx)}, axis={axis}")
    return out


def scatter_add(dst, idx, src, axis):
    """dst[..., idx[j], ...] += src[..., j, ...] along `axis`, in place; returns dst.

    dst: float32 or float64, C-contiguous and writable; idx: int64 of any shape;
    src: dst.shape[:axis] + idx.shape + dst.shape[axis+1:], dst's dtype.
    Repeated indices accumulate, in index order (the same sums at any thread count)."""
    kernel = "scatter_add"
    if not isinstance(dst, np.ndarray):
        raise TypeError(f"{kernel}: dst must be a numpy array, got {type(dst).__name__}")
    dtype = dtype_code(dst, kernel)
    check_scatter_target(kernel, dst)
    axis = axis_of(kernel, dst, axis)
    flat = _indices(idx, kernel)
    src, _ = c_input(src, kernel)
    outer, n, inner = check_scatter_source(kernel, src, dst, np.shape(idx), axis)
    shape = dst.shape
    status = lib.mg_scatter_add(dtype, outer, n, inner, int64_ptr(flat), flat.size,
                                ptr(src), ptr(dst))
    check_index_status(kernel, status, n, axis, shape)
    check(status, "mg_scatter_add",
          lambda: f"dst shape={shape}, idx shape={np.shape(idx)}, axis={axis}")
    return dst
