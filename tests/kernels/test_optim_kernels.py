"""Optimizer update kernels and norm_pow: 50-step trajectories against a numpy
float64 oracle (always) and against torch.optim on the same gradients (when
PyTorch is installed), threads, layouts and bad arguments."""
import math

import numpy as np
import pytest

from minigrad._native import ffi, lib
from minigrad.backend.cpu import adagrad_step, adam_step, norm_pow, rmsprop_step, sgd_step

STEPS = 50
SIZE = 257  # odd, so vector loops have a remainder


# ---- our optimizers, driven like torch.optim ---------------------------------
# Each class holds numpy state and calls one kernel per step; the keyword
# arguments are torch.optim's, so one settings dict drives both sides.

class SGD:
    def __init__(self, p, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                 maximize=False):
        self.p, self.kw = p, dict(lr=lr, momentum=momentum, dampening=dampening,
                                  weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        self.state = {"momentum_buffer": np.zeros_like(p)} if momentum else {}
        self.t = 0

    def step(self, g):
        self.t += 1
        sgd_step(self.p, g, self.state.get("momentum_buffer"), first_step=self.t == 1, **self.kw)


class Adam:
    def __init__(self, p, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, maximize=False, decoupled=False):
        self.p, self.t = p, 0
        self.kw = dict(lr=lr, beta1=betas[0], beta2=betas[1], eps=eps, weight_decay=weight_decay,
                       decoupled=decoupled, maximize=maximize)
        self.state = {"exp_avg": np.zeros_like(p), "exp_avg_sq": np.zeros_like(p)}
        if amsgrad:
            self.state["max_exp_avg_sq"] = np.zeros_like(p)

    def step(self, g):
        self.t += 1
        adam_step(self.p, g, step=self.t, **self.state, **self.kw)


class Adagrad:
    def __init__(self, p, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                 eps=1e-10, maximize=False):
        self.p, self.t = p, 0
        self.kw = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps,
                       maximize=maximize)
        self.state = {"sum": np.full_like(p, initial_accumulator_value)}

    def step(self, g):
        self.t += 1
        adagrad_step(self.p, g, self.state["sum"], self.t, **self.kw)


class RMSprop:
    def __init__(self, p, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, maximize=False):
        self.p = p
        self.kw = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                       maximize=maximize)
        self.state = {"square_avg": np.zeros_like(p)}
        if momentum > 0:
            self.state["momentum_buffer"] = np.zeros_like(p)
        if centered:
            self.state["grad_avg"] = np.zeros_like(p)

    def step(self, g):
        rmsprop_step(self.p, g, self.state["square_avg"], **self.kw,
                     momentum_buf=self.state.get("momentum_buffer"),
                     grad_avg=self.state.get("grad_avg"))


# ---- float64 numpy oracles: the same formulas, written out -------------------

def ref_sgd(p, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
            maximize=False):
    buf = None
    for g in grads:
        g = -g if maximize else g
        g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


def ref_adam(p, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
             maximize=False, decoupled=False):
    m, v, vmax = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, 1):
        g = -g if maximize else g
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        vmax = np.maximum(vmax, v)
        vhat = (vmax if amsgrad else v) / (1 - betas[1] ** t)
        p = p - lr / (1 - betas[0] ** t) * m / (np.sqrt(vhat) + eps)
    return p


def ref_adagrad(p, grads, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                eps=1e-10, maximize=False):
    s = np.full_like(p, initial_accumulator_value)
    for t, g in enumerate(grads, 1):
        g = (-g if maximize else g) + weight_decay * p
        s = s + g * g
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps)
    return p


def ref_rmsprop(p, grads, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                centered=False, maximize=False):
    sq, ga, buf = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    for g in grads:
        g = (-g if maximize else g) + weight_decay * p
        sq = alpha * sq + (1 - alpha) * g * g
        ga = alpha * ga + (1 - alpha) * g
        avg = np.sqrt(sq - ga * ga if centered else sq) + eps
        if momentum > 0:
            buf = momentum * buf + g / avg
            p = p - lr * buf
        else:
            p = p - lr * g / avg
    return p


