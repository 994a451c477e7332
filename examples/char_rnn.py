"""A character-level language model on minigrad: train it on any text, then sample from it.

    python examples/char_rnn.py train                      # the bundled Shakespeare, ~3.5 minutes
    python examples/char_rnn.py train --data my.txt --minutes 10 --out runs/mine
    python examples/char_rnn.py train --out runs/mine --resume          # continue a run
    python examples/char_rnn.py sample --checkpoint runs/mine/best.safetensors --prime "ROMEO:"

`make run` runs the first line.  The pieces live in examples/charrnn/ (data,
model, train, sample, checkpoint, progress, plot); this file is the command line.
Bad input (a missing or non-UTF-8 file, a text too short, a checkpoint that does
not fit, ...) is reported as one line with a non-zero exit status.
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:          # importable from tests and benchmarks, not only as a script
    sys.path.insert(0, HERE)

from charrnn.errors import CharRNNError  # noqa: E402
from cli import (OneLineParser, dropout_p, fraction, non_negative_float,  # noqa: E402
                 non_negative_int, positive_float, positive_int, seed_value)

PROG = "char_rnn"
DEFAULT_OUT = os.path.join("runs", "char_rnn")
INTERRUPTED_EXIT = 130


# ---- the command line ------------------------------------------------------------------------


def build_parser():
    from charrnn.config import DEFAULT_LR, DEFAULT_MINUTES, RUN_DEFAULTS
    d = RUN_DEFAULTS
    parser = OneLineParser(
        prog=PROG, description="Train a character-level recurrent language model on a UTF-8 "
        "text with minigrad, and sample text from it.",
        epilog="Run 'char_rnn.py train --help' or 'char_rnn.py sample --help' for the options.")
    commands = parser.add_subparsers(dest="command", metavar="{train,sample}")
    commands.required = True

    t = commands.add_parser(
        "train", help="train a model (checkpoints, loss curve and log go to --out)",
        description="Train a character-level model with truncated backpropagation through time: "
        "the text is cut into --batch parallel streams read --seq-len characters at a time, and "
        "the recurrent state is carried (detached) from one window to the next. The first 90% "
        "of the text trains, the last 10% validates (--val-fraction). Ctrl-C saves a "
        "checkpoint and stops. Options marked [run] define the run: on --resume they come from "
        "the checkpoint and may be omitted.")
    data = t.add_argument_group("data")
    data.add_argument("--data", metavar="PATH", help="a UTF-8 text file to learn (default: the "
                      "bundled examples/data/tinyshakespeare.txt; on --resume, the checkpoint's)")
    data.add_argument("--val-fraction", type=fraction, metavar="F",
                      help=f"[run] the share of the text, taken from its end, held out for "
                      f"validation (default {d['val_fraction']})")
    model = t.add_argument_group("model")
    model.add_argument("--model", choices=["lstm", "gru", "rnn"],
                       help=f"[run] the recurrent cell: LSTM, GRU or a tanh RNN, all on "
                       f"minigrad's fused C path (default {d['model']})")
    model.add_argument("--hidden", type=positive_int, metavar="H",
                       help=f"[run] units per recurrent layer (default {d['hidden']})")
    model.add_argument("--layers", type=positive_int, metavar="N",
                       help=f"[run] stacked recurrent layers (default {d['layers']})")
    model.add_argument("--embed", type=positive_int, metavar="E",
                       help=f"[run] size of the learned character embedding (default "
                       f"{d['embed']})")
    model.add_argument("--dropout", type=dropout_p, metavar="P",
                       help=f"[run] dropout probability between recurrent layers and before the "
                       f"output layer, while training (default {d['dropout']})")
    training = t.add_argument_group("training")
    training.add_argument("--batch", type=positive_int, metavar="B",
                          help=f"[run] parallel streams per step (default {d['batch']})")
    training.add_argument("--seq-len", type=positive_int, metavar="T",
                          help=f"[run] characters per window: backpropagation reaches T steps "
                          f"back (default {d['seq_len']})")
    training.add_argument("--lr", type=positive_float, metavar="LR",
                          help="[run] learning rate (default: " + ", ".join(
                              f"{k} {v:g}" for k, v in DEFAULT_LR.items()) + ")")
    training.add_argument("--optimizer", choices=["adam", "sgd", "adagrad", "rmsprop"],
                          help=f"[run] the update rule (PyTorch's formulas, fused C kernels; "
                          f"default {d['optimizer']})")
    training.add_argument("--schedule", choices=["constant", "cosine"],
                          help="[run] learning rate over time: constant, or cosine decay to "
                          "lr/20 at the last step (needs --steps) (default constant)")
    training.add_argument("--clip", type=non_negative_float, metavar="C",
                          help=f"[run] rescale the gradients when their joint norm exceeds C; "
                          f"0 turns clipping off (default {d['clip']:g})")
    training.add_argument("--seed", type=seed_value,
                          help=f"[run] seed of the initial weights and dropout (default "
                          f"{d['seed']})")
    budget = t.add_argument_group("budget and reporting")
    budget.add_argument("--steps", type=positive_int, metavar="N",
                        help="stop at step N (counted over all sessions of a resumed run)")
    budget.add_argument("--minutes", type=positive_float, metavar="M",
                        help=f"stop after M minutes of training (all sessions together); with "
                        f"--steps, whichever comes first (default without either: "
                        f"{DEFAULT_MINUTES:g} minutes, or the checkpoint's budget on --resume)")
    budget.add_argument("--session-steps", type=positive_int, metavar="N",
                        help="stop this session after N steps and save a checkpoint, leaving "
                        "the run's budget and schedule as planned (continue with --resume)")
    budget.add_argument("--eval-every", type=positive_int, default=200, metavar="N",
                        help="measure the validation loss (nats/char and bits/char), save the "
                        "checkpoints and redraw the loss curve every N steps, and at the end "
                        "(default 200)")
    budget.add_argument("--progress", choices=["auto", "bar", "plain", "off"], default="auto",
                        help="a tqdm progress bar (step, train loss, last validation loss, "
                        "chars/s, ETA), a plain status line every 10 s, or only the evaluation "
                        "lines; auto: the bar when tqdm is installed and stderr is a terminal "
                        "(default auto)")
    budget.add_argument("--sample-length", type=non_negative_int, default=600, metavar="N",
                        help="characters to sample from the best checkpoint at the end; 0 "
                        "for none (default 600)")
    budget.add_argument("--sample-temperature", type=non_negative_float, default=0.8,
                        metavar="T", help="temperature of that sample (default 0.8)")
    files = t.add_argument_group("files and machine")
    files.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                       help="folder for latest.safetensors, best.safetensors (by validation "
                       "loss), log.csv and loss.png; created if needed; a new run moves an "
                       "earlier run's files to DIR/previous/ (default "
                       f"{DEFAULT_OUT})")
    files.add_argument("--resume", nargs="?", const="auto", metavar="CHECKPOINT",
                       help="continue a run exactly where it stopped (weights, optimizer, "
                       "schedule, random stream, data position, carried state): from "
                       "DIR/latest.safetensors, or the CHECKPOINT given (a run's folder: its "
                       "latest)")
    add_machine_options(files, train=True)

    s = commands.add_parser(
        "sample", help="generate text from a checkpoint, streamed as it is generated",
        description="Generate text from a trained checkpoint, one character at a time: "
        "softmax of the logits divided by the temperature, optionally restricted to the top-k "
        "characters, then a categorical draw -- all minigrad ops.")
    s.add_argument("--checkpoint", default=os.path.join(DEFAULT_OUT, "best.safetensors"),
                   metavar="PATH", help="a checkpoint written by 'train', or its --out folder "
                   "(default %(default)s)")
    s.add_argument("--length", type=non_negative_int, default=1000, metavar="N",
                   help="characters to generate after the prime (default 1000)")
    s.add_argument("--temperature", type=non_negative_float, default=0.8, metavar="T",
                   help="below 1: safer, more repetitive text; above 1: wilder; 0: always the "
                   "most likely character (greedy) (default 0.8)")
    s.add_argument("--top-k", type=non_negative_int, default=0, metavar="K",
                   help="draw only among the K most likely characters; 0: no limit, 1: greedy "
                   "(default 0)")
    s.add_argument("--prime", metavar="TEXT",
                   help="text to start from (printed first; its characters must be in the "
                   "model's vocabulary; \\n means a newline when the vocabulary has no "
                   "backslash) (default: a newline)")
    s.add_argument("--seed", type=seed_value,
                   help="seed of the draws: the same seed gives the same text (default: a new "
                   "seed each time)")
    add_machine_options(s, train=False)
    return parser


def thread_count(text):
    return text if text == "auto" else positive_int(text)


def add_machine_options(group, train):
    if train:
        group.add_argument("--threads", type=thread_count, metavar="N",
                           help="threads of minigrad's C core (OpenMP loops and BLAS together, "
                           "minigrad.set_num_threads), or 'auto': time a step at all cores and "
                           "at 1 and keep the faster (1 wins on a machine busy with other "
                           "work). Losses repeat exactly only at the same count, so a resumed "
                           "run keeps its count (default: MINIGRAD_NUM_THREADS if set, else "
                           "auto; on --resume, the checkpoint's)")
    else:
        group.add_argument("--threads", type=positive_int, metavar="N",
                           help="threads of minigrad's C core (default 1: one character at a "
                           "time is too little work to share)")
    group.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                       help="where to compute (default cpu; cuda needs a minigrad built with its "
                       "CUDA backend)")


# ---- commands ----------------------------------------------------------------------------


def check_device(device):
    """CPU always works; CUDA needs a minigrad built with it (make cuda) and a visible GPU."""
    if device == "cpu":
        return
    import minigrad
    try:
        minigrad.cuda.require("--device cuda")
    except RuntimeError as exc:
        raise CharRNNError(f"{exc}; use --device cpu") from None


def sample_command(args):
    from charrnn import checkpoint
    from charrnn.sample import Sampler, default_prime
    ckpt = checkpoint.read(args.checkpoint)
    model, vocab = checkpoint.restore_model(ckpt, args.checkpoint)
    model.to(args.device)
    prime = args.prime
    if prime is None:
        prime = default_prime(vocab)
    elif "\\" not in vocab.index:
        prime = prime.replace("\\n", "\n")
    if not prime:
        raise CharRNNError("--prime: give at least one character (or leave --prime out)")
    vocab.encode(prime, "--prime")   # unknown characters: an error before anything is printed
    seed = args.seed if args.seed is not None else time.time_ns() % (2 ** 63)
    sampler = Sampler(model, vocab, temperature=args.temperature, top_k=args.top_k, seed=seed)
    out = sys.stdout
    out.write(prime)
    out.flush()
    for ch in sampler.generate(prime, args.length):
        out.write(ch)
        out.flush()           # stream: each character shows as soon as it is drawn
    out.write("\n")
    out.flush()
    return 0


def main(argv=None):
    """The command line; returns the exit status (0 ok, 1 bad input, 2 bad options,
    130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_device(args.device)
        import minigrad
        if args.command == "sample":
            minigrad.set_num_threads(args.threads or 1)
        if args.command == "train":     # (train settles its thread count itself: --threads auto)
            from charrnn.train import train_command
            return train_command(args)
        return sample_command(args)
    except CharRNNError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr, flush=True)
        return INTERRUPTED_EXIT
    except BrokenPipeError:            # e.g. `sample | head`: the reader left, nothing to say
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except Exception as exc:           # a bug, or an input problem not foreseen: still one line
        if os.environ.get("CHAR_RNN_DEBUG"):
            raise
        text = " ".join(str(exc).split())
        print(f"{PROG}: error: {type(exc).__name__}: {text} (set CHAR_RNN_DEBUG=1 for the "
              f"traceback)", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
