"""Kernel tables, one per device.  Callers ask for the table of a device and
call kernels by name, so a new device is a new table, not new call sites."""
from minigrad.backend import cpu

_TABLES = {"cpu": cpu}


def for_device(device):
    """The kernel table (a module) of `device` ('cpu')."""
    try:
        return _TABLES[device]
    except KeyError:
        raise RuntimeError(f"no kernel table for device {device!r}; available: "
                           f"{', '.join(sorted(_TABLES))}") from None