CASES = {
    "sgd": (SGD, ref_sgd, [
        dict(lr=0.1),
        dict(lr=0.05, momentum=0.9),
        dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=1e-2),
        dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=1e-3),
        dict(lr=0.02, momentum=0.5, maximize=True, weight_decay=0.1),
    ]),
    "adam": (Adam, ref_adam, [
        dict(),
        dict(lr=1e-2, betas=(0.8, 0.95), eps=1e-6, weight_decay=1e-2),
        dict(lr=1e-2, amsgrad=True, maximize=True),
        dict(lr=1e-2, weight_decay=1e-2, decoupled=True),
        dict(lr=3e-3, betas=(0.5, 0.9), weight_decay=0.1, decoupled=True, amsgrad=True),
    ]),
    "adagrad": (Adagrad, ref_adagrad, [
        dict(),
        dict(lr=0.1, lr_decay=1e-2, weight_decay=1e-2),
        dict(lr=0.05, initial_accumulator_value=0.1, eps=1e-8, maximize=True),
    ]),
    "rmsprop": (RMSprop, ref_rmsprop, [
        dict(),
        dict(lr=1e-3, alpha=0.9, centered=True),
        dict(lr=1e-3, momentum=0.9, weight_decay=1e-2),
        dict(lr=1e-3, momentum=0.5, centered=True, weight_decay=1e-2, maximize=True),
    ]),
}
ALL = [(name, i) for name, (_, _, settings) in CASES.items() for i in range(len(settings))]


def gradients(rng, n, steps=STEPS):
    return [rng.standard_normal(n) * 0.5 + 0.1 for _ in range(steps)]


def run_ours(name, settings, p0, grads, dtype):
    cls = CASES[name][0]
    p = p0.astype(dtype)
    opt = cls(p, **settings)
    for g in grads:
        opt.step(g.astype(dtype))
    return p, opt.state


