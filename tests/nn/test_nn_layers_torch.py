"""Layers against PyTorch: the same weights in (copied through numpy), the same outputs
and gradients out.  Skipped without torch."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]
IDS = ["f32", "f64"]


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)


def torch_dtype(dtype):
    return torch.float32 if dtype == np.float32 else torch.float64


def data(shape, seed, dtype, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, size=shape).astype(dtype)


def copy_weights(tmod, mmod):
    """Load the torch module's state dict, as numpy arrays, into the minigrad module."""
    result = mmod.load_state_dict({k: v.detach().numpy() for k, v in tmod.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []


def run_both(tmod, mmod, x, dtype, seed=99):
    """Forward both on x, backward a random upstream gradient; returns the two inputs."""
    tx = torch.tensor(x, requires_grad=True)
    mx = mg.tensor(x, requires_grad=True)
    tout, mout = tmod(tx), mmod(mx)
    np.testing.assert_allclose(mout.detach().numpy(), tout.detach().numpy(), **tol(dtype))
    g = data(tuple(tout.shape), seed, dtype)
    (tout * torch.tensor(g)).sum().backward()
    (mout * mg.tensor(g)).sum().backward()
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), **tol(dtype))
    return tx, mx


def assert_param_grads(tmod, mmod, dtype):
    mparams = dict(mmod.named_parameters())
    tparams = dict(tmod.named_parameters())
    assert mparams.keys() == tparams.keys()
    for name, tp in tparams.items():
        np.testing.assert_allclose(mparams[name].grad.numpy(), tp.grad.numpy(), **tol(dtype),
                                   err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,), (0, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(dtype, shape, bias):
    tmod = torch.nn.Linear(4, 3, bias=bias, dtype=torch_dtype(dtype))
    mmod = nn.Linear(4, 3, bias=bias, dtype=dtype)
    copy_weights(tmod, mmod)
    run_both(tmod, mmod, data(shape, 1, dtype), dtype)
    assert_param_grads(tmod, mmod, dtype)


def test_linear_default_init_and_shapes():
    mg.manual_seed(0)
    layer = nn.Linear(50, 20)
    assert layer.weight.shape == (20, 50) and layer.bias.shape == (20,)
    assert layer.weight.dtype == mg.float32 and layer.weight.requires_grad
    bound = 1 / np.sqrt(50)  # kaiming_uniform(a=sqrt(5)) gives U(-1/sqrt(in), 1/sqrt(in))
    w = layer.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.1 * bound  # the std of U(-b, b)
    assert np.abs(layer.bias.detach().numpy()).max() <= bound
    assert nn.Linear(3, 2, bias=False).bias is None
    with pytest.raises(ValueError, match="linear"):
        layer(mg.randn(4, 49))


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_matches_torch(dtype, padding_idx):
    tmod = torch.nn.Embedding(6, 3, padding_idx=padding_idx, dtype=torch_dtype(dtype))
    mmod = nn.Embedding(6, 3, padding_idx=padding_idx, dtype=dtype)
    with torch.no_grad():  # make the padding row non-zero: its gradient must still be zero
        tmod.weight.copy_(torch.tensor(data((6, 3), 4, dtype)))
    copy_weights(tmod, mmod)
    idx = np.array([[0, 2, 2, 5], [1, 2, 0, 0], [5, 5, 3, 2]], dtype=np.int64)
    tout, mout = tmod(torch.tensor(idx)), mmod(mg.tensor(idx))
    np.testing.assert_allclose(mout.detach().numpy(), tout.detach().numpy(), **tol(dtype))
    g = data(tuple(tout.shape), 5, dtype)
    (tout * torch.tensor(g)).sum().backward()
    (mout * mg.tensor(g)).sum().backward()
    np.testing.assert_allclose(mmod.weight.grad.numpy(), tmod.weight.grad.numpy(), **tol(dtype))
    if padding_idx is not None:
        assert not np.any(mmod.weight.grad.numpy()[padding_idx])


def test_embedding_init_and_errors():
    mg.manual_seed(1)
    emb = nn.Embedding(2000, 8, padding_idx=3)
    w = emb.weight.detach().numpy()
    assert not np.any(w[3])
    assert abs(w.mean()) < 0.05 and abs(w.std() - 1) < 0.05  # N(0, 1)
    assert repr(emb) == "Embedding(2000, 8, padding_idx=3)"
    with pytest.raises(IndexError, match="out of range"):
        emb(mg.tensor([0, 2000]))
    with pytest.raises(TypeError, match="int64"):
        emb(mg.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(4, 2, padding_idx=4)
    frozen = nn.Embedding.from_pretrained(mg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen(mg.tensor([1, 1])).numpy(), [[3, 4], [3, 4]])


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("shape,normalized", [((4, 5), (5,)), ((2, 3, 5), (3, 5)),
                                              ((5,), 5)])
@pytest.mark.parametrize("affine,bias", [(True, True), (True, False), (False, False)])
def test_layernorm_matches_torch(dtype, shape, normalized, affine, bias):
    tmod = torch.nn.LayerNorm(normalized, elementwise_affine=affine, bias=bias,
                              dtype=torch_dtype(dtype))
    mmod = nn.LayerNorm(normalized, elementwise_affine=affine, bias=bias, dtype=dtype)
    with torch.no_grad():
        for i, p in enumerate(tmod.parameters()):
            p.copy_(torch.tensor(data(tuple(p.shape), 10 + i, dtype, 0.5, 1.5)))
    copy_weights(tmod, mmod)
    run_both(tmod, mmod, data(shape, 2, dtype, -3, 3), dtype)
    if affine:
        assert_param_grads(tmod, mmod, dtype)


def test_layernorm_defaults_and_errors():
    ln = nn.LayerNorm(4)
    np.testing.assert_array_equal(ln.weight.detach().numpy(), np.ones(4))
    np.testing.assert_array_equal(ln.bias.detach().numpy(), np.zeros(4))
    assert repr(ln) == "LayerNorm((4,), eps=1e-05, elementwise_affine=True)"
    with pytest.raises(ValueError, match="layer_norm"):
        ln(mg.randn(3, 5))


ACTIVATIONS = [
    ("Tanh", {}), ("Sigmoid", {}), ("ReLU", {}), ("Identity", {}),
    ("Softmax", {"dim": 1}), ("LogSoftmax", {"dim": 1}), ("Softmax", {"dim": -1}),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("name,kwargs", ACTIVATIONS, ids=[f"{n}{k}" for n, k in ACTIVATIONS])
def test_activations_match_torch(dtype, name, kwargs):
    tmod = getattr(torch.nn, name)(**kwargs)
    mmod = getattr(nn, name)(**kwargs)
    run_both(tmod, mmod, data((3, 4, 2), 3, dtype, -4, 4), dtype)
    assert repr(mmod) == repr(tmod)


def test_dropout_in_training_and_eval():
    mg.manual_seed(3)
    drop = nn.Dropout(0.3)
    x = mg.ones(200, 100, requires_grad=True)
    y = drop(x)
    out = y.detach().numpy()
    zero = out == 0
    assert abs(zero.mean() - 0.3) < 0.02
    np.testing.assert_allclose(out[~zero], 1 / 0.7, rtol=1e-6)
    y.sum().backward()  # the gradient is the same mask and scale
    np.testing.assert_allclose(x.grad.numpy(), out, rtol=1e-6)
    y2 = drop(x).detach().numpy()
    assert not np.array_equal(y2 == 0, zero)  # a fresh mask each call
    drop.eval()
    assert drop(x) is x
    drop.train()
    assert nn.Dropout(0.0)(x) is x
    assert not np.any(nn.Dropout(1.0)(x).detach().numpy())
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    assert repr(drop) == "Dropout(p=0.3, inplace=False)"


def test_dropout_is_reproducible_with_a_seed():
    x = mg.ones(50)
    mg.manual_seed(7)
    a = nn.functional.dropout(x, 0.5).numpy()
    mg.manual_seed(7)
    b = nn.functional.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, b)


def test_mlp_with_all_layers_matches_torch():
    """A small network chaining the layers: outputs and every parameter's gradient agree."""
    def build(lib):
        return lib.nn.Sequential(lib.nn.Linear(6, 8), lib.nn.LayerNorm(8), lib.nn.Tanh(),
                                 lib.nn.Linear(8, 8), lib.nn.ReLU(), lib.nn.Linear(8, 3),
                                 lib.nn.Sigmoid())
    tmod, mmod = build(torch).double(), build(mg).double()
    copy_weights(tmod, mmod)
    run_both(tmod, mmod, data((7, 6), 8, np.float64), np.float64)
    assert_param_grads(tmod, mmod, np.float64)
