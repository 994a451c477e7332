"""backend/shared: the argument rules both kernel tables call.

The pure rules are checked on their own (against numpy and exact Python
arithmetic); then the two tables are held to one behaviour: for the same bad
arguments the CPU table and the CUDA table raise the same exception with the
same message, because both now ask the same shared function.
"""
import math
import operator

import numpy as np
import pytest

from minigrad.backend import cpu, cuda
from minigrad.backend.shared import checks, elementwise, indexing, linalg, reductions, rnn

D = cuda.to_device


def rnd(shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ---- the rules on their own ------------------------------------------------------------

BROADCAST = [((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 1, 4), (3, 1)), ((), (5,)), ((0, 4), (4,)),
             ((1,), (0,)), ((2, 3), (2, 3)), ((5, 1, 1), (1, 6, 1), (1, 1, 7))]


@pytest.mark.parametrize("shapes", BROADCAST, ids=str)
def test_broadcast_shape_is_numpys(shapes):
    assert elementwise.broadcast_shape("k", *shapes) == np.broadcast_shapes(*shapes)


@pytest.mark.parametrize("shapes", [((3, 4), (3,)), ((2, 3), (3, 2)), ((0,), (2,))], ids=str)
def test_broadcast_shape_refuses_naming_every_shape(shapes):
    with pytest.raises(ValueError, match=r"k: shapes .* are not broadcastable"):
        elementwise.broadcast_shape("k", *shapes)


_OPS = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le,
        "gt": operator.gt, "ge": operator.ge}
_XS = [-2 ** 63, -2 ** 62 - 1, -7, -3, -2, -1, 0, 1, 2, 3, 7, 2 ** 60, 2 ** 60 + 1, 2 ** 63 - 1]
_SCALARS = [2.5, -2.5, 0.5, -0.5, 1e300, -1e300, math.inf, -math.inf, math.nan, 2 ** 60 + 1,
            -(2 ** 60) - 1, 2 ** 70, -(2 ** 70), 2.0 ** 63, -(2.0 ** 63), np.int64(2 ** 60 + 3)]


@pytest.mark.parametrize("op", list(_OPS))
@pytest.mark.parametrize("scalar_first", [False, True])
def test_int64_comparison_is_exact(op, scalar_first):
    """The rewrite gives, for every int64 x, what exact arithmetic gives (Python compares
    an int with a float exactly; NaN compares unequal to everything)."""
    for s in _SCALARS:
        how, op2, value = elementwise.int64_comparison(op, s, scalar_first)
        for x in _XS:
            want = _OPS[op](s, x) if scalar_first else _OPS[op](x, s)
            if how == "fill":
                got = value == 1.0
            else:
                assert how == ("scalar" if abs(value) <= elementwise.MAX_EXACT_INT else "array")
                assert -2 ** 63 <= value < 2 ** 63
                got = _OPS[op2](x, value)
            assert got == want, (op, s, scalar_first, x, how, op2, value)


def test_int64_scalar_rule():
    a = np.zeros(3, np.int64)
    assert not elementwise.int64_scalar_needs_rewrite("k", "add", a, 3.0, 3)
    assert elementwise.int64_scalar_needs_rewrite("k", "lt", a, 2.5, 2.5)
    with pytest.raises(TypeError, match=r"k: an int64 array needs an integer scalar"):
        elementwise.int64_scalar_needs_rewrite("k", "add", a, 2.5, 2.5)
    with pytest.raises(TypeError, match=r"k: not defined for int64 \(int64\[3\]\)"):
        elementwise.int64_scalar_needs_rewrite("k", "div", a, 2.0, 2)


MATMUL_SHAPES = [((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 5)), ((3, 4), (4, 5)),
                 ((2, 3, 4), (4,)), ((4,), (2, 4, 5)), ((2, 3, 4), (4, 5)),
                 ((5, 1, 3, 4), (2, 4, 6)), ((1, 2, 3, 4), (3, 1, 4, 5)), ((0, 3, 4), (4, 5)),
                 ((3, 0), (0, 5))]


