"""Why plain RNNs forget: the gradient of a late loss with respect to early hidden states.

For a tanh RNN, a GRU and an LSTM of the same hidden size we run random input sequences of
length T = 100, put a loss on the LAST step only, and measure, for every step t,

    ||dL/dh_t||        (the Frobenius norm over the batch)

as a function of the lag = T - t + 1 (lag 1 is the last state h_T, lag 100 the first, h_1).
The gradient reaching h_t is the product of the step Jacobians dh_(s+1)/dh_s for s = t..T-1:
for a tanh RNN that is diag(1 - h^2) W_hh per step, which shrinks geometrically when W_hh's
spectral radius is below 1 (and can blow up above it); the gates of a GRU (h' = z*h + ...) and
the additive cell of an LSTM (c' = f*c + ...) give the gradient a path that is multiplied by a
gate close to 1 instead.

We measure at initialisation and after a short training on a task that needs the last few
inputs (predict the mean of the first input channel over the last 10 steps), each averaged over
several seeds (geometric mean of the ratios: they span many orders of magnitude); then the tanh
RNN with W_hh rescaled to spectral radius 0.5, 1.0 and 1.5.

How the tape makes this easy: the composed cells (nn.RNNCell, nn.GRUCell, nn.LSTMCell) are
written from primitive ops, so running them step by step leaves every h_t on the tape as an
ordinary tensor.  ONE call of minigrad.autograd.grad(loss, [h_1, ..., h_T]) then walks the tape
backward once and hands back dL/dh_t for all t -- the gradients the backward pass computes
anyway on its way to the weights.  (h_t.retain_grad() before loss.backward() gives the same
numbers in h_t.grad; the tests check that the two agree.)  Training uses the fused layers
(nn.RNN/GRU/LSTM: one C op per sequence, fast); the cells used for measuring share the very same
Parameter objects with the trained layer.

    python examples/vanishing_gradients.py                 # defaults below
    python examples/vanishing_gradients.py --seeds 2 --train-steps 50    # quicker

Writes into --out (default runs/vanishing_gradients): results.json and, when matplotlib is
installed, gradient_norms.png.
"""
import argparse
import json
import math
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
from cli import (OneLineParser, name_list, non_negative_int, positive_float,  # noqa: E402
                 positive_int)

MODELS = {"rnn": ("tanh RNN", nn.RNN, nn.RNNCell),
          "gru": ("GRU", nn.GRU, nn.GRUCell),
          "lstm": ("LSTM", nn.LSTM, nn.LSTMCell),
          # The same LSTM with its forget-gate bias started at 1 (Gers et al. 2000; Jozefowicz
          # et al. 2015) instead of PyTorch's U(-1/sqrt(H), 1/sqrt(H)): f = sigmoid(1) = 0.73
          # instead of about 0.5, so the cell path c' = f*c + ... keeps more of the gradient.
          "lstm-fb1": ("LSTM, b_f=1", nn.LSTM, nn.LSTMCell)}
LAGS = (1, 10, 25, 50, 100)
# float64: the ratios fall below 1e-38, float32's smallest normal number, where float32 would
# print zeros.  Every kernel exists in both dtypes, so this is one argument.
DTYPE = mg.float64
RADII = (0.5, 1.0, 1.5)
DEFAULTS = dict(length=100, hidden=64, input_size=4, batch=32, seeds=5, train_steps=200,
                lr=3e-3, memory=10, threads=None, out=os.path.join("runs", "vanishing_gradients"))


# ---- the model: a fused layer for training, composed cells that share its weights ----------


