"""One thread knob for the C core: OpenMP loops and BLAS share it."""
import os

from minigrad._native import lib


def set_num_threads(n):
    """Use `n` threads for both OpenMP loops and BLAS calls (never more than one pool's worth)."""
    n = int(n)
    if n < 1:
        raise ValueError(f"set_num_threads: expected a positive thread count, got {n}")
    lib.mg_set_num_threads(n)


def get_num_threads():
    """The thread count the C core currently uses."""
    return lib.mg_get_num_threads()


# MINIGRAD_NUM_THREADS sets the knob at import, like OMP_NUM_THREADS does for OpenMP alone.
if os.environ.get("MINIGRAD_NUM_THREADS"):
    set_num_threads(os.environ["MINIGRAD_NUM_THREADS"])
