"""Kernel speed beside numpy: gemm (GFLOP/s), elementwise and reductions (GB/s).

    python benchmarks/kernels.py                 # 1 and 2 threads
    python benchmarks/kernels.py --threads 1     # one thread count
    python benchmarks/kernels.py --quick         # fewer sizes, for a smoke run

Each thread count runs in a subprocess of its own: numpy's private OpenBLAS
fixes its thread count when numpy is imported, so both sides are pinned by
the environment before any import (and minigrad by its knob as well).

gemm rows: "blas" is minigrad's matmul wrapper over mg_gemm (BLAS when the
build has one), "builtin" is minigrad's own blocked kernel (gemm(...,
builtin=True)); both float32, numbers are medians.  The LSTM rows are the
gate products of a fused LSTM step, x (M, K) @ W.T with W stored (N, K) as
PyTorch lays it out (N = 4 * hidden): (32, 320, 1024) is batch 32, hidden 256
with a 64-wide input; (64, 512, 2048) hidden 512; (64, 1024, 4096) hidden 1024.
The small-product rows are x (M, K) @ W with W stored (K, N): the products of a
composed recurrent step and of a Linear layer's gradients at a small batch,
which mg_gemm runs with its own micro-kernel instead of BLAS (B unpacked).
Ratios are minigrad / numpy (higher is better for minigrad).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

SQUARE_SIZES = [64, 128, 256, 512, 1024, 2048]
LSTM_SHAPES = [(32, 320, 1024), (8, 320, 1024), (64, 512, 2048), (64, 1024, 4096)]
SMALL_SHAPES = [(32, 128, 512), (32, 512, 128), (32, 256, 1024), (64, 512, 512)]
# A layer over a whole sequence (T*B rows): input projections x @ W.T, then input
# gradients g @ W (W stored (N, K) read as is: M x K x N = (T*B) x 4H x in).
TALL_SHAPES = [(2048, 64, 512, True), (8192, 64, 2048, True), (4096, 784, 256, True),
               (2048, 512, 64, False), (8192, 2048, 64, False)]
ELEMENTWISE_SIZES = [1 << 20, 1 << 22]
TARGETS = ("targets: blas >= 0.95x numpy at n >= 256; builtin >= 0.30x OpenBLAS (numpy) at "
           "n = 1024, 1 thread; elementwise >= 1.0x numpy at >= 1M elements")


def main(argv=None):
    status = common.per_thread_count_main(__file__, __doc__, run_pinned, argv)
    print(f"\n{TARGETS}")
    return status


def run_pinned(threads, quick):
    """All tables at one thread count (this process is pinned before numpy loads)."""
    common.pin_threads(threads)
    import numpy as np
    import minigrad
    from minigrad.backend import cpu

    minigrad.set_num_threads(threads)
    print(f"\n=== kernels, {threads} thread(s): {common.machine_line()}")
    gemm_tables(np, cpu, threads, quick)
    elementwise_table(np, cpu, threads, quick)
    reduction_table(np, cpu, threads, quick)


def gflops(flops, seconds):
    return flops / seconds / 1e9


def gemm_tables(np, cpu, threads, quick):
    rng = np.random.default_rng(0)
    sizes = [64, 256, 1024] if quick else SQUARE_SIZES
    budget = 0.3 if quick else 1.0
    rows = []
    for n in sizes:
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        rows.append(gemm_row(np, cpu, str(n), a, b, False, budget, threads))
    print_gemm("gemm float32, square n x n @ n x n", rows, threads)
    shape_table(np, cpu, rng, LSTM_SHAPES[:1] if quick else LSTM_SHAPES, True, budget, threads,
                "gemm float32, LSTM gate shapes M x K x N: x (M, K) @ W.T, W (N, K)")
    shape_table(np, cpu, rng, SMALL_SHAPES[:2] if quick else SMALL_SHAPES, False, budget,
                threads, "gemm float32, small products M x K x N: x (M, K) @ W, W (K, N)")
    shape_table(np, cpu, rng, TALL_SHAPES[::3] if quick else TALL_SHAPES, None, budget, threads,
                "gemm float32, tall products M x K x N: x (M, K) @ W.T, W (N, K), then "
                "g (M, K) @ W, W (K, N)")


def shape_table(np, cpu, rng, shapes, w_transposed, budget, threads, title):
    """x (M, K) @ W for each (M, K, N): W stored (N, K) and read transposed, or (K, N);
    w_transposed None: each shape says, as (M, K, N, transposed)."""
    rows = []
    for m, k, n, *own in shapes:
        if own:
            w_transposed = own[0]
        x = rng.standard_normal((m, k), dtype=np.float32)
        w = rng.standard_normal((n, k) if w_transposed else (k, n), dtype=np.float32)
        label = f"{m}x{k}x{n}" + ((" W.T" if w_transposed else " W") if own else "")
        rows.append(gemm_row(np, cpu, label, x, w, w_transposed, budget, threads))
    print_gemm(title, rows, threads)


def gemm_row(np, cpu, label, a, b, b_transposed, budget, threads):
    """GFLOP/s of numpy, minigrad's matmul (BLAS path) and the built-in kernel."""
    m, k = a.shape
    n = b.shape[0] if b_transposed else b.shape[1]
    flops = 2.0 * m * n * k
    bt = b.T if b_transposed else b
    want = np.matmul(a, bt)
    for got in (cpu.matmul(a, bt), cpu.gemm(a, b, trans_b=b_transposed, builtin=True)):
        if not np.allclose(got, want, rtol=1e-3, atol=1e-3 * np.sqrt(k)):
            raise AssertionError(f"gemm {label}: minigrad disagrees with numpy")
    t_np = common.measure(lambda: np.matmul(a, bt), budget=budget)
    t_blas = common.measure(lambda: cpu.matmul(a, bt), budget=budget)
    t_own = common.measure(lambda: cpu.gemm(a, b, trans_b=b_transposed, builtin=True),
                           repeat=5, budget=budget)
    return [label, gflops(flops, t_np), gflops(flops, t_blas), t_np / t_blas,
            gflops(flops, t_own), t_np / t_own]


