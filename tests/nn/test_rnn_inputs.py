"""Recurrent layers and cells given what they should refuse or survive: NaN in the padding,
tensors changed in place before backward, double backward through the fused kernels, empty
sequences, and arguments of the wrong kind.  Every case either works as PyTorch's packed
sequences do or raises an error that names the layer and what was wrong."""
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

LAYERS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
IMPLS = ["fused", "composed"]


def grads_of(module, x):
    return {name: p.grad.numpy() for name, p in module.named_parameters()} | {"x": x.grad.numpy()}


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("mode", sorted(LAYERS))
@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "inf"])
def test_padding_is_never_read(mode, impl, bad):
    """NaN or inf past a sequence's length changes nothing: outputs, final states and every
    gradient equal those of the same batch with zeros in the padding."""
    results = []
    for pad in (0.0, bad):
        mg.manual_seed(0)
        layer = LAYERS[mode](3, 4, num_layers=2, bidirectional=True, impl=impl,
                             dtype=mg.float64)
        data = np.random.default_rng(1).standard_normal((5, 3, 3))
        data[3:, 1] = pad  # sequence 1 is 3 steps long
        data[1:, 2] = pad  # sequence 2 is 1 step long
        x = mg.tensor(data, requires_grad=True)
        out, state = layer(x, lengths=[5, 3, 1])
        states = state if isinstance(state, tuple) else (state,)
        (out.sum() + sum((s * s).sum() for s in states)).backward()
        results.append((out.detach().numpy(), [s.detach().numpy() for s in states],
                        grads_of(layer, x)))
    (out0, states0, grads0), (out1, states1, grads1) = results
    np.testing.assert_array_equal(out1, out0)
    for s1, s0 in zip(states1, states0):
        np.testing.assert_array_equal(s1, s0)
    for name in grads0:
        assert np.isfinite(grads1[name]).all(), name
        np.testing.assert_allclose(grads1[name], grads0[name], atol=1e-12, err_msg=name)


@pytest.mark.parametrize("mode", sorted(LAYERS))
@pytest.mark.parametrize("changed", ["weight", "input", "output"])
def test_fused_backward_refuses_tensors_changed_in_place(mode, changed):
    """The fused op's backward reads its inputs and y as forward saw them: a change in place
    in between is the usual error, not a wrong gradient."""
    layer = LAYERS[mode](3, 4, impl="fused")
    x = mg.randn(5, 2, 3)
    out, _ = layer(x)
    loss = out.sum()  # (a sum keeps nothing: only the layer can notice)
    with mg.no_grad():
        {"weight": layer.weight_ih_l0, "input": x, "output": out}[changed].add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


@pytest.mark.parametrize("mode", sorted(LAYERS))
def test_fused_layer_refuses_double_backward(mode):
    """create_graph=True through the fused kernels raises (their gradients are not recorded ops)
    and points to the composed path, which gives the second-order terms."""
    x = mg.randn(4, 2, 3, dtype=mg.float64, requires_grad=True)
    fused = LAYERS[mode](3, 4, impl="fused", dtype=mg.float64)
    with pytest.raises(RuntimeError, match="impl='composed'"):
        mg.autograd.grad(fused(x)[0].sum(), x, create_graph=True)
    composed = LAYERS[mode](3, 4, impl="composed", dtype=mg.float64)
    g, = mg.autograd.grad(composed(x)[0].sum(), x, create_graph=True)
    assert g.requires_grad


@pytest.mark.parametrize("impl", IMPLS)
def test_empty_sequence_is_an_error(impl):
    with pytest.raises(ValueError, match=r"LSTM: expected a sequence length L > 0, got input of "
                                         r"shape \[0, 4, 2\]"):
        nn.LSTM(2, 3, impl=impl)(mg.randn(0, 4, 2))


def test_states_of_the_wrong_kind_are_named():
    x = mg.randn(5, 2, 3)
    with pytest.raises(TypeError, match="GRU: h_0 must be a Tensor, got ndarray"):
        nn.GRU(3, 4)(x, np.zeros((1, 2, 4)))
    with pytest.raises(TypeError, match="GRU: hx must be a Tensor h_0, not a list"):
        nn.GRU(3, 4)(x, [mg.zeros(1, 2, 4)])
    with pytest.raises(TypeError, match=r"LSTM: hx must be a tuple \(h_0, c_0\) of two Tensors, "
                                        r"got a tuple of 3"):
        nn.LSTM(3, 4)(x, (mg.zeros(1, 2, 4),) * 3)
    out, _ = nn.LSTM(3, 4)(x, [mg.zeros(1, 2, 4), mg.zeros(1, 2, 4)])  # a list, as PyTorch
    assert out.shape == (5, 2, 4)


