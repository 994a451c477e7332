"""The optimizer family's rules, the same on every device: hyperparameter
checks of each update, the rules on param / grad / state arrays (one dtype,
one shape, state updated in place so contiguous, writable and not
overlapping), and norm_pow's p.
"""
import math


def check_update(op, param, grad, inplace, may_share_memory):
    """param, grad and the state arrays of one update (arrays of the table's device).
    `inplace` maps names to the arrays updated in place, param first;
    `may_share_memory(a, b)` is the device's overlap test."""
    for name, arr in list(inplace.items()) + [("grad", grad)]:
        if arr.dtype != param.dtype:
            raise TypeError(f"{op}: {name} has dtype {arr.dtype}, expected {param.dtype} "
                            f"like param")
        if arr.shape != param.shape:
            raise ValueError(f"{op}: {name} has shape {arr.shape}, expected {param.shape} "
                             f"like param")
    for name, arr in inplace.items():
        if not arr.flags.c_contiguous:
            raise ValueError(f"{op}: {name} (shape {arr.shape}) must be C-contiguous: "
                             f"it is updated in place")
        if not arr.flags.writeable:
            raise ValueError(f"{op}: {name} (shape {arr.shape}) is read-only")
    # Overlapping buffers would silently mix two states (or a state and the
    # gradient); refuse them.  may_share_memory only compares address ranges.
    named = list(inplace.items()) + [("grad", grad)]
    for i, (name_a, a) in enumerate(named):
        for name_b, b in named[i + 1:]:
            if a.size and b.size and may_share_memory(a, b):
                raise ValueError(f"{op}: {name_a} and {name_b} share memory; each needs "
                                 f"its own buffer")


def details(param):
    """A failed kernel's details (built only on failure)."""
    return lambda: f"shape={param.shape}, dtype={param.dtype}"


def step_count(op, step):
    """The 1-based count of updates, this one included."""
    step = int(step)
    if step < 1:
        raise ValueError(f"{op}: step counts updates including this one and must be >= 1, "
                         f"got {step}")
    return step


def sgd_hyperparameters(op, momentum, dampening, nesterov, buf):
    """(momentum, dampening) as floats; Nesterov needs momentum and no dampening,
    momentum needs a buffer."""
    momentum, dampening = float(momentum), float(dampening)
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError(f"{op}: Nesterov momentum requires momentum > 0 and zero dampening, "
                         f"got momentum={momentum}, dampening={dampening}")
    if momentum != 0 and buf is None:
        raise ValueError(f"{op}: momentum={momentum} needs a momentum buffer, got None")
    return momentum, dampening


def adam_hyperparameters(op, step, beta1, beta2, exp_avg, exp_avg_sq):
    """(step, beta1, beta2); betas in [0, 1), both moments given."""
    step = step_count(op, step)
    beta1, beta2 = float(beta1), float(beta2)
    if not (0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0):
        raise ValueError(f"{op}: betas must be in [0, 1), got ({beta1}, {beta2})")
    if exp_avg is None or exp_avg_sq is None:
        raise ValueError(f"{op}: exp_avg and exp_avg_sq are required")
    return step, beta1, beta2


def adagrad_hyperparameters(op, step, state_sum):
    """step; state_sum given."""
    step = step_count(op, step)
    if state_sum is None:
        raise ValueError(f"{op}: state_sum is required")
    return step


def rmsprop_hyperparameters(op, momentum, square_avg, momentum_buf):
    """momentum as a float; square_avg given, and momentum_buf when momentum > 0."""
    momentum = float(momentum)
    if square_avg is None:
        raise ValueError(f"{op}: square_avg is required")
    if momentum > 0 and momentum_buf is None:
        raise ValueError(f"{op}: momentum={momentum} needs momentum_buf, got None")
    return momentum


def norm_pow_p(op, p, x):
    """p as a float: not NaN, and not -inf over an empty x (its min |x| is undefined)."""
    p = float(p)
    if math.isnan(p):
        raise ValueError(f"{op}: p must be a number, got nan")
    if p == -math.inf and x.size == 0:
        raise ValueError(f"{op}: min |x| (p=-inf) of an empty array (shape {x.shape})")
    return p
