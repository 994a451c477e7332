"""How many threads train: given, inherited from the checkpoint, or measured ('auto').

minigrad's C core runs its loops on OpenMP threads and its matmuls on BLAS
threads, one knob for both (minigrad.set_num_threads).  On a quiet machine all
cores win; on a machine busy with other programs the threads of each parallel
loop wait for each other (and for those programs), and one thread can be many
times faster.  'auto' times it instead of guessing.
"""
import os
import time

import minigrad
import minigrad.nn.functional as F


def settle_threads(requested, config, ckpt, model, streams):
    """Set minigrad's thread count and record it in the config; returns how it was chosen.

    An explicit --threads wins; a resumed run keeps its checkpoint's count (exact
    repetition holds at one count); MINIGRAD_NUM_THREADS is respected; otherwise
    ('auto') a forward+backward of the first window is timed at all cores and at 1."""
    if isinstance(requested, int):
        chosen, how = requested, "--threads"
    elif requested is None and ckpt is not None and ckpt["config"].get("threads"):
        chosen, how = ckpt["config"]["threads"], "as the checkpoint's run"
    elif requested is None and os.environ.get("MINIGRAD_NUM_THREADS"):
        chosen, how = minigrad.get_num_threads(), "MINIGRAD_NUM_THREADS"
    else:
        chosen, how = probe_threads(model, streams)
    minigrad.set_num_threads(chosen)
    config["threads"] = chosen
    return how


def probe_threads(model, streams, margin=0.9, give_up=3.0):
    """(threads, note): all cores unless 1 thread is about as fast (a busy machine: the
    threads of a parallel loop wait for each other, and for the other programs).

    Times forward+backward of the first window: a warm-up and two runs at 1 thread,
    then at all cores -- cut short when the warm-up there is already `give_up` times
    slower than 1 thread (on a loaded machine that alone can take seconds)."""
    most = minigrad.get_num_threads()
    if most <= 1:
        return most, "one core"
    if next(model.parameters()).device.type != "cpu":
        # the GPU's kernels don't use these threads: a step's time would not depend on them
        return most, "auto: not timed, the GPU trains"
    rng = minigrad.get_rng_state()          # dropout draws here must not shift training's
    x, y = streams.window(0)

    def timed():
        t0 = time.perf_counter()
        logits, _ = model(model.tokens(x))
        F.cross_entropy(logits, y).backward()
        return time.perf_counter() - t0

    minigrad.set_num_threads(1)
    timed()
    one = min(timed(), timed())
    minigrad.set_num_threads(most)
    warm_up = timed()
    many = warm_up if warm_up > give_up * one else min(timed(), timed())
    model.zero_grad()
    minigrad.set_rng_state(rng)
    chosen = most if many < margin * one else 1
    return chosen, (f"auto: {1000 * many:.0f} ms per step at {most}, {1000 * one:.0f} ms at 1")
