"""Large host arrays from a cache of freed buffers instead of fresh memory.

A training step allocates the same large arrays at every iteration: a recurrent
layer's input projections (T*B, G*H) and their gradients, the decoder's logits.
glibc hands arrays this large (over 32 MB always, over a few MB often) straight
from the OS and gives them back when they are freed, so every iteration touches
fresh pages again, and the kernel faults each one in and zeroes it.  On the
2-core VMs we measure on that took up to 80 ms for 64 MB, single-threaded or
not: a tenth of a 2-thread composed LSTM training step at H = 512.  Measured
with this cache, in-process A/B at H = 512 (B = 64, T = 128), two runs:
composed LSTM training -14 to -21% at 2 threads, fused -6 to -12%.

So arrays of at least MIN_BYTES come from here: a freed buffer of the same byte
size when one is cached, else a new one.  A buffer goes back to the cache when
the last array using it is gone -- the array, any view of it, anything else
that holds it: each allocation lends the buffer through a ctypes array (the
object numpy's views point their base at), and a finalizer on that loan returns
the buffer.  What is lent and cached together never exceeds the most ever lent
at once, at most `limit()` bytes stay cached, and `release()` gives them back to
the OS.  MINIGRAD_HOST_CACHE_MB sets the limit at import (0 turns the cache off).

Smaller arrays come from glibc's heap, whose options are set to keep them mapped
too (see "smaller arrays" below).
"""
import ctypes
import os
import sys
import threading
import weakref

import numpy as np

__all__ = ["empty", "release", "cached_bytes", "limit", "set_limit", "MIN_BYTES"]

# Smaller arrays stay with numpy's allocator, from glibc's heap (set up below to serve
# them and keep them mapped).  Measured with 1 MB here: the H = 128 composed LSTM's
# training step ran 2-3% slower (its 1-4 MB arrays paid the loans and gained nothing).
MIN_BYTES = 1 << 24

_lock = threading.Lock()  # finalizers may run on any thread that drops the last reference
_free = {}  # byte size -> [buffer, ...]: uint8 arrays nothing uses
_cached = 0  # bytes in _free
_live = 0  # bytes lent out now
_peak = 0  # the most bytes ever lent out at once


def _limit_from_environment(default_mb=1024):
    text = os.environ.get("MINIGRAD_HOST_CACHE_MB", str(default_mb))
    try:
        mb = float(text)
    except ValueError:
        mb = -1.0
    if not mb >= 0:
        raise ValueError(f"MINIGRAD_HOST_CACHE_MB: expected megabytes >= 0, got {text!r}")
    return int(mb * 2 ** 20)


_limit = _limit_from_environment()


# ---- smaller arrays: glibc's heap -----------------------------------------------------
#
# Arrays under MIN_BYTES come from numpy's allocator, that is from glibc's malloc.  By
# default glibc maps each block over a threshold (128 KB at first) straight from the OS and
# unmaps it when freed, and gives the free memory at the top of its heap back to the OS past
# a second threshold; both rise as mapped blocks are freed, in a way that depends on the
# order of allocations.  So one process reuses its memory and the next faults pages in again
# at every step: measured, fused RNN inference at H = 128 on one thread faulted in about 480
# pages per call in one process (1.8 ms per call) and none in another (1.1 ms).  At import,
# unless the environment sets glibc's malloc options itself, blocks under MIN_BYTES come from
# the heap (M_MMAP_THRESHOLD) and up to `limit()` bytes of free heap stay mapped for reuse
# (M_TRIM_THRESHOLD); `release()` trims the heap.  With the cache off, glibc's defaults.

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (malloc.h)
_GLIBC_DEFAULT = 128 * 1024  # both thresholds' starting value
_INT_MAX = 2 ** 31 - 1


def _glibc_malloc():
    """libc with mallopt and malloc_trim (glibc on Linux), unless the environment sets
    glibc's malloc options (a user's choice wins); else None."""
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    if not sys.platform.startswith("linux") or "glibc.malloc" in tunables or any(
            name in os.environ for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_",
                                            "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt, libc.malloc_trim  # noqa: B018 (both exist, or this is not glibc)
    except (OSError, AttributeError):  # musl has no mallopt
        return None
    return libc


_libc = _glibc_malloc()


_heap_tuned = False  # whether _tune_heap has set glibc's thresholds


def _tune_heap():
    """Set glibc's thresholds for the current limit (nothing without glibc).  A zero limit
    leaves glibc's adaptive defaults alone, or after a limit, restores their starting
    values (fixed: mallopt ends the adapting)."""
    global _heap_tuned
    if _libc is None or (_limit == 0 and not _heap_tuned):
        return
    if _limit == 0:
        mmap_threshold = trim_threshold = _GLIBC_DEFAULT
    else:
        mmap_threshold, trim_threshold = MIN_BYTES, min(_limit, _INT_MAX)
    _libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)
    _libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold)
    _heap_tuned = True


_tune_heap()


def empty(shape, dtype=np.float32):
    """numpy.empty(shape, dtype), C-contiguous; large ones reuse a cached buffer."""
    # numpy sizes the array (and checks shape and dtype): the common small array costs
    # one comparison more.  A large one is dropped before anything touched its pages,
    # which is what costs; numpy only reserved them.
    arr = np.empty(shape, dtype)
    nbytes = arr.nbytes
    if nbytes < MIN_BYTES or _limit == 0:
        return arr
    buffer = _take(nbytes)
    loan = (ctypes.c_byte * nbytes).from_buffer(buffer)
    weakref.finalize(loan, _give_back, buffer)
    return np.frombuffer(loan, arr.dtype, arr.size).reshape(arr.shape)


def _take(nbytes):
    global _cached, _live, _peak
    with _lock:
        _live += nbytes
        _peak = max(_peak, _live)
        buffers = _free.get(nbytes)
        if buffers:
            _cached -= nbytes
            return buffers.pop()
        # A new buffer: first drop cached ones of other sizes until what is lent and
        # cached fits within the most ever lent at once (a training step's sizes repeat,
        # so it keeps them all).  This bounds the cache, not the process's peak: that can
        # still rise where other memory peaks while few large buffers are lent (the
        # composed GRU at H = 512: 491 MB against 459 without the cache).
        _drop(_peak - _live)
    return np.empty(nbytes, np.uint8)


def _drop(keep):
    """Free cached buffers until at most `keep` bytes stay cached (lock held)."""
    global _cached
    for size in list(_free):
        buffers = _free[size]
        while buffers and _cached > keep:
            buffers.pop()
            _cached -= size
        if not buffers:
            del _free[size]


def _give_back(buffer):
    global _cached, _live
    with _lock:
        _live -= buffer.nbytes
        if _cached + buffer.nbytes <= _limit:
            _free.setdefault(buffer.nbytes, []).append(buffer)
            _cached += buffer.nbytes


def release():
    """Give every cached buffer, and the heap's free memory, back to the OS (arrays in
    use are untouched)."""
    with _lock:
        _drop(0)
    if _libc is not None:
        _libc.malloc_trim(0)


def cached_bytes():
    """Bytes held in the cache, ready for reuse."""
    return _cached


def limit():
    """The most bytes the cache holds (0: no cache)."""
    return _limit


def set_limit(nbytes):
    """Cache at most `nbytes` of freed buffers (0 turns the cache off and empties it)."""
    global _limit
    nbytes = int(nbytes)
    if nbytes < 0:
        raise ValueError(f"host cache: expected a limit >= 0 bytes, got {nbytes}")
    _limit = nbytes
    _tune_heap()
    if _cached > nbytes:
        release()
