"""Fused recurrent-layer kernels (csrc/rnn.c via minigrad.backend.cpu.rnn).

Oracles:
  * a plain numpy float64 implementation of each cell in this file, run one
    sequence at a time over its own valid steps (the packed-sequence view), with
    a hand-written backpropagation through time;
  * central finite differences of the kernel itself (float64, tiny sizes);
  * torch.nn.RNN / GRU / LSTM with the same weights, when PyTorch is installed.
"""
import numpy as np
import pytest

from minigrad._native import KernelError, check, ffi, lib
from minigrad.backend.cpu import rnn_backward, rnn_forward, rnn_workspace_size
from minigrad.backend.cpu.rnn import RNN_CELLS, rnn_gate_count

GRAD_NAMES = ("x", "w_ih", "w_hh", "b_ih", "b_hh", "h0", "c0")


# ---- numpy reference ----------------------------------------------------------

def sigmoid(v):
    return np.exp(-np.logaddexp(0.0, -v))  # 1 / (1 + e^-v) without overflow


def ref_step(cell, P, x, h, c):
    """One step of one sequence (vectors).  Returns (h', c', cache for backward)."""
    gi = P["w_ih"] @ x + P["b_ih"]
    gh = P["w_hh"] @ h + P["b_hh"]
    H = h.shape[0]
    if cell in ("rnn_tanh", "rnn_relu"):
        a = gi + gh
        h_new = np.tanh(a) if cell == "rnn_tanh" else np.maximum(a, 0.0)
        return h_new, None, (a, h_new)
    if cell == "lstm":
        a = gi + gh
        i, f, o = sigmoid(a[:H]), sigmoid(a[H:2 * H]), sigmoid(a[3 * H:])
        g = np.tanh(a[2 * H:3 * H])
        c_new = f * c + i * g
        return o * np.tanh(c_new), c_new, (i, f, g, o, c, c_new)
    # gru
    r = sigmoid(gi[:H] + gh[:H])
    z = sigmoid(gi[H:2 * H] + gh[H:2 * H])
    n = np.tanh(gi[2 * H:] + r * gh[2 * H:])
    return (1 - z) * n + z * h, None, (r, z, n, gh[2 * H:])


def ref_step_backward(cell, cache, h_prev, dh, dc):
    """Gradients of one step: returns (d gi, d gh, direct dh_prev, dc_prev), where gi and
    gh are the input-side and hidden-side affine maps (W x + b)."""
    if cell in ("rnn_tanh", "rnn_relu"):
        a, h_new = cache
        da = dh * (1 - h_new ** 2) if cell == "rnn_tanh" else dh * (a > 0)
        return da, da, 0.0, None
    if cell == "lstm":
        i, f, g, o, c_prev, c_new = cache
        tc = np.tanh(c_new)
        d_o = dh * tc
        dc_tot = dc + dh * o * (1 - tc ** 2)
        da = np.concatenate([dc_tot * g * i * (1 - i), dc_tot * c_prev * f * (1 - f),
                             dc_tot * i * (1 - g ** 2), d_o * o * (1 - o)])
        return da, da, 0.0, dc_tot * f
    r, z, n, ghn = cache
    dan = dh * (1 - z) * (1 - n ** 2)
    dar = dan * ghn * r * (1 - r)
    daz = dh * (h_prev - n) * z * (1 - z)
    return (np.concatenate([dar, daz, dan]), np.concatenate([dar, daz, dan * r]), dh * z, None)


def ref_layer(cell, P, lengths, reverse, dy, dh_n, dc_n):
    """Forward and backward of a whole layer in float64, one sequence at a time.
    P holds float64 arrays; missing biases are zeros.  Returns (y, h_n, c_n, grads)."""
    x = P["x"]
    T, B, _ = x.shape
    H = P["w_hh"].shape[1]
    lstm = cell == "lstm"
    y = np.zeros((T, B, H))
    h_n = np.zeros((B, H))
    c_n = np.zeros((B, H)) if lstm else None
    grads = {k: np.zeros_like(P[k]) for k in ("x", "w_ih", "w_hh", "b_ih", "b_hh", "h0")}
    grads["c0"] = np.zeros((B, H)) if lstm else None
    for b in range(B):
        L = T if lengths is None else int(lengths[b])
        steps = list(range(L))[::-1] if reverse else list(range(L))
        h, c = P["h0"][b], (P["c0"][b] if lstm else None)
        history = []
        for t in steps:
            h_new, c_new, cache = ref_step(cell, P, x[t, b], h, c)
            history.append((t, h, cache))
            y[t, b] = h_new
            h, c = h_new, c_new
        h_n[b] = h
        if lstm:
            c_n[b] = c
        # backpropagation through time, last processed step first
        dh = dh_n[b].copy()
        dc = dc_n[b].copy() if lstm else None
        for t, h_prev, cache in reversed(history):
            dgi, dgh, direct, dc = ref_step_backward(cell, cache, h_prev, dh + dy[t, b], dc)
            grads["w_ih"] += np.outer(dgi, x[t, b])
            grads["b_ih"] += dgi
            grads["x"][t, b] = P["w_ih"].T @ dgi
            grads["w_hh"] += np.outer(dgh, h_prev)
            grads["b_hh"] += dgh
            dh = P["w_hh"].T @ dgh + direct
        grads["h0"][b] = dh
        if lstm:
            grads["c0"][b] = dc
    return y, h_n, c_n, grads