@pytest.mark.parametrize("name,i", ALL)
def test_trajectory_matches_numpy_oracle(name, i, dtype):
    _, ref, settings = CASES[name]
    settings = settings[i]
    rng = np.random.default_rng(i)
    p0 = rng.standard_normal(SIZE)
    grads = gradients(rng, SIZE)
    p, _ = run_ours(name, settings, p0, grads, dtype)
    expected = ref(p0.copy(), grads, **settings)
    assert np.abs(expected - p0).max() > 1e-3  # the steps moved something
    if dtype == np.float64:
        np.testing.assert_allclose(p, expected, rtol=1e-10, atol=1e-10)
    else:  # float32 inputs and float32 arithmetic against exact float64
        np.testing.assert_allclose(p, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name,i", ALL)
def test_trajectory_matches_torch(name, i, dtype):
    torch = pytest.importorskip("torch")
    cls, _, settings = CASES[name]
    settings = dict(settings[i])
    rng = np.random.default_rng(100 + i)
    p0 = rng.standard_normal(SIZE).astype(dtype)
    grads = [g.astype(dtype) for g in gradients(rng, SIZE)]

    tp = torch.nn.Parameter(torch.from_numpy(p0.copy()))
    torch_settings = dict(settings)
    if name == "adam":
        decoupled = torch_settings.pop("decoupled", False)
        topt = (torch.optim.AdamW if decoupled else torch.optim.Adam)(
            [tp], **{"weight_decay": 0.0, **torch_settings})
    else:
        topt = getattr(torch.optim, cls.__name__)([tp], **torch_settings)
    ours = cls(p0.copy(), **settings)
    for k, g in enumerate(grads):
        tp.grad = torch.from_numpy(g.copy())
        topt.step()
        ours.step(g)
        want = tp.detach().numpy()
        if dtype == np.float64:
            np.testing.assert_allclose(ours.p, want, rtol=1e-10, atol=1e-10,
                                       err_msg=f"step {k + 1}")
        else:
            np.testing.assert_allclose(ours.p, want, rtol=1e-6, atol=1e-6,
                                       err_msg=f"step {k + 1}")
    # the state arrays follow torch's too
    tstate = topt.state[tp]
    for key, arr in ours.state.items():
        np.testing.assert_allclose(arr, tstate[key].numpy(),
                                   rtol=1e-10 if dtype == np.float64 else 1e-5,
                                   atol=1e-12 if dtype == np.float64 else 1e-7, err_msg=key)


@pytest.mark.parametrize("name,i", [("sgd", 3), ("adam", 4), ("adagrad", 1), ("rmsprop", 3)])
def test_threads_and_sizes(name, i, threads, dtype):
    """Above the OpenMP threshold, and at sizes 0 and 1: the same numbers as
    the same update applied to each slice separately."""
    settings = CASES[name][2][i]
    rng = np.random.default_rng(9)
    n = 40_003
    p0 = rng.standard_normal(n)
    grads = gradients(rng, n, steps=3)
    whole, _ = run_ours(name, settings, p0, grads, dtype)
    head, _ = run_ours(name, settings, p0[:1], [g[:1] for g in grads], dtype)
    rest, _ = run_ours(name, settings, p0[1:], [g[1:] for g in grads], dtype)
    np.testing.assert_array_equal(whole, np.concatenate([head, rest]))
    empty, _ = run_ours(name, settings, p0[:0], [g[:0] for g in grads], dtype)
    assert empty.shape == (0,)
    expected = CASES[name][1](p0.copy(), grads, **settings)
    tol = 1e-10 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(whole, expected, rtol=tol, atol=tol)


def test_multi_dim_params_and_strided_grad(dtype):
    rng = np.random.default_rng(4)
    p = rng.standard_normal((6, 5)).astype(dtype)
    g_full = rng.standard_normal((5, 12)).astype(dtype)
    g = g_full.T[::2]                        # (6, 5), strided
    expected = p - 0.1 * g.astype(np.float64)
    sgd_step(p, g, None, lr=0.1)
    tol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(p, expected, rtol=tol, atol=tol)


def test_nan_gradient_propagates_through_amsgrad():
    p = np.ones(4)
    state = dict(exp_avg=np.zeros(4), exp_avg_sq=np.zeros(4), max_exp_avg_sq=np.zeros(4))
    g = np.array([1.0, np.nan, 1.0, 1.0])
    adam_step(p, g, step=1, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, **state)
    assert np.isnan(p[1]) and np.isnan(state["max_exp_avg_sq"][1])
    assert np.isfinite(np.delete(p, 1)).all()
    adam_step(p, np.ones(4), step=2, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, **state)
    assert np.isnan(state["max_exp_avg_sq"][1])  # the max keeps the NaN, as torch.maximum


# ---- norm_pow ----------------------------------------------------------------

@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, 0.5, math.inf, -math.inf, 0.0, -1.5])
@pytest.mark.parametrize("n", [0, 1, 7, 40_000])
def test_norm_pow_matches_numpy(p, n, dtype, threads):
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 3).astype(dtype)
    if n > 2:
        x[2] = 0
    a = np.abs(x.astype(np.float64))
    if p == -math.inf and n == 0:
        with pytest.raises(ValueError, match="empty"):
            norm_pow(x, p)
        return
    if p == math.inf:
        expected = a.max() if n else 0.0
    elif p == -math.inf:
        expected = a.min()
    elif p == 0:
        expected = float(np.count_nonzero(a))
    else:
        with np.errstate(divide="ignore"):
            expected = (a ** p).sum()
    got = norm_pow(x, p)
    assert isinstance(got, float)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_norm_pow_layouts_and_nan(dtype):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((30, 20)).astype(dtype)
    view = x.T[::-3]
    np.testing.assert_allclose(norm_pow(view, 2), (view.astype(np.float64) ** 2).sum(), rtol=1e-12)
    big = np.full(1000, 1e30, dtype=np.float64)  # overflows float32 squares, not double sums
    assert norm_pow(big, 2) == pytest.approx(1e63)
    y = rng.standard_normal(50_000).astype(dtype)
    y[31_234] = np.nan
    assert math.isnan(norm_pow(y, math.inf))
    assert math.isnan(norm_pow(y, 2))
    assert math.isnan(norm_pow(y, -math.inf))


# ---- bad arguments -----------------------------------------------------------

def _adam_args(n=4, dtype=np.float64):
    return dict(param=np.zeros(n, dtype), grad=np.ones(n, dtype), exp_avg=np.zeros(n, dtype),
                exp_avg_sq=np.zeros(n, dtype))


