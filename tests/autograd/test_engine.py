"""The tape and the backward engine: graphs, errors, hooks, grad modes, memory."""
import gc
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import grad


def test_simple_backward_matches_hand_derivative():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])


def test_diamond_and_reused_values():
    a = mg.tensor([1.5, -2.0], dtype=mg.float64, requires_grad=True)
    b = a + a          # b = 2a
    c = b * b          # c = 4a^2, dc/da = 8a
    c.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 8 * np.array([1.5, -2.0]))


def test_gradients_accumulate_across_backward_calls():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])


def test_shared_gradient_is_not_aliased_between_leaves():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    with mg.no_grad():
        a.grad.mul_(10)
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 1.0])


def test_many_contributions_to_one_node_sum_correctly_without_aliasing():
    # Each Add hands the very same gradient object to both of its inputs.  Here u's first
    # contribution is that shared object, v still needs it afterwards, and u then collects
    # more (summed in a buffer the engine owns, in place from the second on): v must see
    # none of u's later contributions.
    a = mg.tensor([1.0, -2.0, 0.5], dtype=mg.float64, requires_grad=True)
    b = mg.tensor([3.0, 1.0, -1.0], dtype=mg.float64, requires_grad=True)
    v = b * 3.0                   # recorded first, so its backward runs last
    u = a * 2.0
    m = u * 3.0 + u * 4.0 + u * 5.0
    out = u + (m + v)             # du = 1 + 3 + 4 + 5 = 13, dv = 1
    out.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.full(3, 2.0 * 13))
    np.testing.assert_allclose(b.grad.numpy(), np.full(3, 3.0))
    v = b * 3.0
    u = a * 2.0
    g = mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64)
    (ga, gb) = grad(u + (u * 3.0 + u * 4.0 + v), (a, b), grad_outputs=(g,), create_graph=True)
    np.testing.assert_allclose(ga.numpy(), 16.0 * g.numpy())
    np.testing.assert_allclose(gb.numpy(), 3.0 * g.numpy())


@pytest.fixture
def cpu_kernel_calls(monkeypatch):
    """The CPU table's binary and gemm calls while the test runs:
    (op or "gemm", out shape, beta)."""
    from minigrad.backend import cpu
    calls = []
    binary, gemm = cpu.binary, cpu.gemm

    def counting_binary(op, a, b, out=None):
        result = binary(op, a, b, out=out)
        calls.append((op, result.shape, None))
        return result

    def counting_gemm(a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None,
                      builtin=False):
        result = gemm(a, b, trans_a, trans_b, alpha, beta, out, builtin)
        calls.append(("gemm", result.shape, beta if out is not None else 0.0))
        return result
    monkeypatch.setattr(cpu, "binary", counting_binary)
    monkeypatch.setattr(cpu, "gemm", counting_gemm)
    return calls


def _steps(w_use, T=5, seed=0):
    """A recurrent-style use of one weight: h_{t+1} = tanh(x_t + w_use(h_t)), T steps;
    returns (xs, loss) with xs float64 leaves."""
    rng = np.random.default_rng(seed)
    xs = [mg.tensor(rng.standard_normal((3, 4)), requires_grad=True) for _ in range(T)]
    h = mg.zeros(3, 4, dtype=mg.float64)
    for x in xs:
        h = (x + w_use(h)).tanh()
    return xs, (h * h).sum()


