"""Recurrent-net training and inference speed: minigrad beside PyTorch.

The model is a character-level language model's inner loop: embedding 64 ->
recurrent layer(s) -> linear decoder to 65 classes -> cross-entropy -> Adam step,
on random tokens.  For LSTM, GRU and RNN(tanh) at three sizes it measures
training tokens/s (B*T per step) and inference tokens/s (no_grad forward) for

    minigrad fused     nn.LSTM(..., impl='fused')   one C kernel per layer and direction
    minigrad composed  nn.LSTM(..., impl='composed') cells from primitive ops, step by step
    torch              nn.LSTM (its own fused CPU kernels)
    torch cell loop    nn.LSTMCell in a Python loop

each in a fresh process (so peak RSS is its own), medians of repeats, at 1 and 2
threads.  GFLOP/s counts 3x the forward gemm FLOPs per step (forward, and the two
gemms of backward) and is shown as a fraction of this CPU's FMA peak, measured at the
same thread count (common.fma_peak: nothing but multiply-adds); the notes give the
OpenBLAS sgemm rate at n=1024 beside it, what a large gemm reaches of that peak.

    python benchmarks/rnn.py                  # everything (~10 min on 2 cores; --rounds 3: ~30)
    python benchmarks/rnn.py --quick          # smaller configs, 1 thread (~2 min)
    python benchmarks/rnn.py --modes lstm --configs 0,1 --threads 1
    python benchmarks/rnn.py --rounds 3      # each row 3 times, impls interleaved
    python benchmarks/rnn.py --modes lstmp   # LSTM with proj_size = H/4 (not in the default run)
"""
import argparse
import json
import os
import resource
import subprocess
import sys

import common

CONFIGS = [  # (hidden, layers, batch, steps)
    (128, 1, 32, 64),
    (256, 2, 32, 64),
    (512, 2, 64, 128),
]
VOCAB, EMBED = 65, 64
MODES = ("lstm", "gru", "rnn")  # the default run; "lstmp" (LSTM, proj_size = H/4) on request
GATES = {"lstm": 4, "gru": 3, "rnn": 1, "lstmp": 4}
CLASSES = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN", "lstmp": "LSTM"}


def proj_size(mode, hidden):
    """The projection of an "lstmp" layer (H/4), else 0."""
    return hidden // 4 if mode == "lstmp" else 0
IMPLS = ("minigrad fused", "minigrad composed", "torch", "torch cell loop")


def train_flops(mode, config):
    """3x the forward gemm FLOPs of one training step (input and recurrent projections
    of every layer, and the decoder)."""
    hidden, layers, batch, steps = config
    g, proj = GATES[mode], proj_size(mode, hidden)
    out = proj or hidden  # the width of h and of each layer's output
    flops = 0
    for layer in range(layers):
        layer_in = EMBED if layer == 0 else out
        flops += 2 * steps * batch * ((layer_in + out) * g * hidden + proj * hidden)
    flops += 2 * steps * batch * out * VOCAB
    return 3 * flops


# ---- one measurement, in a child process ---------------------------------------------------

def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def minigrad_model(mode, config, impl, device="cpu"):
    """(train, infer) closures of the benchmark model in minigrad, on `device`."""
    import minigrad as mg
    from minigrad import nn, optim
    hidden, layers, batch, steps = config
    proj = proj_size(mode, hidden)
    mg.manual_seed(0)
    emb = nn.Embedding(VOCAB, EMBED, device=device)
    dec = nn.Linear(proj or hidden, VOCAB, device=device)
    extra = {"proj_size": proj} if proj else {}
    rnn = getattr(nn, CLASSES[mode])(EMBED, hidden, num_layers=layers, impl=impl, device=device,
                                     **extra)
    params = list(emb.parameters()) + list(rnn.parameters()) + list(dec.parameters())
    opt = optim.Adam(params, lr=2e-3)
    x = mg.randint(0, VOCAB, (steps, batch), device=device)
    y = mg.randint(0, VOCAB, (steps * batch,), device=device)

    def forward():
        out, _ = rnn(emb(x))
        return dec(out).reshape(steps * batch, VOCAB)

    def train():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(forward(), y)
        loss.backward()
        opt.step()

    def infer():
        with mg.no_grad():
            forward()
    return train, infer


