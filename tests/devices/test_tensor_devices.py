"""Tensors on the GPU: device names, transfers, factories, a slice of every op family
(forward and backward against the CPU), gradcheck through CUDA tensors, autograd
across .to(), in-place ops, and the errors (mixed devices, .numpy(), no CUDA).

Device 'cuda' is the api of the `cuda_api` fixture: the loopback test device
everywhere, the real GPU where one is visible.
"""
import numpy as np
import pytest

import minigrad as mg
from device_helpers import assert_close, host
from minigrad import dtypes
from minigrad.autograd import gradcheck, gradgradcheck
from minigrad.backend.cuda import runtime


def data(shape, dtype=np.float64, seed=0, low=-2.0, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(dtype)


# ---- device names and the errors when there is no CUDA -------------------------------------


def test_device_names():
    dev = dtypes.device
    assert dev("cuda") == "cuda:0" and dev("cuda:0") == "cuda:0" and dev("cuda", 0) == "cuda:0"
    assert dev("cpu") == "cpu" and dev("cpu") is dtypes.CPU
    assert dev("cuda").type == "cuda" and dev("cuda").index == 0
    assert dev("cpu").type == "cpu" and dev("cpu").index is None
    assert repr(dev("cuda")) == "device(type='cuda', index=0)"
    assert dev(dev("cuda")) is dtypes.CUDA
    with pytest.raises(RuntimeError, match="unknown device"):
        dtypes.check_device("gpu")
    with pytest.raises(RuntimeError, match="one GPU"):
        dtypes.check_device("cuda:1")
    with pytest.raises(ValueError, match="invalid device"):
        dev("cuda:x")


@pytest.mark.skipif(mg.cuda.is_available(), reason="this machine has a GPU")
def test_no_cuda_gives_the_clear_error():
    assert runtime.active() is None  # nothing installed outside the fixture
    for make in (lambda: mg.tensor([1.0], device="cuda"), lambda: mg.zeros(2, device="cuda"),
                 lambda: mg.randn(2, device="cuda"), lambda: mg.ones(2).to("cuda"),
                 lambda: mg.ones(2).cuda(), lambda: mg.nn.Linear(2, 2).to("cuda")):
        with pytest.raises(RuntimeError, match="device 'cuda'") as info:
            make()
        text = str(info.value)
        assert "MINIGRAD_CUDA=1" in text or "no CUDA device" in text
    assert runtime.active() is None


pytestmark_api = pytest.mark.usefixtures("cuda_api")


# ---- transfers ------------------------------------------------------------------------------


@pytestmark_api
def test_to_cuda_cpu_round_trip(fdtype):
    values = data((3, 4), fdtype)
    x = mg.tensor(values)
    y = x.to("cuda")
    assert y.device == "cuda:0" and y.device.type == "cuda" and y.is_cuda and not x.is_cuda
    assert y.dtype == fdtype and y.shape == (3, 4)
    assert y.to("cuda") is y and y.cuda() is y and x.cpu() is x
    z = y.cpu()
    assert z.device == "cpu" and z.device.type == "cpu"
    np.testing.assert_array_equal(z.numpy(), values)
    np.testing.assert_array_equal(y.cuda(0).cpu().numpy(), values)
    np.testing.assert_array_equal(x.to(mg.dtypes.device("cuda")).cpu().numpy(), values)
    w = x.to("cuda", mg.float64)
    assert w.device == "cuda:0" and w.dtype == mg.float64
    assert x.to(w).device == "cuda:0" and x.to(w).dtype == mg.float64
    assert y.to("cuda", copy=True) is not y
    # views and non-contiguous tensors transfer their values
    np.testing.assert_array_equal(x.T.cuda().cpu().numpy(), values.T)
    np.testing.assert_array_equal(y[::-1, 1::2].cpu().numpy(), values[::-1, 1::2])
    # a copy, not an alias: changing the source does not change the copy
    with mg.no_grad():
        x.add_(1.0)
    np.testing.assert_array_equal(y.cpu().numpy(), values)


@pytestmark_api
def test_host_access_and_refusals():
    y = mg.tensor([[1.5, -2.0]], device="cuda")
    assert y.device == "cuda:0"
    assert y.tolist() == [[1.5, -2.0]]
    assert y[0, 1].item() == -2.0 and float(y.sum()) == -0.5 and bool(y[0, 0] > 1)
    assert "device='cuda:0'" in repr(y) and "1.5" in repr(y)
    with pytest.raises(TypeError, match=r"can't convert cuda:0 device type tensor to numpy"):
        y.numpy()
    with pytest.raises(TypeError, match=r"Tensor\.cpu\(\)"):
        np.asarray(y)
    i = mg.tensor([2], device="cuda")
    assert [10, 20, 30][i] == 30  # __index__ reads the value back


@pytestmark_api
def test_factories_on_the_device(fdtype, cuda_api):
    checks = [
        (mg.zeros(2, 3, dtype=fdtype, device="cuda"), np.zeros((2, 3), fdtype)),
        (mg.ones((2,), dtype=fdtype, device="cuda"), np.ones(2, fdtype)),
        (mg.full((2, 2), 7.5, dtype=fdtype, device="cuda"), np.full((2, 2), 7.5, fdtype)),
        (mg.arange(5, device="cuda"), np.arange(5)),
        (mg.linspace(0, 1, 5, dtype=fdtype, device="cuda"), np.linspace(0, 1, 5, dtype=fdtype)),
        (mg.eye(3, 2, dtype=fdtype, device="cuda"), np.eye(3, 2, dtype=fdtype)),
        (mg.tensor([[1, 2]], device="cuda"), np.array([[1, 2]])),
        (mg.zeros_like(mg.ones(2, device="cuda")), np.zeros(2, np.float32)),
        (mg.ones(2, device="cuda").new_full((3,), 2.0), np.full(3, 2.0, np.float32)),
        (mg.ones(2, device="cuda").new_tensor([4.0]), np.array([4.0], np.float32)),
    ]
    for t, expected in checks:
        assert t.device == "cuda:0"
        assert t.dtype == expected.dtype
        np.testing.assert_array_equal(t.cpu().numpy(), expected)
    e = mg.empty(4, 2, dtype=fdtype, device="cuda", requires_grad=True)
    assert e.device == "cuda:0" and e.shape == (4, 2) and e.requires_grad
    assert mg.tensor(mg.ones(2, device="cuda")).device == "cuda:0"  # a copy on its device
    assert mg.tensor(mg.ones(2, device="cuda"), device="cpu").device == "cpu"
    assert mg.as_tensor(e, device="cuda") is e


@pytestmark_api
def test_random_numbers_match_the_cpu(fdtype, cuda_api):
    draws = [
        lambda d: mg.rand(3, 4, dtype=fdtype, device=d),
        lambda d: mg.randn(5, dtype=fdtype, device=d),
        lambda d: mg.randint(2, 9, (6,), device=d),
        lambda d: mg.zeros(4, 3, dtype=fdtype, device=d).uniform_(-1, 2),
        lambda d: mg.zeros(7, dtype=fdtype, device=d).normal_(1.0, 3.0),
        lambda d: mg.zeros(7, dtype=fdtype, device=d).bernoulli_(0.4),
        lambda d: mg.bernoulli(mg.full((8,), 0.5, dtype=fdtype, device=d)),
        lambda d: mg.nn.functional.dropout(mg.ones(10, dtype=fdtype, device=d), 0.3),
    ]
    for draw in draws:
        mg.manual_seed(7)
        expected = draw("cpu")
        mg.manual_seed(7)
        got = draw("cuda")
        assert got.device == "cuda:0"
        assert_close(got, expected, fdtype, cuda_api, scale=10)
    g = mg.Generator(11)
    a = mg.randn(3, generator=g, device="cuda")
    g.manual_seed(11)
    assert_close(a, mg.randn(3, generator=g), np.float32, cuda_api, scale=10)


# ---- a slice of every op family, forward and backward against the CPU ---------------------

def _idx(d):
    return mg.tensor([2, 0, 2, 1], device=d)


OPS = {
    "add_bcast": (lambda a, b, d: a + b[0], 2),
    "sub_rsub": (lambda a, b, d: 1.5 - a - b, 2),
    "mul_div": (lambda a, b, d: a * b / (b * b + 1), 2),
    "pow": (lambda a, b, d: (a * a + 0.5) ** b, 2),
    "scalar_ops": (lambda a, b, d: (a * 2 + 1) ** 2 / 3 - 1 / (a * a + 1), 1),
    "max_min": (lambda a, b, d: mg.maximum(a, b) + mg.minimum(a, 0.25), 2),
    "unary": (lambda a, b, d: a.exp() + a.tanh() + a.sigmoid() + a.relu() + a.abs()
              + (a * a + 1).sqrt() + (a * a + 1).log() + a.square(), 1),
    "where_clamp": (lambda a, b, d: mg.where(a > b, a, b * 2) + a.clamp(-0.5, 0.7), 2),
    "sum_mean": (lambda a, b, d: a.sum(0) + a.mean(1, keepdim=True).sum() + a.var(), 1),
    "max_dim": (lambda a, b, d: a.max(1).values + a.amin(0).sum() + a.max(), 1),
    "softmax": (lambda a, b, d: a.softmax(1) * b + a.log_softmax(0) + a.logsumexp(1)[:, None], 2),
    "matmul": (lambda a, b, d: a @ b.T + (a.T @ a).sum(), 2),
    "matmul_batched": (lambda a, b, d: (a.reshape(2, 3, 2) @ b.reshape(2, 2, 3)).sum(0), 2),
    "matvec": (lambda a, b, d: a @ b[0] + b[1] @ a.T, 2),
    "shape_views": (lambda a, b, d: a.T.reshape(-1).unsqueeze(0).expand(3, -1).flatten()[::-6]
                    + a.permute(1, 0).contiguous().view(-1)[1::2], 1),
    "cat_stack": (lambda a, b, d: mg.cat([a, b], 1).sum(1) + mg.stack([a, b], 0).mean(0).sum(0)
                  [:1], 2),
    "split_unbind": (lambda a, b, d: sum(p.sum() for p in a.split(1, 0)) * a.unbind(1)[0]
                     + a.chunk(2, 1)[1].sum(1), 1),
    "getitem": (lambda a, b, d: a[1:, ::-1][None, ..., 0] + a[-1, 1] + a[::2, None].sum(), 1),
    "index_array": (lambda a, b, d: a[_idx(d)] * b[[0, 0, 1, 2]] + a[_idx("cpu"), 1:].sum(), 2),
    "index_select": (lambda a, b, d: a.index_select(1, mg.tensor([1, 1, 0], device=d)), 1),
    "mask": (lambda a, b, d: a[a > 0.0] * 2, 1),
    "leading_arrays": (lambda a, b, d: a[mg.tensor([0, 2], device=d), mg.tensor([1, 0])], 1),
    "clone_cast": (lambda a, b, d: a.clone().double().float().double() * 1.0, 1),
}


@pytestmark_api
@pytest.mark.parametrize("name", list(OPS))
def test_ops_against_the_cpu(name, fdtype, cuda_api):
    fn, n_args = OPS[name]
    values = [data((3, 4), fdtype, seed=s) for s in (1, 2)]
    cpu_in = [mg.tensor(v, requires_grad=True) for v in values]
    gpu_in = [mg.tensor(v, device="cuda", requires_grad=True) for v in values]
    out_cpu = fn(*cpu_in, "cpu")
    out_gpu = fn(*gpu_in, "cuda")
    assert out_gpu.device == "cuda:0"
    assert out_gpu.shape == out_cpu.shape and out_gpu.dtype == out_cpu.dtype
    assert_close(out_gpu, out_cpu, fdtype, cuda_api, scale=10)
    seed = data(out_cpu.shape, fdtype, seed=3)
    out_cpu.backward(mg.tensor(seed))
    out_gpu.backward(mg.tensor(seed, device="cuda"))
    for t_cpu, t_gpu in zip(cpu_in[:n_args], gpu_in[:n_args]):
        assert t_gpu.grad is not None and t_gpu.grad.device == "cuda:0"
        assert_close(t_gpu.grad, t_cpu.grad, fdtype, cuda_api, scale=10)


# ---- gradcheck through CUDA tensors (float64), autograd across .to() ---------------------------

GRADCHECK = [
    lambda x: (x * x).tanh().sum(1),
    lambda x: x.softmax(0) * x.exp(),
    lambda x: x @ x.T,
    lambda x: x[:, ::-1].reshape(-1)[1::2].sigmoid(),
    lambda x: mg.cat([x, x.sqrt()], 0).logsumexp(1),
    lambda x: mg.nn.functional.cross_entropy(x, mg.tensor([0, 2, 1], device=x.device)),
    lambda x: x.max(1).values * x.index_select(1, mg.tensor([2, 0], device=x.device)).sum(1),
]


@pytestmark_api
@pytest.mark.parametrize("i", range(len(GRADCHECK)))
def test_gradcheck_through_cuda(i):
    fn = GRADCHECK[i]
    x = mg.tensor(data((3, 3), np.float64, seed=i, low=0.2, high=1.5), requires_grad=True)
    # the inputs stay on the CPU (finite differences perturb them there); fn runs on the
    # GPU and its result comes back: gradients cross .to() both ways
    assert gradcheck(lambda t: fn(t.to("cuda")).cpu(), (x,))


@pytestmark_api
def test_gradgradcheck_through_cuda():
    x = mg.tensor(data((2, 3), np.float64, seed=4, low=0.2), requires_grad=True)
    assert gradgradcheck(lambda t: (t.to("cuda").tanh() * t.to("cuda").exp()).cpu(), (x,))


@pytestmark_api
def test_gradient_flows_back_across_to(fdtype):
    values = data((2, 3), fdtype)
    x = mg.tensor(values, requires_grad=True)          # a CPU leaf
    loss = (x.cuda() * 3.0).sum()                      # computed on the GPU
    assert loss.device == "cuda:0" and loss.grad_fn is not None
    loss.backward()
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 3), 3.0))
    w = mg.tensor(values, device="cuda", requires_grad=True)  # a GPU leaf
    (w.cpu() ** 2).sum().backward()                          # computed on the CPU
    assert w.grad.device == "cuda:0"
    np.testing.assert_allclose(host(w.grad), 2 * values, rtol=1e-6)
    # .to(device, dtype) at once, and retain_grad on a transferred tensor
    y = x.to("cuda", mg.float64)
    y.retain_grad()
    y.sum().backward()
    assert y.grad.device == "cuda:0" and x.grad.device == "cpu"
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 3), 4.0))


