"""The indexing family's rules, the same on every device: gather / scatter_add's
axis, the (outer, n, inner) view around it, the output and source shapes, the
checks on scatter_add's in-place target, and the out-of-range index error.
"""
import math

from minigrad._native import lib
from minigrad.backend.shared.reductions import normalize_axis


def axis_of(kernel, arr, axis):
    """`axis` of `arr` (ndim >= 1) as a non-negative index."""
    if arr.ndim == 0:
        raise ValueError(f"{kernel}: expected an array with at least one dimension, got a "
                         f"0-d array")
    return normalize_axis(kernel, arr.shape, axis)


def gather_layout(shape, axis, idx_shape):
    """(outer, n, inner, out_shape): `shape` (gather's src, scatter_add's dst) seen as
    (outer, n, inner) around `axis`, and the shape with that axis replaced by idx's
    shape (gather's output, scatter_add's src)."""
    return (math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:]),
            shape[:axis] + tuple(idx_shape) + shape[axis + 1:])


def check_scatter_target(kernel, dst):
    """scatter_add writes dst in place: it must be C-contiguous and writable."""
    flags = dst.flags
    if not (flags.c_contiguous and flags.aligned):
        raise ValueError(f"{kernel}: dst must be C-contiguous (it is written in place), "
                         f"got strides {dst.strides}")
    if not flags.writeable:
        raise ValueError(f"{kernel}: dst is read-only")


def check_scatter_source(kernel, src, dst, idx_shape, axis):
    """scatter_add's src: dst's dtype, and the shape gather would give.  Returns
    (outer, n, inner): dst around `axis`."""
    if src.dtype != dst.dtype:
        raise TypeError(f"{kernel}: src and dst must share one dtype, got {src.dtype} and "
                        f"{dst.dtype}")
    shape = dst.shape
    outer, n, inner, expected = gather_layout(shape, axis, idx_shape)
    if src.shape != expected:
        raise ValueError(f"{kernel}: src has shape {tuple(src.shape)}, expected {expected} "
                         f"(dst shape {tuple(shape)}, idx shape {idx_shape}, axis {axis})")
    return outer, n, inner


def check_index_status(kernel, status, n, axis, shape):
    """IndexError when the kernel found an index outside [-n, n) (MG_ERR_INDEX)."""
    if status == lib.MG_ERR_INDEX:
        raise IndexError(f"{kernel}: index out of range for axis {axis} of size {n} "
                         f"(shape {tuple(shape)}); indices must lie in [{-n}, {n})")
