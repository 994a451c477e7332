"""The CUDA kernel table against the CPU table: same names, same results, same errors.

Each test calls one function of both tables on the same values -- numpy arrays
for the CPU, their device copies for CUDA, including transposed, sliced,
reversed and broadcast views -- and compares the results (see device_helpers
for the tolerances: the loopback runs the very kernels the CPU does, the GPU
its own).
"""
import math

import numpy as np
import pytest

from device_helpers import assert_close, host
from minigrad.backend import cpu, cuda
from minigrad.backend.cuda.array import CudaArray

pytestmark = pytest.mark.usefixtures("cuda_api")

D = cuda.to_device


def rnd(shape, dtype=np.float64, seed=0, low=-2.0, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(dtype)


def test_same_function_names():
    public = {n for n in dir(cpu) if not n.startswith("_") and callable(getattr(cpu, n))}
    public -= {"container", "common", "elementwise", "reductions", "indexing", "random",
               "linalg", "loss", "optim", "rnn", "SimpleNamespace"}
    missing = sorted(n for n in public if not callable(getattr(cuda, n, None)))
    assert not missing
    assert cuda.RNN_CELLS == cpu.RNN_CELLS


# ---- elementwise ---------------------------------------------------------------------

UNARY = ["neg", "abs", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "square",
         "reciprocal", "sign"]


def _views(x):
    """(name, numpy view, CudaArray view) of the same values: contiguous, transposed,
    reversed, strided."""
    d = D(x)
    return [("contig", x, d), ("T", x.T, d.T), ("rev", x[::-1], d[::-1]),
            ("step", x[:, ::2], d[:, ::2])]


@pytest.mark.parametrize("op", UNARY)
def test_unary_and_backward(op, fdtype, cuda_api):
    x = rnd((5, 6), fdtype, low=0.1 if op in ("log", "sqrt") else -3.0, high=3.0)
    for name, hx, dx in _views(x):
        y = cpu.unary(op, hx)
        dy = cuda.unary(op, dx)
        assert isinstance(dy, CudaArray) and dy.shape == y.shape and dy.dtype == fdtype
        assert_close(dy, y, fdtype, cuda_api)
        gy = rnd(y.shape, fdtype, seed=1)
        gx = cpu.unary_backward(op, hx, y, gy)
        dgx = cuda.unary_backward(op, dx, dy, D(gy))
        assert_close(dgx, gx, fdtype, cuda_api)
    out = D(x)
    assert cuda.unary(op, out, out=out) is out  # in place
    assert_close(out, cpu.unary(op, x), fdtype, cuda_api)


BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le",
          "gt", "ge"]
SHAPE_PAIRS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)),
               ((), (3,)), ((0, 4), (4,)), ((1,), (5, 1))]


@pytest.mark.parametrize("op", BINARY)
def test_binary_broadcasting(op, fdtype, cuda_api):
    for sa, sb in SHAPE_PAIRS:
        a = rnd(sa, fdtype, seed=2, low=0.5 if op == "pow" else -2.0)
        b = rnd(sb, fdtype, seed=3)
        if b.size and a.size and op in ("eq", "ne", "le", "ge"):
            b = b.copy()
            b.reshape(-1)[0] = a.reshape(-1)[0]  # some equal pairs
        assert_close(cuda.binary(op, D(a), D(b)), cpu.binary(op, a, b), fdtype, cuda_api)
    a, b = rnd((4, 6), fdtype, seed=4, low=0.5), rnd((6, 4), fdtype, seed=5, low=0.5)
    da, db = D(a), D(b)
    assert_close(cuda.binary(op, da.T, db), cpu.binary(op, a.T, b), fdtype, cuda_api)
    assert_close(cuda.binary(op, da[::-1], db.T[:, ::-1]), cpu.binary(op, a[::-1], b.T[:, ::-1]),
                 fdtype, cuda_api)


