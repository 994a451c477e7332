"""The container functions every kernel table has, for numpy host arrays.

Ops allocate and make views through the table of their tensor's device, so
that one op serves every device; on the CPU these are numpy's own (no copy,
no arithmetic) and the transfers are identities:

    empty(shape, dtype)          numpy.empty (large arrays: from a cache of freed
                                 buffers, host_cache.py)
    broadcast_to(arr, shape)     numpy.broadcast_to (a read-only view)
    reshape_view(arr, shape)     a view of arr in `shape`, or None when the
                                 strides need a copy
    to_device(array)             the host array itself (this table's "device")
    to_host(arr)                 arr itself
    synchronize()                nothing to wait for
"""
import numpy as np

from minigrad.backend.cpu.host_cache import empty

__all__ = ["empty", "broadcast_to", "reshape_view", "to_device", "to_host", "synchronize"]

broadcast_to = np.broadcast_to


def reshape_view(arr, shape):
    """`arr` in `shape` as a view, or None when its strides do not allow one."""
    try:
        return np.reshape(arr, shape, copy=False)
    except ValueError:
        return None


def to_device(array):
    """A host array is already on this device."""
    return array


def to_host(arr):
    return arr


def synchronize():
    pass