@pytest.mark.parametrize("shape_a,shape_b", MATMUL_SHAPES, ids=str)
def test_matmul_args_give_numpys_shape(shape_a, shape_b):
    a, b = np.zeros(shape_a, np.float64), np.zeros(shape_b, np.float64)
    code, a3, b3, batch_shape, batch, m, n, k, result_shape = linalg.matmul_args(
        a, b, np.broadcast_to, np.ascontiguousarray)
    want = np.matmul(a, b).shape
    assert code == checks.FLOAT_CODES[a.dtype]
    assert (batch_shape + (m, n) if result_shape is None else result_shape) == want
    assert batch == math.prod(batch_shape)
    for x in (a3, b3):  # one matrix, or one per batch entry
        assert x.ndim == 2 or (x.ndim == 3 and x.shape[0] == batch)
    assert a3.shape[-1] == b3.shape[-2] == k


def test_matmul_args_copy_only_through_the_devices_contiguous():
    copies = []

    def contiguous(x):
        copies.append(x.shape)
        return np.ascontiguousarray(x)
    a = np.zeros((2, 3, 4, 5))[:, :, :, ::-1]  # batch dims collapse: no copy
    linalg.matmul_args(a, np.zeros((5, 2)), np.broadcast_to, contiguous)
    assert copies == []
    b = np.zeros((3, 2, 4, 5)).transpose(1, 0, 2, 3)  # batch dims do not collapse
    linalg.matmul_args(b, np.zeros((5, 2)), np.broadcast_to, contiguous)
    assert copies == [(2, 3, 4, 5)]


@pytest.mark.parametrize("shape,axis,want", [((2, 3, 4), 1, (2, 3, 4, (2, 4))),
                                             ((2, 3, 4), -1, (6, 4, 1, (2, 3))),
                                             ((5,), 0, (1, 5, 1, ())), ((), 0, (1, 1, 1, ())),
                                             ((2, 0, 3), None, (1, 0, 1, ()))])
def test_split_axis(shape, axis, want):
    assert reductions.split_axis("k", shape, axis) == want


def test_normalize_axis_refuses():
    with pytest.raises(IndexError, match=r"k: axis 2 is out of range for shape \(3, 4\)"):
        reductions.normalize_axis("k", (3, 4), 2)
    with pytest.raises(TypeError, match="axis must be an int"):
        reductions.normalize_axis("k", (3, 4), True)


def test_gather_layout_is_numpys_take():
    src, idx = np.zeros((2, 5, 3)), np.zeros((4, 2), np.int64)
    assert indexing.gather_layout(src.shape, 1, idx.shape) == (
        2, 5, 3, np.take(src, idx, axis=1).shape)


def test_rnn_cells_and_lengths():
    assert rnn.RNN_CELLS == ("rnn_tanh", "rnn_relu", "gru", "lstm")
    assert [rnn.rnn_gate_count(c) for c in rnn.RNN_CELLS] == [1, 1, 3, 4]
    rnn.check_lengths("k", [0, 3, 2], 3)
    with pytest.raises(ValueError, match=r"k: lengths must lie in \[0, T=3\], got 4"):
        rnn.check_lengths("k", [0, 4, -1], 3)


def test_dtype_argument():
    assert checks.dtype_argument("float32", "k", checks.DTYPE_CODES) == np.float32
    with pytest.raises(TypeError, match="k: dtype must be float32, float64 or int64"):
        checks.dtype_argument("float16", "k", checks.DTYPE_CODES)
    with pytest.raises(TypeError, match="k: dtype must be float32 or float64"):
        checks.dtype_argument(np.int64, "k", checks.FLOAT_DTYPES)
    with pytest.raises(TypeError, match="k: dtype must be float32, float64 or int64"):
        checks.dtype_argument("no such dtype", "k", checks.DTYPE_CODES)
    with pytest.raises(TypeError, match="k: dtype must be float32 or float64"):
        checks.dtype_argument("no such dtype", "k", checks.FLOAT_DTYPES)  # not float64


# ---- both tables, one behaviour --------------------------------------------------------