def test_binary_int64_and_inplace(cuda_api):
    a = np.arange(-6, 6, dtype=np.int64).reshape(3, 4)
    b = np.array([3, -2, 5, 1], dtype=np.int64)
    for op in ("add", "sub", "mul", "maximum", "minimum", "lt", "eq"):
        np.testing.assert_array_equal(host(cuda.binary(op, D(a), D(b))), cpu.binary(op, a, b))
    with pytest.raises(TypeError, match="int64"):
        cuda.binary("div", D(a), D(b))
    x = rnd((3, 4))
    dx = D(x)
    assert cuda.binary("add", dx, D(x[0]), out=dx) is dx
    np.testing.assert_allclose(host(dx), x + x[0])
    with pytest.raises(TypeError, match="one dtype"):
        cuda.binary("add", D(x), D(x.astype(np.float32)))
    with pytest.raises(ValueError, match="broadcast"):
        cuda.binary("add", D(x), D(rnd((5,))))


@pytest.mark.parametrize("scalar", [2, -1.5, 0.0, 2.5, float("inf"), float("nan"), 2 ** 60 + 1])
def test_binary_scalar(scalar, cuda_api):
    x = rnd((3, 5))
    for op in ("add", "mul", "sub", "div", "pow", "lt", "ge", "eq", "maximum"):
        for first in (False, True):
            expected = cpu.binary_scalar(op, x, scalar, scalar_first=first)
            assert_close(cuda.binary_scalar(op, D(x), scalar, scalar_first=first), expected,
                         np.float64, cuda_api)
    ints = np.arange(-4, 8, dtype=np.int64).reshape(3, 4)
    for op in ("lt", "le", "gt", "ge", "eq", "ne"):
        for first in (False, True):
            np.testing.assert_array_equal(
                host(cuda.binary_scalar(op, D(ints), scalar, scalar_first=first)),
                cpu.binary_scalar(op, ints, scalar, scalar_first=first))
    try:
        expected = cpu.binary_scalar("add", ints, scalar)
    except TypeError:  # not an exactly held integer: refused on both devices
        with pytest.raises(TypeError, match="integer scalar"):
            cuda.binary_scalar("add", D(ints), scalar)
    else:
        np.testing.assert_array_equal(host(cuda.binary_scalar("add", D(ints), scalar)), expected)


def test_where_clamp_fill_cast(fdtype, cuda_api):
    a, b = rnd((3, 4), fdtype, seed=6), rnd((4,), fdtype, seed=7)
    cond = (rnd((3, 1), fdtype, seed=8) > 0).astype(fdtype)
    assert_close(cuda.where(D(cond), D(a), D(b)), cpu.where(cond, a, b), fdtype, cuda_api)
    assert_close(cuda.where(D(cond), D(a).T.T, D(b)[::-1]), cpu.where(cond, a, b[::-1]),
                 fdtype, cuda_api)
    for lo, hi in [(-1, 1), (None, 0.5), (-0.5, None), (1, -1)]:
        assert_close(cuda.clamp(D(a).T, lo, hi), cpu.clamp(a.T, lo, hi), fdtype, cuda_api)
        g = rnd(a.shape, fdtype, seed=9)
        assert_close(cuda.clamp_backward(D(a), lo, hi, D(g)), cpu.clamp_backward(a, lo, hi, g),
                     fdtype, cuda_api)
    f = cuda.fill((2, 3), 2.5, fdtype)
    np.testing.assert_array_equal(host(f), np.full((2, 3), 2.5, fdtype))
    assert host(cuda.fill(0, 1.0, fdtype)).shape == (0,)
    for dt in (np.float32, np.float64, np.int64):
        np.testing.assert_array_equal(host(cuda.cast(D(a).T, dt)), cpu.cast(a.T, dt))
    with pytest.raises(ValueError, match="negative"):
        cuda.fill((-1,), 0.0, fdtype)
    with pytest.raises(ValueError, match="contiguous"):
        cuda.fill_(D(a).T, 1.0)


def test_wrong_device_and_dtype_errors():
    x = rnd((2, 3))
    with pytest.raises(RuntimeError, match="one device, got cpu"):
        cuda.unary("exp", x)
    with pytest.raises(RuntimeError, match="one device"):
        cuda.binary("add", D(x), x)
    with pytest.raises(TypeError, match="float32 or float64"):
        cuda.unary("exp", D(x.astype(np.int64)))
    with pytest.raises(ValueError, match="unknown op"):
        cuda.unary("cosh", D(x))


# ---- reductions, softmax ---------------------------------------------------------------


