"""Char-RNN quality and speed: minigrad beside PyTorch on one recipe, same data, same start.

    python benchmarks/char_rnn.py                # --quick (default): 150 steps each, ~2-3 minutes
    python benchmarks/char_rnn.py --full         # the measurement: to val 1.60 and past 1,000 steps
    python benchmarks/char_rnn.py --full --threads 2    # the same on 2 threads each
    python benchmarks/char_rnn.py --steps 600 --eval-every 100

The recipe (the issue's): 2-layer LSTM, hidden 256, embedding 64, batch 32,
sequence 100, Adam lr 2e-3, gradient-norm clip 5, on the bundled tinyshakespeare
(first 90% train, last 10% validation), truncated BPTT with the state carried
across windows -- exactly what examples/char_rnn.py trains.

Fair by construction: PyTorch's twin model starts from minigrad's initial
weights (copied), both read the same batches in the same order, and both are
evaluated by the same procedure (the whole validation text, 64 streams, state
carried).  The two train in alternating chunks of steps in one process, so
machine noise (other jobs on a shared box) hits both alike; each library's
training time is summed over its own chunks (evaluation not counted).

Reported: validation loss (nats/char) of both at each evaluation and their
difference, the time each needs to reach --target (1.60; linear interpolation
between evaluations), the time ratio minigrad / PyTorch, chars/s, a CSV of the
curve (and a PNG with matplotlib) under --out, and a sample from minigrad's model.
"""
import argparse
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "examples"))
import common  # noqa: E402

RECIPE = dict(model="lstm", embed=64, hidden=256, layers=2, dropout=0.0, batch=32, seq_len=100,
              lr=2e-3, clip=5.0, seed=1234, val_fraction=0.1)


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true",
                      help="150 steps each, evaluations at 50/100/150 (the default)")
    mode.add_argument("--full", action="store_true",
                      help="train until both reach --target and pass 1,000 steps (or the caps)")
    parser.add_argument("--steps", type=int, help="train exactly this many steps each")
    parser.add_argument("--max-steps", type=int, default=4000,
                        help="--full: give up after this many steps (default 4000)")
    parser.add_argument("--minutes", type=float,
                        help="stop when either library has trained this many minutes")
    parser.add_argument("--eval-every", type=int, help="steps between evaluations (default 50 "
                        "quick, 100 otherwise)")
    parser.add_argument("--chunk", type=int, default=25,
                        help="steps each library trains before the other takes over (default 25)")
    parser.add_argument("--target", type=float, default=1.60,
                        help="validation loss to time (nats/char, default 1.60)")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for both (default 1: repeatable on a shared machine; "
                        "run --threads 2 as a second row)")
    parser.add_argument("--no-torch", action="store_true", help="minigrad alone")
    parser.add_argument("--out", default=os.path.join("runs", "bench_char_rnn"),
                        help="folder for curve.csv and curve.png (default runs/bench_char_rnn)")
    args = parser.parse_args(argv)
    if args.steps is None and not args.full:
        args.steps = 150
    if args.eval_every is None:
        args.eval_every = 50 if (args.steps or 0) <= 300 and not args.full else 100
    return args


# ---- the two libraries, behind one small interface ------------------------------------------


class MinigradRunner:
    name = "minigrad"

    def __init__(self, vocab_size):
        import minigrad
        from charrnn.model import build
        from charrnn.train import evaluate
        self.evaluate_fn = evaluate
        minigrad.manual_seed(RECIPE["seed"])
        self.mg = minigrad
        self.model = build(RECIPE, vocab_size)
        self.model.train()
        self.opt = minigrad.optim.Adam(self.model.parameters(), lr=RECIPE["lr"])
        self.params = list(self.model.parameters())
        self.state = None

    def initial_weights(self):
        return {k: v.numpy().copy() for k, v in self.model.state_dict().items()}

    def step(self, x, y, new_epoch):
        from charrnn.model import detach_state
        mg, F = self.mg, self.mg.nn.functional
        if new_epoch:
            self.state = None
        logits, state = self.model(mg.from_numpy(x), self.state)
        loss = F.cross_entropy(logits, y)
        self.opt.zero_grad()
        loss.backward()
        mg.nn.utils.clip_grad_norm_(self.params, RECIPE["clip"])
        self.opt.step()
        self.state = detach_state(state)
        return loss.item()

    def evaluate(self, streams):
        return self.evaluate_fn(self.model, streams)


