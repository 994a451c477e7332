"""The fused LSTM with projected outputs (PyTorch's proj_size): mg_lstm_proj_forward /
mg_lstm_proj_backward through minigrad.backend.cpu.rnn's w_hr argument.

Oracles: a plain numpy float64 projected LSTM in this file, run one sequence at a
time over its own valid steps, with a hand-written backpropagation through time;
central finite differences of the kernel itself; the kernel's own training forward
for its inference forward (bit for bit).  (PyTorch parity of the layers built on it:
tests/nn/test_rnn.py, mode lstm_proj.)
"""
import numpy as np
import pytest

from minigrad._native import KernelError, check, ffi, lib
from minigrad.backend.cpu import rnn_backward, rnn_forward, rnn_workspace_size

NAMES = ("x", "w_ih", "w_hh", "w_hr", "b_ih", "b_hh", "h0", "c0")


def sigmoid(v):
    return np.exp(-np.logaddexp(0.0, -v))


def make_problem(T, B, n_in, H, P, bias=True, seed=0, scale=0.6):
    """Random float64 inputs of a projected LSTM layer and gradients of its outputs."""
    rng = np.random.default_rng(seed)
    u = lambda *shape: rng.uniform(-scale, scale, shape)  # noqa: E731
    prob = {"x": rng.standard_normal((T, B, n_in)), "w_ih": u(4 * H, n_in), "w_hh": u(4 * H, P),
            "w_hr": u(P, H), "b_ih": u(4 * H) if bias else None, "b_hh": u(4 * H) if bias else None,
            "h0": 0.5 * rng.standard_normal((B, P)), "c0": 0.5 * rng.standard_normal((B, H))}
    grads = {"dy": rng.standard_normal((T, B, P)), "dh_n": rng.standard_normal((B, P)),
             "dc_n": rng.standard_normal((B, H))}
    return prob, grads


def cast(d, dtype):
    return {k: None if v is None else v.astype(dtype) for k, v in d.items()}


def reference(prob, lengths, reverse, dy, dh_n, dc_n):
    """Forward and backward in float64, one sequence at a time: (y, h_n, c_n, grads)."""
    p = cast(prob, np.float64)
    x, w_ih, w_hh, w_hr = p["x"], p["w_ih"], p["w_hh"], p["w_hr"]
    H = w_hr.shape[1]
    b = (np.zeros(4 * H) if p["b_ih"] is None else p["b_ih"]) + \
        (np.zeros(4 * H) if p["b_hh"] is None else p["b_hh"])
    T, B, _ = x.shape
    y, h_n, c_n = np.zeros((T, B, w_hr.shape[0])), p["h0"].copy(), p["c0"].copy()
    g = {k: np.zeros_like(v) for k, v in p.items() if v is not None}
    for s in range(B):
        steps = range(T if lengths is None else int(lengths[s]))
        steps = list(steps)[::-1] if reverse else list(steps)
        h, c, history = p["h0"][s], p["c0"][s], []
        for t in steps:
            a = w_ih @ x[t, s] + w_hh @ h + b
            i, f, gg, o = sigmoid(a[:H]), sigmoid(a[H:2 * H]), np.tanh(a[2 * H:3 * H]), \
                sigmoid(a[3 * H:])
            c_new = f * c + i * gg
            r = o * np.tanh(c_new)
            history.append((t, h, c, i, f, gg, o, c_new, r))
            h, c = w_hr @ r, c_new
            y[t, s] = h
        h_n[s], c_n[s] = h, c
        dh, dc = dh_n[s].copy(), dc_n[s].copy()
        for t, h_prev, c_prev, i, f, gg, o, c_new, r in reversed(history):
            d_out = dh + dy[t, s]
            g["w_hr"] += np.outer(d_out, r)
            dr = w_hr.T @ d_out
            tc = np.tanh(c_new)
            d_c = dc + dr * o * (1 - tc ** 2)
            da = np.concatenate([d_c * gg * i * (1 - i), d_c * c_prev * f * (1 - f),
                                 d_c * i * (1 - gg ** 2), dr * tc * o * (1 - o)])
            g["w_ih"] += np.outer(da, x[t, s])
            g["w_hh"] += np.outer(da, h_prev)
            g["x"][t, s] = w_ih.T @ da
            for k in ("b_ih", "b_hh"):
                if k in g:
                    g[k] += da
            dh, dc = w_hh.T @ da, d_c * f
        g["h0"][s], g["c0"][s] = dh, dc
    return y, h_n, c_n, g


