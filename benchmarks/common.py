"""Helpers every benchmark shares: thread pinning, timing, tables, optional PyTorch.

Import this module first and call ``pin_threads(n)`` *before* importing numpy,
torch or minigrad: numpy's private OpenBLAS and OpenMP read their thread
counts from the environment when they load, so setting them later has no
effect.  This module itself imports nothing heavy at the top for that reason.

    import common
    common.pin_threads(1)
    import numpy as np                # now single-threaded
    seconds = common.measure(lambda: np.matmul(a, b))
    common.print_table("title", ["size", "GFLOP/s"], rows)

Speed is reported as medians of repeated runs and as ratios against numpy (and
PyTorch where installed) measured in the same process, never as absolute
claims: shared machines drift, ratios hold up better.
"""
import argparse
import os
import statistics
import sys
import time

THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                   "MINIGRAD_NUM_THREADS")

# numpy loads its own OpenBLAS, whose worker threads spin after a call (minigrad keeps
# its copy to one thread and shares products among its OpenMP threads).  numpy's, with
# the default spin, would spin through minigrad's next call: at 2 threads a 256x256
# gemm once measured 4.2 GFLOP/s instead of 190.  Set before numpy loads, its threads
# sleep right after each of numpy's calls (the test oracles' only ones).
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")


def pin_threads(n):
    """Use n threads everywhere: the environment (for libraries not loaded yet),
    minigrad's one knob, and PyTorch if it is already imported."""
    n = int(n)
    for var in THREAD_ENV_VARS:
        os.environ[var] = str(n)
    if "minigrad" in sys.modules:
        sys.modules["minigrad"].set_num_threads(n)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
    return n


def per_thread_count_main(script, doc, run_pinned, argv=None):
    """The main() of a benchmark measured once per thread count, each in a fresh
    process whose environment pins the threads (numpy's and torch's pools read it
    at import): parses --threads/--quick, re-runs `script` with --child N per count,
    and in the child calls run_pinned(N, quick).  Returns the OR of exit statuses."""
    import subprocess
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--threads", type=thread_counts, default=[1, 2],
                        help="comma-separated thread counts (default 1,2)")
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repeats")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_pinned(args.child, args.quick)
        return 0
    status = 0
    for threads in args.threads:
        env = dict(os.environ, **{var: str(threads) for var in THREAD_ENV_VARS})
        cmd = [sys.executable, os.path.abspath(script), "--child", str(threads)]
        status |= subprocess.call(cmd + (["--quick"] if args.quick else []), env=env)
    return status


def optional_torch(threads=None):
    """PyTorch (pinned to `threads` when given), or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    if threads is not None:
        torch.set_num_threads(int(threads))
    return torch


def thread_counts(text):
    """'1,2' -> [1, 2] (argparse type)."""
    counts = [int(t) for t in text.split(",") if t.strip()]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"expected positive thread counts like 1,2, got {text!r}")
    return counts


def measure(fn, repeat=7, warmup=1, min_time=0.01, budget=None):
    """Median seconds per call of fn().

    After `warmup` calls, takes `repeat` samples; each sample times enough calls in
    a row to last about `min_time` seconds (so microsecond calls are measurable)
    and reports the mean per call.  `budget` (seconds) caps the total: slow calls
    get fewer samples, but always at least 3 (or `repeat` if smaller).
    """
    for _ in range(warmup):
        fn()
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-9)
    number = max(1, int(min_time / once))
    if budget is not None:
        repeat = max(min(3, repeat), min(repeat, int(budget / (once * number))))
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def ratio(value, reference):
    """'1.23x' (value / reference), or '-' when either is missing."""
    if value is None or reference is None or reference == 0:
        return "-"
    return f"{value / reference:.2f}x"


def fmt(value, digits=1):
    """A number for a table cell ('-' for None)."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def print_table(title, columns, rows, notes=()):
    """Print rows (lists of cells, converted with fmt) under a title, columns aligned;
    text columns left-aligned, numbers right-aligned; notes printed below."""
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [max([len(col)] + [len(row[i]) for row in cells]) for i, col in enumerate(columns)]
    numeric = [all(_looks_numeric(row[i]) for row in cells) for i in range(len(columns))]

    def line(row):
        return "  ".join(c.rjust(w) if num else c.ljust(w)
                         for c, w, num in zip(row, widths, numeric)).rstrip()

    print(f"\n{title}")
    print(line(columns))
    print(line(["-" * w for w in widths]))
    for row in cells:
        print(line(row))
    for note in notes:
        print(f"  {note}")
    sys.stdout.flush()


def _looks_numeric(text):
    return text == "-" or text.rstrip("x").replace(".", "", 1).lstrip("-").isdigit()


def machine_line():
    """One line naming the CPU, core count and build, for the top of a report."""
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = ""
    if "minigrad" in sys.modules:
        build = sys.modules["minigrad"].BUILD_INFO
        info = " | minigrad " + " ".join(f"{k}={v}" for k, v in build.items())
    return f"{cpu}, {os.cpu_count()} cores{info}"


def fma_peak(threads, rounds=20_000_000):
    """This CPU's float32 multiply-add peak at `threads` threads, in GFLOP/s: the best
    of seven timed runs of independent FMA chains in the widest vectors the CPU has
    (csrc/fma_peak.c; about 35 ms each).  The ceiling no gemm passes."""
    from minigrad._native import ffi, lib
    flops, best = ffi.new("double *"), 0.0
    for _ in range(7):
        start = time.perf_counter()
        status = lib.mg_fma_peak_probe(rounds, threads, flops)
        seconds = time.perf_counter() - start
        if status != 0:
            raise RuntimeError(f"mg_fma_peak_probe failed with status {status}")
        best = max(best, flops[0] / seconds / 1e9)
    return best