# ---- problem set-up -----------------------------------------------------------

def make_problem(cell, T, B, n_in, H, bias=True, seed=0, scale=0.6):
    """Random float64 inputs and output gradients for one layer."""
    rng = np.random.default_rng(seed)
    G = rnn_gate_count(cell)
    P = {
        "x": rng.standard_normal((T, B, n_in)),
        "w_ih": rng.uniform(-scale, scale, (G * H, n_in)),
        "w_hh": rng.uniform(-scale, scale, (G * H, H)),
        "b_ih": rng.uniform(-scale, scale, G * H) if bias else None,
        "b_hh": rng.uniform(-scale, scale, G * H) if bias else None,
        "h0": 0.5 * rng.standard_normal((B, H)),
        "c0": 0.5 * rng.standard_normal((B, H)) if cell == "lstm" else None,
    }
    D = {"dy": rng.standard_normal((T, B, H)), "dh_n": rng.standard_normal((B, H)),
         "dc_n": rng.standard_normal((B, H)) if cell == "lstm" else None}
    return P, D


def cast(d, dtype):
    return {k: (None if v is None else v.astype(dtype)) for k, v in d.items()}


def with_zero_biases(P):
    """P with the reference's zeros in place of missing biases, all float64."""
    G_H = P["w_hh"].shape[0]
    out = cast(P, np.float64)
    for k in ("b_ih", "b_hh"):
        if out[k] is None:
            out[k] = np.zeros(G_H)
    return out


def run_kernel(cell, P, D, lengths=None, reverse=False):
    """Forward and backward through the kernels; returns (y, h_n, c_n, grads)."""
    y, h_n, c_n, ws = rnn_forward(cell, P["x"], P["w_ih"], P["w_hh"], P["b_ih"], P["b_hh"],
                                  P["h0"], P["c0"], lengths, reverse)
    grads = rnn_backward(cell, P["x"], P["w_ih"], P["w_hh"], P["b_ih"], P["b_hh"], P["h0"],
                         P["c0"], lengths, reverse, y, ws, D["dy"], D["dh_n"], D["dc_n"])
    return y, h_n, c_n, grads


def ragged_lengths(T, B):
    """Lengths with a 0 and a full length where the batch allows."""
    if B == 1:
        return np.array([T - 1 if T > 1 else 0], np.int64)
    base = [T, 0, min(2, T)]
    return np.array((base * B)[:B], np.int64)


def assert_close(got, want, tol, what):
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=what)


def compare_with_reference(cell, P, D, lengths, reverse, tol):
    y, h_n, c_n, grads = run_kernel(cell, P, D, lengths, reverse)
    D64 = cast(D, np.float64)
    ry, rh, rc, rgrads = ref_layer(cell, with_zero_biases(P), lengths, reverse, D64["dy"],
                                   D64["dh_n"], D64["dc_n"])
    assert y.dtype == P["x"].dtype and h_n.dtype == P["x"].dtype
    assert_close(y, ry, tol, "y")
    assert_close(h_n, rh, tol, "h_n")
    if cell == "lstm":
        assert_close(c_n, rc, tol, "c_n")
    else:
        assert c_n is None
    for name in GRAD_NAMES:
        if P[name] is None:
            assert grads[name] is None, name
        else:
            assert grads[name].shape == P[name].shape and grads[name].dtype == P["x"].dtype
            assert_close(grads[name], rgrads[name], tol, f"grad {name}")
    if lengths is not None:  # steps past a sequence's end give zeros
        for b, L in enumerate(lengths):
            assert not y[L:, b].any()


