"""Each scheduler follows PyTorch's learning rates (and momentum, for OneCycleLR) for 50
steps, drives the same parameter trajectory, and resumes from its state dict.  Skipped
without torch."""
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.optim import lr_scheduler

torch = pytest.importorskip("torch")
STEPS = 50


def two_groups(lib):
    """Two parameter groups with different lrs; the parameters are (2,) vectors."""
    p = [lib.nn.Parameter(lib.ones(2, dtype=lib.float64)) for _ in range(2)]
    return p, [{"params": [p[0]], "lr": 0.1}, {"params": [p[1]], "lr": 0.02}]


class Halve:
    """A callable object: its attributes are saved in LambdaLR's state dict."""

    def __init__(self):
        self.rate = 0.5

    def __call__(self, epoch):
        return self.rate ** (epoch // 10)


SCHEDULERS = [
    ("StepLR", dict(step_size=7, gamma=0.5), "SGD"),
    ("ExponentialLR", dict(gamma=0.93), "SGD"),
    ("CosineAnnealingLR", dict(T_max=12, eta_min=0.001), "SGD"),
    ("CosineAnnealingLR", dict(T_max=50), "Adam"),
    ("LambdaLR", dict(lr_lambda=lambda e: 1.0 / (1 + e)), "SGD"),
    ("LambdaLR", dict(lr_lambda=[lambda e: 0.9 ** e, lambda e: 1 + 0.1 * e]), "SGD"),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=STEPS), "SGD"),
    ("OneCycleLR", dict(max_lr=[0.5, 0.2], total_steps=STEPS, anneal_strategy="linear",
                        pct_start=0.4), "Adam"),
    ("OneCycleLR", dict(max_lr=0.3, epochs=5, steps_per_epoch=10, three_phase=True,
                        cycle_momentum=True), "SGD"),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=STEPS, cycle_momentum=False), "Adagrad"),
]


def make(lib, name, kwargs, opt_name):
    params, groups = two_groups(lib)
    extra = dict(momentum=0.9) if opt_name == "SGD" else {}
    opt = getattr(lib.optim, opt_name)(groups, **extra)
    sched = getattr(lib.optim.lr_scheduler, name)(opt, **kwargs)
    return params, opt, sched


def momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


@pytest.mark.parametrize("name,kwargs,opt_name", SCHEDULERS,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(SCHEDULERS)])
def test_scheduler_follows_torch(name, kwargs, opt_name):
    tparams, topt, tsched = make(torch, name, kwargs, opt_name)
    mparams, mopt, msched = make(mg, name, kwargs, opt_name)
    np.testing.assert_allclose(msched.get_last_lr(), tsched.get_last_lr(), rtol=1e-13)
    target = np.array([0.3, -0.7])
    for step in range(STEPS if name != "OneCycleLR" else STEPS - 1):
        for lib, params, opt, sched in ((torch, tparams, topt, tsched),
                                        (mg, mparams, mopt, msched)):
            opt.zero_grad()
            sum((p - lib.tensor(target)).pow(2).sum() for p in params).backward()
            opt.step()
            sched.step()
        np.testing.assert_allclose(msched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12,
                                   err_msg=f"step {step}")
        np.testing.assert_allclose([g["lr"] for g in mopt.param_groups],
                                   [g["lr"] for g in topt.param_groups], rtol=1e-12)
        if opt_name != "Adagrad":  # (Adagrad has no momentum)
            assert momenta(mopt) == pytest.approx(momenta(topt), rel=1e-12)
        for mp, tp in zip(mparams, tparams):
            np.testing.assert_allclose(mp.detach().numpy(), tp.detach().numpy(), rtol=1e-10,
                                       atol=1e-12)
    assert msched.last_epoch == tsched.last_epoch


