"""Per-op overhead of minigrad's tape beside PyTorch eager, on tiny tensors.

Rows: one forward op with requires_grad (add, tanh, matmul at 1x1 and 32x32),
one backward of a one-op graph, and the per-op cost of a 64-op chain's forward
+ backward.  Times are medians in microseconds; `ratio` is minigrad / PyTorch
(target <= 1.00 on every row).  One thread: overhead is Python and dispatch,
not arithmetic.

    python benchmarks/overhead.py [--repeat N]
"""
import argparse

import common

common.pin_threads(1)

import numpy as np  # noqa: E402

import minigrad as mg  # noqa: E402


def cases(lib, make):
    """(name, function) pairs for library `lib` ('minigrad' or torch) and tensor factory."""
    out = []
    for n in (1, 32):
        a, b = make(n, True), make(n, True)
        out.append((f"add {n}x{n} (fwd)", lambda a=a, b=b: a + b))
        out.append((f"tanh {n}x{n} (fwd)", lambda a=a: a.tanh()))
        out.append((f"matmul {n}x{n} (fwd)", lambda a=a, b=b: a @ b))
    x = make(32, True)
    out.append(("sum + backward, 32x32", lambda x=x: x.sum().backward()))

    def chain(x=make(32, True), length=64):
        y = x
        for i in range(length // 2):
            y = (y * 0.5).tanh()
        y.sum().backward()
    out.append(("64-op chain fwd+bwd, per op", chain))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args(argv)
    torch = common.optional_torch(threads=1)
    rng = np.random.default_rng(0)

    def mg_make(n, grad):
        return mg.tensor(rng.standard_normal((n, n)), dtype=mg.float32, requires_grad=grad)

    def torch_make(n, grad):
        return torch.tensor(rng.standard_normal((n, n)), dtype=torch.float32, requires_grad=grad)

    rows = []
    mg_cases = cases(mg, mg_make)
    torch_cases = cases(torch, torch_make) if torch else [(name, None) for name, _ in mg_cases]
    for (name, mg_fn), (_, torch_fn) in zip(mg_cases, torch_cases):
        per = 64 if "per op" in name else 1
        mg_us = 1e6 * common.measure(mg_fn, repeat=args.repeat) / per
        torch_us = 1e6 * common.measure(torch_fn, repeat=args.repeat) / per if torch_fn else None
        rows.append([name, mg_us, torch_us, common.ratio(mg_us, torch_us)])
    common.print_table("Per-op overhead, 1 thread, median us (ratio = minigrad / PyTorch, "
                       "target <= 1.00)", ["case", "minigrad us", "torch us", "ratio"], rows,
                       notes=[common.machine_line()])


if __name__ == "__main__":
    main()