class Net(nn.Module):
    """A one-layer recurrent net read out at the last step by a linear head."""

    def __init__(self, kind, input_size, hidden, dtype=DTYPE):
        super().__init__()
        self.kind = kind
        self.rnn = MODELS[kind][1](input_size, hidden, dtype=dtype)   # fused (the default impl)
        self.head = nn.Linear(hidden, 1, dtype=dtype)
        if kind == "lstm-fb1":   # gates are stacked i, f, g, o: rows H..2H are the forget gate
            with mg.no_grad():
                self.rnn.bias_ih_l0[hidden:2 * hidden].fill_(1.0)
                self.rnn.bias_hh_l0[hidden:2 * hidden].zero_()

    def forward(self, x):
        """x (T, B, in) -> (B, 1), through the fused C kernel."""
        out, _ = self.rnn(x)
        return self.head(out[-1])

    def cell(self):
        """The composed cell of the same kind, sharing the layer's Parameter objects
        (assigning a Parameter to a module registers that very object: no copy)."""
        cell = MODELS[self.kind][2](self.rnn.input_size, self.rnn.hidden_size,
                                    dtype=self.rnn.weight_hh_l0.dtype)
        cell.weight_ih, cell.weight_hh = self.rnn.weight_ih_l0, self.rnn.weight_hh_l0
        cell.bias_ih, cell.bias_hh = self.rnn.bias_ih_l0, self.rnn.bias_hh_l0
        return cell


def unroll(net, x):
    """Run the composed cell step by step and keep every hidden state.

    x (T, B, in).  Returns (hs, y): hs the list [h_1, ..., h_T] of (B, H) tensors -- each one
    the output of an op recorded on the tape, so autograd can hand us its gradient --, and
    y = head(h_T) (B, 1).

    Why not the fused layer: it is ONE op on the tape for the whole sequence, and the
    gradient flowing from h_(t+1) back into h_t never leaves its C kernel.  Its output (T, B, H)
    is a tensor on the tape, but the gradient of the loss with respect to it holds only the
    direct part (the loss reads h_T alone: zeros elsewhere), not what flows through time."""
    cell = net.cell()
    h, c = None, None
    hs = []
    for t in range(x.shape[0]):
        if isinstance(cell, nn.LSTMCell):      # the LSTM carries (h, c); we measure h
            h, c = cell(x[t], None if h is None else (h, c))
        else:
            h = cell(x[t], h)
        hs.append(h)
    return hs, net.head(h)


def gradient_norms(net, x, target):
    """||dL/dh_t|| for t = 1..T, with L = mse(head(h_T), target): a loss on the last step.

    One backward walk of the tape gives all T gradients: we ask autograd.grad for the
    gradient with respect to the hidden states themselves instead of the weights."""
    hs, y = unroll(net, x)
    loss = F.mse_loss(y, target)
    # The tape holds ~20 ops per step; grad() walks it once, latest op first, and collects the
    # gradient arriving at each h_t on the way (touching no .grad).  The same with retain_grad:
    #     for h in hs: h.retain_grad()
    #     loss.backward()              # then h.grad is dL/dh_t (and the weights get .grad too)
    grads = mg.autograd.grad(loss, hs)          # (dL/dh_1, ..., dL/dh_T), each (B, H)
    with mg.no_grad():
        return [(g * g).sum().sqrt().item() for g in grads]


# ---- the data and the short training -------------------------------------------------------


def make_batch(length, batch, input_size, memory, rng):
    """Random sequences x (T, B, in) ~ N(0, 1) and the target (B, 1): the mean of input
    channel 0 over the last `memory` steps (numpy draws the numbers; minigrad does the mean)."""
    x = mg.tensor(rng.standard_normal((length, batch, input_size)), dtype=DTYPE)
    target = x[length - memory:, :, 0].mean(0).reshape(batch, 1)
    return x, target


def train(net, steps, args, rng):
    """A short training of the fused layer with Adam (gradient norm clipped at 1)."""
    opt = mg.optim.Adam(net.parameters(), lr=args.lr)
    loss = None
    for _ in range(steps):
        x, target = make_batch(args.length, args.batch, args.input_size, args.memory, rng)
        loss = F.mse_loss(net(x), target)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
    return None if loss is None else loss.item()


# ---- the spectral radius of W_hh -----------------------------------------------------------


