"""The options that define a run, and the optimizer and lr schedule built from them.

A run is fixed by RUN_DEFAULTS' keys (model, sizes, data layout, optimizer,
schedule, seed).  A new run takes them from the command line (defaults filled
in); a resumed run takes them from its checkpoint, and giving a different value
is an error -- it would not continue the same run.  The budget (--steps,
--minutes) may be extended on resume.
"""
import math
import os

from minigrad import optim

from charrnn.data import DEFAULT_DATA
from charrnn.errors import CharRNNError

# The options that define a run (default values); on --resume they come from the checkpoint.
RUN_DEFAULTS = dict(model="lstm", hidden=256, layers=2, embed=64, dropout=0.0, batch=32,
                    seq_len=100, lr=None, optimizer="adam", clip=5.0, schedule="constant",
                    seed=1234, val_fraction=0.1)
# adam 3e-3: lower validation loss than 2e-3 over the first ~2,000 steps of the default model
# (measured: 1.708 vs 1.775 at step 400, 1.574 vs 1.620 at step 800).
DEFAULT_LR = dict(adam=3e-3, rmsprop=2e-3, adagrad=5e-2, sgd=1.0)
DEFAULT_MINUTES = 3.5    # the budget when neither --steps nor --minutes is given


def option_name(key):
    return "--" + key.replace("_", "-")



def resolve_config(args, ckpt):
    """The run's config: defaults + options for a new run; the checkpoint's for a resumed
    one, where a differing option is an error (it would not continue the same run)."""
    given = {k: getattr(args, k) for k in RUN_DEFAULTS if getattr(args, k, None) is not None}
    if ckpt is None:
        config = dict(RUN_DEFAULTS, **given)
        if config["lr"] is None:
            config["lr"] = DEFAULT_LR[config["optimizer"]]
        config["data"] = os.path.abspath(args.data or DEFAULT_DATA)
        config["steps"], config["minutes"] = args.steps, args.minutes
        if args.steps is None and args.minutes is None:
            config["minutes"] = DEFAULT_MINUTES
    else:
        config = dict(ckpt["config"])
        conflicts = [k for k, v in given.items() if k in config and v != config[k]]
        if conflicts:
            was = " ".join(f"{option_name(k)} {config[k]}" for k in conflicts)
            now = " ".join(f"{option_name(k)} {given[k]}" for k in conflicts)
            raise CharRNNError(f"--resume: the checkpoint was trained with {was}; it cannot "
                               f"continue with {now} (drop those options, or start a new run "
                               f"with another --out)")
        if args.data is not None:
            config["data"] = os.path.abspath(args.data)
        if args.steps is not None or args.minutes is not None:
            config["steps"], config["minutes"] = args.steps, args.minutes
    if ckpt is None:
        # The cosine's length is fixed when the run starts; a resume with more --steps
        # trains on at the final lr.
        config["schedule_steps"] = config["steps"]
        if config["schedule"] == "cosine" and config["steps"] is None:
            raise CharRNNError("--schedule cosine needs --steps (the length of the cosine)")
    return config



def make_optimizer(config, params):
    name, lr = config["optimizer"], config["lr"]
    if name == "adam":
        return optim.Adam(params, lr=lr)
    if name == "sgd":
        return optim.SGD(params, lr=lr)
    if name == "adagrad":
        return optim.Adagrad(params, lr=lr)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr)
    raise CharRNNError(f"--optimizer {name!r}: expected adam, sgd, adagrad or rmsprop")


class CosineDecay:
    """lr factor at step s: from 1 down to 1/20 along half a cosine over `steps`, then 1/20.
    (A callable object, not a lambda, so its state travels in the scheduler's state dict.)"""

    FLOOR = 0.05

    def __init__(self, steps):
        self.steps = steps

    def __call__(self, step):
        t = min(step, self.steps) / self.steps
        return self.FLOOR + (1 - self.FLOOR) * 0.5 * (1 + math.cos(math.pi * t))


def make_scheduler(config, optimizer):
    if config["schedule"] == "cosine":
        return optim.lr_scheduler.LambdaLR(optimizer, CosineDecay(config["schedule_steps"]))
    return None