def positional(prob):
    return (prob["x"], prob["w_ih"], prob["w_hh"], prob["b_ih"], prob["b_hh"], prob["h0"],
            prob["c0"])


def run_kernel(prob, grads, lengths, reverse):
    args = ("lstm",) + positional(prob)
    y, h_n, c_n, ws = rnn_forward(*args, lengths, reverse, w_hr=prob["w_hr"])
    got = rnn_backward(*args, lengths, reverse, y, ws, grads["dy"], grads["dh_n"],
                       grads["dc_n"], w_hr=prob["w_hr"])
    return y, h_n, c_n, got


def compare(prob, grads, lengths, reverse, tol):
    y, h_n, c_n, got = run_kernel(prob, grads, lengths, reverse)
    d = cast(grads, np.float64)
    ry, rh, rc, want = reference(prob, lengths, reverse, d["dy"], d["dh_n"], d["dc_n"])
    T, B, _ = prob["x"].shape
    P, H = prob["w_hr"].shape
    assert y.shape == (T, B, P) and h_n.shape == (B, P) and c_n.shape == (B, H)
    for name, a, b in (("y", y, ry), ("h_n", h_n, rh), ("c_n", c_n, rc)):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=name)
    for name in NAMES:
        if prob[name] is None:
            assert got[name] is None, name
            continue
        assert got[name].shape == prob[name].shape and got[name].dtype == prob["x"].dtype
        np.testing.assert_allclose(got[name], want[name], rtol=tol, atol=tol * 10, err_msg=name)
    if lengths is not None:  # steps past a sequence's end give zeros
        for s, n in enumerate(lengths):
            assert not y[n:, s].any()


