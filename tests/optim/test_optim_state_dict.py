"""Optimizer state dicts, resuming, argument checks, and the base-class behaviour."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim

OPTIMIZERS = [
    (optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    (optim.Adam, dict(lr=0.01, amsgrad=True)),
    (optim.AdamW, dict(lr=0.01)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.01)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
]
IDS = [cls.__name__ for cls, _ in OPTIMIZERS]


def model(seed=0):
    mg.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 1))


def train(net, opt, steps, seed=1):
    rng = np.random.default_rng(seed)
    x, y = mg.tensor(rng.normal(size=(8, 3))), mg.tensor(rng.normal(size=(8, 1)))
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.mse_loss(net(x.float()), y.float()).backward()
        opt.step()


def params(net):
    return [p.detach().numpy().copy() for p in net.parameters()]


@pytest.mark.parametrize("cls,kwargs", OPTIMIZERS, ids=IDS)
@pytest.mark.parametrize("through_file", [False, True], ids=["in_memory", "file"])
def test_resume_gives_identical_steps(cls, kwargs, through_file, tmp_path):
    net = model()
    opt = cls(net.parameters(), **kwargs)
    train(net, opt, 10)
    checkpoint = {"model": net.state_dict(), "optimizer": opt.state_dict(), "step": 10}
    if through_file:
        mg.save(checkpoint, tmp_path / "ckpt.safetensors")
        checkpoint = mg.load(tmp_path / "ckpt.safetensors")
    else:  # a deep copy: the live state keeps changing below
        checkpoint = {"model": {k: v.clone() for k, v in checkpoint["model"].items()},
                      "optimizer": _copy_state(checkpoint["optimizer"]), "step": 10}
    train(net, opt, 5, seed=2)
    expected = params(net)

    net2 = model(seed=99)
    opt2 = cls(net2.parameters(), **kwargs)
    net2.load_state_dict(checkpoint["model"])
    opt2.load_state_dict(checkpoint["optimizer"])
    train(net2, opt2, 5, seed=2)
    for a, b in zip(params(net2), expected):
        np.testing.assert_array_equal(a, b)  # bit for bit
    assert opt2.param_groups[0]["lr"] == kwargs["lr"]


def _copy_state(sd):
    return {"state": {i: {k: (v.clone() if isinstance(v, mg.Tensor) else v)
                          for k, v in s.items()} for i, s in sd["state"].items()},
            "param_groups": [dict(g) for g in sd["param_groups"]]}


def test_state_dict_layout_like_pytorch():
    net = model()
    opt = optim.Adam([{"params": net[0].parameters()}, {"params": net[2].parameters(),
                                                         "lr": 0.1}], lr=0.01)
    train(net, opt, 2)
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2, 3]]
    assert [g["lr"] for g in sd["param_groups"]] == [0.01, 0.1]
    assert sorted(sd["state"]) == [0, 1, 2, 3]
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert sd["state"][0]["step"] == 2 and sd["state"][0]["exp_avg"].shape == (5, 3)


def test_load_state_dict_errors_leave_the_optimizer_untouched():
    net = model()
    opt = optim.Adam(net.parameters(), lr=0.01)
    train(net, opt, 3)
    before = _copy_state(opt.state_dict())
    bad_groups = {"state": {}, "param_groups": before["param_groups"] * 2}
    with pytest.raises(ValueError, match="parameter groups"):
        opt.load_state_dict(bad_groups)
    short = {"state": {}, "param_groups": [dict(before["param_groups"][0], params=[0, 1])]}
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict(short)
    wrong_shape = _copy_state(before)
    wrong_shape["state"][1]["exp_avg"] = mg.zeros(7)
    wrong_shape["param_groups"][0]["lr"] = 123.0
    with pytest.raises(ValueError, match="shape"):
        opt.load_state_dict(wrong_shape)
    stray = _copy_state(before)
    stray["state"][9] = {"step": 1}
    with pytest.raises(ValueError, match="refers to parameter 9"):
        opt.load_state_dict(stray)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})
    after = opt.state_dict()
    assert after["param_groups"][0]["lr"] == 0.01
    for i, s in before["state"].items():
        for k, v in s.items():
            np.testing.assert_array_equal(np.asarray(after["state"][i][k]), np.asarray(v))


def test_loaded_state_is_cast_to_the_parameter_dtype():
    net = model().double()
    opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    state = {"state": {0: {"momentum_buffer": mg.ones(5, 3)}},  # float32 buffer
             "param_groups": opt.state_dict()["param_groups"]}
    opt.load_state_dict(state)
    buf = opt.state[net[0].weight]["momentum_buffer"]
    assert buf.dtype == mg.float64
    state["state"][0]["momentum_buffer"].fill_(5.0)  # a copy, not an alias
    assert buf.numpy()[0, 0] == 1.0


def test_zero_grad_closure_and_version_counter():
    w = nn.Parameter(mg.ones(3))
    opt = optim.SGD([w], lr=0.1)
    y = (w * w).sum()  # Mul saved w
    y.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(w.grad.numpy(), 0)
    opt.zero_grad()
    assert w.grad is None

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss
    loss = opt.step(closure)
    assert loss.item() == pytest.approx(3 * 0.8 ** 2)


def test_argument_checks():
    ps = list(model().parameters())
    with pytest.raises(ValueError, match="learning rate"):
        optim.SGD(ps, lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(ps, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        optim.Adam(ps, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="iterable"):
        optim.Adam(ps[0])
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": ps[:2]}, {"params": ps[1:]}], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([ps[0] * 2], lr=0.1)
    with pytest.raises(TypeError, match="sets"):
        optim.SGD(set(ps), lr=0.1)
    assert "Parameter Group 0" in repr(optim.Adam(ps))


def test_adagrad_state_exists_before_the_first_step():
    ps = list(model().parameters())
    opt = optim.Adagrad(ps, initial_accumulator_value=0.5)
    sd = opt.state_dict()
    assert sorted(sd["state"]) == [0, 1, 2, 3]
    np.testing.assert_array_equal(sd["state"][0]["sum"].numpy(), 0.5)


@pytest.mark.parametrize("cls,kwargs", OPTIMIZERS, ids=IDS)
def test_updates_do_not_depend_on_the_thread_count(cls, kwargs):
    """The fused kernels split large parameters across threads: the result is the same
    bit for bit at 1 and 2 threads (elementwise updates, no reductions)."""
    rng = np.random.default_rng(5)
    start = rng.normal(size=(300, 500)).astype(np.float32)
    grads = [rng.normal(size=start.shape).astype(np.float32) for _ in range(3)]
    results = []
    before = mg.get_num_threads()
    try:
        for threads in (1, 2):
            mg.set_num_threads(threads)
            p = nn.Parameter(mg.tensor(start))
            opt = cls([p], **kwargs)
            for g in grads:
                p.grad = mg.tensor(g)
                opt.step()
            results.append(p.detach().numpy().copy())
    finally:
        mg.set_num_threads(before)
    np.testing.assert_array_equal(results[0], results[1])
    assert not np.array_equal(results[0], start)
