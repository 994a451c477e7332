"""glibc's heap set up to keep freed host memory mapped for reuse.

Arrays under 16 MB come from numpy's allocator, that is from glibc's malloc (larger
ones from host_cache.py).  By default glibc maps each block over a threshold (128 KB at
first) straight from the OS and unmaps it when freed, and gives the free memory at the
top of its heap back to the OS past a second threshold; both rise as mapped blocks are
freed, in a way that depends on the order of allocations.  So one process reuses its
memory and the next faults pages in again at every step: measured, fused RNN inference
at H = 128 on one thread faulted in about 480 pages per call in one process (1.8 ms per
call) and none in another (1.1 ms).

host_cache.py calls `configure(limit)` at import: unless the environment sets glibc's
malloc options itself, blocks under MMAP_THRESHOLD come from the heap (M_MMAP_THRESHOLD)
and up to `limit` bytes of free heap stay mapped (M_TRIM_THRESHOLD).  A zero limit
(the cache off) leaves glibc's defaults.  `trim()` gives the free heap back to the OS.
Without glibc (another OS, musl) both do nothing.
"""
import ctypes
import os
import sys

MMAP_THRESHOLD = 1 << 24  # blocks from here on are mapped apart (host_cache.py's from here on)

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (malloc.h)
_GLIBC_DEFAULT = 128 * 1024  # both thresholds' starting value
_INT_MAX = 2 ** 31 - 1
_USER_OPTIONS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
                 "MALLOC_MMAP_MAX_")


def _glibc_malloc():
    """libc with mallopt and malloc_trim (glibc on Linux), unless the environment sets
    glibc's malloc options (a user's choice wins); else None."""
    if (not sys.platform.startswith("linux")
            or "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", "")
            or any(name in os.environ for name in _USER_OPTIONS)):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt, libc.malloc_trim  # noqa: B018 (both exist, or this is not glibc)
    except (OSError, AttributeError):  # musl has no mallopt
        return None
    return libc


_libc = _glibc_malloc()
_configured = False  # whether configure has set glibc's thresholds


def configure(limit):
    """Keep up to `limit` bytes of freed heap mapped, and serve blocks under
    MMAP_THRESHOLD from the heap.  limit 0: glibc's adaptive defaults, left alone, or
    after a limit their starting values (fixed: mallopt ends the adapting)."""
    global _configured
    if _libc is None or (limit == 0 and not _configured):
        return
    if limit == 0:
        mmap_threshold = trim_threshold = _GLIBC_DEFAULT
    else:
        mmap_threshold, trim_threshold = MMAP_THRESHOLD, min(limit, _INT_MAX)
    _libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)
    _libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold)
    _configured = True


def trim():
    """Give the heap's free memory back to the OS (malloc_trim)."""
    if _libc is not None:
        _libc.malloc_trim(0)
