"""What every CPU kernel wrapper shares: dtype codes, pointers, contiguity.

A wrapper takes numpy arrays (the host container), checks dtypes *before* any
pointer reaches C -- cffi's ``from_buffer`` checks size but not dtype, so a
float64 array passed as ``float *`` would be silently reinterpreted -- makes
inputs contiguous with the C copy kernel, allocates outputs, calls the kernel
and turns a bad status into a KernelError naming the kernel and the sizes.
"""
import numpy as np

from minigrad._native import check, ffi, lib
from minigrad.backend.cpu.host_cache import empty
from minigrad.backend.shared.c_args import ONE_STRIDE as _ONE_STRIDE
# The dtype codes and checks are the same on every device (backend/shared/checks.py);
# the CPU wrappers import them from here, beside the host pointers.
from minigrad.backend.shared.c_args import int64_array, size_array  # noqa: F401
from minigrad.backend.shared.concat import cat_by_copies
from minigrad.backend.shared.checks import (  # noqa: F401
    DTYPE_CODES, FLOAT32, FLOAT64, FLOAT_DTYPES, INT64, check_copy, dtype_code, same_dtype)


def ptr(arr):
    """A C pointer to the data of a C-contiguous array (keeps the array alive)."""
    return ffi.from_buffer(arr)


def address(arr):
    """A pointer to element [0, ..., 0] of any array, views included: cffi's buffer of
    the one-element slice that starts there, which is contiguous whatever arr's strides
    (0.3 us; numpy's `ctypes.data` takes 0.8, `__array_interface__` 1.3).  The pointer
    keeps the slice, and so arr's memory, alive."""
    if arr.ndim == 0 or arr.size == 0:  # nothing to slice (an empty array is never read)
        return ffi.cast("void *", arr.ctypes.data)
    return ffi.from_buffer(arr[(0,) * (arr.ndim - 1) + (slice(0, 1),)])


def pointer(arr):
    """A pointer to element [0, ..., 0] of an aligned array of any layout: `ptr` when it
    is contiguous (0.2 us), else `address` (0.3 us)."""
    return ffi.from_buffer(arr) if arr.flags.c_contiguous else address(arr)


def element_strides(arr):
    """numpy's byte strides in elements."""
    return [s // arr.itemsize for s in arr.strides]


def copy_into(src, dst):
    """dst[...] = src through the C strided-copy kernel; `dst` may be a view.
    Both must have one shape and one dtype."""
    sf, df = src.flags, dst.flags
    if (src.shape != dst.shape or src.dtype != dst.dtype or not df.writeable
            or src.dtype not in DTYPE_CODES):
        check_copy(src, dst)  # raises
    if src.size == 0:
        return dst
    if sf.c_contiguous and df.c_contiguous and sf.aligned and df.aligned:
        # one flat run: the common case (clone, cat of contiguous pieces)
        check(lib.mg_copy_strided(src.itemsize, 1, size_array(src.size), ptr(src),
                                  _ONE_STRIDE, ptr(dst), _ONE_STRIDE),
              "mg_copy_strided", lambda: f"shape={src.shape}")
        return dst
    if not sf.aligned:
        src = np.array(src, order="C", copy=True)
    if not df.aligned:
        raise ValueError("copy: destination is misaligned or has strides of partial elements")
    layout = _copy_layout(src, dst)
    if layout is None:  # strides of partial elements (a field of a structured array)
        if not _walkable(dst):
            raise ValueError("copy: destination is misaligned or has strides of partial "
                             "elements")
        src = np.array(src, order="C", copy=True)
        layout = _copy_layout(src, dst)
    shape, src_strides, dst_strides = layout
    check(lib.mg_copy_strided(src.itemsize, src.ndim, shape, pointer(src), src_strides,
                              pointer(dst), dst_strides),
          "mg_copy_strided", lambda: f"shape={src.shape}")
    return dst


def cat_into(arrays, dim, stacked, out):
    """out = the arrays joined along `dim`, or (stacked) stacked along a new dim `dim`.
    out: C-contiguous, of the joined shape; the arrays: out's dtype, and out's shape
    outside `dim` (the caller checked).  Contiguous pieces -- the gradients a chunk's
    backward joins, the steps a recurrent layer stacks -- go in one C call; pieces of
    other layouts by one strided copy each.  Returns out."""
    outer = 1
    for n in out.shape[:dim]:
        outer *= n
    if not (outer and out.flags.c_contiguous and all(
            a.flags.c_contiguous and a.flags.aligned and a.dtype == out.dtype for a in arrays)):
        return cat_by_copies(arrays, dim, stacked, out, copy_into)
    check(lib.mg_concat(out.itemsize, outer, len(arrays),
                        int64_array([a.size // outer for a in arrays]),
                        [ffi.from_buffer(a) for a in arrays], out.size // outer,
                        ffi.from_buffer(out)),
          "mg_concat", lambda: f"pieces {[list(a.shape) for a in arrays]} into {list(out.shape)}")
    return out


_COPY_LAYOUTS = {}


def _copy_layout(src, dst):
    """(shape, src strides, dst strides) as C int64_t[], strides in elements, cached by
    the two layouts (gate views, slices of a cat: the same few at every training step);
    None when either array's strides are not whole elements."""
    key = (src.shape, src.strides, dst.strides, src.itemsize)
    layout = _COPY_LAYOUTS.get(key)
    if layout is None:
        if not (_walkable(src) and _walkable(dst)):
            return None
        if len(_COPY_LAYOUTS) >= 1024:
            _COPY_LAYOUTS.clear()
        layout = _COPY_LAYOUTS[key] = (int64_array(src.shape), int64_array(element_strides(src)),
                                       int64_array(element_strides(dst)))
    return layout


def _walkable(arr):
    """Whether C can address `arr` by element strides: aligned, strides whole elements."""
    return arr.flags.aligned and all(s % arr.itemsize == 0 for s in arr.strides)


def contiguous(arr):
    """`arr` itself when C-contiguous and aligned, else a contiguous copy made by the
    C kernel (numpy copies the rare layouts C cannot walk: misaligned buffers and
    fields of structured arrays, whose strides are not whole elements)."""
    flags = arr.flags
    if flags.c_contiguous and flags.aligned:
        return arr
    if not _walkable(arr):
        return np.array(arr, order="C", copy=True)
    return copy_into(arr, empty(arr.shape, arr.dtype))
