"""What the CUDA kernel tests (tests/cuda/test_cuda_*_kernels.py) share: the skip when the
kernels cannot run, device buffers freed at the end of each test (the `gpu` fixture), status
checks and dtype tables.

Each test module calls ``require_cuda()`` at import, before anything uses lib.mg_cuda_*, and
imports the ``gpu`` fixture by name (pytest finds fixtures among a module's globals):

    from cuda_kernel_helpers import gpu, require_cuda  # noqa: F401  (gpu: a fixture)
    require_cuda()
"""
import os
import zlib

import numpy as np
import pytest

from minigrad._native import ffi, lib

OK = 0
F32, F64, I64 = np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64)
CODE = {F32: lib.MG_FLOAT32, F64: lib.MG_FLOAT64, I64: lib.MG_INT64}
FLOATS = [F32, F64]
ALL = [F32, F64, I64]
GUARD = 4  # elements after every Device.out buffer that kernels must leave alone


# ---- skip ---------------------------------------------------------------------------------

def cuda_unavailable():
    """Why the CUDA kernels cannot run here, or None when they can."""
    if not hasattr(lib, "mg_cuda_device_count"):
        return "minigrad was built without CUDA (MINIGRAD_CUDA=1)"
    count = ffi.new("int *")
    if lib.mg_cuda_device_count(count) != 0 or count[0] == 0:
        return "no CUDA device visible"
    return None


def require_cuda():
    """Skip the calling test module unless the CUDA kernels can run; with
    MINIGRAD_REQUIRE_CUDA=1 (the GPU machine) a missing CUDA is a failure instead."""
    reason = cuda_unavailable()
    if reason is None:
        return
    if os.environ.get("MINIGRAD_REQUIRE_CUDA") == "1":
        pytest.fail(f"MINIGRAD_REQUIRE_CUDA=1 but {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


# ---- device round trips ---------------------------------------------------------------------

def cuda_ok(status, what="cuda call"):
    if status != OK:
        msg = ffi.string(lib.mg_cuda_last_error()).decode() if status == lib.MG_ERR_CUDA else ""
        raise AssertionError(f"{what}: status {status} {msg}")


def from_device(ptr, shape, dtype):
    """A new numpy array of `shape` and `dtype` copied from device memory at ptr."""
    out = np.empty(shape, dtype)
    if out.nbytes:
        cuda_ok(lib.mg_cuda_memcpy(ffi.from_buffer(out), ptr, out.nbytes,
                                   lib.MG_DEVICE_TO_HOST), "mg_cuda_memcpy to host")
    return out


def sentinel(dtype):
    """What Device.out fills its buffers (guard tails included) with."""
    return -7777 if np.dtype(dtype) == I64 else -7.25


class Device:
    """Device buffers for one test, freed at its end (the `gpu` fixture)."""

    def __init__(self):
        self.ptrs = []     # freed by close()
        self.guarded = []  # (ptr, size, dtype): outputs whose guard tail is checked at the end

    def put(self, arr):
        """A device copy of `arr` (made contiguous); None, or an empty array, gives NULL."""
        if arr is None:
            return ffi.NULL
        arr = np.ascontiguousarray(arr)
        p = ffi.new("void **")
        cuda_ok(lib.mg_cuda_malloc(arr.nbytes, p), "mg_cuda_malloc")
        if arr.nbytes:
            self.ptrs.append(p[0])
            cuda_ok(lib.mg_cuda_memcpy(p[0], ffi.from_buffer(arr), arr.nbytes,
                                       lib.MG_HOST_TO_DEVICE), "mg_cuda_memcpy to device")
        return p[0]

    def empty(self, shape, dtype, fill=None):
        """Device memory for `shape`; filled with `fill` (via an upload) if given."""
        host = np.empty(shape, dtype) if fill is None else np.full(shape, fill, dtype)
        return self.put(host)

    def filled(self, shape, dtype, value=np.nan):
        """Device memory for `shape`, filled with `value` (NaN: a kernel must write it all)."""
        return self.empty(shape, dtype, fill=value)

    def out(self, size, dtype):
        """An output of `size` elements filled with a sentinel, plus a guard tail that
        check_guards() (the `gpu` fixture, after the test) finds untouched."""
        ptr = self.put(np.full(size + GUARD, sentinel(dtype), dtype))
        self.guarded.append((ptr, size, np.dtype(dtype)))
        return ptr

    def view(self, dbase, base, view):
        """The device pointer of a numpy view of `base` whose copy lives at dbase."""
        offset = view.__array_interface__["data"][0] - base.__array_interface__["data"][0]
        return ffi.cast("char *", dbase) + offset

    get = staticmethod(from_device)

    def check_guards(self):
        for ptr, size, dtype in self.guarded:
            tail = self.get(ptr, (size + GUARD,), dtype)[size:]
            assert (tail == sentinel(dtype)).all(), "a kernel wrote past the end of its output"

    def close(self):
        for p in self.ptrs:
            cuda_ok(lib.mg_cuda_free(p), "mg_cuda_free")
        self.ptrs = []


@pytest.fixture
def gpu():
    """A Device for the test; after it: synchronize (a failed kernel surfaces here), check
    the guard tails of Device.out buffers, free everything."""
    dev = Device()
    yield dev
    cuda_ok(lib.mg_cuda_synchronize(), "mg_cuda_synchronize")
    dev.check_guards()
    dev.close()


def seed_of(*parts):
    """A reproducible seed per test case (str hashes change between runs)."""
    return zlib.crc32(repr(parts).encode())
