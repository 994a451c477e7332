"""Recurrent layers and cells: PyTorch parity, fused == composed, gradcheck, errors."""
import itertools

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.autograd import gradcheck

MODES = {"rnn_tanh": ("RNN", {"nonlinearity": "tanh"}), "rnn_relu": ("RNN", {"nonlinearity": "relu"}),
         "gru": ("GRU", {}), "lstm": ("LSTM", {}), "lstm_proj": ("LSTM", {"proj_size": 2})}


def out_size(mode, hidden):
    """The width of h (and of the output per direction): proj_size when projected."""
    return MODES[mode][1].get("proj_size", hidden)


def has_cell(mode):
    return mode.startswith("lstm")


def make(mode, impl, dtype=mg.float64, **kw):
    cls, extra = MODES[mode]
    return getattr(nn, cls)(impl=impl, dtype=dtype, **extra, **kw)


def copy_params(src, dst):
    """Load `src`'s parameters (a minigrad or torch module) into minigrad module `dst`."""
    with mg.no_grad():
        for name, p in src.named_parameters():
            value = p.detach().numpy() if hasattr(p, "detach") else p
            getattr(dst, name).copy_(mg.tensor(np.asarray(value)))


def run(module, x, h0, c0, lengths, lib="mg"):
    hx = None if h0 is None else ((h0, c0) if c0 is not None else h0)
    if lib == "mg":
        out, h = module(x, hx, lengths=lengths)
    else:
        import torch
        if lengths is not None:
            packed = torch.nn.utils.rnn.pack_padded_sequence(
                x, torch.tensor(lengths), batch_first=module.batch_first, enforce_sorted=False)
            out, h = module(packed, hx)
            out, _ = torch.nn.utils.rnn.pad_packed_sequence(
                out, batch_first=module.batch_first, total_length=x.shape[1 if module.batch_first else 0])
        else:
            out, h = module(x, hx)
    return (out, *h) if isinstance(h, tuple) else (out, h)


def loss_of(outputs):
    # Different weights per output so every gradient path is exercised.
    return sum((o * (i + 1.5)).sum() if o.ndim else o for i, o in enumerate(outputs))


GRID = list(itertools.product(sorted(MODES), [1, 2], [False, True], [False, True], [True, False],
                              [False, True], [1, 13], [1, 5]))


def grid_id(case):
    mode, layers, bidir, bf, bias, init, T, B = case
    return f"{mode}-L{layers}-{'bi' if bidir else 'uni'}-{'bf' if bf else 'tm'}-" \
           f"{'b' if bias else 'nob'}-{'h0' if init else 'noh0'}-T{T}-B{B}"