@pytest.mark.parametrize("name,kwargs,opt_name", SCHEDULERS,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(SCHEDULERS)])
def test_scheduler_resumes_from_state_dict(name, kwargs, opt_name, tmp_path):
    """Save optimizer + scheduler after 20 steps (through minigrad.save), rebuild, load,
    and take the remaining steps: the lrs equal an uninterrupted run's."""
    _, opt, sched = make(mg, name, kwargs, opt_name)
    lrs = []
    for _ in range(20):
        opt.step()
        sched.step()
    path = tmp_path / "sched.safetensors"
    if name == "LambdaLR":
        state = sched.state_dict()
        assert state["lr_lambdas"] == [None] * 2  # plain functions are not saved
    mg.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, path)
    for _ in range(20):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
    _, opt2, sched2 = make(mg, name, kwargs, opt_name)
    saved = mg.load(path)
    opt2.load_state_dict(saved["optimizer"])
    sched2.load_state_dict(saved["scheduler"])
    resumed = []
    for _ in range(20):
        opt2.step()
        sched2.step()
        resumed.append(sched2.get_last_lr())
    assert resumed == lrs
    assert momenta(opt2) == momenta(opt)


def test_lambda_lr_saves_callable_objects():
    _, groups = two_groups(mg)
    fn = Halve()
    sched = lr_scheduler.LambdaLR(optim.SGD(groups), fn)
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"rate": 0.5}, {"rate": 0.5}]
    state["lr_lambdas"] = [{"rate": 0.25}, {"rate": 0.25}]
    sched.load_state_dict(state)
    assert fn.rate == 0.25


def test_step_with_epoch_uses_the_closed_form():
    for lib in (mg, torch):
        _, groups = two_groups(lib)
        sched = lib.optim.lr_scheduler.StepLR(lib.optim.SGD(groups), step_size=3, gamma=0.5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched.step(7)
        if lib is mg:
            mine = sched.get_last_lr()
        else:
            assert mine == pytest.approx(sched.get_last_lr(), rel=1e-15)
    assert mine == pytest.approx([0.1 * 0.25, 0.02 * 0.25])


def test_resume_with_last_epoch_needs_initial_lr():
    _, groups = two_groups(mg)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(optim.SGD(groups), 3, last_epoch=5)
    lrs = []
    for lib in (mg, torch):  # resuming at epoch 4 keeps the lr, then continues from it
        _, groups = two_groups(lib)
        opt = lib.optim.SGD(groups)
        lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
        resumed = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, last_epoch=4)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            resumed.step()
            resumed.step()
        lrs.append(resumed.get_last_lr())
    assert lrs[0] == pytest.approx(lrs[1], rel=1e-14)


METRICS = [1.0, 0.9, 0.9, 0.9, 0.95, 0.89, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7] + [0.7] * 37


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(patience=1, factor=0.5),
    dict(patience=0, factor=0.5, cooldown=2, min_lr=[0.01, 0.001]),
    dict(mode="max", patience=2, threshold=0.05, threshold_mode="abs", factor=0.3),
    dict(patience=2, threshold=0.01, factor=0.5, eps=0.06),
])
def test_reduce_lr_on_plateau_follows_torch(kwargs):
    _, tgroups = two_groups(torch)
    _, mgroups = two_groups(mg)
    topt, mopt = torch.optim.SGD(tgroups), optim.SGD(mgroups)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs)
    msched = lr_scheduler.ReduceLROnPlateau(mopt, **kwargs)
    for metric in METRICS:
        tsched.step(metric)
        msched.step(mg.tensor(metric))
        assert msched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-15)
        assert msched.num_bad_epochs == tsched.num_bad_epochs
    state = msched.state_dict()
    _, groups = two_groups(mg)
    again = lr_scheduler.ReduceLROnPlateau(optim.SGD(groups), **kwargs)
    again.load_state_dict(state)
    assert again.best == msched.best and again.cooldown_counter == msched.cooldown_counter


def test_scheduler_argument_errors():
    _, groups = two_groups(mg)
    opt = optim.SGD(groups)
    with pytest.raises(TypeError, match="not an Optimizer"):
        lr_scheduler.StepLR(object(), 3)
    with pytest.raises(ValueError, match="Factor"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="total_steps"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="momentum"):
        lr_scheduler.OneCycleLR(optim.Adagrad(nn.Linear(2, 2).parameters()), 0.1, 10)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        sched.step()