# ---- in place ---------------------------------------------------------------------------------


@pytestmark_api
def test_inplace_ops(fdtype, cuda_api):
    values = data((3, 4), fdtype)
    x, y = mg.tensor(values), mg.tensor(values, device="cuda")
    for t in (x, y):
        t.add_(1.0).mul_(mg.tensor(values[0], device=t.device)).sub_(0.5, alpha=2)
        t.div_(2.0).clamp_(-1.0, 3.0)
        t[1:, ::2] = 9.0
        t[0] = mg.tensor(values[1])  # copied from the CPU
        t[mg.tensor([2, 1])] += 1.0
        t[:, 3].copy_(mg.arange(3))
    assert_close(y, x, fdtype, cuda_api)
    t = mg.tensor(values, device="cuda").T  # a non-contiguous target
    t.fill_(2.0)
    assert (t.cpu().numpy() == 2.0).all()
    t.zero_()
    assert (t.cpu().numpy() == 0.0).all()
    t.copy_([[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(t.cpu().numpy(), np.tile([1.0, 2.0, 3.0], (4, 1)))
    with pytest.raises(RuntimeError, match="in-place"):
        mg.ones(2, device="cuda", requires_grad=True).add_(1.0)


# ---- mixed devices are refused -----------------------------------------------------------------


@pytestmark_api
def test_mixed_devices_are_refused():
    a = mg.ones(2, 3)
    b = mg.ones(2, 3, device="cuda")
    cases = [
        ("add", lambda: a + b), ("mul", lambda: b * a), ("sub", lambda: a - b),
        ("matmul", lambda: a @ b.T), ("cat", lambda: mg.cat([a, b])),
        ("where", lambda: mg.where(b > 0, a, a)), ("lt", lambda: a < b),
        ("maximum", lambda: mg.maximum(b, a)), ("add_", lambda: b.add_(a)),
        ("cross_entropy", lambda: mg.nn.functional.cross_entropy(b, mg.tensor([0, 1]))),
        ("embedding", lambda: mg.nn.functional.embedding(mg.tensor([0, 1]), b)),
    ]
    for op, fn in cases:
        with pytest.raises(RuntimeError) as info:
            fn()
        text = str(info.value)
        assert text.startswith(op + ":"), text
        assert "expected all tensors on one device" in text
        assert "cpu" in text and "cuda:0" in text and "[2, 3]" in text
    with pytest.raises(RuntimeError, match="cannot index a tensor on cpu"):
        a[mg.tensor([0], device="cuda")]
    with pytest.raises(RuntimeError, match="gradient is on cpu"):
        mg.ones(2, device="cuda", requires_grad=True).sum().backward(mg.tensor(1.0))
