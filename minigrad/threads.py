"""One thread knob for the C core: OpenMP loops and BLAS share it."""
import os
import warnings

from minigrad._native import lib


def _positive(value, op, what):
    value = int(value)
    if value < 1:
        raise ValueError(f"{op}: expected a positive {what}, got {value}")
    return value


def set_num_threads(n):
    """Use `n` threads for both OpenMP loops and BLAS calls (never more than one pool's worth)."""
    lib.mg_set_num_threads(_positive(n, "set_num_threads", "thread count"))


def get_num_threads():
    """The thread count the C core currently uses."""
    return lib.mg_get_num_threads()


def set_parallel_min_work(work):
    """Kernel loops with less work than `work` elements run on one thread (default 2**16).

    Below it, one thread finishes before a team would have started (csrc/core.h has the
    measurements).  Raise it where threads are slow to start -- with
    OMP_WAIT_POLICY=PASSIVE they sleep between loops, and waking one cost about 60 us on
    a 2-core VM -- lower it where they start faster; tests lower it so that moderate
    arrays are split across threads."""
    lib.mg_set_parallel_min_work(_positive(work, "set_parallel_min_work", "element count"))


def get_parallel_min_work():
    """The work (elements) from which kernel loops use several threads."""
    return lib.mg_get_parallel_min_work()


def _threads_from_environment():
    """MINIGRAD_NUM_THREADS, or OpenMP's own count when it is unset.  A value that is not a
    positive integer is reported and ignored, as OpenMP does with OMP_NUM_THREADS: a typo in
    the environment should not stop `import minigrad`."""
    default = get_num_threads()
    text = os.environ.get("MINIGRAD_NUM_THREADS", "").strip()
    if not text:
        return default
    try:
        return _positive(text, "MINIGRAD_NUM_THREADS", "thread count")
    except ValueError:
        warnings.warn(f"MINIGRAD_NUM_THREADS={text!r} is not a positive integer: ignored "
                      f"(using {default} thread{'s' if default != 1 else ''})", stacklevel=2)
        return default


# MINIGRAD_NUM_THREADS sets the knob at import, like OMP_NUM_THREADS does for OpenMP alone.
# Without it the knob is set to OpenMP's own count, which also keeps BLAS to one
# thread in an OpenMP build (products are shared among OpenMP's threads: gemm.c).
set_num_threads(_threads_from_environment())
