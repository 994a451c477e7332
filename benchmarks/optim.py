"""One optimizer step over a 1M-parameter model, minigrad beside torch.optim.

    python benchmarks/optim.py                 # 1 and 2 threads
    python benchmarks/optim.py --threads 1
    python benchmarks/optim.py --quick         # fewer repeats, for a smoke run

The model is three Linear layers (1024->640->512->32, 1,000,608 float32
parameters) in both libraries, with the same random gradients set on every
parameter; only ``optimizer.step()`` is timed (median of repeated runs, after
warm-up steps that create the optimizer state).  minigrad runs one fused C
kernel per parameter; PyTorch runs its default CPU implementation (the
single-tensor loop) and, in the last columns, its fused CPU kernel
(``fused=True``) where it has one.  Ratios are minigrad / PyTorch time (lower
is better for minigrad; the issue's target is <= 1.0x PyTorch's default).
Each thread count runs in a subprocess pinned before numpy and torch load.
"""
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

LAYERS = [(1024, 640), (640, 512), (512, 32)]
CASES = [
    ("Adam", dict(lr=1e-3)),
    ("AdamW", dict(lr=1e-3, weight_decay=1e-2)),
    ("Adam amsgrad", dict(lr=1e-3, amsgrad=True)),
    ("SGD momentum", dict(lr=1e-2, momentum=0.9)),
    ("SGD nesterov+wd", dict(lr=1e-2, momentum=0.9, nesterov=True, weight_decay=1e-4)),
    ("RMSprop", dict(lr=1e-3)),
    ("Adagrad", dict(lr=1e-2)),
]
TORCH_FUSED = {"Adam", "AdamW", "SGD", "Adagrad"}  # torch.optim classes with fused=True on CPU


def main(argv=None):
    status = common.per_thread_count_main(__file__, __doc__, run_pinned, argv)
    return status


def build_minigrad(mg, grads):
    model = mg.nn.Sequential(*[mg.nn.Linear(i, o) for i, o in LAYERS])
    for p, g in zip(model.parameters(), grads):
        p.grad = mg.tensor(g)
    return model


def build_torch(torch, grads):
    model = torch.nn.Sequential(*[torch.nn.Linear(i, o) for i, o in LAYERS])
    for p, g in zip(model.parameters(), grads):
        p.grad = torch.tensor(g)
    return model


def run_pinned(threads, quick):
    common.pin_threads(threads)
    import numpy as np
    import minigrad as mg
    mg.set_num_threads(threads)
    torch = common.optional_torch(threads)

    shapes = [s for i, o in LAYERS for s in ((o, i), (o,))]
    rng = np.random.default_rng(0)
    grads = [rng.normal(0, 1e-2, size=s).astype(np.float32) for s in shapes]
    n_params = sum(g.size for g in grads)
    repeat, rounds = (5, 1) if quick else (9, 5)

    def time_step(opt):
        for _ in range(3):  # the first steps create the state
            opt.step()
        return common.measure(opt.step, repeat=repeat, warmup=1)

    rows = []
    for label, kwargs in CASES:
        cls = label.split()[0]
        contenders = {"minigrad": getattr(mg.optim, cls)(build_minigrad(mg, grads).parameters(),
                                                         **kwargs)}
        if torch is not None:
            contenders["torch"] = getattr(torch.optim, cls)(
                build_torch(torch, grads).parameters(), **kwargs)
            if cls in TORCH_FUSED:
                contenders["fused"] = getattr(torch.optim, cls)(
                    build_torch(torch, grads).parameters(), fused=True, **kwargs)
        # Rounds interleave the contenders, so a slow spell of a shared machine hits all
        # of them; each figure is the median over the rounds.
        samples = {name: [] for name in contenders}
        for _ in range(rounds):
            for name, opt in contenders.items():
                samples[name].append(time_step(opt))
        mine, theirs, fused = (statistics.median(samples[name]) if name in samples else None
                               for name in ("minigrad", "torch", "fused"))
        rows.append([label, mine * 1e6, None if theirs is None else theirs * 1e6,
                     common.ratio(mine, theirs), None if fused is None else fused * 1e6,
                     common.ratio(mine, fused)])
    common.print_table(
        f"optimizer step, {n_params:,} float32 parameters in {len(shapes)} tensors, "
        f"{threads} thread(s) -- {common.machine_line()}",
        ["optimizer", "minigrad us", "torch us", "ratio", "torch fused us", "ratio fused"],
        rows,
        notes=["median time of one optimizer.step(); ratio = minigrad / torch (lower is "
               "better); target <= 1.0x torch's default",
               f"torch {torch.__version__ if torch else 'not installed'}"])


if __name__ == "__main__":
    sys.exit(main())
