"""Module, Parameter and the containers: registration, iteration, modes, state dicts,
dtype conversion, hooks and repr."""
import collections
import copy

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.norm = nn.LayerNorm(4)
        self.register_buffer("running", mg.zeros(4))
        self.register_buffer("scratch", mg.ones(2), persistent=False)
        self.scale = nn.Parameter(mg.ones(1))

    def forward(self, x):
        return self.norm(self.fc(x)) * self.scale + self.running


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.head = nn.Sequential(nn.Tanh(), nn.Linear(4, 2))

    def forward(self, x):
        return self.head(self.block(x))


def test_parameter_is_a_leaf_tensor_that_requires_grad():
    p = nn.Parameter(mg.randn(2, 3))
    assert isinstance(p, mg.Tensor) and p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert not nn.Parameter(mg.ones(2), requires_grad=False).requires_grad
    y = p * 2
    assert type(y) is mg.Tensor  # ops give plain tensors
    t = mg.ones(3)
    shared = nn.Parameter(t)
    with mg.no_grad():
        shared.add_(1.0)
    np.testing.assert_array_equal(t.numpy(), [2, 2, 2])  # Parameter(t) shares t's values
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(mg.tensor([1, 2]))


def test_registration_and_iteration():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["block.scale", "block.fc.weight", "block.fc.bias", "block.norm.weight",
                     "block.norm.bias", "head.1.weight", "head.1.bias"]
    assert len(list(net.parameters())) == 7
    assert [n for n, _ in net.named_buffers()] == ["block.running", "block.scratch"]
    assert [n for n, _ in net.named_children()] == ["block", "head"]
    assert [n for n, _ in net.named_modules()] == ["", "block", "block.fc", "block.norm", "head",
                                                   "head.0", "head.1"]
    assert list(net.block.parameters(recurse=False)) == [net.block.scale]
    assert net.get_submodule("head.1") is net.head[1]
    assert net.get_parameter("block.fc.bias") is net.block.fc.bias
    # reassignment moves a name between registries; None keeps the slot
    net.block.fc.bias = None
    assert "block.fc.bias" not in dict(net.named_parameters())
    with pytest.raises(TypeError, match="cannot assign"):
        net.block.fc.weight = mg.ones(4, 3)
    with pytest.raises(TypeError, match="buffer"):
        net.block.running = 3
    with pytest.raises(KeyError, match="contain"):
        net.register_buffer("a.b", mg.ones(1))
    with pytest.raises(KeyError, match="already exists"):
        net.register_buffer("training", mg.ones(1))
    del net.block.scale
    assert "block.scale" not in dict(net.named_parameters())
    with pytest.raises(AttributeError):
        net.nothing


def test_shared_parameters_come_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.Tanh(), lin)
    assert len(list(seq.parameters())) == 2
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert len(list(seq.modules())) == 3


