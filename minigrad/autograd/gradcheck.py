"""Finite-difference checks of backward: gradcheck and gradgradcheck.

gradcheck compares, for every input that requires grad, the Jacobian that
backward computes (one backward per output element) with central differences
(f(x + eps) - f(x - eps)) / 2eps, elementwise within atol + rtol * |numerical|.
Defaults are PyTorch's.  Inputs must be float64: with float32's 7 digits,
a difference over eps=1e-6 keeps almost none of them.
"""
from minigrad import dtypes
from minigrad.autograd import grad_mode


class GradcheckError(AssertionError):
    pass


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _flat_values(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def _outputs(fn, inputs):
    from minigrad.tensor import Tensor
    outs = _as_tuple(fn(*inputs))
    return tuple(o for o in outs if isinstance(o, Tensor) and dtypes.is_float(o.dtype))


def _numerical_columns(fn, inputs, t, eps):
    """d(outputs)/d(t[j]) for every element j of t, as lists of floats per output."""
    array = t.data_array
    flat = array.reshape(-1)  # a view: t must be contiguous (checked by the caller)
    columns = []
    with grad_mode.no_grad():
        for j in range(flat.size):
            original = float(flat[j])
            # Read the values right away: an output may be a view of the input.
            flat[j] = original + eps
            plus = [_flat_values(o) for o in _outputs(fn, inputs)]
            flat[j] = original - eps
            minus = [_flat_values(o) for o in _outputs(fn, inputs)]
            flat[j] = original
            columns.append([[(p - m) / (2 * eps) for p, m in zip(a, b)]
                            for a, b in zip(plus, minus)])
    return columns


def _analytical_rows(outputs, diff_inputs):
    """For each output and each of its elements k: the gradients of output[k] w.r.t. the inputs."""
    from minigrad.autograd import grad
    from minigrad.creation import zeros_like
    rows = []
    for out in outputs:
        out_rows = []
        for k in range(out.numel()):
            seed = zeros_like(out)
            seed.data_array.reshape(-1)[k] = 1.0
            if not out.requires_grad:
                out_rows.append([None] * len(diff_inputs))
                continue
            grads = grad(out, diff_inputs, grad_outputs=seed, retain_graph=True, allow_unused=True)
            out_rows.append([None if g is None else _flat_values(g) for g in grads])
        rows.append(out_rows)
    return rows


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """True when backward matches finite differences for every input requiring grad.

    fn: a function of the inputs returning a tensor or a tuple of tensors.
    inputs: a tensor or a tuple; those with requires_grad=True are checked and must
    be float64, contiguous and on the CPU (to check a CUDA computation, move them
    inside fn: the gradient flows back through the copy)."""
    inputs = _as_tuple(inputs)
    diff_inputs = [t for t in inputs if getattr(t, "requires_grad", False)]
    if not diff_inputs:
        raise ValueError("gradcheck: no input requires grad")
    for i, t in enumerate(diff_inputs):
        if t.dtype != dtypes.float64:
            raise ValueError(f"gradcheck: input {i} is {t.dtype}; use float64 inputs (float32 "
                             f"keeps too few digits for finite differences with eps={eps})")
        if t.device != "cpu":
            raise ValueError(f"gradcheck: input {i} is on {t.device}; pass CPU inputs and move "
                             f"them inside fn (fn = lambda x: f(x.to('cuda'))): the finite "
                             f"differences perturb the inputs element by element on the host")
        if not t.data_array.flags.c_contiguous:
            raise ValueError(f"gradcheck: input {i} must be contiguous")
    outputs = _outputs(fn, inputs)
    analytical = _analytical_rows(outputs, diff_inputs)
    for i, t in enumerate(diff_inputs):
        numerical = _numerical_columns(fn, inputs, t, eps)
        for o, out in enumerate(outputs):
            for k in range(out.numel()):
                row = analytical[o][k][i]
                for j in range(t.numel()):
                    a = 0.0 if row is None else row[j]
                    n = numerical[j][o][k]
                    if not abs(a - n) <= atol + rtol * abs(n):
                        message = (f"gradcheck: Jacobian mismatch for output {o} with respect to "
                                   f"input {i}, at output element {k}, input element {j}: "
                                   f"numerical {n!r} vs analytical {a!r}")
                        if raise_exception:
                            raise GradcheckError(message)
                        return False
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True):
    """gradcheck of the backward itself: differentiates d(outputs)/d(inputs) . grad_outputs
    with respect to the inputs and grad_outputs (random when not given)."""
    from minigrad.autograd import grad
    from minigrad.creation import randn
    inputs = _as_tuple(inputs)
    diff_inputs = [t for t in inputs if getattr(t, "requires_grad", False)]
    outputs = _outputs(fn, inputs)
    if grad_outputs is None:
        grad_outputs = [randn(o.shape, dtype=dtypes.float64).requires_grad_() for o in outputs]
    grad_outputs = list(_as_tuple(grad_outputs))
    n_in = len(inputs)

    def first_derivatives(*args):
        ins, gouts = args[:n_in], args[n_in:]
        with grad_mode.enable_grad():  # finite differences call this under no_grad
            outs = _outputs(fn, ins)
            diff = [t for t in ins if getattr(t, "requires_grad", False)]
            grads = grad(outs, diff, grad_outputs=list(gouts), create_graph=True,
                         allow_unused=True)
        return tuple(g for g in grads if g is not None)

    if not diff_inputs:
        raise ValueError("gradgradcheck: no input requires grad")
    return gradcheck(first_derivatives, tuple(inputs) + tuple(grad_outputs), eps, atol, rtol,
                     raise_exception)