class TorchRunner:
    name = "PyTorch"

    def __init__(self, torch, vocab_size, weights):
        nn = torch.nn
        self.torch = torch

        class TorchCharModel(nn.Module):
            """The same architecture and parameter names as charrnn.model.CharModel."""

            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(vocab_size, RECIPE["embed"])
                self.rnn = nn.LSTM(RECIPE["embed"], RECIPE["hidden"], RECIPE["layers"])
                self.drop = nn.Dropout(RECIPE["dropout"])
                self.decoder = nn.Linear(RECIPE["hidden"], vocab_size)

            def forward(self, x, state=None):
                y, state = self.rnn(self.embed(x), state)
                y = self.drop(y)
                return self.decoder(y.reshape(-1, y.shape[-1])), state

        self.model = TorchCharModel()
        self.model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
        self.model.train()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=RECIPE["lr"])
        self.state = None

    def step(self, x, y, new_epoch):
        torch = self.torch
        if new_epoch:
            self.state = None
        logits, state = self.model(torch.from_numpy(x), self.state)
        loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y))
        self.opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), RECIPE["clip"])
        self.opt.step()
        self.state = tuple(s.detach() for s in state)
        return loss.item()

    def evaluate(self, streams):
        torch = self.torch
        self.model.eval()
        total, count, state = 0.0, 0, None
        with torch.no_grad():
            for w in range(streams.windows):
                x, y = streams.window(w)
                logits, state = self.model(torch.from_numpy(x), state)
                total += torch.nn.functional.cross_entropy(logits, torch.from_numpy(y),
                                                           reduction="sum").item()
                count += y.shape[0]
        self.model.train()
        return total / count


class Track:
    """One library's progress: step, data position, training seconds, evaluations."""

    def __init__(self, runner):
        self.runner, self.step, self.window, self.seconds = runner, 0, 0, 0.0
        self.evals = []          # (step, training seconds so far, val loss)
        self.last_loss = None

    def train(self, streams, steps):
        for _ in range(steps):
            x, y = streams.window(self.window)
            t0 = time.perf_counter()
            self.last_loss = self.runner.step(x, y, self.window == 0)
            self.seconds += time.perf_counter() - t0
            self.step += 1
            self.window = (self.window + 1) % streams.windows

    def evaluate(self, streams):
        self.evals.append((self.step, self.seconds, self.runner.evaluate(streams)))

    def time_to(self, target):
        """Training seconds at which the val loss first reaches `target` (interpolated
        linearly between evaluations), or None."""
        previous = (0, 0.0, math.inf)
        for step, seconds, val in self.evals:
            if val <= target:
                _, t0, v0 = previous
                if not math.isfinite(v0):
                    return seconds
                return t0 + (v0 - target) / (v0 - val) * (seconds - t0)
            previous = (step, seconds, val)
        return None

    def reached(self, target):
        return any(val <= target for _, _, val in self.evals)


# ---- the measurement ------------------------------------------------------------------------


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    common.pin_threads(args.threads)
    torch = None if args.no_torch else common.optional_torch(args.threads)
    import minigrad
    minigrad.set_num_threads(args.threads)
    from charrnn.data import DEFAULT_DATA, Streams, Vocab, read_text, split
    from charrnn.train import val_streams

    text = read_text(DEFAULT_DATA)
    vocab = Vocab.from_text(text)
    train_ids, val_ids = split(vocab.encode(text), RECIPE["val_fraction"])
    train = Streams(train_ids, RECIPE["batch"], RECIPE["seq_len"])
    val = val_streams(val_ids, RECIPE["seq_len"])

    mg_runner = MinigradRunner(len(vocab))
    tracks = [Track(mg_runner)]
    if torch is not None:
        tracks.append(Track(TorchRunner(torch, len(vocab), mg_runner.initial_weights())))
    print(f"# char-RNN quality/speed | {common.machine_line()}")
    print(f"# {args.threads} threads | torch {torch.__version__ if torch else 'not installed'} | "
          f"recipe: " + ", ".join(f"{k} {v}" for k, v in RECIPE.items()))
    plan = f"{args.steps} steps each" if args.steps else \
        f"until val <= {args.target} and >= 1000 steps (at most {args.max_steps})"
    print(f"# {plan}, evaluation every {args.eval_every} steps, alternating chunks of "
          f"{args.chunk} steps", flush=True)

    def finished():
        step = tracks[0].step
        if args.steps is not None:
            return step >= args.steps
        if args.minutes is not None and max(t.seconds for t in tracks) >= args.minutes * 60:
            return True
        if step >= args.max_steps:
            return True
        return step >= 1000 and all(t.reached(args.target) for t in tracks)

    wall = time.perf_counter()
    while not finished():
        to_eval = args.eval_every - tracks[0].step % args.eval_every
        chunk = min(args.chunk, to_eval)
        if args.steps is not None:
            chunk = min(chunk, args.steps - tracks[0].step)
        for track in tracks:
            track.train(train, chunk)
        if tracks[0].step % args.eval_every == 0:
            for track in tracks:
                track.evaluate(val)
            cells = " | ".join(f"{t.runner.name} val {t.evals[-1][2]:.4f} ({t.seconds:.0f} s)"
                               for t in tracks)
            print(f"step {tracks[0].step:5d}: {cells}", flush=True)
    wall = time.perf_counter() - wall
    report(args, tracks, train, wall)
    write_curve(args, tracks)
    print_sample(mg_runner, vocab)
    return 0


