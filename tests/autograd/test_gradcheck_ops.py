"""Every op's backward against finite differences (float64, PyTorch's tolerances)."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import gradcheck, gradgradcheck


def leaf(*shape, low=-1.0, high=1.0, seed=0):
    rng = np.random.default_rng(seed + sum(shape))
    return mg.tensor(rng.uniform(low, high, size=shape), dtype=mg.float64, requires_grad=True)


UNARY = {
    "neg": (lambda x: -x, (-2, 2)),
    "abs": (lambda x: x.abs(), (0.1, 2)),
    "exp": (lambda x: x.exp(), (-2, 2)),
    "log": (lambda x: x.log(), (0.2, 3)),
    "sqrt": (lambda x: x.sqrt(), (0.2, 3)),
    "tanh": (lambda x: x.tanh(), (-2, 2)),
    "sigmoid": (lambda x: x.sigmoid(), (-3, 3)),
    "relu": (lambda x: x.relu(), (0.1, 2)),
    "square": (lambda x: mg.square(x), (-2, 2)),
    "reciprocal": (lambda x: mg.reciprocal(x), (0.5, 2)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name):
    fn, (lo, hi) = UNARY[name]
    x = leaf(3, 4, low=lo, high=hi)
    assert gradcheck(fn, (x,))


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "tanh", "sigmoid", "square", "reciprocal"])
def test_unary_second_derivative(name):
    fn, (lo, hi) = UNARY[name]
    x = leaf(5, low=lo, high=hi)
    assert gradgradcheck(fn, (x,))


SHAPE_PAIRS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)),
               ((1,), (2, 3)), ((), (2, 2))]


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow", "maximum", "minimum"])
@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
def test_binary_broadcasting(op, shapes):
    a = leaf(*shapes[0], low=0.5, high=2.0)
    b = leaf(*shapes[1], low=0.5, high=2.0, seed=7)
    fn = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
          "div": lambda a, b: a / b, "pow": lambda a, b: a ** b,
          "maximum": mg.maximum, "minimum": mg.minimum}[op]
    assert gradcheck(fn, (a, b))


@pytest.mark.parametrize("fn", [lambda x: x + 2.5, lambda x: 2.5 - x, lambda x: x * -3.0,
                                lambda x: x / 4.0, lambda x: 3.0 / x, lambda x: x ** 3,
                                lambda x: x ** 0.5, lambda x: 2.0 ** x, lambda x: x - 1],
                         ids=["add", "rsub", "mul", "div", "rdiv", "pow3", "pow_half", "rpow",
                              "sub"])
def test_scalar_ops(fn):
    assert gradcheck(fn, (leaf(2, 3, low=0.5, high=2),))


def test_binary_second_derivatives():
    a, b = leaf(3, low=0.5, high=2), leaf(3, low=0.5, high=2, seed=3)
    assert gradgradcheck(lambda a, b: a * b / (a + b) ** 2, (a, b))


@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), ((0, 2), False),
                                         (-1, True)])
def test_sum_mean_var(dim, keepdim):
    x = leaf(2, 3, 4)
    assert gradcheck(lambda x: x.sum(dim, keepdim=keepdim), (x,))
    assert gradcheck(lambda x: x.mean(dim, keepdim=keepdim), (x,))
    assert gradcheck(lambda x: x.var(dim, keepdim=keepdim), (x,))


def test_max_min():
    x = leaf(3, 5)
    assert gradcheck(lambda x: x.max(1).values, (x,))
    assert gradcheck(lambda x: x.min(0, keepdim=True).values, (x,))
    assert gradcheck(lambda x: x.max(), (x,))
    assert gradcheck(lambda x: x.amin(1), (x,))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family(dim):
    x = leaf(3, 4)
    assert gradcheck(lambda x: x.softmax(dim), (x,))
    assert gradcheck(lambda x: x.log_softmax(dim), (x,))
    assert gradcheck(lambda x: x.logsumexp(dim), (x,))
    assert gradgradcheck(lambda x: x.softmax(dim), (x,))
    assert gradgradcheck(lambda x: x.log_softmax(dim), (x,))


@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 2)),
                                    ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)),
                                    ((2, 1, 3, 4), (5, 4, 2))], ids=str)
def test_matmul(shapes):
    a, b = leaf(*shapes[0]), leaf(*shapes[1], seed=5)
    assert gradcheck(lambda a, b: a @ b, (a, b))


def test_matmul_transposed_operands():
    a, b = leaf(4, 3), leaf(5, 4, seed=2)
    assert gradcheck(lambda a, b: a.T @ b.T, (a, b))
    assert gradgradcheck(lambda a, b: (a.T @ b.T).tanh(), (a, b))


@pytest.mark.parametrize("input_shape", [(5,), (1, 5), (3, 1), (3, 5), ()], ids=str)
@pytest.mark.parametrize("beta, alpha", [(1, 1), (0.5, -2.0)])
def test_addmm(input_shape, beta, alpha):
    c, a, w = leaf(*input_shape), leaf(3, 4, seed=2), leaf(5, 4, seed=3)
    fn = lambda c, a, w: mg.addmm(c, a, w.T, beta=beta, alpha=alpha)  # noqa: E731
    assert gradcheck(fn, (c, a, w))
    assert gradgradcheck(fn, (c, a, w))
    expected = beta * c.detach().numpy() + alpha * a.detach().numpy() @ w.detach().numpy().T
    np.testing.assert_allclose(fn(c, a, w).detach().numpy(), expected, rtol=1e-12)


def test_addmm_beta_zero_ignores_input_and_bad_shapes_are_named():
    nan = mg.full((3, 5), float("nan"), dtype=mg.float64)
    a, w = leaf(3, 4), leaf(4, 5, seed=1)
    out = mg.addmm(nan, a, w, beta=0)
    np.testing.assert_allclose(out.detach().numpy(), a.detach().numpy() @ w.detach().numpy())
    with pytest.raises(ValueError, match=r"addmm: input of shape \[4\] does not broadcast"):
        mg.addmm(leaf(4), a, w)
    with pytest.raises(ValueError, match=r"addmm: expected matrices"):
        mg.addmm(leaf(5), a, leaf(3, 5))


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4), (3, 4)), ((4,), (3, 4), (3, 1)),
                                    ((3, 4), (4,), ()), ((2, 3, 4), (3, 4), (2, 1, 4))], ids=str)
@pytest.mark.parametrize("value", [1, -0.5])
def test_addcmul(shapes, value):
    c, a, b = leaf(*shapes[0]), leaf(*shapes[1], seed=2), leaf(*shapes[2], seed=3)
    fn = lambda c, a, b: mg.addcmul(c, a, b, value=value)  # noqa: E731
    assert gradcheck(fn, (c, a, b))
    assert gradgradcheck(fn, (c, a, b))
    expected = c.detach().numpy() + value * a.detach().numpy() * b.detach().numpy()
    np.testing.assert_allclose(fn(c, a, b).detach().numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(c.addcmul(a, b, value=value).detach().numpy(), expected,
                               rtol=1e-12)


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4), (3, 4)), ((4,), (3, 4), (3, 1)),
                                    ((3, 4), (4,), ()), ((2, 3, 4), (3, 4), (2, 1, 4))], ids=str)
def test_lerp(shapes):
    a, b, w = leaf(*shapes[0]), leaf(*shapes[1], seed=2), leaf(*shapes[2], seed=3)
    assert gradcheck(mg.lerp, (a, b, w))
    assert gradgradcheck(mg.lerp, (a, b, w))
    an, bn, wn = a.detach().numpy(), b.detach().numpy(), w.detach().numpy()
    expected = an + wn * (bn - an)
    np.testing.assert_allclose(mg.lerp(a, b, w).detach().numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(a.lerp(b, w).detach().numpy(), expected, rtol=1e-12)
    # a number as the weight: the same as a tensor holding it; only input and end get grads
    np.testing.assert_allclose(mg.lerp(a, b, 0.25).detach().numpy(), an + 0.25 * (bn - an),
                               rtol=1e-12)
    assert gradcheck(lambda a, b: mg.lerp(a, b, 0.25), (a, b))


# (op, call on a (3, 4) leaf a, exception, message): bad arguments of the three-input ops
BAD_THREE_INPUT_CALLS = [
    ("addcmul", lambda a: mg.addcmul(a, leaf(2), a), ValueError,
     r"addcmul: shapes \[3, 4\] and \[2\] and \[3, 4\] cannot be broadcast"),
    ("addcmul", lambda a: mg.addcmul(a, a, a.detach().to(mg.float32)), TypeError,
     "addcmul: expected one dtype"),
    ("addcmul", lambda a: mg.addcmul(a, a, 2.0), TypeError,
     "addcmul: input, tensor1 and tensor2 must be Tensors"),
    ("addcmul", lambda a: mg.addcmul(a, a, a, value=a), TypeError,
     "addcmul: value must be a number"),
    ("lerp", lambda a: mg.lerp(a, leaf(2), a), ValueError,
     r"lerp: shapes \[3, 4\] and \[2\] and \[3, 4\] cannot be broadcast"),
    ("lerp", lambda a: mg.lerp(a, a, a.detach().to(mg.float32)), TypeError,
     "lerp: expected one dtype"),
    ("lerp", lambda a: mg.lerp(a, 2.0, a), TypeError, "lerp: input and end must be Tensors"),
    ("lerp", lambda a: mg.lerp(a, a, "half"), TypeError,
     "lerp: weight must be a Tensor or a number"),
]


@pytest.mark.parametrize("op, call, error, message", BAD_THREE_INPUT_CALLS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_THREE_INPUT_CALLS)])
def test_three_input_ops_name_bad_arguments(op, call, error, message):
    with pytest.raises(error, match=message):
        call(leaf(3, 4))


def test_shape_ops():
    x = leaf(2, 3, 4)
    for fn in [lambda x: x.reshape(6, 4), lambda x: x.view(-1), lambda x: x.transpose(0, 2),
               lambda x: x.permute(2, 0, 1), lambda x: x.unsqueeze(1).expand(2, 5, 3, 4),
               lambda x: x[:, :1].squeeze(1), lambda x: x.flatten(1),
               lambda x: x.permute(2, 0, 1).reshape(4, 6), lambda x: x.contiguous(),
               lambda x: x.clone(), lambda x: x.T.contiguous()]:
        assert gradcheck(fn, (x,))


def test_cat_stack_split_chunk():
    a, b = leaf(2, 3), leaf(2, 5, seed=1)
    assert gradcheck(lambda a, b: mg.cat([a, b, a], dim=1), (a, b))
    assert gradcheck(lambda a: mg.stack([a, a * 2], dim=1), (a,))
    assert gradcheck(lambda b: b.split(2, dim=1)[1] * b.split([1, 4], dim=1)[0], (b,))
    assert gradcheck(lambda b: b.chunk(3, dim=1)[2], (b,))
    assert gradcheck(lambda a: mg.stack(a.unbind(1), 0), (a,))


def test_indexing():
    x = leaf(4, 5)
    idx = mg.tensor([3, 0, 3, 1])
    assert gradcheck(lambda x: x[1:3, ::2], (x,))
    assert gradcheck(lambda x: x[-1], (x,))
    assert gradcheck(lambda x: x[None, 2, 1:], (x,))
    assert gradcheck(lambda x: x[idx], (x,))           # repeated rows accumulate
    assert gradcheck(lambda x: x[1:3, idx], (x,))       # the example
    assert gradcheck(lambda x: x[..., [4, 4, 0]], (x,))
    assert gradcheck(lambda x: x[mg.arange(4), idx], (x,))
    assert gradcheck(lambda x: x.index_select(1, idx), (x,))
    assert gradgradcheck(lambda x: x[1:3, idx] ** 2, (x,))


def test_where_clamp():
    x, y = leaf(3, 4), leaf(3, 4, seed=9)
    cond = x > 0
    assert gradcheck(lambda x, y: mg.where(cond, x, y), (x, y))
    assert gradcheck(lambda x: mg.where(cond, x, 0.0), (x,))
    assert gradcheck(lambda x: x.clamp(-0.5, 0.5), (x,))
    assert gradcheck(lambda x: x.clamp(min=0.1), (x,))


def test_cast_passes_gradient_back_in_the_input_dtype():
    x = leaf(3)
    (x.float() * 2).sum().backward()
    assert x.grad.dtype == mg.float64
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])
    assert gradcheck(lambda x: x.double() * 2, (x,))


def test_gradcheck_refuses_float32():
    x = mg.randn(3, requires_grad=True)
    with pytest.raises(ValueError, match="float64"):
        gradcheck(lambda x: x * 2, (x,))


def test_gradcheck_catches_a_wrong_backward():
    class BadSquare(mg.autograd.Function):
        def forward(self, x):
            self.save_for_backward(x)
            return mg.ops.common.kernels(x).unary("square", x.data_array)

        def backward(self, g):
            x, = self.saved_tensors
            return g * x  # should be 2 x

    with pytest.raises(AssertionError, match="Jacobian mismatch"):
        gradcheck(BadSquare.apply, (leaf(3),))