@pytest.mark.parametrize("use", ["shared view", "leaf matmul", "linear"])
def test_weight_gradients_of_every_step_are_summed_by_the_gemm(use, cpu_kernel_calls):
    # The weight's gradient gets one product h_t^T g_t per step.  The engine sums them with
    # the gemm itself (beta = 1, DeferredProduct), never through a (4, 4) add; the result
    # equals the same backward with the products computed first (create_graph=True).
    rng = np.random.default_rng(1)
    w = mg.tensor(rng.standard_normal((4, 4)) * 0.5, requires_grad=True)

    def use_fn():  # a new graph each time: "shared view" transposes w once per graph
        w_t = w.T
        return {"shared view": lambda h: mg.addmm(mg.zeros(3, 4, dtype=mg.float64), h, w_t),
                "leaf matmul": lambda h: h @ w,
                "linear": lambda h: mg.nn.functional.linear(h, w)}[use]
    xs, loss = _steps(use_fn())
    del cpu_kernel_calls[:]
    loss.backward()
    weight_adds = [c for c in cpu_kernel_calls if c[0] == "add" and c[1] == (4, 4)]
    accumulating = [c for c in cpu_kernel_calls if c[0] == "gemm" and c[2] == 1.0]
    assert weight_adds == [] and len(accumulating) == 4   # T - 1 products summed in place
    got = w.grad.numpy().copy()
    w.grad = None
    xs, loss = _steps(use_fn())
    (want,) = grad(loss, (w,), create_graph=True)  # recorded: every product a Tensor
    np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-12, atol=1e-14)
    xs, loss = _steps(use_fn())
    (again,) = grad(loss, (w,))                    # autograd.grad gets a Tensor too
    np.testing.assert_allclose(again.numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_deferred_products_meet_hooks_shared_sums_and_odd_grads():
    rng = np.random.default_rng(2)
    w = mg.tensor(rng.standard_normal((4, 4)) * 0.5, requires_grad=True)
    seen = []
    w.register_hook(lambda g: seen.append(type(g).__name__))
    _, loss = _steps(lambda h: h @ w)
    loss.backward()
    assert seen and set(seen) == {"Tensor"}             # a hook sees Tensors only
    want = w.grad.numpy().copy()
    # a .grad the gemm cannot write in place (a transposed view): summed by add_
    w.grad = mg.zeros(4, 4, dtype=mg.float64).T
    _, loss = _steps(lambda h: h @ w)
    loss.backward()
    np.testing.assert_allclose(w.grad.numpy(), want, rtol=1e-12)
    # a node whose first gradient is shared (b's, through the add) and whose later ones
    # are deferred products: the shared one must stay untouched
    a = mg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = mg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    u = a * 1.0
    out = (u + b).sum() + (u @ w).sum() + (u @ w.T).sum()
    out.backward()
    np.testing.assert_allclose(b.grad.numpy(), np.ones((3, 4)))
    ones = np.ones((3, 4))
    wv = w.detach().numpy()
    np.testing.assert_allclose(a.grad.numpy(), ones + ones @ wv.T + ones @ wv, rtol=1e-12)


def test_unrecorded_backward_runs_hot_products_as_bare_kernels(monkeypatch):
    # Without create_graph nothing in backward is recorded: Mul's partials and the unary
    # ops' derivatives call their kernels without an op around them (the op costs more
    # than the kernel on small tensors).  With create_graph they are ops, and the
    # second derivative still comes out right.
    from minigrad.autograd.function import Function
    applied = []
    original = Function.apply.__func__

    def counting_apply(cls, *args):
        applied.append(cls.__name__)
        return original(cls, *args)
    x = mg.tensor([0.5, -1.0, 2.0], dtype=mg.float64, requires_grad=True)
    w = mg.tensor([1.5, 0.25, -0.5], dtype=mg.float64, requires_grad=True)
    y = ((x * w).tanh() * x.sigmoid()).sum()
    v = mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64, requires_grad=True)
    z = (mg.stack([v, v * 2]).unbind(0)[1].chunk(3)[2] * 5).sum()  # Split's backward: a join
    monkeypatch.setattr(Function, "apply", classmethod(counting_apply))
    y.backward()
    z.backward()
    assert not {"Mul", "UnaryGrad", "Cat", "Stack"} & set(applied), applied
    monkeypatch.undo()
    np.testing.assert_allclose(v.grad.numpy(), [0.0, 0.0, 10.0])
    xv, wv = x.detach().numpy(), w.detach().numpy()
    s = 1 / (1 + np.exp(-xv))
    t = np.tanh(xv * wv)
    np.testing.assert_allclose(w.grad.numpy(), (1 - t ** 2) * xv * s, rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), (1 - t ** 2) * wv * s + t * s * (1 - s),
                               rtol=1e-12)
    (gx,) = grad((x.tanh() * x).sum(), (x,), create_graph=True)
    (ggx,) = grad(gx.sum(), (x,))
    t = np.tanh(xv)
    np.testing.assert_allclose(ggx.numpy(), 2 * (1 - t ** 2) - 2 * t * (1 - t ** 2) * xv,
                               rtol=1e-12)


def test_long_chain_has_no_recursion_limit():
    x = mg.tensor([1.0], dtype=mg.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1e-6
    y.sum().backward()
    assert x.grad.item() == 1.0


def test_second_backward_without_retain_graph_raises():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.tanh() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-6)


def test_non_scalar_backward_needs_gradient():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar outputs"):
        (x * 2).backward()
    (x * 2).backward(mg.tensor([1.0, 0.5]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 1.0])


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.tensor([1.0]).sum().backward()


