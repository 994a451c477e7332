"""Grad mode: whether ops run now are recorded for backward.

A one-element list is the switch, so the hot path reads it without a
function call.  `no_grad`, `enable_grad` and `set_grad_enabled` work both as
context managers and as decorators, as in PyTorch.
"""
import functools

_enabled = [True]


def is_grad_enabled():
    """True when new ops are recorded on the tape."""
    return _enabled[0]


class set_grad_enabled:
    """Turn recording on or off: ``with set_grad_enabled(False): ...``.

    Takes effect at construction (like PyTorch), so it also works as a plain call;
    leaving the ``with`` block restores the previous mode."""

    def __init__(self, mode):
        self.prev = _enabled[0]
        _enabled[0] = bool(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _enabled[0] = self.prev
        return False


class _GradModeContext:
    """Base of no_grad/enable_grad: a context manager that is also a decorator."""
    mode = True

    def __enter__(self):
        self.prev = _enabled[0]
        _enabled[0] = self.mode
        return self

    def __exit__(self, *exc):
        _enabled[0] = self.prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradModeContext):
    """Ops inside are not recorded: results have requires_grad=False."""
    mode = False


class enable_grad(_GradModeContext):
    """Recording on again, e.g. inside a no_grad block."""
    mode = True