def test_train_eval_zero_grad_requires_grad_apply():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net(mg.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(not np.any(p.grad.numpy()) for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "LayerNorm", "Block", "Tanh", "Linear", "Sequential", "Net"]


def test_state_dict_round_trip():
    mg.manual_seed(0)
    a, b = Net(), Net()
    sd = a.state_dict()
    assert list(sd) == ["block.scale", "block.running", "block.fc.weight", "block.fc.bias",
                        "block.norm.weight", "block.norm.bias", "head.1.weight", "head.1.bias"]
    assert all(not v.requires_grad for v in sd.values())
    assert a.state_dict(keep_vars=True)["block.scale"] is a.block.scale
    assert list(a.state_dict(prefix="net."))[0] == "net.block.scale"
    x = mg.randn(4, 3)
    assert not np.allclose(a(x).detach().numpy(), b(x).detach().numpy())
    result = b.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(a(x).detach().numpy(), b(x).detach().numpy())
    # copies, not aliases
    with mg.no_grad():
        a.block.fc.weight.add_(1.0)
    assert not np.array_equal(a.block.fc.weight.detach().numpy(),
                              b.block.fc.weight.detach().numpy())


def snapshot(module):
    return {k: v.numpy().copy() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("damage", ["missing", "unexpected", "shape", "dtype", "type"])
def test_load_state_dict_errors_leave_the_model_untouched(damage):
    mg.manual_seed(1)
    net, other = Net(), Net()
    before = snapshot(net)
    sd = collections.OrderedDict(other.state_dict())
    if damage == "missing":
        del sd["head.1.bias"]
        match = 'Missing key.*"head.1.bias"'
    elif damage == "unexpected":
        sd["head.2.weight"] = mg.ones(1)
        match = 'Unexpected key.*"head.2.weight"'
    elif damage == "shape":
        sd["head.1.weight"] = mg.ones(3, 4)
        match = r"size mismatch for head.1.weight: copying a param with shape \[3, 4\]"
    elif damage == "dtype":
        sd["head.1.bias"] = mg.ones(2, dtype=mg.float64)
        match = "dtype mismatch for head.1.bias"
    else:
        sd["head.1.bias"] = "zeros"
        match = "expected a Tensor"
    with pytest.raises(RuntimeError, match=match):
        net.load_state_dict(sd)
    after = snapshot(net)
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_load_state_dict_non_strict_reports_keys():
    net, other = Net(), Net()
    sd = other.state_dict()
    del sd["block.running"]
    sd["extra"] = mg.ones(1)
    result = net.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["block.running"] and result.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(net.head[1].weight.detach().numpy(),
                                  other.head[1].weight.detach().numpy())
    with pytest.raises(RuntimeError, match="size mismatch"):  # shapes are checked regardless
        net.load_state_dict({"block.scale": mg.ones(2)}, strict=False)


def test_to_dtype_keeps_parameter_objects():
    net = Net()
    weight = net.block.fc.weight
    net(mg.randn(2, 3)).sum().backward()
    assert net.double() is net
    assert net.block.fc.weight is weight and weight.dtype == mg.float64
    assert weight.grad.dtype == mg.float64
    assert all(t.dtype == mg.float64 for t in net.state_dict().values())
    assert net(mg.randn(2, 3, dtype=mg.float64)).dtype == mg.float64
    net.to("cpu").to(mg.float32)
    assert weight.dtype == mg.float32
    with pytest.raises(RuntimeError, match="cuda"):
        net.to("cuda")
    with pytest.raises(TypeError, match="floating point"):
        net.to(mg.int64)


def test_hooks():
    lin = nn.Linear(2, 2)
    calls = []
    pre = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    post = lin.register_forward_hook(lambda m, args, out: calls.append(out.shape) or out + 1)
    out = lin(mg.ones(3, 2))
    np.testing.assert_allclose(out.detach().numpy(), np.broadcast_to(
        lin.bias.detach().numpy() + 1, (3, 2)), rtol=1e-6)
    assert calls == [(3, 2)]
    pre.remove()
    post.remove()
    np.testing.assert_allclose(lin(mg.ones(1, 2)).detach().numpy(),
                               (lin.weight.sum(1) + lin.bias).detach().numpy()[None], rtol=1e-6)
    assert calls == [(3, 2)]


def test_repr_matches_pytorch_layout():
    net = Net()
    expected = """Net(
  (block): Block(
    (fc): Linear(in_features=3, out_features=4, bias=True)
    (norm): LayerNorm((4,), eps=1e-05, elementwise_affine=True)
  )
  (head): Sequential(
    (0): Tanh()
    (1): Linear(in_features=4, out_features=2, bias=True)
  )
)"""
    assert repr(net) == expected
    assert repr(nn.Identity()) == "Identity()"


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    assert isinstance(seq[1:], nn.Sequential) and len(seq[1:]) == 2
    assert seq(mg.randn(4, 2)).shape == (4, 1)
    named = nn.Sequential(collections.OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"]
    with pytest.raises(IndexError):
        seq[3]
    seq.append(nn.Sigmoid())
    assert len(seq) == 4

    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    layers.append(nn.Linear(2, 1))
    assert len(layers) == 4 and len(list(layers.parameters())) == 8
    del layers[0]
    assert [n for n, _ in layers.named_children()] == ["0", "1", "2"]
    layers.insert(0, nn.Tanh())
    assert isinstance(layers[0], nn.Tanh)

    d = nn.ModuleDict({"enc": nn.Linear(2, 3), "dec": nn.Linear(3, 2)})
    assert list(d.keys()) == ["enc", "dec"] and "enc" in d
    assert list(d.state_dict()) == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]
    d["act"] = nn.Tanh()
    assert len(d) == 3
    assert isinstance(d.pop("act"), nn.Tanh) and len(d) == 2


def test_deepcopy_gives_independent_parameters():
    net = Net()
    clone = copy.deepcopy(net)
    assert isinstance(clone.block.fc.weight, nn.Parameter)
    x = mg.randn(2, 3)
    np.testing.assert_array_equal(net(x).detach().numpy(), clone(x).detach().numpy())
    with mg.no_grad():
        clone.block.fc.weight.mul_(0.0)
    assert np.any(net.block.fc.weight.detach().numpy())


def test_module_without_forward_and_before_init():
    class NoForward(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match="forward"):
        NoForward()(1)

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(mg.ones(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()