def report(args, tracks, train, wall):
    names = [t.runner.name for t in tracks]
    rows = []
    for i, (step, _, _) in enumerate(tracks[0].evals):
        vals = [t.evals[i][2] for t in tracks]
        row = [step] + [f"{v:.4f}" for v in vals] + [f"{t.evals[i][1]:.1f}" for t in tracks]
        if len(tracks) == 2:
            row.insert(3, f"{vals[0] - vals[1]:+.4f}".replace("+", ""))
        rows.append(row)
    columns = ["step"] + [f"{n} val" for n in names] + (["diff"] if len(tracks) == 2 else []) \
        + [f"{n} train s" for n in names]
    common.print_table("validation loss (nats/char) and training time", columns, rows)

    chars = tracks[0].step * train.chars_per_window
    rates = [chars / t.seconds for t in tracks]
    times = [t.time_to(args.target) for t in tracks]
    summary = []
    for t, rate, reach in zip(tracks, rates, times):
        at_1000 = next((v for s, _, v in t.evals if s == 1000), None)
        summary.append([t.runner.name, round(rate), None if reach is None else f"{reach:.1f}",
                        None if at_1000 is None else f"{at_1000:.4f}",
                        f"{t.evals[-1][2]:.4f}" if t.evals else None])
    notes = [f"wall time of the whole benchmark: {wall / 60:.1f} min (evaluations included)"]
    if len(tracks) == 2:
        gap = tracks[0].evals[-1][2] - tracks[1].evals[-1][2]
        notes.insert(0, f"minigrad / PyTorch: time to val {args.target}: "
                        f"{common.ratio(times[0], times[1])} (target <= 0.67x), "
                        f"chars/s {common.ratio(rates[0], rates[1])}, "
                        f"last val difference {gap:+.4f} nats/char (must stay within 0.03)")
    common.print_table(f"summary ({tracks[0].step} steps, {args.threads} threads)",
                       ["library", "chars/s", f"s to val {args.target}", "val @1000",
                        "last val"], summary, notes)


def write_curve(args, tracks):
    try:
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, "curve.csv")
        with open(path, "w") as f:
            f.write("library,step,train_seconds,val_loss\n")
            for t in tracks:
                for step, seconds, val in t.evals:
                    f.write(f"{t.runner.name},{step},{seconds:.2f},{val:.6f}\n")
    except OSError as exc:
        print(f"(could not write the curve to {args.out}: {exc})")
        return
    written = [path]
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=110)
        for t in tracks:
            steps = [s for s, _, _ in t.evals]
            secs = [x / 60 for _, x, _ in t.evals]
            vals = [v for _, _, v in t.evals]
            axes[0].plot(steps, vals, "o-", ms=3, label=t.runner.name)
            axes[1].plot(secs, vals, "o-", ms=3, label=t.runner.name)
        for ax, xlabel in zip(axes, ["step", "training minutes"]):
            ax.axhline(args.target, color="gray", lw=0.8, ls="--")
            ax.set_xlabel(xlabel)
            ax.set_ylabel("validation loss (nats/char)")
            ax.grid(alpha=0.3)
            ax.legend()
        threads = f"{args.threads} thread" + ("s" if args.threads > 1 else "")
        fig.suptitle(f"char-RNN 2x256 LSTM, minigrad beside PyTorch, {threads}", fontsize=10)
        fig.tight_layout()
        fig.savefig(os.path.join(args.out, "curve.png"))
        written.append(os.path.join(args.out, "curve.png"))
    except ImportError:
        pass
    print(f"curve: {', '.join(written)}")


def print_sample(runner, vocab):
    from charrnn.sample import Sampler
    sampler = Sampler(runner.model, vocab, temperature=0.8, seed=0)
    text = "".join(sampler.generate("\n", 400))
    print("\nsample from minigrad's model (temperature 0.8):\n" + text, flush=True)


if __name__ == "__main__":
    sys.exit(main())