def test_bad_arguments_raise():
    hyper = dict(step=1, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)
    a = _adam_args()
    a["grad"] = np.ones(4, np.float32)
    with pytest.raises(TypeError, match="adam_step.*grad"):
        adam_step(**a, **hyper)
    a = _adam_args()
    a["exp_avg"] = np.zeros(5)
    with pytest.raises(ValueError, match="exp_avg has shape"):
        adam_step(**a, **hyper)
    a = _adam_args()
    a["param"] = np.zeros(8)[::2]
    with pytest.raises(ValueError, match="C-contiguous"):
        adam_step(**a, **hyper)
    a = _adam_args()
    a["exp_avg"].flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        adam_step(**a, **hyper)
    a = _adam_args()
    a["exp_avg_sq"] = a["exp_avg"]
    with pytest.raises(ValueError, match="share memory"):
        adam_step(**a, **hyper)
    with pytest.raises(ValueError, match="step"):
        adam_step(**_adam_args(), **{**hyper, "step": 0})
    with pytest.raises(ValueError, match="betas"):
        adam_step(**_adam_args(), **{**hyper, "beta1": 1.0})
    with pytest.raises(TypeError, match="int64"):
        adam_step(**_adam_args(dtype=np.int64), **hyper)
    with pytest.raises(ValueError, match="Nesterov"):
        sgd_step(np.zeros(3), np.ones(3), np.zeros(3), lr=0.1, momentum=0.9, dampening=0.1,
                 nesterov=True)
    with pytest.raises(ValueError, match="buffer"):
        sgd_step(np.zeros(3), np.ones(3), None, lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="momentum_buf"):
        rmsprop_step(np.zeros(3), np.ones(3), np.zeros(3), lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="step"):
        adagrad_step(np.zeros(3), np.ones(3), np.zeros(3), step=0, lr=0.1)
    with pytest.raises(TypeError):
        adagrad_step([0.0], np.ones(1), np.zeros(1), step=1, lr=0.1)
    with pytest.raises(TypeError, match="norm_pow"):
        norm_pow(np.arange(3), 2)
    with pytest.raises(ValueError, match="nan"):
        norm_pow(np.ones(3), float("nan"))


def test_c_validates_arguments():
    x = np.zeros(4)
    p = ffi.from_buffer
    N = ffi.NULL
    F64 = lib.MG_FLOAT64
    assert lib.mg_sgd_step(F64, -1, p(x), p(x), N, 0.1, 0, 0, 0, 0, 0, 0) == lib.MG_ERR_SIZE
    assert lib.mg_sgd_step(lib.MG_INT64, 4, p(x), p(x), N, 0.1, 0, 0, 0, 0, 0, 0) == lib.MG_ERR_DTYPE
    assert lib.mg_sgd_step(F64, 4, p(x), p(x), N, 0.1, 0.9, 0, 0, 0, 0, 0) == lib.MG_ERR_NULL
    assert lib.mg_sgd_step(F64, 4, p(x), p(x), p(x), 0.1, 0.9, 0.5, 0, 1, 0, 0) == lib.MG_ERR_OP
    assert lib.mg_adam_step(F64, 4, p(x), p(x), p(x), N, N, 1e-3, 0.9, 0.999, 1e-8, 0, 0, 1,
                            0) == lib.MG_ERR_NULL
    assert lib.mg_adam_step(F64, 4, p(x), p(x), p(x), p(x), N, 1e-3, 0.9, 0.999, 1e-8, 0, 0, 0,
                            0) == lib.MG_ERR_OP
    assert lib.mg_adam_step(F64, 4, p(x), p(x), p(x), p(x), N, 1e-3, 1.0, 0.999, 1e-8, 0, 0, 1,
                            0) == lib.MG_ERR_OP
    assert lib.mg_adagrad_step(F64, 4, p(x), N, p(x), 0.1, 0, 0, 1e-10, 1, 0) == lib.MG_ERR_NULL
    assert lib.mg_rmsprop_step(F64, 4, p(x), p(x), p(x), N, N, 0.1, 0.99, 1e-8, 0, 0.9,
                               0) == lib.MG_ERR_NULL
    out = ffi.new("double *")
    assert lib.mg_norm_pow(F64, 4, p(x), float("nan"), out) == lib.MG_ERR_OP
    assert lib.mg_norm_pow(F64, 0, N, -math.inf, out) == lib.MG_ERR_EMPTY
    assert lib.mg_norm_pow(F64, 4, p(x), 2.0, N) == lib.MG_ERR_NULL
    assert lib.mg_norm_pow(F64, 0, N, 2.0, out) == lib.MG_OK and out[0] == 0.0