F, F64, I = np.float32, np.float64, np.int64
X, Y = rnd((3, 4)), rnd((4, 5), seed=1)
P = rnd((3, 4), seed=2)
LSTM = dict(x=rnd((3, 2, 4)), w_ih=rnd((12, 4)), w_hh=rnd((12, 3)), b_ih=None, b_hh=None,
            h0=rnd((2, 3)), c0=rnd((2, 3)))


def _lstm(**changes):
    d = dict(LSTM, **changes)
    return (d["x"], d["w_ih"], d["w_hh"], d["b_ih"], d["b_hh"], d["h0"], d["c0"])


# (id, function name, arguments: numpy arrays are passed to the CUDA table as device copies)
BAD_CALLS = [
    ("unary op", "unary", ("nope", X)),
    ("unary_backward None", "unary_backward", ("tanh", X, None, X)),
    ("unary_backward shape", "unary_backward", ("tanh", None, X, Y)),
    ("unary_backward dtype", "unary_backward", ("exp", None, X, X.astype(F64))),
    ("binary op", "binary", ("nope", X, X)),
    ("binary dtypes", "binary", ("add", X, X.astype(F64))),
    ("binary broadcast", "binary", ("add", X, Y)),
    ("binary int64 div", "binary", ("div", X.astype(I), X.astype(I))),
    ("binary out", "binary", ("add", X, X), dict(out=np.zeros((4, 3), F))),
    ("binary_scalar int64", "binary_scalar", ("add", X.astype(I), 2.5)),
    ("binary_scalar int64 pow", "binary_scalar", ("pow", X.astype(I), 2)),
    ("binary_scalar string", "binary_scalar", ("add", X, "2")),
    ("binary_scalar out", "binary_scalar", ("lt", X.astype(I), 2.5),
     dict(out=np.zeros((4, 3), I))),
    ("where shapes", "where", (X, Y, X)),
    ("clamp nan int64", "clamp", (X.astype(I), math.nan, 1)),
    ("clamp bound", "clamp", (X, "lo", 1)),
    ("clamp_backward", "clamp_backward", (X, 0, 1, Y)),
    ("fill shape", "fill", ((2, -1), 0.0, F)),
    ("fill dtype", "fill", ((2,), 0.0, "float16")),
    ("cast dtype", "cast", (X, "float16")),
    ("reduce op", "reduce", ("mean", X)),
    ("reduce axis", "reduce", ("sum", X, 2)),
    ("reduce empty", "reduce", ("max", np.zeros((3, 0), F), 1)),
    ("arg_reduce empty", "arg_reduce", ("argmin", np.zeros((3, 0), F), 1)),
    ("softmax_backward", "softmax_backward", (X, Y)),
    ("softmax_backward dtype", "softmax_backward", (X, X.astype(F64))),
    ("gather 0-d", "gather", (np.zeros((), F), np.zeros(1, I), 0)),
    ("gather range", "gather", (X, np.array([0, 3], I), 0)),
    ("scatter src", "scatter_add", (np.zeros((3, 4), F), np.array([0, 1], I), X, 0)),
    ("scatter dtype", "scatter_add", (np.zeros((3, 4), F), np.array([0], I),
                                      np.zeros((1, 4), F64), 0)),
    ("gemm shapes", "gemm", (X, X)),
    ("gemm dtypes", "gemm", (X, Y.astype(F64))),
    ("gemm ndim", "gemm", (X[0], Y)),
    ("gemm out", "gemm", (X, Y), dict(out=np.zeros((3, 4), F))),
    ("matmul 0-d", "matmul", (np.zeros((), F), X)),
    ("matmul k", "matmul", (X, X)),
    ("matmul 1-D k", "matmul", (X, X[:, 0])),
    ("matmul batch", "matmul", (rnd((2, 3, 4)), rnd((3, 4, 5)))),
    ("xent rows", "cross_entropy", (X[0], np.zeros(4, I))),
    ("xent target", "cross_entropy", (X, np.zeros(4, I))),
    ("xent target dtype", "cross_entropy", (X, np.zeros(3, F))),
    ("xent weight", "cross_entropy", (X, np.zeros(3, I), np.ones(3, F))),
    ("xent smoothing", "cross_entropy", (X, np.zeros(3, I), None, -100, 1.5)),
    ("xent range", "cross_entropy", (X, np.array([0, 9, 1], I))),
    ("sgd nesterov", "sgd_step", (P, X, None, 0.1), dict(nesterov=True)),
    ("sgd buffer", "sgd_step", (P, X, None, 0.1), dict(momentum=0.9)),
    ("adam betas", "adam_step", (P, X, P.copy(), P.copy(), 1, 1e-3, 1.0, 0.9, 1e-8)),
    ("adam step", "adam_step", (P, X, P.copy(), P.copy(), 0, 1e-3, 0.9, 0.9, 1e-8)),
    ("adam shape", "adam_step", (P, X, P[:2].copy(), P.copy(), 1, 1e-3, 0.9, 0.9, 1e-8)),
    ("adagrad state", "adagrad_step", (P, X, None, 1, 0.1)),
    ("rmsprop buffer", "rmsprop_step", (P, X, P.copy(), 0.1), dict(momentum=0.5)),
    ("norm_pow nan", "norm_pow", (X, math.nan)),
    ("norm_pow empty", "norm_pow", (np.zeros(0, F), -math.inf)),
    ("uniform range", "uniform", ((2,), F, 1, 0, 1.0, 0.0)),
    ("normal std", "normal", ((2,), F, 1, 0, 0.0, -1.0)),
    ("bernoulli p", "bernoulli", ((2,), F, 1, 0, 1.5)),
    ("random dtype", "uniform", ((2,), I, 1, 0)),
    ("random seed", "uniform", ((2,), F, -1, 0)),
    ("random shape", "normal", ((2, -1), F, 1, 0)),
    ("rnn cell", "rnn_forward", ("lstn",) + _lstm()),
    ("rnn w_hh", "rnn_forward", ("lstm",) + _lstm(w_hh=rnd((10, 3)))),
    ("rnn h0 dtype", "rnn_forward", ("lstm",) + _lstm(h0=rnd((2, 3), F64))),
    ("rnn c0", "rnn_forward", ("gru",) + _lstm(w_ih=rnd((9, 4)), w_hh=rnd((9, 3)))),
    ("rnn lengths", "rnn_forward", ("lstm",) + _lstm(), dict(lengths=np.array([4, 1], I))),
    ("rnn workspace", "rnn_workspace_size", ("lstm", -1, 2, 3)),
]