def test_cell_arguments_of_the_wrong_kind_are_named():
    x, h = mg.randn(2, 3), mg.zeros(2, 4)
    with pytest.raises(TypeError, match="GRUCell: expected a Tensor input, got ndarray"):
        nn.GRUCell(3, 4)(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="GRUCell: hx must be a Tensor .* not a tuple"):
        nn.GRUCell(3, 4)(x, (h, h))
    with pytest.raises(TypeError, match="GRUCell: hx must be a Tensor .* not a tuple"):
        nn.GRUCell(3, 4)(x, (h,))
    with pytest.raises(TypeError, match="RNNCell: a hidden state must be a Tensor, got ndarray"):
        nn.RNNCell(3, 4)(x, np.zeros((2, 4)))
    with pytest.raises(TypeError, match=r"LSTMCell: hx must be a tuple \(h, c\) of two Tensors, "
                                        r"got Tensor"):
        nn.LSTMCell(3, 4)(x, h)
    h1, c1 = nn.LSTMCell(3, 4)(x, [h, h])  # a list, as PyTorch
    assert h1.shape == c1.shape == (2, 4)


@pytest.mark.parametrize("lengths", [4, mg.tensor(3), [True, True]], ids=["int", "0-d", "bools"])
def test_lengths_of_the_wrong_kind_are_named(lengths):
    with pytest.raises((TypeError, ValueError), match="GRU: lengths"):
        nn.GRU(3, 4)(mg.randn(5, 2, 3), lengths=lengths)


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRUCell])
def test_sizes_must_be_ints(cls):
    with pytest.raises(TypeError, match=r"hidden_size must be an int, got 3\.0 \(float\)"):
        cls(2, 3.0)


def test_dropout_with_one_layer_warns():
    with pytest.warns(UserWarning, match="dropout=0.5 has no effect with num_layers=1"):
        nn.GRU(2, 3, dropout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.GRU(2, 3, num_layers=2, dropout=0.5)


@pytest.mark.parametrize("impl", IMPLS)
def test_relu_rnn_passes_the_gradient_at_nan_as_pytorch(impl):
    """relu' at a NaN pre-activation is 1 (PyTorch's threshold: 0 only where x <= 0), in the
    fused kernel as in the composed ops: a NaN input shows in its gradient."""
    rnn = nn.RNN(1, 1, nonlinearity="relu", impl=impl, dtype=mg.float64)
    with mg.no_grad():
        rnn.weight_ih_l0.fill_(1.0)
        rnn.weight_hh_l0.fill_(0.0)
        rnn.bias_ih_l0.fill_(0.0)
        rnn.bias_hh_l0.fill_(0.0)
    x = mg.tensor([[[float("nan")]]], dtype=mg.float64, requires_grad=True)
    out, _ = rnn(x)
    out.sum().backward()
    assert x.grad.numpy().tolist() == [[[1.0]]]  # PyTorch 2.13: 1.0


def test_integer_input_is_pointed_to_an_embedding():
    with pytest.raises(TypeError, match=r"LSTM: input is int64 .* token ids go through an "
                                        r"nn.Embedding first"):
        nn.LSTM(3, 4)(mg.zeros(5, 2, 3, dtype=mg.int64))


@pytest.mark.parametrize("mode", sorted(LAYERS))
def test_fused_backward_computes_only_the_gradients_wanted(mode, monkeypatch):
    """Data that needs no gradient (x, a given h_0) gets none computed: dx alone is a product
    the size of the input projection.  The weights' gradients are the same either way."""
    from minigrad.backend import cpu
    real, skipped = cpu.rnn_backward, []

    def spy(*args, skip=(), **kwargs):
        skipped.append(set(skip))
        return real(*args, skip=skip, **kwargs)
    grads = []
    for x_grad in (True, False):
        mg.manual_seed(0)
        layer = LAYERS[mode](3, 4, dtype=mg.float64)
        x = mg.randn(5, 2, 3, dtype=mg.float64, requires_grad=x_grad)
        h0 = mg.randn(1, 2, 4, dtype=mg.float64)
        hx = (h0, mg.zeros(1, 2, 4, dtype=mg.float64)) if mode == "lstm" else h0
        with monkeypatch.context() as m:
            m.setattr(cpu, "rnn_backward", spy)
            layer(x, hx)[0].sum().backward()
        grads.append({n: p.grad.numpy() for n, p in layer.named_parameters()})
        assert (x.grad is not None) == x_grad
    assert skipped[0] == {"h0", "c0"}  # (a GRU's or RNN's c0 does not exist either)
    assert skipped[1] == skipped[0] | {"x"}
    for name in grads[0]:
        np.testing.assert_array_equal(grads[1][name], grads[0][name])