def torch_model(mode, config, cell_loop, device="cpu"):
    """(train, infer) closures of the benchmark model in PyTorch, on `device` (cuda: cuDNN)."""
    import torch
    hidden, layers, batch, steps = config
    proj = proj_size(mode, hidden)
    torch.manual_seed(0)
    emb = torch.nn.Embedding(VOCAB, EMBED, device=device)
    dec = torch.nn.Linear(proj or hidden, VOCAB, device=device)
    if cell_loop:
        cell = {"lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell, "rnn": torch.nn.RNNCell}[mode]
        cells = torch.nn.ModuleList([cell(EMBED if i == 0 else hidden, hidden, device=device)
                                     for i in range(layers)])
        modules = [emb, cells, dec]

        def run(h):
            for c in cells:
                state = (torch.zeros(batch, hidden, device=device),) * (2 if mode == "lstm" else 1)
                state = state if mode == "lstm" else state[0]
                outs = []
                for t in range(steps):
                    state = c(h[t], state)
                    outs.append(state[0] if mode == "lstm" else state)
                h = torch.stack(outs)
            return h
    else:
        extra = {"proj_size": proj} if proj else {}
        rnn = getattr(torch.nn, CLASSES[mode])(EMBED, hidden, num_layers=layers, device=device,
                                               **extra)
        modules = [emb, rnn, dec]

        def run(h):
            return rnn(h)[0]
    params = [p for m in modules for p in m.parameters()]
    opt = torch.optim.Adam(params, lr=2e-3)
    x = torch.randint(0, VOCAB, (steps, batch), device=device)
    y = torch.randint(0, VOCAB, (steps * batch,), device=device)

    def forward():
        return dec(run(emb(x))).reshape(steps * batch, VOCAB)

    def train():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(forward(), y)
        loss.backward()
        opt.step()

    def infer():
        with torch.no_grad():
            forward()
    return train, infer


def child(spec):
    """Measure one (impl, mode, config, threads) and print a JSON line."""
    common.pin_threads(spec["threads"])
    config = CONFIGS[spec["config"]]
    impl, mode = spec["impl"], spec["mode"]
    if impl.startswith("torch"):
        torch = common.optional_torch(spec["threads"])
        if torch is None:
            print(json.dumps({"skipped": "torch not installed"}))
            return
        if impl == "torch cell loop" and mode == "lstmp":
            print(json.dumps({"skipped": "LSTMCell has no projection"}))
            return
    base = rss_mib()
    if impl.startswith("minigrad"):
        train, infer = minigrad_model(mode, config, impl.split()[1])
    else:
        train, infer = torch_model(mode, config, impl == "torch cell loop")
    tokens = config[2] * config[3]
    budget = spec["budget"]
    # Medians of 9 training steps and 15 inference samples (fewer when a call is slow:
    # the budget caps them); an inference sample times enough calls to last 10 ms.
    # (With 5 single calls each, the H = 128 LSTM inference ratio moved by 0.07
    # between identical runs.)
    train_s = common.measure(train, repeat=9, warmup=1, min_time=0.0, budget=budget)
    infer_s = common.measure(infer, repeat=15, warmup=2, min_time=0.01, budget=budget / 2)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"train_tok_s": tokens / train_s, "infer_tok_s": tokens / infer_s,
                      "train_s": train_s, "peak_rss_mib": peak - base}))