@pytest.mark.parametrize("axis", [None, 0, 1, -1, 2])
def test_reductions(axis, fdtype, cuda_api):
    x = rnd((3, 4, 5), fdtype, seed=10)
    views = [(x, D(x)), (x.transpose(2, 0, 1), D(x).transpose(2, 0, 1))]
    for hx, dx in views:
        for op in ("sum", "max", "min"):
            assert_close(cuda.reduce(op, dx, axis), cpu.reduce(op, hx, axis), fdtype, cuda_api,
                         scale=4)
        for op in ("argmax", "argmin"):
            np.testing.assert_array_equal(host(cuda.arg_reduce(op, dx, axis)),
                                          cpu.arg_reduce(op, hx, axis))
        assert_close(cuda.logsumexp(dx, axis), cpu.logsumexp(hx, axis), fdtype, cuda_api, scale=4)
        if axis is not None:
            for log in (False, True):
                y = cpu.softmax(hx, axis, log=log)
                dy = cuda.softmax(dx, axis, log=log)
                assert_close(dy, y, fdtype, cuda_api, scale=4)
                g = rnd(y.shape, fdtype, seed=11)
                assert_close(cuda.softmax_backward(dy, D(g), axis, log=log),
                             cpu.softmax_backward(y, g, axis, log=log), fdtype, cuda_api, scale=4)
    ints = np.arange(24, dtype=np.int64).reshape(4, 6)[::-1]
    np.testing.assert_array_equal(host(cuda.reduce("sum", D(ints), None)),
                                  cpu.reduce("sum", ints, None))


def test_reduction_edges():
    empty = np.zeros((0, 3))
    np.testing.assert_array_equal(host(cuda.reduce("sum", D(empty), 0)), np.zeros(3))
    with pytest.raises(ValueError, match="empty axis"):
        cuda.reduce("max", D(empty), 0)
    assert host(cuda.reduce("max", D(empty), 1)).shape == (0,)
    with pytest.raises(IndexError, match="out of range"):
        cuda.reduce("sum", D(rnd((2, 3))), 2)


# ---- gather / scatter_add -----------------------------------------------------------------


def test_gather_scatter(fdtype, cuda_api):
    src = rnd((4, 5, 3), fdtype, seed=12)
    idx = np.array([[0, 4, -1], [2, 2, 1]], dtype=np.int64)
    for axis in (0, 1, -1):
        n = src.shape[axis]
        ix = idx % n
        expected = cpu.gather(src, ix, axis)
        for dsrc in (D(src), D(src.copy())):
            assert_close(cuda.gather(dsrc, D(ix), axis), expected, fdtype, cuda_api)
            assert_close(cuda.gather(dsrc, ix, axis), expected, fdtype, cuda_api)  # host idx
        upd = rnd(expected.shape, fdtype, seed=13)
        dst = np.zeros_like(src)
        ddst = D(dst)
        assert cuda.scatter_add(ddst, D(ix), D(upd), axis) is ddst
        assert_close(ddst, cpu.scatter_add(dst, ix, upd, axis), fdtype, cuda_api)
    view = D(src).transpose(1, 0, 2)[::-1]
    assert_close(cuda.gather(view, idx[0] % 5, 0),
                 cpu.gather(src.transpose(1, 0, 2)[::-1], idx[0] % 5, 0), fdtype, cuda_api)
    ints = np.arange(10, dtype=np.int64)
    np.testing.assert_array_equal(host(cuda.gather(D(ints), np.array([9, 0]), 0)), [9, 0])
    with pytest.raises(IndexError, match="out of range"):
        cuda.gather(D(src), np.array([7], dtype=np.int64), 0)
    with pytest.raises(TypeError, match="int64"):
        cuda.gather(D(src), np.array([0], dtype=np.int32), 0)
    with pytest.raises(ValueError, match="contiguous"):
        cuda.scatter_add(D(src).T, np.array([0]), D(src).T, 0)


# ---- random ------------------------------------------------------------------------------


def test_random_draws_match_the_cpu(fdtype, cuda_api):
    for fn, params in ((cuda.uniform, (-1.0, 3.0)), (cuda.normal, (0.5, 2.0)),
                       (cuda.bernoulli, (0.3,))):
        cpu_fn = getattr(cpu, fn.__name__)
        for shape in ((7,), (3, 5), (0,)):
            d = fn(shape, fdtype, 1234, 17, *params)
            assert isinstance(d, CudaArray) and d.shape == shape and d.dtype == fdtype
            assert_close(d, cpu_fn(shape, fdtype, 1234, 17, *params), fdtype, cuda_api,
                         scale=10)
    assert cuda.advance(10) == cpu.advance(10) == 3
    with pytest.raises(ValueError):
        cuda.uniform((2,), fdtype, 1, 0, 2.0, 1.0)


