"""The cache of large host buffers (minigrad/backend/cpu/host_cache.py): a freed array's
buffer serves the next array of its byte size, never while anything still uses it."""
import gc

import numpy as np
import pytest

from minigrad.backend import cpu
from minigrad.backend.cpu import host_cache

LARGE = (host_cache.MIN_BYTES // 4096, 1024)  # float32: the smallest size the cache takes
SIZE = host_cache.MIN_BYTES


@pytest.fixture
def cache():
    before = host_cache.limit()
    host_cache.release()
    host_cache.set_limit(4 * SIZE)
    # forget the peak lent by earlier tests: each test's own arrays set it
    host_cache._peak = host_cache._live
    yield host_cache
    host_cache.set_limit(before)
    host_cache.release()


def address(arr):
    return arr.__array_interface__["data"][0]


def test_a_freed_buffer_serves_the_next_array_of_its_size(cache):
    a = cache.empty(LARGE, np.float32)
    assert a.shape == LARGE and a.dtype == np.float32 and a.flags.c_contiguous
    assert a.flags.writeable and a.flags.aligned
    where = address(a)
    del a
    gc.collect()
    assert cache.cached_bytes() == SIZE
    other = (LARGE[0] // 2, 1024)
    b = cache.empty(other, np.float64)  # the same bytes, another shape and dtype
    assert address(b) == where and b.shape == other and b.dtype == np.float64
    assert cache.cached_bytes() == 0


def test_a_view_keeps_its_buffer_out_of_the_cache(cache):
    a = cache.empty(LARGE, np.float32)
    a[...] = 7.0
    where = address(a)
    view = a[100:, ::2]
    del a
    gc.collect()
    assert cache.cached_bytes() == 0  # the view still reads it
    b = cache.empty(LARGE, np.float32)
    assert address(b) != where
    b[...] = -1.0
    assert np.all(view == 7.0)
    del view
    gc.collect()
    assert cache.cached_bytes() == SIZE


def test_kernels_write_every_element_of_a_reused_buffer(cache):
    # a kernel's output comes from the cache: nothing stale may show through
    x = np.arange(np.prod(LARGE), dtype=np.float32).reshape(LARGE)
    junk = cache.empty(LARGE, np.float32)
    junk[...] = np.nan
    del junk
    gc.collect()
    out = cpu.binary("add", x, x)
    assert cache.cached_bytes() == 0  # it took the cached buffer
    np.testing.assert_array_equal(out, 2 * x)


def test_small_arrays_and_a_zero_limit_bypass_the_cache(cache):
    small = cache.empty((LARGE[0] - 1, 1024), np.float32)  # just under MIN_BYTES
    assert small.flags.owndata
    cache.set_limit(0)
    a = cache.empty(LARGE, np.float32)
    assert a.flags.owndata
    del a
    gc.collect()
    assert cache.cached_bytes() == 0


def test_the_limit_caps_what_is_kept_and_release_empties_it(cache):
    cache.set_limit(SIZE + SIZE // 2)  # room for one buffer
    a, b = cache.empty(LARGE, np.float32), cache.empty(LARGE, np.float32)
    del a, b
    gc.collect()
    assert cache.cached_bytes() == SIZE
    cache.release()
    assert cache.cached_bytes() == 0
    cache.empty(LARGE, np.float32)  # a new buffer, and back into the cache
    gc.collect()
    assert cache.cached_bytes() == SIZE
    cache.set_limit(SIZE // 2)  # below what is held: emptied
    assert cache.cached_bytes() == 0
    with pytest.raises(ValueError, match="host cache"):
        cache.set_limit(-1)


def test_the_cache_never_raises_peak_memory(cache):
    # two buffers freed, then one of another size: lent + cached may not pass the peak
    # lent so far (two buffers), so one cached buffer is dropped to make room
    a, b = cache.empty(LARGE, np.float32), cache.empty(LARGE, np.float32)
    del a, b
    gc.collect()
    assert cache.cached_bytes() == 2 * SIZE
    c = cache.empty((LARGE[0] * 3 // 2, 1024), np.float32)
    assert c.nbytes == 3 * SIZE // 2 and cache.cached_bytes() == 0  # no room for a whole one
    del c
    gc.collect()
    assert cache.cached_bytes() == 3 * SIZE // 2
    # lent SIZE beside 1.5 SIZE cached would pass the peak (2 SIZE): that one goes too
    e = cache.empty(LARGE, np.float32)
    assert e.nbytes == SIZE and cache.cached_bytes() == 0


@pytest.mark.parametrize("setting", ["lots", "-5", "nan"])
def test_a_bad_limit_in_the_environment_is_named(setting):
    import os
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", "import minigrad"], capture_output=True,
                         text=True, env=dict(os.environ, MINIGRAD_HOST_CACHE_MB=setting))
    assert out.returncode != 0 and "MINIGRAD_HOST_CACHE_MB" in out.stderr


# ---- smaller arrays: glibc's heap keeps them mapped (heap.py) ----------------------------

# In a fresh process: a 12 MB array (under MIN_BYTES: numpy's allocator, so malloc) is
# touched and freed, and glibc's mallinfo2 says where it lived and what stayed mapped.
HEAP_PROBE = """
import ctypes, json
import numpy as np
import minigrad
from minigrad.backend.cpu import host_cache

class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
a = np.ones(12 << 20, np.uint8)
mapped_alone = libc.mallinfo2().hblkhd      # bytes in blocks mapped apart from the heap
del a
kept = libc.mallinfo2().fordblks            # free bytes the heap keeps
host_cache.release()
after_release = libc.mallinfo2().fordblks
print(json.dumps([mapped_alone, kept, after_release]))
"""


def heap_probe(**env):
    import json
    import os
    import subprocess
    import sys
    import ctypes
    import minigrad
    if minigrad.BUILD_INFO.get("sanitize") == "1":
        pytest.skip("AddressSanitizer's allocator replaces glibc's malloc")
    try:
        ctypes.CDLL(None).mallinfo2
    except AttributeError:
        pytest.skip("not glibc 2.33 or later")
    out = subprocess.run([sys.executable, "-c", HEAP_PROBE], capture_output=True, text=True,
                         env=dict(os.environ, **env))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_the_heap_serves_and_keeps_arrays_under_the_cache_threshold():
    """Without these settings glibc may map such an array from the OS and unmap it when
    freed, and every step faults its pages in again."""
    mapped_alone, kept, after_release = heap_probe()
    block = 12 << 20
    assert mapped_alone < block  # from the heap
    assert kept >= block  # still mapped once freed, for the next array
    assert after_release < block  # release() trims it


@pytest.mark.parametrize("env", [{"MINIGRAD_HOST_CACHE_MB": "0"},
                                 {"MALLOC_MMAP_THRESHOLD_": "131072"}],
                         ids=["cache off", "user's glibc option"])
def test_glibc_defaults_without_the_cache_or_with_a_users_malloc_options(env):
    mapped_alone, kept, _ = heap_probe(**env)
    assert mapped_alone >= 12 << 20  # mapped apart, as glibc does by default
