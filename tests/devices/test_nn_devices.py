"""Models on the GPU: layers and losses, the recurrent layers (fused and composed),
Module.to, optimizers and gradient clipping, checkpoints -- each against the
same model on the CPU.

Device 'cuda' is the api of the `cuda_api` fixture (the loopback everywhere, the
real GPU where one is visible).
"""
import copy

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from device_helpers import assert_close, host
from minigrad import nn, optim

pytestmark = pytest.mark.usefixtures("cuda_api")


def data(shape, dtype=np.float32, seed=0, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(dtype)


def twin(make, dtype):
    """(cpu model, cuda model) with the same weights."""
    mg.manual_seed(0)
    cpu = make().to(dtype)
    gpu = make().to(dtype)
    gpu.load_state_dict(cpu.state_dict())
    return cpu, gpu.to("cuda")


def compare_grads(cpu, gpu, dtype, api, scale=10):
    for (name, p), (name_g, q) in zip(cpu.named_parameters(), gpu.named_parameters()):
        assert name == name_g
        assert q.device == "cuda:0"
        if p.grad is None:
            assert q.grad is None, name
        else:
            assert q.grad.device == "cuda:0", name
            assert_close(q.grad, p.grad, dtype, api, scale=scale)


# ---- layers and losses ------------------------------------------------------------------------


def test_linear_embedding_losses(fdtype, cuda_api):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(7, 4, padding_idx=0)
            self.fc = nn.Linear(4, 5)
            self.drop = nn.Dropout(0.0)

        def forward(self, ids):
            return self.fc(self.drop(self.emb(ids)))

    cpu, gpu = twin(Net, fdtype)
    ids = np.array([[1, 0, 3], [6, 6, 2]], dtype=np.int64)
    target = np.array([[0, 4, 2], [1, -100, 3]], dtype=np.int64)
    losses = []
    for model, dev in ((cpu, "cpu"), (gpu, "cuda")):
        logits = model(mg.tensor(ids, device=dev))                     # (2, 3, 5)
        t = mg.tensor(target, device=dev)
        w = mg.tensor(data(5, fdtype, seed=1, low=0.5, high=2.0), device=dev)
        loss = (F.cross_entropy(logits.permute(0, 2, 1), t, weight=w, label_smoothing=0.1)
                + F.cross_entropy(logits.reshape(-1, 5), t.reshape(-1), reduction="sum") * 0.1
                + F.nll_loss(logits.log_softmax(-1).reshape(-1, 5), t.reshape(-1), weight=w)
                + F.mse_loss(logits, logits.detach() * 0.5)
                + F.cross_entropy(logits.reshape(-1, 5).softmax(0),
                                  logits.reshape(-1, 5).softmax(1).detach()))  # soft labels
        loss.backward()
        losses.append(loss)
    assert losses[1].device == "cuda:0"
    assert_close(losses[1], losses[0], fdtype, cuda_api, scale=10)
    compare_grads(cpu, gpu, fdtype, cuda_api)
    assert (host(gpu.emb.weight.grad)[0] == 0).all()  # padding_idx row gets nothing
    with pytest.raises(IndexError):
        gpu(mg.tensor([[7]], device="cuda"))
    with pytest.raises(IndexError, match="out of range"):
        F.cross_entropy(mg.ones(2, 5, device="cuda"), mg.tensor([0, 5], device="cuda"))
    with pytest.raises(IndexError, match="out of range"):
        F.nll_loss(mg.ones(2, 5, device="cuda"), mg.tensor([0, 5], device="cuda"))


# ---- recurrent layers ------------------------------------------------------------------------

RNN_CASES = [
    ("LSTM", "fused", dict(num_layers=2, bidirectional=True)),
    ("LSTM", "composed", dict(num_layers=2)),
    ("GRU", "fused", dict(bidirectional=True, batch_first=True)),
    ("GRU", "composed", dict()),
    ("RNN", "fused", dict(nonlinearity="relu", num_layers=2)),
    ("RNN", "composed", dict(bidirectional=True)),
    ("LSTM", "composed", dict(proj_size=2)),
    ("LSTM", "fused", dict(proj_size=2, bidirectional=True)),  # fused on the CPU, composed on the GPU
]


@pytest.mark.parametrize("mode, impl, kwargs", RNN_CASES,
                         ids=[f"{m}-{i}-{'-'.join(k)}" for m, i, k in RNN_CASES])
@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "lengths"])
def test_recurrent_layers(mode, impl, kwargs, with_lengths, fdtype, cuda_api):
    cls = getattr(nn, mode)
    cpu, gpu = twin(lambda: cls(3, 4, impl=impl, **kwargs), fdtype)
    assert cpu.effective_impl == impl
    assert gpu.effective_impl == ("composed" if kwargs.get("proj_size") else impl)
    T, B = 5, 3
    x = data((B, T, 3) if kwargs.get("batch_first") else (T, B, 3), fdtype, seed=2)
    lengths = [5, 2, 4] if with_lengths else None
    outs = []
    for model, dev in ((cpu, "cpu"), (gpu, "cuda")):
        xt = mg.tensor(x, device=dev, requires_grad=True)
        y, state = model(xt, lengths=lengths)
        states = state if isinstance(state, tuple) else (state,)
        loss = (y * y).sum() + sum((s * s).sum() for s in states)
        loss.backward()
        outs.append((xt, y, states))
    (x_cpu, y_cpu, s_cpu), (x_gpu, y_gpu, s_gpu) = outs
    assert y_gpu.device == "cuda:0" and all(s.device == "cuda:0" for s in s_gpu)
    assert_close(y_gpu, y_cpu, fdtype, cuda_api, scale=20)
    for a, b in zip(s_gpu, s_cpu):
        assert_close(a, b, fdtype, cuda_api, scale=20)
    assert_close(x_gpu.grad, x_cpu.grad, fdtype, cuda_api, scale=50)
    compare_grads(cpu, gpu, fdtype, cuda_api, scale=50)