# ---- against the numpy reference --------------------------------------------

@pytest.mark.parametrize("cell", RNN_CELLS)
@pytest.mark.parametrize("reverse", [False, True], ids=["fwd", "rev"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("ragged", [False, True], ids=["full", "ragged"])
@pytest.mark.parametrize("T", [1, 5])
@pytest.mark.parametrize("B", [1, 3])
def test_matches_reference(cell, reverse, bias, ragged, T, B, dtype):
    P, D = make_problem(cell, T, B, n_in=4, H=5, bias=bias, seed=T * 10 + B)
    lengths = ragged_lengths(T, B) if ragged else None
    tol = 1e-5 if dtype == np.float32 else 1e-10
    compare_with_reference(cell, cast(P, dtype), cast(D, dtype), lengths, reverse, tol)


@pytest.mark.parametrize("cell", RNN_CELLS)
def test_threads_and_wide_layers(cell, threads):
    """Wide layers at 1 and 2 threads (BLAS splits the products), with H not a
    multiple of any vector width, so the vector loops' tails run too."""
    G, B = rnn_gate_count(cell), 64
    H = 32768 // (B * G) + 3
    P, D = make_problem(cell, T=3, B=B, n_in=5, H=H, seed=7, scale=0.05)
    lengths = np.resize(np.array([3, 0, 1, 2], np.int64), B)
    for reverse in (False, True):
        compare_with_reference(cell, cast(P, np.float32), cast(D, np.float32), lengths, reverse,
                               1e-5)


@pytest.mark.parametrize("cell", RNN_CELLS)
@pytest.mark.parametrize("n_in,H,scale", [(6, 9, 0.3), (100, 160, 0.05)],
                         ids=["joint", "blocked"])
def test_long_sequences_in_blocks_of_steps(cell, n_in, H, scale, threads):
    """More steps than one block of input products (about 256 rows: here 32 steps of
    8), forward and reversed, ragged, with and without a workspace.  At (100, 160)
    the float64 [W_ih | W_hh] of an LSTM or RNN exceeds RNN_JOINT_MAX_BYTES, so one
    thread takes the blocked input products; at (6, 9) the joint per-step product."""
    P, D = make_problem(cell, T=70, B=8, n_in=n_in, H=H, seed=11, scale=scale)
    lengths = np.array([70, 0, 33, 31, 64, 65, 1, 69], np.int64)
    for reverse in (False, True):
        compare_with_reference(cell, P, D, lengths, reverse, 1e-10)
        args = (cell, P["x"], P["w_ih"], P["w_hh"], P["b_ih"], P["b_hh"], P["h0"], P["c0"],
                lengths, reverse)
        y, h_n, _, _ = rnn_forward(*args)
        y2, h_n2, _, _ = rnn_forward(*args, need_workspace=False)
        np.testing.assert_allclose(y2, y, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(h_n2, h_n, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cell", RNN_CELLS)
@pytest.mark.parametrize("T,B,n_in,H", [(0, 3, 4, 5), (4, 0, 4, 5), (4, 3, 0, 5), (4, 3, 4, 0),
                                        (1, 1, 1, 1), (6, 2, 3, 7)])
def test_edge_sizes(cell, T, B, n_in, H):
    P, D = make_problem(cell, T, B, n_in, H, seed=3)
    compare_with_reference(cell, P, D, None, False, 1e-10)
    if B > 0:
        lengths = np.full(B, T, np.int64)
        lengths[0] = 0
        compare_with_reference(cell, P, D, lengths, True, 1e-10)


@pytest.mark.parametrize("cell", RNN_CELLS)
def test_large_preactivations_saturate(cell, dtype):
    """Huge inputs: activations saturate instead of overflowing to inf/NaN."""
    scale = 60.0
    P, D = make_problem(cell, T=4, B=3, n_in=4, H=6, seed=11, scale=scale)
    P["x"] *= 30.0
    P = cast(P, dtype)
    D = cast(D, dtype)
    y, h_n, c_n, grads = run_kernel(cell, P, D)
    for arr in (y, h_n, *(g for g in grads.values() if g is not None)):
        assert np.isfinite(arr).all()
    if cell != "rnn_relu":
        assert np.abs(y).max() <= 1.0
        D64 = cast(D, np.float64)
        ry, _, _, _ = ref_layer(cell, with_zero_biases(P), None, False, D64["dy"], D64["dh_n"],
                                D64["dc_n"])
        np.testing.assert_allclose(y, ry, atol=1e-5)


def test_float32_activations_accuracy():
    """The float32 sigmoid/tanh (vectorised, in C) are accurate to a few ulp over a
    wide range, including tiny arguments: probed through a one-unit tanh RNN and
    the LSTM's gates with identity weights."""
    v = np.concatenate([np.linspace(-30, 30, 20001), np.geomspace(1e-30, 1e-2, 200),
                        -np.geomspace(1e-30, 1e-2, 200)]).astype(np.float32)
    B = v.size
    x = v.reshape(1, B, 1)
    one = np.ones((1, 1), np.float32)
    y, _, _, _ = rnn_forward("rnn_tanh", x, one, np.zeros((1, 1), np.float32), None, None,
                             np.zeros((B, 1), np.float32), need_workspace=False)
    want = np.tanh(v.astype(np.float64))
    err = np.abs(y[0, :, 0] - want) / np.maximum(np.abs(want), 1e-38)
    assert err.max() < 4e-7
    # LSTM with c0 = 0, gates i = sigmoid(v), g = tanh(1) ...: c' = sigmoid(v) * tanh(1)
    w_ih = np.array([[1], [0], [0], [0]], np.float32)
    b = np.array([0, 0, 1, 50], np.float32)
    zeros = np.zeros((B, 1), np.float32)
    _, _, c_n, _ = rnn_forward("lstm", x, w_ih, np.zeros((4, 1), np.float32), b, None, zeros,
                               zeros, need_workspace=False)
    want = sigmoid(v.astype(np.float64)) * np.tanh(1.0)
    err = np.abs(c_n[:, 0] - want) / want
    assert err.max() < 4e-7


# ---- finite differences ------------------------------------------------------------------

@pytest.mark.parametrize("cell", RNN_CELLS)
@pytest.mark.parametrize("reverse", [False, True], ids=["fwd", "rev"])
@pytest.mark.parametrize("ragged", [False, True], ids=["full", "ragged"])
def test_finite_differences(cell, reverse, ragged):
    P, D = make_problem(cell, T=3, B=2, n_in=3, H=2, seed=5)
    if cell == "rnn_relu":  # keep pre-activations away from the kink at 0
        P["b_ih"] += 0.4
    lengths = np.array([3, 2], np.int64) if ragged else None

    def loss(Q):
        y, h_n, c_n, _ = rnn_forward(cell, Q["x"], Q["w_ih"], Q["w_hh"], Q["b_ih"], Q["b_hh"],
                                     Q["h0"], Q["c0"], lengths, reverse, need_workspace=False)
        total = np.sum(y * D["dy"]) + np.sum(h_n * D["dh_n"])
        if cell == "lstm":
            total += np.sum(c_n * D["dc_n"])
        return total

    _, _, _, grads = run_kernel(cell, P, D, lengths, reverse)
    eps = 1e-6
    for name in GRAD_NAMES:
        if P[name] is None:
            continue
        numeric = np.zeros_like(P[name])
        for idx in np.ndindex(P[name].shape):
            Q = {k: (None if v is None else v.copy()) for k, v in P.items()}
            Q[name][idx] += eps
            up = loss(Q)
            Q[name][idx] -= 2 * eps
            numeric[idx] = (up - loss(Q)) / (2 * eps)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-8, err_msg=name)


# ---- layouts, workspace, partial gradients ---------------------------------------------

@pytest.mark.parametrize("cell", RNN_CELLS)
def test_non_contiguous_inputs(cell, dtype):
    P, D = make_problem(cell, T=4, B=3, n_in=5, H=6, seed=9)
    P, D = cast(P, dtype), cast(D, dtype)
    lengths = np.array([4, 1, 3], np.int64)
    want = run_kernel(cell, P, D, lengths, True)

    def strided(a):  # same values, other memory layouts
        if a is None:
            return None
        if a.ndim == 3:  # reversed time, every other element of the last axis
            big = np.zeros((a.shape[0], a.shape[1], 2 * a.shape[2]), a.dtype)
            big[::-1, :, ::2] = a
            return big[::-1, :, ::2]
        if a.ndim == 2:
            return np.asfortranarray(a)
        return np.repeat(a, 2)[::2]

    Ps = {k: strided(v) for k, v in P.items()}
    Ds = {k: strided(v) for k, v in D.items()}
    assert not Ps["x"].flags.c_contiguous and not Ps["w_ih"].flags.c_contiguous
    got = run_kernel(cell, Ps, Ds, np.repeat(lengths, 2)[::2], True)
    for g, w in zip(got[:3], want[:3]):
        if w is None:
            assert g is None
        else:
            np.testing.assert_array_equal(g, w)
    for name in GRAD_NAMES:
        if want[3][name] is not None:
            np.testing.assert_array_equal(got[3][name], want[3][name], err_msg=name)


@pytest.mark.parametrize("cell", RNN_CELLS)
def test_inference_without_workspace(cell):
    P, _ = make_problem(cell, T=5, B=3, n_in=4, H=5, seed=2)
    lengths = np.array([5, 0, 2], np.int64)
    args = (cell, P["x"], P["w_ih"], P["w_hh"], P["b_ih"], P["b_hh"], P["h0"], P["c0"], lengths,
            True)
    y, h_n, c_n, ws = rnn_forward(*args)
    y2, h_n2, c_n2, ws2 = rnn_forward(*args, need_workspace=False)
    assert ws2 is None and ws.size == rnn_workspace_size(cell, 5, 3, 5)
    np.testing.assert_array_equal(y, y2)
    np.testing.assert_array_equal(h_n, h_n2)
    if cell == "lstm":
        np.testing.assert_array_equal(c_n, c_n2)
    # the length-0 sequence keeps its initial state
    np.testing.assert_array_equal(h_n[1], P["h0"][1])


@pytest.mark.parametrize("cell", RNN_CELLS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("T", [1, 9])
def test_inference_large_layer_matches_training(cell, dtype, T):
    """Inference's own gate kernels (nothing kept for backward) on a layer whose weights
    outgrow the joint per-step product (the input products then go by blocks of steps;
    T = 1: one step, products straight from the weights), with ragged reversed
    sequences: the same numbers as the training forward."""
    P, _ = make_problem(cell, T=T, B=11, n_in=200, H=300, seed=5, scale=0.05)
    P = cast(P, dtype)
    lengths = np.minimum(np.array([9, 0, 3, 9, 1, 5, 9, 8, 2, 9, 4], np.int64), T)
    args = (cell, P["x"], P["w_ih"], P["w_hh"], P["b_ih"], P["b_hh"], P["h0"], P["c0"], lengths,
            True)
    y, h_n, c_n, _ = rnn_forward(*args)
    y2, h_n2, c_n2, _ = rnn_forward(*args, need_workspace=False)
    np.testing.assert_array_equal(y, y2)
    np.testing.assert_array_equal(h_n, h_n2)
    if cell == "lstm":
        np.testing.assert_array_equal(c_n, c_n2)


def test_workspace_sizes():
    assert rnn_workspace_size("rnn_tanh", 7, 3, 5) == 0
    assert rnn_workspace_size("gru", 7, 3, 5) == 7 * 3 * 4 * 5
    assert rnn_workspace_size("lstm", 7, 3, 5) == 7 * 3 * 6 * 5
    assert lib.mg_rnn_workspace_size(lib.MG_LSTM, -1, 3, 5) == -1
    assert lib.mg_rnn_workspace_size(99, 1, 3, 5) == -1
    assert lib.mg_rnn_workspace_size(lib.MG_LSTM, 2 ** 62, 2 ** 10, 5) == -1


def c_args(cell, P):
    """Pointers for a direct C call, float64 problem."""
    p = lambda a: ffi.NULL if a is None else ffi.from_buffer(a)  # noqa: E731
    code = {"rnn_tanh": lib.MG_RNN_TANH, "rnn_relu": lib.MG_RNN_RELU, "gru": lib.MG_GRU,
            "lstm": lib.MG_LSTM}[cell]
    T, B, n_in = P["x"].shape
    H = P["w_hh"].shape[1]
    return code, T, B, n_in, H, p


@pytest.mark.parametrize("cell", RNN_CELLS)
def test_c_backward_optional_outputs(cell):
    """Every backward output pointer may be NULL; the others are unaffected."""
    P, D = make_problem(cell, T=4, B=3, n_in=4, H=5, seed=4)
    lengths = np.array([4, 2, 0], np.int64)
    y, h_n, c_n, ws = rnn_forward(cell, P["x"], P["w_ih"], P["w_hh"], P["b_ih"], P["b_hh"],
                                  P["h0"], P["c0"], lengths, True)
    full = rnn_backward(cell, P["x"], P["w_ih"], P["w_hh"], P["b_ih"], P["b_hh"], P["h0"],
                        P["c0"], lengths, True, y, ws, D["dy"], None, None)
    code, T, B, n_in, H, p = c_args(cell, P)
    for keep in GRAD_NAMES:
        if full[keep] is None:
            continue
        out = {k: (np.full_like(v, np.nan) if k == keep else None) for k, v in full.items()
               if v is not None}
        status = lib.mg_rnn_backward(
            lib.MG_FLOAT64, code, T, B, n_in, H, p(P["x"]), p(P["w_ih"]), p(P["w_hh"]),
            p(P["b_ih"]), p(P["b_hh"]), p(P["h0"]), p(P["c0"]),
            ffi.from_buffer("int64_t[]", lengths), 1, p(y), p(ws), p(D["dy"]), ffi.NULL,
            ffi.NULL, *(p(out.get(k)) for k in GRAD_NAMES))
        assert status == lib.MG_OK
        np.testing.assert_array_equal(out[keep], full[keep], err_msg=keep)


# ---- bad arguments ----------------------------------------------------------------------

def forward_args(cell="lstm", dtype=np.float64):
    P, _ = make_problem(cell, T=3, B=2, n_in=4, H=5, seed=1)
    return cast(P, dtype)


def call_forward(cell, P, **kw):
    args = dict(x=P["x"], w_ih=P["w_ih"], w_hh=P["w_hh"], b_ih=P["b_ih"], b_hh=P["b_hh"],
                h0=P["h0"], c0=P["c0"])
    args.update(kw)
    return rnn_forward(cell, **args)


@pytest.mark.parametrize("change, error", [
    (dict(cell="lstm2"), ValueError),
    (dict(x=np.zeros((3, 2, 4), np.float32)), TypeError),        # dtype mix
    (dict(x=np.zeros((3, 2, 4), np.int64)), TypeError),
    (dict(x=np.zeros((6, 4))), ValueError),                      # rank
    (dict(x=[[[0.0]]]), TypeError),
    (dict(w_ih=np.zeros((20, 3))), ValueError),                  # n_in mismatch
    (dict(w_ih=np.zeros((15, 4))), ValueError),                  # G*H mismatch
    (dict(w_hh=np.zeros((20, 4))), ValueError),                  # not (G*H, H)
    (dict(w_hh=np.zeros((20, 5), np.float32)), TypeError),
    (dict(b_ih=np.zeros(19)), ValueError),
    (dict(b_hh=np.zeros((20, 1))), ValueError),
    (dict(h0=np.zeros((3, 5))), ValueError),
    (dict(h0=None), TypeError),
    (dict(c0=None), TypeError),
    (dict(c0=np.zeros((2, 4))), ValueError),
    (dict(lengths=np.array([3, 4])), ValueError),                # > T
    (dict(lengths=np.array([3, -1])), ValueError),
    (dict(lengths=np.array([3, 1], np.int32)), TypeError),
    (dict(lengths=np.array([3.0, 1.0])), TypeError),
    (dict(lengths=np.array([3])), ValueError),                   # wrong batch
])
def test_forward_bad_arguments(change, error):
    P = forward_args()
    change = dict(change)
    cell = change.pop("cell", "lstm")
    with pytest.raises(error, match="rnn_forward"):
        call_forward(cell, P, **change)


def test_forward_c0_for_non_lstm():
    P = forward_args("gru")
    with pytest.raises(ValueError, match="c0"):
        call_forward("gru", P, c0=np.zeros((2, 5)))


def test_backward_bad_arguments():
    P = forward_args()
    y, h_n, c_n, ws = call_forward("lstm", P)
    base = dict(cell="lstm", x=P["x"], w_ih=P["w_ih"], w_hh=P["w_hh"], b_ih=P["b_ih"],
                b_hh=P["b_hh"], h0=P["h0"], c0=P["c0"], lengths=None, reverse=False, y=y, ws=ws,
                dy=np.ones_like(y), dh_n=None, dc_n=None)
    rnn_backward(**base)
    for change, error in [
        (dict(ws=None), ValueError),
        (dict(ws=ws[:-1]), ValueError),
        (dict(ws=ws.astype(np.float32)), TypeError),
        (dict(y=y[:, :1]), ValueError),
        (dict(dy=np.ones((3, 2, 4))), ValueError),
        (dict(dy=np.ones_like(y, np.float32)), TypeError),
        (dict(dh_n=np.ones((5, 2))), ValueError),
        (dict(dc_n=np.ones((2, 5), np.float32)), TypeError),
    ]:
        with pytest.raises(error, match="rnn_backward"):
            rnn_backward(**{**base, **change})
    G = forward_args("gru")
    yg, _, _, wsg = call_forward("gru", G)
    with pytest.raises(ValueError, match="dc_n"):
        rnn_backward("gru", G["x"], G["w_ih"], G["w_hh"], G["b_ih"], G["b_hh"], G["h0"], None,
                     None, False, yg, wsg, np.ones_like(yg), None, np.ones((2, 5)))


def test_c_rejects_bad_arguments():
    """The C entry points validate on their own (the wrapper is not the only caller)."""
    P = forward_args("lstm")
    code, T, B, n_in, H, p = c_args("lstm", P)
    y, h_n, c_n = np.empty((T, B, H)), np.empty((B, H)), np.empty((B, H))
    ws = np.empty(rnn_workspace_size("lstm", T, B, H))

    def fwd(dtype=lib.MG_FLOAT64, cell=code, sizes=(T, B, n_in, H), x=p(P["x"]),
            w_hh=p(P["w_hh"]), c0=p(P["c0"]), lengths=ffi.NULL, y_=p(y), h_n_=p(h_n),
            c_n_=p(c_n)):
        return lib.mg_rnn_forward(dtype, cell, *sizes, x, p(P["w_ih"]), w_hh, p(P["b_ih"]),
                                  p(P["b_hh"]), p(P["h0"]), c0, lengths, 0, y_, h_n_, c_n_,
                                  p(ws))

    assert fwd() == lib.MG_OK
    assert fwd(dtype=lib.MG_INT64) == lib.MG_ERR_DTYPE
    assert fwd(dtype=7) == lib.MG_ERR_DTYPE
    assert fwd(cell=4) == lib.MG_ERR_OP
    assert fwd(cell=-1) == lib.MG_ERR_OP
    assert fwd(sizes=(-1, B, n_in, H)) == lib.MG_ERR_SIZE
    assert fwd(sizes=(T, -2, n_in, H)) == lib.MG_ERR_SIZE
    assert fwd(sizes=(T, B, -1, H)) == lib.MG_ERR_SIZE
    assert fwd(sizes=(T, B, n_in, -5)) == lib.MG_ERR_SIZE
    assert fwd(sizes=(2 ** 40, 2 ** 40, n_in, H)) == lib.MG_ERR_SIZE
    assert fwd(x=ffi.NULL) == lib.MG_ERR_NULL
    assert fwd(w_hh=ffi.NULL) == lib.MG_ERR_NULL
    assert fwd(c0=ffi.NULL) == lib.MG_ERR_NULL
    assert fwd(y_=ffi.NULL) == lib.MG_ERR_NULL
    assert fwd(h_n_=ffi.NULL) == lib.MG_ERR_NULL
    assert fwd(c_n_=ffi.NULL) == lib.MG_ERR_NULL
    bad_len = np.array([1, T + 1], np.int64)
    assert fwd(lengths=ffi.from_buffer("int64_t[]", bad_len)) == lib.MG_ERR_SIZE
    bad_len = np.array([-1, 1], np.int64)
    assert fwd(lengths=ffi.from_buffer("int64_t[]", bad_len)) == lib.MG_ERR_SIZE
    # empty sizes need no pointers
    assert lib.mg_rnn_forward(lib.MG_FLOAT32, code, 0, 0, 0, 0, *([ffi.NULL] * 8), 0,
                              *([ffi.NULL] * 4)) == lib.MG_OK

    def bwd(ws_=p(ws), dy=p(y), cell=code):
        return lib.mg_rnn_backward(lib.MG_FLOAT64, cell, T, B, n_in, H, p(P["x"]),
                                   p(P["w_ih"]), p(P["w_hh"]), p(P["b_ih"]), p(P["b_hh"]),
                                   p(P["h0"]), p(P["c0"]), ffi.NULL, 0, p(y), ws_, dy,
                                   *([ffi.NULL] * 9))

    assert bwd() == lib.MG_OK
    assert bwd(ws_=ffi.NULL) == lib.MG_ERR_NULL
    assert bwd(dy=ffi.NULL) == lib.MG_ERR_NULL
    assert bwd(cell=9) == lib.MG_ERR_OP


def test_kernel_error_names_the_kernel():
    P = forward_args("gru")
    code, T, B, n_in, H, p = c_args("gru", P)
    with pytest.raises(KernelError, match="mg_rnn"):
        check(lib.mg_rnn_forward(lib.MG_FLOAT64, code, -1, B, n_in, H, *([ffi.NULL] * 8), 0,
                                 *([ffi.NULL] * 4)), "mg_rnn_forward")


# ---- against PyTorch ----------------------------------------------------------------

def torch_run(cell, P, D, lengths, reverse, bias):
    """The same layer in PyTorch; the reverse direction is the second half of a
    bidirectional layer.  Returns (y, h_n, c_n, grads) as float64/float32 numpy."""
    torch = pytest.importorskip("torch")
    nn = torch.nn
    T, B, n_in = P["x"].shape
    H = P["w_hh"].shape[1]
    tdtype = torch.float64 if P["x"].dtype == np.float64 else torch.float32
    kind = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn_tanh": nn.RNN, "rnn_relu": nn.RNN}[cell]
    extra = {"nonlinearity": cell[4:]} if cell.startswith("rnn") else {}
    mod = kind(n_in, H, num_layers=1, bias=bias, bidirectional=reverse, **extra).to(tdtype)
    sfx = "_reverse" if reverse else ""
    with torch.no_grad():
        getattr(mod, "weight_ih_l0" + sfx).copy_(torch.from_numpy(P["w_ih"]))
        getattr(mod, "weight_hh_l0" + sfx).copy_(torch.from_numpy(P["w_hh"]))
        if bias:
            getattr(mod, "bias_ih_l0" + sfx).copy_(torch.from_numpy(P["b_ih"]))
            getattr(mod, "bias_hh_l0" + sfx).copy_(torch.from_numpy(P["b_hh"]))
    d = 2 if reverse else 1
    x = torch.from_numpy(P["x"]).clone().requires_grad_(True)

    def state(a):
        s = torch.zeros(d, B, H, dtype=tdtype)
        s[d - 1] = torch.from_numpy(a)
        return s.requires_grad_(True)

    h0 = state(P["h0"])
    c0 = state(P["c0"]) if cell == "lstm" else None
    inp = x
    if lengths is not None:
        inp = nn.utils.rnn.pack_padded_sequence(x, torch.from_numpy(lengths), enforce_sorted=False)
    out, hc = mod(inp, (h0, c0) if cell == "lstm" else h0)
    if lengths is not None:
        out, _ = nn.utils.rnn.pad_packed_sequence(out, total_length=T)
    h_n, c_n = (hc if cell == "lstm" else (hc, None))
    y = out[..., (d - 1) * H:]
    loss = (y * torch.from_numpy(D["dy"])).sum() + (h_n[d - 1] * torch.from_numpy(D["dh_n"])).sum()
    if cell == "lstm":
        loss = loss + (c_n[d - 1] * torch.from_numpy(D["dc_n"])).sum()
    loss.backward()
    grads = {"x": x.grad, "h0": h0.grad[d - 1], "c0": c0.grad[d - 1] if c0 is not None else None,
             "w_ih": getattr(mod, "weight_ih_l0" + sfx).grad,
             "w_hh": getattr(mod, "weight_hh_l0" + sfx).grad,
             "b_ih": getattr(mod, "bias_ih_l0" + sfx).grad if bias else None,
             "b_hh": getattr(mod, "bias_hh_l0" + sfx).grad if bias else None}
    np_ = lambda t: None if t is None else t.detach().numpy()  # noqa: E731
    return (np_(y), np_(h_n[d - 1]), np_(c_n[d - 1]) if c_n is not None else None,
            {k: np_(v) for k, v in grads.items()})


@pytest.mark.parametrize("cell", RNN_CELLS)
@pytest.mark.parametrize("reverse", [False, True], ids=["fwd", "rev"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("ragged", [False, True], ids=["full", "packed"])
def test_matches_torch(cell, reverse, bias, ragged, dtype):
    pytest.importorskip("torch")
    T, B = 6, 4
    P, D = make_problem(cell, T, B, n_in=5, H=7, bias=bias, seed=21)
    P, D = cast(P, dtype), cast(D, dtype)
    # PyTorch's packing refuses length 0; the numpy reference covers it
    lengths = np.array([6, 1, 4, 6], np.int64) if ragged else None
    got = run_kernel(cell, P, D, lengths, reverse)
    want = torch_run(cell, P, D, lengths, reverse, bias)
    tol = 1e-5 if dtype == np.float32 else 1e-10
    for name, g, w in zip(("y", "h_n", "c_n"), got[:3], want[:3]):
        if w is None:
            assert g is None
        else:
            assert_close(g, w, tol, name)
    for name in GRAD_NAMES:
        if want[3][name] is None:
            assert got[3][name] is None, name
        else:
            assert_close(got[3][name], want[3][name], tol, f"grad {name}")
