"""The adding problem (Hochreiter & Schmidhuber, 1997): can a recurrent net carry two numbers
across T time steps?

Each input sequence has T steps of (value, marker) pairs: the values are uniform in [0, 1), and
exactly two markers are 1 -- one in the first half of the sequence, one in the second half.  The
target, read at the last step, is the sum of the two marked values.  Answering 1 every time (the
mean of the target) gives a mean squared error of Var(u1 + u2) = 2/12 = 0.167: that is the
baseline a net must beat, and it can beat it only by remembering a value seen up to T steps ago.

We train a tanh RNN, a GRU and an LSTM (hidden size 128, Adam, gradient norm clipped at 1) at
several sequence lengths for the same number of steps, and print, for each, the final test MSE and
the first step at which the test MSE fell below 0.01.  The layers run on the fused C path (one op
per layer and sequence on the tape; see docs/walkthrough.md), which is what makes this fast.

    python examples/adding_problem.py                      # the full run (defaults below)
    python examples/adding_problem.py --steps 300 --lengths 20 --models lstm   # a short one

Writes into --out (default runs/adding_problem): results.json (every learning curve, the table,
the settings) and, when matplotlib is installed, learning_curves.png.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # cli.py beside this file, also when loaded by the tests or docs
    sys.path.insert(0, HERE)
from cli import (OneLineParser, int_list, name_list, non_negative_float,  # noqa: E402
                 positive_float, positive_int, seed_value)

BASELINE_MSE = 2.0 / 12.0  # Var(u1 + u2) for u1, u2 ~ U(0, 1): the MSE of always answering 1
SOLVED_MSE = 0.01
MODELS = {"rnn": ("tanh RNN", nn.RNN), "gru": ("GRU", nn.GRU), "lstm": ("LSTM", nn.LSTM)}

# The defaults: the whole run (3 models x 3 lengths) took 523 s of CPU time at 1 thread on the
# 2-core development machine (1025 s of wall time there, shared with other jobs); lr 1e-2 is
# what let the LSTM get through T = 100 within the budget (at 2e-3 it had not after 1500 steps).
DEFAULTS = dict(steps=1500, lengths="50,100,200", models="rnn,gru,lstm", hidden=128, batch=50,
                lr=1e-2, clip=1.0, forget_bias=None, test_size=256, eval_every=50, seed=0,
                threads=None, out=os.path.join("runs", "adding_problem"))


# ---- the data ------------------------------------------------------------------------------


def make_batch(steps, batch, rng, dtype=mg.float32):
    """A batch of adding-problem sequences.

    Returns x (steps, batch, 2): channel 0 the values, channel 1 the markers; and the target
    (batch, 1), the sum of the two marked values.  numpy only draws and places the numbers
    (the container); the sum is computed by minigrad like everything else."""
    values = rng.random((steps, batch))
    markers = np.zeros((steps, batch))
    half = steps // 2
    columns = np.arange(batch)
    markers[rng.integers(0, half, batch), columns] = 1.0          # one marker in the first half
    markers[rng.integers(half, steps, batch), columns] = 1.0      # one in the second half
    x = mg.tensor(np.stack([values, markers], axis=-1), dtype=dtype)
    target = (x[:, :, 0] * x[:, :, 1]).sum(0).reshape(batch, 1)
    return x, target


# ---- the model -----------------------------------------------------------------------------


class Regressor(nn.Module):
    """A recurrent layer read out at the last step: (T, B, 2) -> (B, 1)."""

    def __init__(self, kind, hidden, forget_bias=None):
        super().__init__()
        self.rnn = MODELS[kind][1](2, hidden)  # the fused C path (the default impl)
        self.head = nn.Linear(hidden, 1)
        if kind == "lstm" and forget_bias is not None:
            # Gers et al. (2000), Jozefowicz et al. (2015): start the forget gate open, so
            # that the cell keeps its content (f = sigmoid(b)) until training says otherwise.
            # Gates are stacked i, f, g, o: the forget gate's biases are rows H..2H.
            with mg.no_grad():
                self.rnn.bias_ih_l0[hidden:2 * hidden].fill_(forget_bias)
                self.rnn.bias_hh_l0[hidden:2 * hidden].zero_()

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[-1])


def test_mse(model, test_set):
    with mg.no_grad():
        x, target = test_set
        return F.mse_loss(model(x), target).item()


def train_one(kind, steps, length, args, log=print):
    """Train one model at one length; returns its learning curve and summary numbers."""
    mg.manual_seed(args.seed)                 # the same initial weights for every length
    rng = np.random.default_rng(args.seed)    # and the same stream of training batches
    test_set = make_batch(length, args.test_size, np.random.default_rng(10_000 + args.seed))
    model = Regressor(kind, args.hidden, args.forget_bias)
    opt = mg.optim.Adam(model.parameters(), lr=args.lr)
    curve = [(0, test_mse(model, test_set))]
    solved_at = None
    start, cpu_start = time.perf_counter(), time.process_time()
    for step in range(1, steps + 1):
        x, target = make_batch(length, args.batch, rng)
        loss = F.mse_loss(model(x), target)
        opt.zero_grad()
        loss.backward()
        if args.clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        if step % args.eval_every == 0 or step == steps:
            mse = test_mse(model, test_set)
            curve.append((step, mse))
            if solved_at is None and mse < SOLVED_MSE:
                solved_at = step
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    log(f"  {MODELS[kind][0]:<9} T={length:<4} test MSE {curve[-1][1]:.4f}  "
        f"solved at {solved_at if solved_at else '-'}  ({seconds:.0f} s, CPU {cpu:.0f} s)")
    return dict(model=kind, length=length, curve=curve, final_mse=curve[-1][1],
                best_mse=min(mse for _, mse in curve), solved_at=solved_at, seconds=seconds,
                cpu_seconds=cpu)


# ---- reporting -----------------------------------------------------------------------------


def format_table(results, steps, eval_every):
    """Per model and length: the final test MSE, the best one seen, and the first step with
    test MSE < 0.01 ('-': never).  One row per model, one column group per length."""
    lengths = sorted({r["length"] for r in results})
    kinds = [k for k in MODELS if any(r["model"] == k for r in results)]
    by = {(r["model"], r["length"]): r for r in results}
    group = 30
    lines = [f"Adding problem: test MSE after {steps} steps (always answering 1: "
             f"{BASELINE_MSE:.3f}); best test MSE seen; first step with test MSE < {SOLVED_MSE} "
             f"(tested every {eval_every} steps)",
             (f"{'':<10}" + "".join(f"{'T = ' + str(n):^{group}}" for n in lengths)).rstrip(),
             f"{'model':<10}" + f"{'final':>10}{'best':>9}{'<0.01 at':>11}" * len(lengths)]
    for k in kinds:
        row = f"{MODELS[k][0]:<10}"
        for n in lengths:
            r = by.get((k, n))
            if r is None:
                row += " " * group
            else:
                row += (f"{r['final_mse']:>10.4f}{r['best_mse']:>9.4f}"
                        f"{(r['solved_at'] or '-'):>11}")
        lines.append(row.rstrip())
    return "\n".join(lines)


def plot_curves(results, path):
    """Test MSE against step, one panel per length; returns False when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    lengths = sorted({r["length"] for r in results})
    fig, axes = plt.subplots(1, len(lengths), figsize=(4.2 * len(lengths), 3.4), squeeze=False,
                             sharey=True)
    for ax, n in zip(axes[0], lengths):
        for r in (r for r in results if r["length"] == n):
            steps, mse = zip(*r["curve"])
            ax.plot(steps, mse, label=MODELS[r["model"]][0])
        ax.axhline(BASELINE_MSE, color="grey", linestyle="--", linewidth=1, label="baseline 0.167")
        ax.axhline(SOLVED_MSE, color="grey", linestyle=":", linewidth=1, label="0.01")
        ax.set_yscale("log")
        ax.set_title(f"T = {n}")
        ax.set_xlabel("training step")
    axes[0][0].set_ylabel("test MSE")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# ---- main ----------------------------------------------------------------------------------