# ---- gemm / matmul --------------------------------------------------------------------------


MATMUL_SHAPES = [((3, 4), (4, 5)), ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,)),
                 ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (3, 4, 2)),
                 ((0, 4), (4, 3)), ((3, 0), (0, 2)), ((1, 1), (1, 1))]


@pytest.mark.parametrize("sa, sb", MATMUL_SHAPES, ids=str)
def test_matmul(sa, sb, fdtype, cuda_api):
    a, b = rnd(sa, fdtype, seed=14), rnd(sb, fdtype, seed=15)
    assert_close(cuda.matmul(D(a), D(b)), cpu.matmul(a, b), fdtype, cuda_api, scale=10)
    if len(sa) >= 2 and len(sb) >= 2:  # transposed views go in through the gemm flags
        at, bt = np.ascontiguousarray(np.swapaxes(a, -1, -2)), \
            np.ascontiguousarray(np.swapaxes(b, -1, -2))
        got = cuda.matmul(D(at).mT, D(bt).mT)
        assert_close(got, cpu.matmul(a, b), fdtype, cuda_api, scale=10)


def test_gemm_flags_out_beta(fdtype, cuda_api):
    a, b = rnd((4, 3), fdtype, seed=16), rnd((5, 4), fdtype, seed=17)
    c = rnd((3, 5), fdtype, seed=18)
    for builtin in (False, True):
        out = D(c)
        cuda.gemm(D(a), D(b), trans_a=True, trans_b=True, alpha=2.0, beta=0.5, out=out,
                  builtin=builtin)
        expected = cpu.gemm(a, b, trans_a=True, trans_b=True, alpha=2.0, beta=0.5, out=c.copy(),
                            builtin=builtin)
        assert_close(out, expected, fdtype, cuda_api, scale=10)
    batch_a = rnd((2, 3, 4), fdtype, seed=19)
    assert_close(cuda.gemm(D(batch_a), D(b), trans_b=True), cpu.gemm(batch_a, b, trans_b=True),
                 fdtype, cuda_api, scale=10)
    with pytest.raises(ValueError, match="do not match"):
        cuda.gemm(D(a), D(b))
    with pytest.raises(TypeError, match="float32 or two float64"):
        cuda.matmul(D(a), D(b.astype(np.int64)))
    out = D(np.zeros((4, 4), fdtype))
    with pytest.raises(ValueError, match="overlap"):
        cuda.gemm(out, out, out=out)


# ---- cross-entropy ---------------------------------------------------------------------------


@pytest.mark.parametrize("weighted, ls, ignore", [(False, 0.0, -100), (True, 0.1, 2),
                                                  (False, 0.3, 0)])
def test_cross_entropy(weighted, ls, ignore, fdtype, cuda_api):
    logits = rnd((6, 5), fdtype, seed=20, low=-4, high=4)
    target = np.array([0, 4, 2, 2, 1, 3], dtype=np.int64)
    weight = rnd((5,), fdtype, seed=21, low=0.2, high=2.0) if weighted else None
    loss, rw, lp = cpu.cross_entropy(logits, target, weight, ignore, ls)
    dw = None if weight is None else D(weight)
    dloss, drw, dlp = cuda.cross_entropy(D(logits), D(target), dw, ignore, ls)
    for got, want in ((dloss, loss), (drw, rw), (dlp, lp)):
        assert_close(got, want, fdtype, cuda_api, scale=4)
    g = rnd((6,), fdtype, seed=22)
    assert_close(cuda.cross_entropy_backward(dlp, target, D(g), dw, ignore, ls),
                 cpu.cross_entropy_backward(lp, target, g, weight, ignore, ls), fdtype, cuda_api,
                 scale=4)
    bad = target.copy()
    bad[3] = 5
    with pytest.raises(IndexError, match=r"target\[3\] = 5"):
        cuda.cross_entropy(D(logits), D(bad), dw, -100, ls)


# ---- optimizer kernels ------------------------------------------------------------------------