@pytest.mark.parametrize("reverse", [False, True], ids=["fwd", "rev"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("ragged", [False, True], ids=["full", "ragged"])
@pytest.mark.parametrize("T", [1, 5])
@pytest.mark.parametrize("B", [1, 3])
def test_matches_reference(reverse, bias, ragged, T, B, dtype):
    prob, grads = make_problem(T, B, n_in=4, H=5, P=3, bias=bias, seed=T * 10 + B)
    lengths = None
    if ragged:
        lengths = np.array(([T, 0, min(2, T)] * B)[:B] if B > 1 else [max(T - 1, 0)], np.int64)
    tol = 1e-5 if dtype == np.float32 else 1e-10
    compare(cast(prob, dtype), cast(grads, dtype), lengths, reverse, tol)


@pytest.mark.parametrize("n_in,H,P,scale", [(6, 9, 4, 0.3), (100, 160, 40, 0.05)],
                         ids=["joint", "blocked"])
def test_long_ragged_sequences(n_in, H, P, scale, threads):
    """More steps than one block of input products, forward and reversed, at 1 and 2
    threads (B = 16: two blocks of rows); at (100, 160, 40) one thread takes the blocked
    input products.  Inference (no workspace) gives the training forward's numbers."""
    prob, grads = make_problem(T=40, B=16, n_in=n_in, H=H, P=P, seed=11, scale=scale)
    lengths = np.resize(np.array([40, 0, 33, 31, 1, 39, 17, 40], np.int64), 16)
    for reverse in (False, True):
        compare(prob, grads, lengths, reverse, 1e-10)
        args = ("lstm",) + positional(prob) + (lengths, reverse)
        trained = rnn_forward(*args, w_hr=prob["w_hr"])[:3]
        inferred = rnn_forward(*args, need_workspace=False, w_hr=prob["w_hr"])[:3]
        for a, b in zip(trained, inferred):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("n_in,H,P", [(4, 3, 5), (4, 6, 1), (3, 1, 1), (0, 5, 2)],
                         ids=["P>H", "P=1", "H=1", "no-input"])
def test_odd_sizes(n_in, H, P):
    """A projection wider than the cell (PyTorch refuses P >= H; the kernel does not need
    to), of one unit, a cell of one unit, and no input features."""
    prob, grads = make_problem(T=6, B=5, n_in=n_in, H=H, P=P, seed=n_in + H + P)
    compare(prob, grads, np.array([6, 0, 3, 1, 6], np.int64), True, 1e-10)


@pytest.mark.parametrize("T,B", [(0, 3), (4, 0), (1, 1)])
def test_empty_and_single_sizes(T, B):
    """No steps (y empty; h_n = h0, c_n = c0, dh0 = dh_n), no batch, one step of one row."""
    prob, grads = make_problem(T=T, B=B, n_in=3, H=4, P=2, seed=7)
    compare(prob, grads, None, False, 1e-10)
    if B > 0:
        compare(prob, grads, np.zeros(B, np.int64), True, 1e-10)


def test_non_contiguous_inputs(dtype):
    """Strided views (reversed time, every other column, Fortran-ordered weights) give
    exactly the numbers of their contiguous copies."""
    prob, grads = make_problem(T=4, B=3, n_in=5, H=6, P=3, seed=9)
    prob, grads = cast(prob, dtype), cast(grads, dtype)
    lengths = np.array([4, 1, 3], np.int64)

    def strided(a):
        if a is None:
            return None
        if a.ndim == 3:
            big = np.zeros((a.shape[0], a.shape[1], 2 * a.shape[2]), a.dtype)
            big[::-1, :, ::2] = a
            return big[::-1, :, ::2]
        return np.asfortranarray(a) if a.ndim == 2 else np.repeat(a, 2)[::2]

    want = run_kernel(prob, grads, lengths, True)
    got = run_kernel({k: strided(v) for k, v in prob.items()},
                     {k: strided(v) for k, v in grads.items()}, lengths, True)
    for g, w in zip(got[:3], want[:3]):
        np.testing.assert_array_equal(g, w)
    for name in NAMES:
        np.testing.assert_array_equal(got[3][name], want[3][name], err_msg=name)


def test_threads_with_an_uneven_split(threads):
    """2 threads over a batch of 20 rows (blocks of 8: 16 and 4 rows), float32 and float64."""
    prob, grads = make_problem(T=30, B=20, n_in=24, H=64, P=16, seed=9, scale=0.1)
    lengths = np.resize(np.array([30, 0, 29, 1, 15], np.int64), 20)
    for dtype, tol in ((np.float64, 1e-10), (np.float32, 1e-5)):
        compare(cast(prob, dtype), cast(grads, dtype), lengths, False, tol)


def test_finite_differences():
    prob, grads = make_problem(T=3, B=2, n_in=3, H=3, P=2, seed=5)
    lengths = np.array([3, 2], np.int64)

    def loss(q):
        y, h_n, c_n, _ = rnn_forward("lstm", *positional(q), lengths, True,
                                     need_workspace=False, w_hr=q["w_hr"])
        return np.sum(y * grads["dy"]) + np.sum(h_n * grads["dh_n"]) + np.sum(c_n * grads["dc_n"])

    got = run_kernel(prob, grads, lengths, True)[3]
    eps = 1e-6
    for name in NAMES:
        numeric = np.zeros_like(prob[name])
        for idx in np.ndindex(prob[name].shape):
            q = {k: v.copy() for k, v in prob.items()}
            q[name][idx] += eps
            up = loss(q)
            q[name][idx] -= 2 * eps
            numeric[idx] = (up - loss(q)) / (2 * eps)
        np.testing.assert_allclose(got[name], numeric, rtol=1e-6, atol=1e-8, err_msg=name)


def test_one_step_reads_the_weights_in_place():
    """T = 1 (a sampler's step) multiplies the unpacked weights, projection included."""
    prob, grads = make_problem(T=1, B=4, n_in=5, H=7, P=3, seed=3)
    compare(prob, grads, None, False, 1e-10)


def test_workspace_size():
    assert rnn_workspace_size("lstm", 7, 3, 5, 2) == 7 * 3 * 7 * 5
    assert lib.mg_lstm_proj_workspace_size(7, 3, 5, 0) == rnn_workspace_size("lstm", 7, 3, 5)
    assert lib.mg_lstm_proj_workspace_size(7, 3, 5, -1) == -1
    assert lib.mg_lstm_proj_workspace_size(2 ** 62, 2 ** 10, 5, 2) == -1
    with pytest.raises(ValueError, match="lstm only"):
        rnn_workspace_size("gru", 7, 3, 5, 2)


def test_c_backward_optional_outputs():
    """Every output pointer of mg_lstm_proj_backward may be NULL; the others are unaffected."""
    prob, grads = make_problem(T=4, B=3, n_in=4, H=5, P=2, seed=4)
    lengths = np.array([4, 2, 0], np.int64)
    full = run_kernel(prob, grads, lengths, True)[3]
    y, _, _, ws = rnn_forward("lstm", *positional(prob), lengths, True, w_hr=prob["w_hr"])
    p = lambda a: ffi.NULL if a is None else ffi.from_buffer(a)  # noqa: E731
    order = ("x", "w_ih", "w_hh", "w_hr", "b_ih", "b_hh", "h0", "c0")  # the C call's
    for keep in order:
        out = {keep: np.full_like(full[keep], np.nan)}
        status = lib.mg_lstm_proj_backward(
            lib.MG_FLOAT64, 4, 3, 4, 5, 2, *(p(prob[k]) for k in order),
            ffi.from_buffer("int64_t[]", lengths), 1, p(y), p(ws), p(grads["dy"]),
            p(grads["dh_n"]), p(grads["dc_n"]), *(p(out.get(k)) for k in order))
        assert status == lib.MG_OK
        np.testing.assert_array_equal(out[keep], full[keep], err_msg=keep)


def test_c_argument_checks():
    prob, _ = make_problem(T=3, B=2, n_in=4, H=5, P=2, seed=1)
    p = lambda a: ffi.NULL if a is None else ffi.from_buffer(a)  # noqa: E731
    y, h_n, c_n = np.empty((3, 2, 2)), np.empty((2, 2)), np.empty((2, 5))
    ws = np.empty(rnn_workspace_size("lstm", 3, 2, 5, 2))

    def call(H=5, P=2, w_hr=prob["w_hr"]):
        return lib.mg_lstm_proj_forward(
            lib.MG_FLOAT64, 3, 2, 4, H, P, p(prob["x"]), p(prob["w_ih"]), p(prob["w_hh"]),
            p(w_hr), p(prob["b_ih"]), p(prob["b_hh"]), p(prob["h0"]), p(prob["c0"]), ffi.NULL, 0,
            p(y), p(h_n), p(c_n), p(ws))

    assert call() == lib.MG_OK
    assert call(w_hr=None) == lib.MG_ERR_NULL
    assert call(P=-1) == lib.MG_ERR_SIZE
    assert call(H=0) == lib.MG_ERR_SIZE  # a projection of no cells


@pytest.mark.parametrize("change, error, words", [
    (dict(w_hh=np.zeros((20, 5))), ValueError, r"w_hh of shape \(20, 2\)"),  # (4H, P), not (4H, H)
    (dict(h0=np.zeros((2, 5))), ValueError, r"h0 of shape \(2, 2\)"),
    (dict(c0=np.zeros((2, 2))), ValueError, r"c0 of shape \(2, 5\)"),
    (dict(w_hr=np.zeros((2, 5), np.float32)), TypeError, "w_hr of dtype float64"),
    (dict(w_hr=np.zeros((0, 5))), ValueError, "P, H > 0"),
    (dict(w_hr=np.zeros(10)), ValueError, "w_hr"),
    (dict(cell="gru"), ValueError, "lstm only"),
    (dict(w_hr=np.zeros((2, 6))), ValueError, r"expected w_hr of shape \(2, 5\)"),  # H from w_ih
    (dict(w_hr=None), ValueError, r"\(G\*H, P\) with w_hr"),  # a projected w_hh, no w_hr
])
def test_python_argument_errors(change, error, words):
    prob, _ = make_problem(T=3, B=2, n_in=4, H=5, P=2, seed=1)
    args = dict(cell="lstm", x=prob["x"], w_ih=prob["w_ih"], w_hh=prob["w_hh"], b_ih=None,
                b_hh=None, h0=prob["h0"], c0=prob["c0"], w_hr=prob["w_hr"])
    args.update(change)
    with pytest.raises(error, match=words):
        rnn_forward(**args)


def test_backward_needs_the_forward_shapes():
    prob, grads = make_problem(T=3, B=2, n_in=4, H=5, P=2, seed=1)
    args = ("lstm",) + positional(prob) + (None, False)
    y, _, _, ws = rnn_forward(*args, w_hr=prob["w_hr"])
    with pytest.raises(ValueError, match=r"dy of shape \(3, 2, 2\)"):
        rnn_backward(*args, y, ws, np.zeros((3, 2, 5)), None, None, w_hr=prob["w_hr"])
    with pytest.raises(ValueError, match="ws of shape"):  # a workspace without the projection's part
        rnn_backward(*args, y, ws[:rnn_workspace_size("lstm", 3, 2, 5)], grads["dy"], None, None,
                     w_hr=prob["w_hr"])
    # the C side's own check, as the Python wrapper reports it
    status = lib.mg_lstm_proj_forward(lib.MG_FLOAT64, 3, 2, 4, 5, 2, *([ffi.NULL] * 8), ffi.NULL,
                                      0, *([ffi.NULL] * 4))
    with pytest.raises(KernelError, match="mg_lstm_proj_forward"):
        check(status, "mg_lstm_proj_forward")