def parse_args(argv=None):
    p = OneLineParser(description=__doc__.split("\n\n")[0],
                      formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--steps", type=positive_int, default=DEFAULTS["steps"],
                   help="training steps per run")
    p.add_argument("--lengths", type=int_list(2), default=DEFAULTS["lengths"],
                   help="sequence lengths T (at least 2: one marker in each half), "
                        "comma-separated")
    p.add_argument("--models", type=name_list(list(MODELS)), default=DEFAULTS["models"],
                   help="subset of rnn,gru,lstm")
    p.add_argument("--hidden", type=positive_int, default=DEFAULTS["hidden"])
    p.add_argument("--batch", type=positive_int, default=DEFAULTS["batch"])
    p.add_argument("--lr", type=positive_float, default=DEFAULTS["lr"], help="Adam learning rate")
    p.add_argument("--clip", type=non_negative_float, default=DEFAULTS["clip"],
                   help="gradient norm clip (0: none)")
    p.add_argument("--forget-bias", type=float, default=DEFAULTS["forget_bias"],
                   help="LSTM forget-gate bias at init (default: PyTorch's uniform init)")
    p.add_argument("--test-size", type=positive_int, default=DEFAULTS["test_size"])
    p.add_argument("--eval-every", type=positive_int, default=DEFAULTS["eval_every"])
    p.add_argument("--seed", type=seed_value, default=DEFAULTS["seed"])
    p.add_argument("--threads", type=positive_int, default=DEFAULTS["threads"],
                   help="minigrad threads (default: minigrad's own choice)")
    p.add_argument("--out", default=DEFAULTS["out"], help="folder for results.json and the plot")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        mg.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    print(f"adding problem: models {','.join(args.models)}, T in {args.lengths}, "
          f"{args.steps} steps, hidden {args.hidden}, batch {args.batch}, Adam lr {args.lr}, "
          f"{mg.get_num_threads()} threads")
    start, cpu_start = time.perf_counter(), time.process_time()
    results = []
    for length in args.lengths:
        for kind in args.models:
            results.append(train_one(kind, args.steps, length, args))
            sys.stdout.flush()
    total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    table = format_table(results, args.steps, args.eval_every)
    print()
    print(table)
    print(f"\ntotal time {total:.0f} s (CPU time {cpu:.0f} s, {mg.get_num_threads()} threads)")
    settings = {k: v for k, v in vars(args).items()}
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(dict(settings=settings, results=results, table=table, seconds=total,
                       cpu_seconds=cpu, threads=mg.get_num_threads()), f, indent=1)
    plot = os.path.join(args.out, "learning_curves.png")
    if plot_curves(results, plot):
        print(f"learning curves: {plot}")
    else:
        print("matplotlib is not installed: learning_curves.png skipped "
              "(pip install 'minigrad-c[examples]')")
    return results


if __name__ == "__main__":
    main()
