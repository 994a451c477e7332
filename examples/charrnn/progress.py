"""Progress while training: a tqdm bar, or a plain line every few seconds without tqdm.

Both show the step, the training loss (a running mean), the last validation
loss, characters per second and the time left.  Messages (evaluations,
checkpoints) go through write() so they do not tear the bar.
"""
import os
import sys
import time

PLAIN_EVERY_S = 10.0


def tqdm_or_none():
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def terminal_width():
    """Columns of the terminal on stderr; 0 when it is not a terminal (or one of no size,
    where a bar would be cut down to nothing)."""
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns if sys.stderr.isatty() else 0
    except (OSError, ValueError, AttributeError):
        return 0


def choose_mode(requested):
    """'bar' when tqdm is installed and stderr is a terminal (for 'auto'), else 'plain';
    'off' prints only messages."""
    if requested == "auto":
        return "bar" if tqdm_or_none() is not None and terminal_width() > 0 else "plain"
    if requested == "bar" and tqdm_or_none() is None:
        return "plain"
    return requested


def format_duration(seconds):
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_rate(chars_per_s):
    return f"{chars_per_s / 1000:.1f}k" if chars_per_s >= 1000 else f"{chars_per_s:.0f}"


class Progress:
    """mode 'bar' | 'plain' | 'off'; total: the step budget if known (else estimated)."""

    def __init__(self, mode, start_step, total=None, out=None):
        self.mode, self.out = mode, out or sys.stdout
        self.step, self.total = start_step, total
        self.last_plain = time.perf_counter()
        self.bar = None
        if mode == "bar":
            tqdm = tqdm_or_none()
            self.bar = tqdm(total=total, initial=start_step, unit="step", dynamic_ncols=True,
                            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt}{postfix}",
                            desc="train", leave=True, file=sys.stderr)

    def update(self, step, loss, val, chars_per_s, eta_s, total=None):
        """Report the state after `step` (total: a new estimate of the last step)."""
        text = (f"loss {loss:.3f} | val {'-' if val is None else f'{val:.3f}'} | "
                f"{format_rate(chars_per_s)} chars/s | ETA {format_duration(eta_s)}")
        if self.bar is not None:
            if total is not None and total != self.bar.total:
                self.bar.total = total
            self.bar.set_postfix_str(text, refresh=False)
            self.bar.update(step - self.step)
        elif self.mode == "plain":
            now = time.perf_counter()
            if now - self.last_plain >= PLAIN_EVERY_S:
                self.last_plain = now
                of = f"/{total or self.total}" if (total or self.total) else ""
                self.write(f"step {step}{of} | {text}")
        self.step = step

    def write(self, line):
        if self.bar is not None:
            self.bar.write(line, file=self.out)
        else:
            print(line, file=self.out, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