def _optimizer_step(table, name, p, g, s):
    """One call of optimizer kernel `name` of `table` (the same arguments on both)."""
    if name == "sgd_step":
        table.sgd_step(p, g, s[0], 0.1, momentum=0.9, nesterov=True, weight_decay=0.01,
                       first_step=True)
    elif name == "adam_step":
        table.adam_step(p, g, s[0], s[1], 3, 0.01, 0.9, 0.99, 1e-8, weight_decay=0.1,
                        decoupled=True, max_exp_avg_sq=s[2])
    elif name == "adagrad_step":
        table.adagrad_step(p, g, s[0], 2, 0.1, lr_decay=0.01)
    else:
        table.rmsprop_step(p, g, s[0], 0.01, momentum=0.5, momentum_buf=s[1], grad_avg=s[2])


@pytest.mark.parametrize("name, n_state", [("sgd_step", 1), ("adam_step", 3),
                                           ("adagrad_step", 1), ("rmsprop_step", 3)])
def test_optimizer_steps(name, n_state, fdtype, cuda_api):
    p, g = rnd((4, 3), fdtype, seed=23), rnd((4, 3), fdtype, seed=24)
    states = [np.full_like(p, 0.1) for _ in range(n_state)]
    dp, dstates = D(p), [D(s) for s in states]
    dg = D(np.ascontiguousarray(g.T)).T  # the gradient may be any layout
    _optimizer_step(cpu, name, p, g, states)
    _optimizer_step(cuda, name, dp, dg, dstates)
    assert_close(dp, p, fdtype, cuda_api, scale=10)
    for ds, s in zip(dstates, states):
        assert_close(ds, s, fdtype, cuda_api, scale=10)


def test_norm_pow_and_update_errors(fdtype):
    g = rnd((4, 3), fdtype, seed=24)
    for p_norm in (2.0, 1.0, math.inf, -math.inf, 0.0, 3.5):
        got = cuda.norm_pow(D(g)[::-1], p_norm)
        assert isinstance(got, float)
        assert got == pytest.approx(cpu.norm_pow(g, p_norm), rel=1e-6)
    assert cuda.norm_pow(D(np.zeros((0,), fdtype)), 2.0) == 0.0
    dp = D(g)
    with pytest.raises(ValueError, match="share memory"):
        cuda.sgd_step(dp, dp, None, 0.1)
    with pytest.raises(ValueError, match="contiguous"):
        cuda.adam_step(dp.T, D(g.T), D(g.T), D(g.T), 1, 0.1, 0.9, 0.99, 1e-8)
    with pytest.raises(TypeError, match="dtype"):
        cuda.sgd_step(D(g), D(g.astype(np.int64)), None, 0.1)


# ---- fused recurrent layers ------------------------------------------------------------------


def test_rnn_projection(fdtype, cuda_api):
    """A projected LSTM (w_hr) through the table: the CPU table's numbers, forward and
    reversed, ragged, outputs and every gradient (on a GPU: mg_cuda_lstm_proj_*)."""
    T, B, n_in, H, P = 4, 3, 5, 6, 2
    x = rnd((T, B, n_in), fdtype, seed=1)
    w_ih = rnd((4 * H, n_in), fdtype, seed=2, low=-0.5, high=0.5)
    w_hh = rnd((4 * H, P), fdtype, seed=3, low=-0.5, high=0.5)
    w_hr = rnd((P, H), fdtype, seed=4, low=-0.5, high=0.5)
    b_ih, b_hh = rnd((4 * H,), fdtype, seed=5), rnd((4 * H,), fdtype, seed=6)
    h0, c0 = rnd((B, P), fdtype, seed=7), rnd((B, H), fdtype, seed=8)
    lengths = np.array([4, 2, 0], dtype=np.int64)
    args = ("lstm", x, w_ih, w_hh, b_ih, b_hh, h0, c0)
    dargs = ("lstm",) + tuple(D(a) for a in args[1:])
    for reverse in (False, True):
        y, h_n, c_n, ws = cpu.rnn_forward(*args, lengths=lengths, reverse=reverse, w_hr=w_hr)
        dy_, dh_n, dc_n, dws = cuda.rnn_forward(*dargs, lengths=lengths, reverse=reverse,
                                                w_hr=D(w_hr))
        assert dy_.shape == (T, B, P) and dh_n.shape == (B, P) and dc_n.shape == (B, H)
        for got, want in ((dy_, y), (dh_n, h_n), (dc_n, c_n)):
            assert_close(got, want, fdtype, cuda_api, scale=10)
        gy, gh, gc = rnd(y.shape, fdtype, seed=9), rnd(h_n.shape, fdtype, seed=10), \
            rnd(c_n.shape, fdtype, seed=11)
        grads = cpu.rnn_backward(*args, lengths, reverse, y, ws, gy, gh, gc, w_hr=w_hr)
        dgrads = cuda.rnn_backward(*dargs, D(lengths), reverse, dy_, dws, D(gy), D(gh), D(gc),
                                   w_hr=D(w_hr))
        assert dgrads.keys() == grads.keys()
        for key, want in grads.items():
            assert_close(dgrads[key], want, fdtype, cuda_api, scale=100)
    assert dws.shape == (cuda.rnn_workspace_size("lstm", T, B, H, P),)
    if cuda_api == "gpu":  # the device's own layout: gates, c, r
        assert cuda.rnn_workspace_size("lstm", T, B, H, P) == T * B * 6 * H