def _device(value):
    return D(value) if isinstance(value, np.ndarray) else value


@pytest.mark.usefixtures("cuda_api")
@pytest.mark.parametrize("call", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_both_tables_refuse_alike(call):
    _, name, args, kwargs = call if len(call) == 4 else call + ({},)
    with pytest.raises(Exception) as on_cpu:
        getattr(cpu, name)(*args, **kwargs)
    with pytest.raises(Exception) as on_cuda:
        getattr(cuda, name)(*map(_device, args), **{k: _device(v) for k, v in kwargs.items()})
    assert type(on_cuda.value) is type(on_cpu.value)
    assert str(on_cuda.value) == str(on_cpu.value)
    assert type(on_cpu.value) in (TypeError, ValueError, IndexError)


@pytest.mark.usefixtures("cuda_api")
@pytest.mark.parametrize("changes", [dict(x=rnd((3, 4))), dict(w_ih=rnd((12, 5))),
                                     dict(h0=rnd((3, 3)))], ids=["x", "w_ih", "h0"])
def test_rnn_shape_errors_differ_only_in_how_the_array_is_written(changes):
    """One rule, one message, but each table writes the array that came its own way
    (the CPU float32(3, 4), the CUDA table float32[3, 4]), as before the fold."""
    args = ("lstm",) + _lstm(**changes)
    with pytest.raises(ValueError) as on_cpu:
        cpu.rnn_forward(*args)
    with pytest.raises(ValueError) as on_cuda:
        cuda.rnn_forward(*map(_device, args))
    head, got = str(on_cpu.value).rsplit(" got ", 1)
    assert got.startswith("float32(") and got.endswith(")")
    assert str(on_cuda.value) == f"{head} got float32[{got[len('float32('):-1]}]"