def test_cells_and_initial_states(cuda_api):
    cpu, gpu = twin(lambda: nn.LSTMCell(3, 4), np.float64)
    x = data((2, 3), np.float64, seed=3)
    h = data((2, 4), np.float64, seed=4)
    outs = [m(mg.tensor(x, device=d), (mg.tensor(h, device=d), mg.tensor(h, device=d)))
            for m, d in ((cpu, "cpu"), (gpu, "cuda"))]
    for a, b in zip(outs[1], outs[0]):
        assert_close(a, b, np.float64, cuda_api)
    lstm = nn.LSTM(3, 4).to("cuda")
    # a CPU input to a GPU model is refused (nn.rnn does not name the devices yet)
    with pytest.raises((RuntimeError, ValueError)):
        lstm(mg.tensor(data((2, 1, 3))))


# ---- Module.to ---------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda **kw: nn.Linear(5, 3, **kw), lambda **kw: nn.Embedding(7, 4, **kw),
    lambda **kw: nn.LayerNorm(6, **kw), lambda **kw: nn.LSTMCell(3, 4, **kw),
    lambda **kw: nn.GRU(3, 4, num_layers=2, bidirectional=True, **kw),
    lambda **kw: nn.RNN(3, 4, nonlinearity="relu", **kw)],
    ids=["Linear", "Embedding", "LayerNorm", "LSTMCell", "GRU", "RNN"])
def test_device_argument_of_layers(make, cuda_api):
    # PyTorch's device=: the parameters live there, with the numbers a CPU module gets
    mg.manual_seed(3)
    cpu = make(dtype=mg.float64)
    mg.manual_seed(3)
    gpu = make(device="cuda", dtype=mg.float64)
    for (name, p), (_, q) in zip(cpu.named_parameters(), gpu.named_parameters()):
        assert q.device == "cuda:0" and q.dtype == mg.float64, name
        np.testing.assert_allclose(host(q), host(p), rtol=1e-7, err_msg=name)
    with pytest.raises(RuntimeError, match="no CUDA backend|no CUDA device|unknown device"):
        make(device="tpu")


def test_recurrent_input_on_another_device_is_refused(cuda_api):
    lstm = nn.LSTM(3, 4, device="cuda")
    with pytest.raises(RuntimeError, match="input is on cpu but the parameters are on cuda:0"):
        lstm(mg.zeros(2, 1, 3))
    cell = nn.GRUCell(3, 4)
    with pytest.raises(RuntimeError, match="on cuda:0 but the parameters are on cpu"):
        cell(mg.zeros(2, 3, device="cuda"))
    with pytest.raises(RuntimeError, match="on cpu but the parameters are on cuda:0"):
        nn.GRUCell(3, 4, device="cuda")(mg.zeros(2, 3, device="cuda"), mg.zeros(2, 4))


def test_module_to_moves_in_place(cuda_api):
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    model.register_buffer("running", mg.ones(2))
    params = list(model.parameters())
    model(mg.randn(5, 3)).sum().backward()
    grads = [host(p.grad) for p in params]
    values = [host(p) for p in params]
    assert model.to("cuda") is model
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]  # same objects
    for p, v, g in zip(model.parameters(), values, grads):
        assert p.device == "cuda:0" and p.is_leaf and p.requires_grad
        assert p.grad.device == "cuda:0"
        np.testing.assert_array_equal(host(p), v)
        np.testing.assert_array_equal(host(p.grad), g)
    assert model.running.device == "cuda:0"
    out = model(mg.randn(5, 3, device="cuda"))
    assert out.device == "cuda:0"
    model.to("cuda", mg.float64)
    assert all(p.dtype == mg.float64 and p.device == "cuda:0" for p in model.parameters())
    model.cpu()
    assert all(p.device == "cpu" for p in model.parameters()) and model.running.device == "cpu"
    model.cuda().to(mg.ones(1))  # to(tensor): its device and dtype
    assert all(p.device == "cpu" and p.dtype == mg.float32 for p in model.parameters())
    clone = copy.deepcopy(nn.Linear(2, 2).cuda())
    assert clone.weight.device == "cuda:0" and isinstance(clone.weight, nn.Parameter)