def test_inplace_change_of_saved_tensor_is_detected():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = (y * y).sum()      # saves y
    with mg.no_grad():
        y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.backward()


def test_inplace_on_leaf_requiring_grad_is_refused():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        x.add_(1.0)
    with mg.no_grad():
        x.add_(1.0)
    np.testing.assert_allclose(x.detach().numpy(), [2.0, 3.0])


def test_no_grad_and_set_grad_enabled():
    x = mg.tensor([1.0], requires_grad=True)
    with mg.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    with mg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
        with mg.enable_grad():
            assert (x * 2).requires_grad
    assert mg.is_grad_enabled()

    @mg.no_grad()
    def f(t):
        return t * 3
    assert not f(x).requires_grad


def test_autograd_grad_does_not_touch_dot_grad():
    x = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    w = mg.tensor([3.0, 4.0], dtype=mg.float64, requires_grad=True)
    h = x * w
    y = (h * h).sum()
    gx, gh = grad(y, [x, h])
    np.testing.assert_allclose(gx.numpy(), 2 * np.array([3, 8]) * np.array([3, 4]))
    np.testing.assert_allclose(gh.numpy(), [6.0, 16.0])
    assert x.grad is None and w.grad is None


def test_autograd_grad_unused_input():
    x = mg.tensor([1.0], requires_grad=True)
    z = mg.tensor([1.0], requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        grad(y, [x, z], retain_graph=True)
    gx, gz = grad(y, [x, z], allow_unused=True)
    assert gz is None and gx.item() == 2.0


def test_double_backward_of_tanh():
    x = mg.tensor([0.3, -1.2, 2.0], dtype=mg.float64, requires_grad=True)
    y = x.tanh().sum()
    g, = grad(y, x, create_graph=True)
    g2, = grad(g.sum(), x)
    t = np.tanh(np.array([0.3, -1.2, 2.0]))
    np.testing.assert_allclose(g.detach().numpy(), 1 - t ** 2, rtol=1e-12)
    np.testing.assert_allclose(g2.numpy(), -2 * t * (1 - t ** 2), rtol=1e-12)


def test_third_derivative_of_cube():
    x = mg.tensor(2.0, dtype=mg.float64, requires_grad=True)
    y = x ** 3
    g1, = grad(y, x, create_graph=True)
    g2, = grad(g1, x, create_graph=True)
    g3, = grad(g2, x)
    assert (g1.item(), g2.item(), g3.item()) == (12.0, 12.0, 6.0)


def test_hooks_on_leaf_and_non_leaf():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    h = x * 3
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    handle = x.register_hook(lambda g: g * 10)
    (h * h).sum().backward()
    np.testing.assert_allclose(seen[0], [6.0, 12.0])
    np.testing.assert_allclose(x.grad.numpy(), [180.0, 360.0])
    handle.remove()
    x.grad = None
    (x * 1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])


def test_retain_grad():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), [4.0, 8.0])
    assert h.retains_grad


def test_saved_tensors_are_released_after_backward():
    x = mg.tensor(np.ones(1000), requires_grad=True)
    y = x.exp()
    node = y.grad_fn
    y.sum().backward()
    assert node.released and node._outputs is None and node.saved == ()


def test_shape_mismatch_names_both_shapes():
    a = mg.ones(2, 3)
    b = mg.ones(4, 5)
    with pytest.raises(ValueError, match=r"\[2, 3\].*\[4, 5\]"):
        a + b
    with pytest.raises(ValueError, match=r"\[2, 3\].*\[4, 5\]"):
        a @ b


def test_memory_is_flat_over_many_training_steps():
    code = textwrap.dedent("""
        import resource, minigrad as mg
        w = mg.randn(64, 64, requires_grad=True)
        x = mg.randn(32, 64)
        def rss():
            return int(open('/proc/self/statm').read().split()[1]) * 4096
        for step in range(10000):
            loss = ((x @ w).tanh() ** 2).mean()
            loss.backward()
            with mg.no_grad():
                w.sub_(w.grad * 0.01)
            w.grad = None
            if step == 1000:
                start = rss()
        print(rss() - start)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, env={**os.environ, "MINIGRAD_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    growth = int(out.stdout.strip())
    assert growth < 4 * 2 ** 20, f"RSS grew by {growth / 2**20:.1f} MiB over 9000 steps"


def test_graph_is_freed_when_references_are_dropped():
    import weakref
    x = mg.randn(10, requires_grad=True)
    y = (x * 2).tanh()
    ref = weakref.ref(y.grad_fn)
    del y
    gc.collect()
    assert ref() is None