def print_gemm(title, rows, threads):
    table = []
    for label, g_np, g_blas, r_blas, g_own, r_own in rows:
        size = int(label) if label.isdigit() else None
        target = []
        if size is not None and size >= 256:
            target.append("blas>=0.95x " + ("ok" if r_blas >= 0.95 else "MISSED"))
        if size == 1024 and threads == 1:
            target.append("builtin>=0.30x " + ("ok" if r_own >= 0.30 else "MISSED"))
        table.append([label, g_np, g_blas, f"{r_blas:.2f}x", g_own, f"{r_own:.2f}x",
                      ", ".join(target)])
    common.print_table(title + " -- GFLOP/s (median)",
                       ["shape", "numpy", "mg blas", "blas/np", "mg builtin", "builtin/np",
                        "target"], table)


def try_kernel(fn):
    """None when fn() runs, else a short reason (a kernel family may not be built yet)."""
    try:
        fn()
        return None
    except Exception as exc:  # noqa: BLE001 -- any failure skips the row, with its reason
        return f"{type(exc).__name__}: {exc}"


def bandwidth_row(np, label, n_bytes, numpy_fn, minigrad_fn, notes):
    """[label, numpy GB/s, minigrad GB/s, ratio]; a row of '-' with a note when
    minigrad's kernel is missing or gives a different answer."""
    t_np = common.measure(numpy_fn)
    reason = try_kernel(minigrad_fn)
    if reason is None:
        want, got = numpy_fn(), minigrad_fn()
        # A sanity check, not a test: float32 sums differ with the summation order.
        if np.shape(got) != np.shape(want) or not np.allclose(
                got, want, rtol=1e-3, atol=1e-4 * float(np.abs(want).max(initial=1.0))):
            reason = "result differs from numpy"
    if reason is not None:
        notes.append(f"{label}: skipped ({reason})")
        return [label, n_bytes / t_np / 1e9, None, "-"]
    t_mg = common.measure(minigrad_fn)
    return [label, n_bytes / t_np / 1e9, n_bytes / t_mg / 1e9, common.ratio(t_np, t_mg)]


def elementwise_table(np, cpu, threads, quick):
    rng = np.random.default_rng(1)
    rows, notes = [], []
    for size in ELEMENTWISE_SIZES[:1] if quick else ELEMENTWISE_SIZES:
        a = rng.standard_normal(size, dtype=np.float32)
        b = rng.standard_normal(size, dtype=np.float32)
        tag = f"{size >> 20}M"
        three, two = 3 * a.nbytes, 2 * a.nbytes  # bytes read + written
        rows.append(bandwidth_row(np, f"add {tag}", three, lambda: np.add(a, b),
                                  lambda: cpu.binary("add", a, b), notes))
        rows.append(bandwidth_row(np, f"mul {tag}", three, lambda: np.multiply(a, b),
                                  lambda: cpu.binary("mul", a, b), notes))
        rows.append(bandwidth_row(np, f"exp {tag}", two, lambda: np.exp(a),
                                  lambda: cpu.unary("exp", a), notes))
        rows.append(bandwidth_row(np, f"tanh {tag}", two, lambda: np.tanh(a),
                                  lambda: cpu.unary("tanh", a), notes))
    common.print_table("elementwise float32 -- GB/s (bytes read + written, median); "
                       "target >= 1.0x numpy", ["op", "numpy", "minigrad", "mg/np"], rows, notes)


def reduction_table(np, cpu, threads, quick):
    rng = np.random.default_rng(2)
    rows, notes = [], []

    def np_softmax(x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    for n_rows in [1024] if quick else [1024, 4096]:
        x = rng.standard_normal((n_rows, 1024), dtype=np.float32)
        tag = f"{n_rows}x1024"
        rows.append(bandwidth_row(np, f"sum rows {tag}", x.nbytes, lambda: np.sum(x, axis=-1),
                                  lambda: cpu.reduce("sum", x, -1), notes))
        rows.append(bandwidth_row(np, f"sum cols {tag}", x.nbytes, lambda: np.sum(x, axis=0),
                                  lambda: cpu.reduce("sum", x, 0), notes))
        rows.append(bandwidth_row(np, f"softmax rows {tag}", 2 * x.nbytes, lambda: np_softmax(x),
                                  lambda: cpu.softmax(x, -1), notes))
    common.print_table("reductions float32 -- GB/s (bytes read + written, median); numpy "
                       "softmax is exp(x - max) / sum", ["op", "numpy", "minigrad", "mg/np"],
                       rows, notes)


if __name__ == "__main__":
    sys.exit(main())
