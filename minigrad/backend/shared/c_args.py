"""Host int64_t[] arguments of the C calls: shapes and element strides.

Both tables pass these as host arrays (the CUDA kernels copy them into their
launch arguments), so one cache of flat-call shapes serves both.
"""
from minigrad._native import ffi

ONE_STRIDE = ffi.new("int64_t[1]", [1])  # the stride of a flat (1-D) contiguous run


_ARRAY_CACHE = {}


def int64_array(values):
    """A C int64_t[] holding `values` (shapes, strides), cached: the same few shapes come
    back at every training step, and building one costs more than the copy it describes
    for small tensors.  Every kernel takes these as `const int64_t *`: never written."""
    key = tuple(values)
    arr = _ARRAY_CACHE.get(key)
    if arr is None:
        if len(_ARRAY_CACHE) >= 4096:
            _ARRAY_CACHE.clear()
        arr = _ARRAY_CACHE[key] = ffi.new("int64_t[]", key)
    return arr


_SIZE_CACHE = {}


def size_array(n):
    """A cached C int64_t[1] holding n: the shape of a flat (1-D) call."""
    arr = _SIZE_CACHE.get(n)
    if arr is None:
        if len(_SIZE_CACHE) >= 1024:
            _SIZE_CACHE.clear()
        arr = _SIZE_CACHE[n] = ffi.new("int64_t[1]", [n])
    return arr
