"""Each optimizer follows PyTorch's trajectory for 50 steps on the same small problem
(same initial weights, same data): parameters compared after every step.  Skipped
without torch."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim

torch = pytest.importorskip("torch")

STEPS = 50


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)


def build(lib, dtype):
    torch.manual_seed(0)
    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    tmodel = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(),
                                 torch.nn.Linear(6, 2)).to(tdtype)
    mmodel = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2)).to(dtype)
    mmodel.load_state_dict({k: v.detach().numpy() for k, v in tmodel.state_dict().items()})
    return tmodel, mmodel


def problem(dtype):
    rng = np.random.default_rng(1)
    return rng.normal(size=(16, 4)).astype(dtype), rng.normal(size=(16, 2)).astype(dtype)


def step_both(tmodel, mmodel, topt, mopt, x, y, sign=1.0):
    for lib, model, opt in ((torch, tmodel, topt), (mg, mmodel, mopt)):
        opt.zero_grad()
        out = model(lib.tensor(x))
        loss = ((out - lib.tensor(y)) ** 2).mean() * sign
        loss.backward()
        opt.step()


def assert_same_params(tmodel, mmodel, dtype, step):
    for (name, tp), mp in zip(tmodel.named_parameters(), mmodel.parameters()):
        np.testing.assert_allclose(mp.detach().numpy(), tp.detach().numpy(), **tol(dtype),
                                   err_msg=f"{name} after step {step}")


CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.02)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.05, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.02, weight_decay=0.1, amsgrad=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.01,
                     initial_accumulator_value=0.1, eps=1e-6)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.005, alpha=0.9, momentum=0.9)),
    ("RMSprop", dict(lr=0.005, centered=True)),
    ("RMSprop", dict(lr=0.005, centered=True, momentum=0.5, weight_decay=0.01, eps=1e-5)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name,kwargs", CONFIGS,
                         ids=[f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items())}"
                              for n, kw in CONFIGS])
def test_optimizer_follows_torch(name, kwargs, dtype):
    tmodel, mmodel = build(torch, dtype)
    topt = getattr(torch.optim, name)(tmodel.parameters(), **kwargs)
    mopt = getattr(optim, name)(mmodel.parameters(), **kwargs)
    x, y = problem(dtype)
    sign = -1.0 if kwargs.get("maximize") else 1.0
    for step in range(1, STEPS + 1):
        step_both(tmodel, mmodel, topt, mopt, x, y, sign)
        assert_same_params(tmodel, mmodel, dtype, step)


def test_param_groups_follow_torch():
    dtype = np.float64
    tmodel, mmodel = build(torch, dtype)

    def groups(model):
        first, last = model[0], model[2]
        return [{"params": first.parameters(), "lr": 0.05, "momentum": 0.5},
                {"params": last.parameters(), "weight_decay": 0.1}]
    topt = torch.optim.SGD(groups(tmodel), lr=0.1, momentum=0.9)
    mopt = optim.SGD(groups(mmodel), lr=0.1, momentum=0.9)
    assert [g["lr"] for g in mopt.param_groups] == [0.05, 0.1]
    assert [g["momentum"] for g in mopt.param_groups] == [0.5, 0.9]
    x, y = problem(dtype)
    for step in range(1, 21):
        step_both(tmodel, mmodel, topt, mopt, x, y)
        assert_same_params(tmodel, mmodel, dtype, step)


def test_parameters_without_grad_are_skipped():
    a, b = nn.Parameter(mg.ones(3)), nn.Parameter(mg.ones(3))
    opt = optim.Adam([a, b], lr=0.1)
    (a * 2).sum().backward()
    opt.step()
    assert np.all(a.detach().numpy() < 1) and np.all(b.detach().numpy() == 1)
    assert b not in opt.state and opt.state[a]["step"] == 1
