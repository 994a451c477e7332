"""The loss curve as a PNG (matplotlib is optional: without it, no picture and one note)."""
import math
import os

NO_MATPLOTLIB = ("matplotlib is not installed: no loss-curve PNG (the numbers are in log.csv; "
                 "pip install -e '.[examples]' adds it)")


def have_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def write_loss_curve(path, train, val, title):
    """Plot train [(step, loss)] and val [(step, loss)] (nats/char; bits/char on the right
    axis) to `path`, written beside it first and renamed into place.  Returns False
    when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    if train:
        ax.plot([s for s, _ in train], [v for _, v in train], lw=1, alpha=0.7,
                label="train (mean of 10 steps)")
    if val:
        ax.plot([s for s, _ in val], [v for _, v in val], "o-", ms=3, lw=1.5, label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats/char)")
    bits = ax.secondary_yaxis("right", functions=(lambda n: n / math.log(2),
                                                  lambda b: b * math.log(2)))
    bits.set_ylabel("bits/char")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)
    return True