def grid_inputs(case):
    """(layer kwargs, x, h0, c0, lengths) of a GRID case, as float64 numpy arrays."""
    mode, layers, bidir, batch_first, bias, with_init, T, B = case
    kw = dict(input_size=3, hidden_size=4, num_layers=layers, bidirectional=bidir,
              batch_first=batch_first, bias=bias)
    rng = np.random.default_rng(T * 31 + B)
    x = rng.normal(size=(B, T, 3) if batch_first else (T, B, 3))
    D = 2 if bidir else 1
    h0 = rng.normal(size=(D * layers, B, out_size(mode, 4))) if with_init else None
    c0 = rng.normal(size=(D * layers, B, 4)) if with_init and has_cell(mode) else None
    lengths = None if B == 1 else [T, max(T - 3, 1), 1, T, max(T // 2, 1)][:B]
    return kw, x, h0, c0, lengths


def outputs_and_grads(module, x, h0, c0, lengths, lib="mg", dtype=mg.float64):
    """Forward with every input requiring grad, backward of loss_of: (outputs, {name: grad})
    for the outputs, x, the initial states and every parameter, as float64 numpy arrays."""
    if lib == "mg":
        wrap = lambda a: None if a is None else mg.tensor(a, dtype=dtype, requires_grad=True)  # noqa: E731
    else:
        import torch
        wrap = lambda a: None if a is None else torch.tensor(a, requires_grad=True)  # noqa: E731
    inputs = {"x": wrap(x), "h0": wrap(h0), "c0": wrap(c0)}
    outs = run(module, inputs["x"], inputs["h0"], inputs["c0"], lengths, lib=lib)
    loss_of(outs).backward()
    grads = {n: t.grad for n, t in inputs.items() if t is not None}
    grads.update((n, p.grad) for n, p in module.named_parameters())
    as_np = lambda t: np.asarray(t.detach().numpy(), np.float64)  # noqa: E731
    return [as_np(o) for o in outs], {n: as_np(g) for n, g in grads.items()}


def assert_same(got, want, tol):
    (g_outs, g_grads), (w_outs, w_grads) = got, want
    assert len(g_outs) == len(w_outs) and g_grads.keys() == w_grads.keys()
    for i, (a, b) in enumerate(zip(g_outs, w_outs)):
        np.testing.assert_allclose(a, b, atol=tol, rtol=tol, err_msg=f"output {i}")
    for name in w_grads:
        np.testing.assert_allclose(g_grads[name], w_grads[name], atol=tol * 10, rtol=tol,
                                   err_msg=f"grad {name}")


@pytest.mark.parametrize("case", GRID, ids=grid_id)
def test_fused_matches_torch(case):
    torch = pytest.importorskip("torch")
    mode = case[0]
    kw, x, h0, c0, lengths = grid_inputs(case)
    cls, extra = MODES[mode]
    tm = getattr(torch.nn, cls)(**kw, **extra).double()
    mm = make(mode, "fused", **kw)
    copy_params(tm, mm)
    assert_same(outputs_and_grads(mm, x, h0, c0, lengths),
                outputs_and_grads(tm, x, h0, c0, lengths, lib="torch"), 1e-10)


@pytest.mark.parametrize("dtype,tol", [(mg.float64, 1e-10), (mg.float32, 1e-5)], ids=["f64", "f32"])
@pytest.mark.parametrize("case", GRID, ids=grid_id)
def test_fused_equals_composed_on_the_grid(case, dtype, tol):
    """The two implementations, outputs and every gradient, over the whole flag grid (no
    PyTorch needed)."""
    mode = case[0]
    kw, x, h0, c0, lengths = grid_inputs(case)
    fused = make(mode, "fused", dtype=dtype, **kw)
    composed = make(mode, "composed", dtype=dtype, **kw)
    copy_params(fused, composed)
    assert_same(outputs_and_grads(fused, x, h0, c0, lengths, dtype=dtype),
                outputs_and_grads(composed, x, h0, c0, lengths, dtype=dtype), tol)


def _both_paths(mode, dtype, seed, **kw):
    fused = make(mode, "fused", dtype=dtype, **kw)
    composed = make(mode, "composed", dtype=dtype, **kw)
    copy_params(fused, composed)
    return fused, composed


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("dtype,tol", [(mg.float64, 1e-10), (mg.float32, 1e-5)], ids=["f64", "f32"])
@pytest.mark.parametrize("flags", [dict(num_layers=2, bidirectional=True),
                                   dict(num_layers=1, batch_first=True, bias=False),
                                   dict(num_layers=2, bidirectional=False, batch_first=True)],
                         ids=["L2-bi", "L1-bf-nobias", "L2-bf"])
@pytest.mark.parametrize("ragged", [False, True])
def test_fused_equals_composed(mode, dtype, tol, flags, ragged):
    fused, composed = _both_paths(mode, dtype, 0, input_size=3, hidden_size=5, **flags)
    rng = np.random.default_rng(1)
    B, T = 4, 7
    x = rng.normal(size=(B, T, 3) if flags.get("batch_first") else (T, B, 3))
    lengths = [7, 2, 5, 1] if ragged else None
    results = []
    for module in (fused, composed):
        xt = mg.tensor(x, dtype=dtype, requires_grad=True)
        outs = run(module, xt, None, None, lengths)
        loss_of(outs).backward()
        results.append(([o.detach().numpy() for o in outs], xt.grad.numpy(),
                        {n: p.grad.numpy() for n, p in module.named_parameters()}))
    (f_outs, f_gx, f_gp), (c_outs, c_gx, c_gp) = results
    for a, b in zip(f_outs, c_outs):
        np.testing.assert_allclose(a, b, atol=tol, rtol=tol)
    np.testing.assert_allclose(f_gx, c_gx, atol=tol, rtol=tol)
    for name in f_gp:
        np.testing.assert_allclose(f_gp[name], c_gp[name], atol=tol * 10, rtol=tol, err_msg=name)


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("impl", ["fused", "composed"])
def test_layer_gradcheck(mode, impl):
    module = make(mode, impl, input_size=2, hidden_size=3, num_layers=2, bidirectional=True)
    x = mg.tensor(np.random.default_rng(2).normal(size=(3, 2, 2)), requires_grad=True)
    h0 = mg.tensor(np.random.default_rng(3).normal(size=(4, 2, out_size(mode, 3))),
                   requires_grad=True)
    c0 = mg.tensor(np.random.default_rng(4).normal(size=(4, 2, 3)), requires_grad=True)
    # the first layer's weights (and w_hr's, projected), each in the check
    params = [p for n, p in module.named_parameters() if n.endswith("_l0")]

    def f(x, h0, *ps):
        hx = (h0, c0 * 0.5) if has_cell(mode) else h0
        out, _ = module(x, hx, lengths=[3, 2])
        return out
    assert gradcheck(f, (x, h0, *params))


@pytest.mark.parametrize("cell_cls,hx_fn", [
    (lambda: nn.RNNCell(3, 4, dtype=mg.float64), lambda h: h),
    (lambda: nn.RNNCell(3, 4, nonlinearity="relu", dtype=mg.float64), lambda h: h),
    (lambda: nn.GRUCell(3, 4, dtype=mg.float64), lambda h: h),
    (lambda: nn.LSTMCell(3, 4, dtype=mg.float64), lambda h: (h, h * 2))],
    ids=["rnn_tanh", "rnn_relu", "gru", "lstm"])
def test_cells_gradcheck_and_double_backward(cell_cls, hx_fn):
    cell = cell_cls()
    x = mg.tensor(np.random.default_rng(4).normal(size=(2, 3)), requires_grad=True)
    h = mg.tensor(np.random.default_rng(5).normal(size=(2, 4)), requires_grad=True)

    def f(x, h):
        out = cell(x, hx_fn(h))
        return out[0] if isinstance(out, tuple) else out
    assert gradcheck(f, (x, h))
    assert mg.autograd.gradgradcheck(f, (x, h))


@pytest.mark.parametrize("name", ["RNNCell", "GRUCell", "LSTMCell"])
def test_cells_match_torch(name):
    torch = pytest.importorskip("torch")
    tc = getattr(torch.nn, name)(3, 4).double()
    mc = getattr(nn, name)(3, 4, dtype=mg.float64)
    copy_params(tc, mc)
    x = np.random.default_rng(6).normal(size=(5, 3))
    tx, mx = torch.tensor(x, requires_grad=True), mg.tensor(x, requires_grad=True)
    t_out, m_out = tc(tx), mc(mx)
    t_out = t_out if isinstance(t_out, tuple) else (t_out,)
    m_out = m_out if isinstance(m_out, tuple) else (m_out,)
    for a, b in zip(m_out, t_out):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-12)
    loss_of(t_out).backward()
    loss_of(m_out).backward()
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), atol=1e-12)
    unbatched = mc(mg.tensor(x[0]))
    first = unbatched[0] if isinstance(unbatched, tuple) else unbatched
    assert first.shape == (4,)


