"""Kernel tables, one per device.  Callers ask for the table of a device and
call kernels by name, so a new device is a new table, not new call sites.

    'cpu'     backend/cpu: numpy host arrays, the C kernels
    'cuda:0'  backend/cuda: CudaArrays in device memory, the CUDA kernels (or the
              loopback test device, see backend/cuda/loopback.py); imported on
              first use, so a CPU-only program never loads it

Both tables have the same functions with the same semantics, plus the
container functions (empty, broadcast_to, reshape_view, to_device, to_host).
`transfer` moves an array between devices.
"""
from minigrad.backend import cpu

_TABLES = {"cpu": cpu}
CUDA_DEVICE = "cuda:0"


def for_device(device):
    """The kernel table (a module) of `device` ('cpu' or 'cuda:0')."""
    try:
        return _TABLES[device]
    except KeyError:
        pass
    if device == CUDA_DEVICE:
        from minigrad.backend import cuda
        _TABLES[CUDA_DEVICE] = cuda
        return cuda
    raise RuntimeError(f"no kernel table for device {device!r}; available: 'cpu', "
                       f"{CUDA_DEVICE!r}")


def transfer(array, src_device, dst_device):
    """`array` (of src_device's table) as an array of dst_device's table: itself when the
    devices are one, else a copy (host <-> device through the CUDA table)."""
    if src_device == dst_device:
        return array
    if src_device == "cpu":
        return for_device(dst_device).to_device(array)
    if dst_device == "cpu":
        return for_device(src_device).to_host(array)
    raise RuntimeError(f"no transfer from {src_device} to {dst_device}")