def spectral_radius(w, iters=1000):
    """The spectral radius of a square matrix by power iteration, with minigrad ops.

    v <- W v / ||W v||; the growth factors ||W v|| multiply up to ||W^k v0|| ~ C rho^k, so
    their geometric mean over the iterations tends to rho even when the largest eigenvalues are
    a complex pair (where v itself never converges, as for most random matrices).  The first
    half of the iterations is a warm-up; the error of the estimate falls like 1/iters."""
    with mg.no_grad():
        v = mg.randn(w.shape[0], 1, dtype=w.dtype)
        v = v / (v * v).sum().sqrt()
        log_growth = 0.0
        for k in range(iters):
            v = w @ v
            norm = (v * v).sum().sqrt()
            v = v / norm
            if k >= iters // 2:
                log_growth += math.log(norm.item())
    return math.exp(log_growth / (iters - iters // 2))


def scale_recurrent_weight(net, radius):
    """Rescale W_hh in place to the given spectral radius; returns (before, after)."""
    w = net.rnn.weight_hh_l0
    before = spectral_radius(w)
    with mg.no_grad():
        w.mul_(radius / before)
    return before, spectral_radius(w)


# ---- the experiment ------------------------------------------------------------------------


def geometric_mean_ratios(curves):
    """curves: one list of norms per seed (index 0 = lag 1).  Each is divided by its lag-1
    value, then the seeds are averaged in log space."""
    out = []
    for lag in range(len(curves[0])):
        logs = [math.log(c[lag] / c[0]) if c[lag] > 0 else -math.inf for c in curves]
        out.append(math.exp(sum(logs) / len(logs)))
    return out


def by_lag(norms):
    """norms[t-1] for t = 1..T  ->  list indexed by lag - 1 (lag 1 = the last state)."""
    return list(reversed(norms))


def run(args, log=print):
    rows = {}   # label -> relative norm per lag (index 0 = lag 1)
    notes = []
    kinds = [k for k in MODELS if k in args.models]
    at_init = {k: [] for k in kinds}
    trained = {k: [] for k in kinds}
    radius = {r: [] for r in RADII}
    final_losses = {k: [] for k in kinds}
    start = time.perf_counter()
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        probe = make_batch(args.length, args.batch, args.input_size, args.memory,
                           np.random.default_rng(1000 + seed))
        for kind in kinds:
            mg.manual_seed(seed)
            net = Net(kind, args.input_size, args.hidden)
            at_init[kind].append(by_lag(gradient_norms(net, *probe)))
            final_losses[kind].append(train(net, args.train_steps, args, rng))
            trained[kind].append(by_lag(gradient_norms(net, *probe)))
        if "rnn" in kinds:
            for r in RADII:
                mg.manual_seed(seed)
                net = Net("rnn", args.input_size, args.hidden)
                before, after = scale_recurrent_weight(net, r)
                if seed == 0:
                    notes.append((r, before, after, _eigvals_check(net.rnn.weight_hh_l0)))
                radius[r].append(by_lag(gradient_norms(net, *probe)))
        log(f"  seed {seed} done ({time.perf_counter() - start:.0f} s)")
    for kind in kinds:
        rows[f"{MODELS[kind][0]}, init"] = geometric_mean_ratios(at_init[kind])
    for kind in kinds:
        rows[f"{MODELS[kind][0]}, trained"] = geometric_mean_ratios(trained[kind])
    if "rnn" in kinds:
        for r in RADII:
            rows[f"tanh RNN, rho(W_hh)={r}"] = geometric_mean_ratios(radius[r])
    losses = {MODELS[k][0]: sum(v) / len(v) for k, v in final_losses.items()
              if v and v[0] is not None}
    return dict(rows=rows, radius_notes=notes, train_losses=losses,
                seconds=time.perf_counter() - start)


def _eigvals_check(w):
    """A one-off cross-check of the power iteration, outside the compute path: numpy's
    LAPACK eigenvalues of W_hh (measurement only; nothing is trained with it)."""
    return float(np.abs(np.linalg.eigvals(w.detach().numpy().astype(np.float64))).max())


def shown_lags(args):
    """The table's lags that a sequence of args.length steps has."""
    return [k for k in LAGS if k <= args.length]


def format_table(result, args):
    lines = [f"||dL/dh_t|| relative to lag 1 (h_T), T = {args.length}, hidden {args.hidden}, "
             f"geometric mean over {args.seeds} seeds",
             f"{'model':<26}" + "".join(f"{'lag ' + str(k):>10}" for k in shown_lags(args))]
    for label, rel in result["rows"].items():
        lines.append(f"{label:<26}" + "".join(f"{rel[k - 1]:>10.2e}" for k in shown_lags(args)))
    if result["radius_notes"]:
        lines.append("")
        lines.append("spectral radius of W_hh (seed 0): power iteration with minigrad ops, "
                     "checked once with numpy.linalg.eigvals")
        for r, before, after, check in result["radius_notes"]:
            lines.append(f"  target {r}: PyTorch init {before:.3f} -> rescaled {after:.3f} "
                         f"(eigvals: {check:.3f})")
    if result["train_losses"]:
        lines.append("")
        lines.append(f"training: {args.train_steps} Adam steps, predict the mean of input 0 over "
                     f"the last {args.memory} steps; final train MSE (mean over seeds; "
                     f"the target's variance is {1 / args.memory:.3f}): " +
                     ", ".join(f"{k} {v:.4f}" for k, v in result["train_losses"].items()))
    return "\n".join(lines)


def plot(result, args, path):
    """Log-scale curves: the three models (init solid, trained dashed), and the tanh RNN at
    three spectral radii.  Returns False when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    lags = list(range(1, args.length + 1))
    for label, rel in result["rows"].items():
        if "rho" in label:
            ax2.plot(lags, rel, label=label.replace("tanh RNN, ", ""))
        else:
            ax1.plot(lags, rel, label=label, linestyle="--" if "trained" in label else "-")
    for ax, title in ((ax1, "models (solid: init, dashed: trained)"),
                      (ax2, "tanh RNN, W_hh rescaled")):
        ax.set_yscale("log")
        ax.set_xlabel("lag T - t + 1")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7)
    ax1.set_ylabel("||dL/dh_t|| / ||dL/dh_T||")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def parse_args(argv=None):
    p = OneLineParser(description=__doc__.split("\n\n")[0],
                      formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--length", type=positive_int, default=DEFAULTS["length"],
                   help="sequence length T (at least 2)")
    p.add_argument("--hidden", type=positive_int, default=DEFAULTS["hidden"])
    p.add_argument("--input-size", type=positive_int, default=DEFAULTS["input_size"])
    p.add_argument("--batch", type=positive_int, default=DEFAULTS["batch"])
    p.add_argument("--seeds", type=positive_int, default=DEFAULTS["seeds"])
    p.add_argument("--train-steps", type=non_negative_int, default=DEFAULTS["train_steps"],
                   help="training steps of the \"trained\" rows (0: none)")
    p.add_argument("--lr", type=positive_float, default=DEFAULTS["lr"])
    p.add_argument("--memory", type=positive_int, default=DEFAULTS["memory"],
                   help="the training target averages input 0 over this many last steps")
    p.add_argument("--models", type=name_list(list(MODELS)), default=",".join(MODELS),
                   help=f"subset of {','.join(MODELS)}")
    p.add_argument("--threads", type=positive_int, default=DEFAULTS["threads"])
    p.add_argument("--out", default=DEFAULTS["out"])
    args = p.parse_args(argv)
    if args.length < 2 or args.memory > args.length:
        p.error("--length must be at least 2 and --memory in [1, length]")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        mg.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    print(f"vanishing gradients: T {args.length}, hidden {args.hidden}, batch {args.batch}, "
          f"{args.seeds} seeds, {args.train_steps} training steps, {mg.get_num_threads()} threads")
    result = run(args)
    table = format_table(result, args)
    print()
    print(table)
    print(f"\ntotal time {result['seconds']:.0f} s")
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(dict(settings=vars(args), lags=shown_lags(args), table=table, **result), f,
                  indent=1)
    path = os.path.join(args.out, "gradient_norms.png")
    if plot(result, args, path):
        print(f"plot: {path}")
    else:
        print("matplotlib is not installed: gradient_norms.png skipped "
              "(pip install 'minigrad-c[examples]')")
    return result


if __name__ == "__main__":
    main()