def practical_peak(threads):
    """sgemm GFLOP/s at n=1024 through minigrad's BLAS path, in a child at `threads`."""
    code = ("import common, time; common.pin_threads(%d)\n"
            "import minigrad as mg\n"
            "a = mg.randn(1024, 1024); b = mg.randn(1024, 1024)\n"
            "s = common.measure(lambda: a @ b, repeat=7)\n"
            "print(2 * 1024 ** 3 / s / 1e9)" % threads)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.abspath(__file__)))
    try:
        return float(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def measure_rounds(spec, impls, rounds):
    """{impl: result} for one row: `rounds` child runs per impl, the impls' order
    reversed every other round; each figure is the median over the rounds."""
    import statistics
    runs = {impl: [] for impl in impls}
    for r in range(max(1, rounds)):
        for impl in (impls if r % 2 == 0 else impls[::-1]):
            runs[impl].append(run_child(dict(spec, impl=impl)))
    results = {}
    for impl, outs in runs.items():
        good = [o for o in outs if "train_tok_s" in o]
        results[impl] = {key: statistics.median(o[key] for o in good) for key in good[0]} \
            if good else outs[0]
    return results


def run_child(spec):
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", json.dumps(spec)],
                         capture_output=True, text=True)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        return {"error": (out.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(lines[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default=",".join(MODES),
                        help="lstm,gru,rnn (default), lstmp (LSTM with proj_size = H/4)")
    parser.add_argument("--configs", default="0,1,2", help="indices into CONFIGS: " + str(CONFIGS))
    parser.add_argument("--threads", type=common.thread_counts, default=[1, 2])
    parser.add_argument("--impls", default=",".join(IMPLS))
    parser.add_argument("--budget", type=float, default=12.0,
                        help="seconds of timing per measurement (at least 3 repeats)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure each row this many times, the impls in alternating "
                        "order, and report the median round (these shared machines drift "
                        "over minutes: rounds spread each impl over the same minutes)")
    parser.add_argument("--quick", action="store_true",
                        help="configs 0,1 at 1 thread, smaller budget")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(json.loads(args.child))
    if args.quick:
        args.configs, args.threads, args.budget = "0,1", [1], 4.0
    modes = [m for m in args.modes.split(",") if m]
    unknown = [m for m in modes if m not in GATES]
    if unknown:
        parser.error(f"--modes: unknown {', '.join(unknown)}; expected some of "
                     f"{', '.join(GATES)}")
    configs = [int(c) for c in args.configs.split(",") if c]
    impls = [i for i in args.impls.split(",") if i]

    print(common.machine_line())
    for threads in args.threads:
        peak, sgemm = common.fma_peak(threads), practical_peak(threads)
        rows = []
        for mode in modes:
            for c in configs:
                spec = {"mode": mode, "config": c, "threads": threads, "budget": args.budget}
                results = measure_rounds(spec, impls, args.rounds)
                torch_train = results.get("torch", {}).get("train_tok_s")
                torch_infer = results.get("torch", {}).get("infer_tok_s")
                torch_rss = results.get("torch", {}).get("peak_rss_mib")
                cell_train = results.get("torch cell loop", {}).get("train_tok_s")
                hidden, layers, batch, steps = CONFIGS[c]
                for impl in impls:
                    r = results[impl]
                    if "error" in r or "skipped" in r:
                        rows.append([mode, f"H{hidden} L{layers} B{batch} T{steps}", impl,
                                     r.get("error", r.get("skipped")), "", "", "", "", "", ""])
                        continue
                    gflops = train_flops(mode, CONFIGS[c]) / r["train_s"] / 1e9
                    vs_cells = common.ratio(r["train_tok_s"], cell_train) \
                        if impl == "minigrad composed" else ""
                    rows.append([mode, f"H{hidden} L{layers} B{batch} T{steps}", impl,
                                 round(r["train_tok_s"]), common.ratio(r["train_tok_s"], torch_train),
                                 vs_cells, round(r["infer_tok_s"]),
                                 common.ratio(r["infer_tok_s"], torch_infer),
                                 f"{gflops:.1f} ({gflops / peak:.0%})",
                                 f"{r['peak_rss_mib']:.0f} ({common.ratio(r['peak_rss_mib'], torch_rss)})"])
        common.print_table(
            f"RNN training/inference tokens/s, {threads} thread(s), medians "
            f"(x torch = ratio to PyTorch's fused layer; target fused >= 1.0x)",
            ["mode", "config", "impl", "train tok/s", "x torch", "x cells", "infer tok/s",
             "x torch", "GFLOP/s (% FMA peak)", "peak RSS MiB (x torch)"], rows,
            notes=[f"FMA peak (measured) at {threads} thread(s): {peak:.1f} GFLOP/s; OpenBLAS "
                   f"sgemm n=1024: " + (f"{sgemm:.1f} GFLOP/s ({sgemm / peak:.0%} of it)"
                                        if sgemm else "unavailable"),
                   "x cells: minigrad composed vs PyTorch's LSTMCell/GRUCell/RNNCell Python loop"])


if __name__ == "__main__":
    main()