@pytest.mark.parametrize("impl", ["fused", "composed"])
def test_lstm_proj_size_matches_torch(impl):
    # (the fused path's whole flag grid is test_fused_matches_torch's lstm_proj rows)
    torch = pytest.importorskip("torch")
    tm = torch.nn.LSTM(3, 6, num_layers=2, proj_size=2, bidirectional=True).double()
    mm = nn.LSTM(3, 6, num_layers=2, proj_size=2, bidirectional=True, dtype=mg.float64, impl=impl)
    assert mm.effective_impl == impl
    assert {n for n, _ in mm.named_parameters()} == {n for n, _ in tm.named_parameters()}
    copy_params(tm, mm)
    x = np.random.default_rng(7).normal(size=(4, 2, 3))
    t_out, (t_h, t_c) = tm(torch.tensor(x))
    m_out, (m_h, m_c) = mm(mg.tensor(x))
    assert m_out.shape == (4, 2, 4) and m_h.shape == (4, 2, 2) and m_c.shape == (4, 2, 6)
    for m_t, t_t in [(m_out, t_out), (m_h, t_h), (m_c, t_c)]:
        np.testing.assert_allclose(m_t.detach().numpy(), t_t.detach().numpy(), atol=1e-12)


def test_parameter_names_shapes_and_init():
    lstm = nn.LSTM(10, 20, num_layers=2, bidirectional=True)
    shapes = {n: tuple(p.shape) for n, p in lstm.named_parameters()}
    assert shapes["weight_ih_l0"] == (80, 10) and shapes["weight_hh_l0"] == (80, 20)
    assert shapes["weight_ih_l1_reverse"] == (80, 40) and shapes["bias_hh_l1_reverse"] == (80,)
    bound = 1 / np.sqrt(20)
    for p in lstm.parameters():
        values = p.detach().numpy()
        assert values.min() >= -bound and values.max() <= bound and values.std() > bound / 3
    gru = nn.GRU(4, 8, bias=False)
    assert [n for n, _ in gru.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    assert "LSTM(10, 20, num_layers=2, bidirectional=True)" in repr(lstm)


def test_unbatched_input():
    lstm = nn.LSTM(3, 4, num_layers=2)
    out, (h, c) = lstm(mg.randn(6, 3))
    assert out.shape == (6, 4) and h.shape == (2, 4) and c.shape == (2, 4)
    batched, (hb, _) = lstm(mg.randn(6, 3).unsqueeze(1))
    assert batched.shape == (6, 1, 4)


def test_shape_errors_say_what_was_expected():
    gru = nn.GRU(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"expected h_0 of shape \[2, 3, 4\], got \[2, 1, 4\]"):
        gru(mg.randn(5, 3, 3), mg.zeros(2, 1, 4))
    with pytest.raises(ValueError, match="input_size=3"):
        gru(mg.randn(5, 3, 7))
    with pytest.raises(ValueError, match="lengths"):
        gru(mg.randn(5, 3, 3), lengths=[5, 6, 1])
    with pytest.raises(TypeError, match="float64"):
        gru(mg.randn(5, 3, 3, dtype=mg.float64))
    with pytest.raises(TypeError, match="tuple"):
        nn.LSTM(3, 4)(mg.randn(5, 3, 3), mg.zeros(1, 3, 4))
    with pytest.raises(ValueError, match="hidden state"):
        nn.GRUCell(3, 4)(mg.randn(3, 3), mg.zeros(1, 4))


def test_padded_outputs_are_zero_and_state_stops_at_length():
    lstm = nn.LSTM(2, 3, bidirectional=True)
    x = mg.randn(6, 2, 2)
    out, (h, _) = lstm(x, lengths=[6, 3])
    assert not np.any(out.detach().numpy()[3:, 1])
    short, (h_short, _) = lstm(x[:3, 1:], lengths=[3])
    np.testing.assert_allclose(h.detach().numpy()[:, 1], h_short.detach().numpy()[:, 0], atol=1e-6)


def test_dropout_between_layers_only_in_training():
    mg.manual_seed(0)
    lstm = nn.LSTM(3, 8, num_layers=2, dropout=0.5)
    x = mg.randn(4, 2, 3)
    lstm.eval()
    a, _ = lstm(x)
    b, _ = lstm(x)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    lstm.train()
    c, _ = lstm(x)
    assert not np.allclose(a.detach().numpy(), c.detach().numpy())


def test_default_impl_switch():
    try:
        nn.rnn.set_default_impl("composed")
        assert nn.GRU(2, 3).effective_impl == "composed"
    finally:
        nn.rnn.set_default_impl("fused")
    assert nn.GRU(2, 3).effective_impl == "fused"
    with pytest.raises(ValueError):
        nn.rnn.set_default_impl("fast")


def test_fused_layer_is_one_op_on_the_tape():
    lstm = nn.LSTM(3, 4, num_layers=2)
    with mg.autograd.Tape() as tape:
        out, _ = lstm(mg.randn(5, 2, 3))
        out.sum().backward()
    assert [n.name for n in tape].count("FusedRNNLayer") == 2


@pytest.mark.parametrize("mode, per_step", [("LSTM", 10), ("GRU", 7), ("RNN_TANH", 2)])
def test_composed_layer_records_few_ops_per_step(mode, per_step):
    # What the composed layers cost is mostly the ops they record: each step's ops are
    # listed in nn/rnn.py (lstm_step, gru_step_folded, rnn_step), everything else is
    # recorded once per sequence, whatever its length.
    cls = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN_TANH": nn.RNN}[mode]
    layer = cls(3, 4, impl="composed")
    counts = []
    for steps in (5, 9):
        with mg.autograd.Tape() as tape:
            layer(mg.randn(steps, 2, 3))
        counts.append(len(tape))
    assert (counts[1] - counts[0]) / 4 == per_step, counts


@pytest.mark.parametrize("mode", sorted(MODES))
def test_float32_matches_torch(mode):
    torch = pytest.importorskip("torch")
    cls, extra = MODES[mode]
    kw = dict(input_size=8, hidden_size=16, num_layers=2, bidirectional=True)
    tm = getattr(torch.nn, cls)(**kw, **extra)
    mm = make(mode, "fused", dtype=mg.float32, **kw)
    copy_params(tm, mm)
    x = np.random.default_rng(8).normal(size=(20, 3, 8)).astype(np.float32)
    tx, mx = torch.tensor(x, requires_grad=True), mg.tensor(x, requires_grad=True)
    t_out, m_out = run(tm, tx, None, None, [20, 7, 13], "torch"), run(mm, mx, None, None, [20, 7, 13])
    for a, b in zip(m_out, t_out):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-5)
    loss_of(t_out).backward()
    loss_of(m_out).backward()
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), atol=1e-5)
    for name, p in tm.named_parameters():
        np.testing.assert_allclose(getattr(mm, name).grad.numpy(), p.grad.numpy(), atol=1e-4,
                                   rtol=1e-4, err_msg=name)