# ---- optimizers and clipping --------------------------------------------------------------------

OPTIMIZERS = [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True),
    lambda ps: optim.AdamW(ps, lr=0.01),
    lambda ps: optim.Adagrad(ps, lr=0.1),
    lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
]


@pytest.mark.parametrize("i", range(len(OPTIMIZERS)),
                         ids=["sgd", "adam", "adamw", "adagrad", "rmsprop"])
def test_optimizer_steps_match_the_cpu(i, fdtype, cuda_api):
    cpu, gpu = twin(lambda: nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)), fdtype)
    x, y = data((8, 3), fdtype, seed=5), np.array([0, 1] * 4, dtype=np.int64)
    for model, dev in ((cpu, "cpu"), (gpu, "cuda")):
        opt = OPTIMIZERS[i](model.parameters())
        sched = optim.lr_scheduler.StepLR(opt, 2, gamma=0.5)
        for _ in range(4):
            opt.zero_grad()
            F.cross_entropy(model(mg.tensor(x, device=dev)), mg.tensor(y, device=dev)).backward()
            nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            opt.step()
            sched.step()
        for state in opt.state.values():
            for value in state.values():
                if isinstance(value, mg.Tensor):
                    assert value.device == model[0].weight.device
    for p, q in zip(cpu.parameters(), gpu.parameters()):
        assert_close(q, p, fdtype, cuda_api, scale=100)


def test_clip_grad(cuda_api):
    cpu, gpu = twin(lambda: nn.Linear(4, 3), np.float64)
    for model, dev in ((cpu, "cpu"), (gpu, "cuda")):
        (model(mg.tensor(data((2, 4), np.float64), device=dev)) ** 2).sum().backward()
    for norm_type in (2.0, 1.0, float("inf")):
        a = nn.utils.clip_grad_norm_(copy_grads(cpu), 0.1, norm_type)
        b = nn.utils.clip_grad_norm_(copy_grads(gpu), 0.1, norm_type)
        assert b.device == "cuda:0"
        assert float(b) == pytest.approx(float(a), rel=1e-9)
    nn.utils.clip_grad_norm_(cpu.parameters(), 0.1)
    nn.utils.clip_grad_norm_(gpu.parameters(), 0.1)
    nn.utils.clip_grad_value_(cpu.parameters(), 0.01)
    nn.utils.clip_grad_value_(gpu.parameters(), 0.01)
    compare_grads(cpu, gpu, np.float64, cuda_api)


def copy_grads(model):
    """Fresh leaves carrying copies of the model's gradients (clipping changes them)."""
    out = []
    for p in model.parameters():
        t = p.detach().clone()
        t.grad = p.grad.clone()
        out.append(t)
    return out


# ---- checkpoints ---------------------------------------------------------------------------------


def test_checkpoint_round_trips(tmp_path, cuda_api):
    mg.manual_seed(1)
    model = nn.LSTM(3, 4).to("cuda")
    opt = optim.Adam(model.parameters(), lr=0.01)
    x = mg.randn(5, 2, 3, device="cuda")

    def step():
        opt.zero_grad()
        y, _ = model(x)
        (y * y).sum().backward()
        opt.step()

    step()
    path = tmp_path / "ckpt.safetensors"
    mg.save({"model": model.state_dict(), "opt": opt.state_dict(), "note": "gpu"}, path)

    # loads on the CPU by default ...
    ckpt = mg.load(path)
    assert ckpt["note"] == "gpu"
    assert all(t.device == "cpu" for t in ckpt["model"].values())
    for key, t in model.state_dict().items():
        np.testing.assert_array_equal(ckpt["model"][key].numpy(), host(t))
    assert ckpt["opt"]["state"][0]["exp_avg"].device == "cpu"
    # ... or wherever map_location says
    on_gpu = mg.load(path, map_location="cuda")
    assert all(t.device == "cuda:0" for t in on_gpu["model"].values())

    # a CPU checkpoint loads into a model and an optimizer on the GPU
    restored = nn.LSTM(3, 4).to("cuda")
    restored.load_state_dict(ckpt["model"])
    ropt = optim.Adam(restored.parameters(), lr=0.01)
    ropt.load_state_dict(ckpt["opt"])
    assert all(v.device == "cuda:0" for s in ropt.state.values() for v in s.values()
               if isinstance(v, mg.Tensor))
    for p, q in zip(model.parameters(), restored.parameters()):
        assert q.device == "cuda:0"
        np.testing.assert_array_equal(host(p), host(q))
    # training continues identically
    step()
    ropt.zero_grad()
    y, _ = restored(x)
    (y * y).sum().backward()
    ropt.step()
    for p, q in zip(model.parameters(), restored.parameters()):
        assert_close(q, p, np.float32, cuda_api)

    # and a GPU state dict loads into a CPU model
    cpu_model = nn.LSTM(3, 4)
    cpu_model.load_state_dict(model.state_dict())
    for p, q in zip(model.parameters(), cpu_model.parameters()):
        assert q.device == "cpu"
        np.testing.assert_array_equal(host(p), q.detach().numpy())
