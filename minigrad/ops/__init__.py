"""Every differentiable op, by family.  Each module keeps an op's forward and
backward side by side; this package gathers them for minigrad's namespace and
for the Tensor methods."""
from minigrad.ops.common import as_tensor_like, implicit_grad, unbroadcast  # noqa: F401
from minigrad.ops.elementwise import (  # noqa: F401
    abs, add, addcmul, cast, clamp, clip, div, eq, exp, ge, gt, le, lerp, log, lt, maximum,
    minimum, mul, ne, neg, pow, rdiv, reciprocal, relu, rpow, rsub, sigmoid, sign, sqrt, square,
    sub, tanh, where)
from minigrad.ops.reduce import (  # noqa: F401
    amax, amin, argmax, argmin, log_softmax, logsumexp, max, mean, min, softmax, std, sum, var)
from minigrad.ops.linalg import addmm, matmul, mm  # noqa: F401
from minigrad.ops.shape import (  # noqa: F401
    broadcast_to, cat, chunk, clone, concatenate, contiguous, expand, expand_as, flatten, narrow,
    permute, reshape, select, split, squeeze, stack, swapaxes, t, transpose, unbind, unflatten,
    unsqueeze, view)
from minigrad.ops.index import getitem, index_select, setitem  # noqa: F401
from minigrad.ops.inplace import (  # noqa: F401
    add_, bernoulli_, clamp_, copy_, div_, fill_, mul_, normal_, sub_, uniform_, zero_)
from minigrad.creation import new_full, new_ones, new_tensor, new_zeros  # noqa: F401

# Ops that are also Tensor methods (x.exp(), x.sum(1), x.view(2, 3), ...).
TENSOR_METHODS = (
    "abs", "add", "addcmul", "clamp", "clip", "div", "eq", "exp", "ge", "gt", "le", "lerp", "log",
    "lt", "maximum", "minimum", "mul", "ne", "neg", "pow", "reciprocal", "relu", "sigmoid", "sign",
    "sqrt", "square", "sub", "tanh",
    "amax", "amin", "argmax", "argmin", "log_softmax", "logsumexp", "max", "mean", "min",
    "softmax", "std", "sum", "var",
    "addmm", "matmul", "mm",
    "broadcast_to", "chunk", "clone", "contiguous", "expand", "expand_as", "flatten", "narrow",
    "permute", "reshape", "select", "split", "squeeze", "swapaxes", "t", "transpose", "unbind",
    "unflatten", "unsqueeze", "view", "index_select",
    "add_", "bernoulli_", "clamp_", "copy_", "div_", "fill_", "mul_", "normal_", "sub_",
    "uniform_", "zero_",
    "new_full", "new_ones", "new_tensor", "new_zeros",
)