@pytest.mark.parametrize("cell", ["rnn_tanh", "gru", "lstm"])
def test_rnn_forward_backward(cell, fdtype, cuda_api):
    T, B, n_in, H = 4, 3, 5, 6
    G = cpu.rnn_gate_count(cell)
    x = rnd((T, B, n_in), fdtype, seed=25)
    w_ih, w_hh = rnd((G * H, n_in), fdtype, seed=26, low=-0.5, high=0.5), \
        rnd((G * H, H), fdtype, seed=27, low=-0.5, high=0.5)
    b_ih, b_hh = rnd((G * H,), fdtype, seed=28), rnd((G * H,), fdtype, seed=29)
    h0 = rnd((B, H), fdtype, seed=30)
    c0 = rnd((B, H), fdtype, seed=31) if cell == "lstm" else None
    lengths = np.array([4, 2, 0], dtype=np.int64)
    for reverse in (False, True):
        args = (cell, x, w_ih, w_hh, b_ih, b_hh, h0, c0)
        dargs = (cell, D(x), D(w_ih), D(w_hh), D(b_ih), D(b_hh), D(h0),
                 None if c0 is None else D(c0))
        y, h_n, c_n, ws = cpu.rnn_forward(*args, lengths=lengths, reverse=reverse)
        dy_, dh_n, dc_n, dws = cuda.rnn_forward(*dargs, lengths=lengths, reverse=reverse)
        for got, want in ((dy_, y), (dh_n, h_n), (dc_n, c_n)):
            if want is not None:
                assert_close(got, want, fdtype, cuda_api, scale=10)
        gy, gh = rnd(y.shape, fdtype, seed=32), rnd(h_n.shape, fdtype, seed=33)
        gc = rnd(h_n.shape, fdtype, seed=34) if cell == "lstm" else None
        grads = cpu.rnn_backward(*args, lengths, reverse, y, ws, gy, gh, gc)
        dgrads = cuda.rnn_backward(*dargs, D(lengths), reverse, dy_, dws, D(gy), D(gh),
                                   None if gc is None else D(gc))
        for key, want in grads.items():
            if want is None:
                assert dgrads[key] is None
            else:
                assert_close(dgrads[key], want, fdtype, cuda_api, scale=100)
    # the workspace is the device's own layout (csrc/cuda/rnn.cu), not the CPU's: only the
    # api that made it reads it back, so its size is checked against that api's formula
    assert dws.shape == (cuda.rnn_workspace_size(cell, T, B, H),)
    if cuda_api == "gpu":
        S = T * B
        layout = {"rnn_tanh": 0, "lstm": S * 5 * H, "gru": S * 4 * H + B * 3 * H}
        assert cuda.rnn_workspace_size(cell, T, B, H) == layout[cell]
    else:
        assert cuda.rnn_workspace_size(cell, T, B, H) == cpu.rnn_workspace_size(cell, T, B, H)
    with pytest.raises(ValueError, match="lengths"):
        cuda.rnn_forward(*dargs, lengths=np.array([5, 1, 1], dtype=np.int64))
    with pytest.raises(ValueError, match="w_ih"):
        cuda.rnn_forward(cell, D(x), D(w_hh), D(w_hh), None, None, D(h0),
                         None if c0 is None else D(c0))
