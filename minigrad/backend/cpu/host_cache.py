"""Large host arrays from a cache of freed buffers instead of fresh memory.

A training step allocates the same large arrays at every iteration: a recurrent
layer's input projections (T*B, G*H) and their gradients, the decoder's logits.
glibc hands arrays this large straight from the OS (heap.py: from MIN_BYTES on)
and gives them back when they are freed, so every iteration touches
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

Smaller arrays come from glibc's heap, which heap.py sets up to keep them mapped
too, within the same limit.
"""
import ctypes
import os
import threading
import weakref

import numpy as np

from minigrad.backend.cpu import heap

__all__ = ["empty", "release", "cached_bytes", "limit", "set_limit", "MIN_BYTES"]

# Smaller arrays stay with numpy's allocator, from glibc's heap (heap.py keeps them
# mapped).  Measured with 1 MB here: the H = 128 composed LSTM's
# training step ran 2-3% slower (its 1-4 MB arrays paid the loans and gained nothing).
MIN_BYTES = heap.MMAP_THRESHOLD

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
heap.configure(_limit)  # arrays under MIN_BYTES: glibc's heap keeps them mapped


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
    heap.trim()


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
    heap.configure(_limit)
    if _cached > nbytes:
        release()
