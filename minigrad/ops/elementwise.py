"""Elementwise ops: unary functions, arithmetic with broadcasting, comparisons,
where and clamp.  Each op's derivative sits beside its forward.

Unary ops share one shape: forward calls the C kernel `unary(op)`, backward
calls the fused derivative kernel `unary_backward(op)` through UnaryGrad,
which is itself an op so that higher derivatives work.
"""
from minigrad import dtypes
from minigrad.autograd import grad_mode
from minigrad.autograd.function import Function
from minigrad.ops.common import (as_tensor_like, is_scalar, kernels, same_device, shape_str,
                                 unbroadcast)
from minigrad.tensor import Tensor

# ---- unary ops ----------------------------------------------------------------
#
#   op           y = f(x)       f'(x), as the kernel computes it
#   neg          -x             -1
#   abs          |x|            sign(x)
#   exp          e^x            y
#   log          ln x           1 / x
#   sqrt         sqrt(x)        1 / (2y)
#   tanh         tanh x         1 - y^2
#   sigmoid      1/(1+e^-x)     y (1 - y)
#   relu         max(x, 0)      1 if x > 0 else 0
#   square       x^2            2x
#   reciprocal   1/x            -1 / x^2
#   sign         sign(x)        0
#
# READS_OUTPUT: ops whose derivative is cheapest from y; the others read x.
READS_OUTPUT = {"exp", "sqrt", "tanh", "sigmoid"}


class Unary(Function):
    """y = f(x) for one of the unary kernels (subclasses set `op`)."""
    op = None

    def forward(self, x):
        _require_float(x, self.op)
        if self.op not in READS_OUTPUT:
            self.save_for_backward(x)
        return kernels(x).unary(self.op, x._array)

    def backward(self, gy):
        if self.op in READS_OUTPUT:
            x, y = None, self.output()
        else:
            (x,), y = self.saved_tensors, None
        if grad_mode._enabled[0]:  # create_graph: an op, differentiable again
            return UnaryGrad.apply(self.op, x, y, gy)
        return Tensor._wrap(UnaryGrad.kernel(self.op, x, y, gy), gy.device)  # (see below)


def _unary_class(op):
    cls = type(op.capitalize(), (Unary,), {"op": op, "save_outputs": op in READS_OUTPUT})
    cls.__doc__ = f"y = {op}(x)"
    return cls


UNARY_OPS = {op: _unary_class(op) for op in
             ("neg", "abs", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "square",
              "reciprocal", "sign")}


class UnaryGrad(Function):
    """gx = gy * f'(x), from x or y = f(x) (whichever the op reads; the other is None).

    Its own backward gives the second derivatives, composed from Tensor ops:
    d(gx)/d(gy) = f'(x), and d(gx)/d(x or y) as listed below."""

    def forward(self, op, x, y, gy):
        self.op = op
        self.save_for_backward(x if y is None else y, gy)
        return self.kernel(op, x, y, gy)

    @staticmethod
    def kernel(op, x, y, gy):
        """The array gy * f'(x) from the fused kernel (x or y None, as forward takes them)."""
        return kernels(gy).unary_backward(op, None if x is None else x._array,
                                          None if y is None else y._array, gy._array)

    def backward(self, ggx):
        v, gy = self.saved_tensors  # v is x or y, as forward received it
        op = self.op
        reads_x = op not in READS_OUTPUT
        # d(gx)/d(gy) is linear: the same kernel applied to ggx.
        d_gy = UnaryGrad.apply(op, v if reads_x else None, None if reads_x else v, ggx)
        if op == "exp":            # gx = gy*y
            d_v = ggx * gy
        elif op == "log":          # gx = gy/x
            d_v = -ggx * gy / (v * v)
        elif op == "sqrt":         # gx = gy/(2y)
            d_v = -ggx * gy / (2 * v * v)
        elif op == "tanh":         # gx = gy(1-y^2)
            d_v = -2 * ggx * gy * v
        elif op == "sigmoid":      # gx = gy y(1-y)
            d_v = ggx * gy * (1 - 2 * v)
        elif op == "square":       # gx = 2 gy x
            d_v = 2 * ggx * gy
        elif op == "reciprocal":   # gx = -gy/x^2
            d_v = 2 * ggx * gy / (v * v * v)
        else:                      # neg, abs, relu, sign: gx is piecewise linear in x
            d_v = None
        return d_v, d_gy


def _unary(op):
    cls = UNARY_OPS[op]

    def apply(x):
        return cls.apply(x)
    apply.__name__ = op
    apply.__doc__ = f"Elementwise {op}(x); same shape as x."
    return apply


neg = _unary("neg")
abs = _unary("abs")
exp = _unary("exp")
log = _unary("log")
sqrt = _unary("sqrt")
tanh = _unary("tanh")
sigmoid = _unary("sigmoid")
relu = _unary("relu")
square = _unary("square")
reciprocal = _unary("reciprocal")
sign = _unary("sign")


def _require_float(x, op):
    if not dtypes.is_float(x.dtype):
        raise TypeError(f"{op}: expected a float32 or float64 tensor, got {x.dtype}")


# ---- binary arithmetic ------------------------------------------------------------


class Binary(Function):
    """out = a (op) b with numpy broadcasting; subclasses give the partial derivatives."""
    op = None
    needs_inputs = True  # whether the partials read a and b

    def forward(self, a, b):
        self.a_shape, self.b_shape = a._array.shape, b._array.shape
        if self.needs_inputs:
            self.save_for_backward(a, b)
        try:
            return kernels(a).binary(self.op, a._array, b._array)
        except ValueError:
            raise ValueError(f"{self.op}: shapes {shape_str(a, b)} cannot be broadcast "
                             f"together") from None

    def backward(self, g):
        da, db = self.partials(g)
        return (None if da is None else unbroadcast(da, self.a_shape),
                None if db is None else unbroadcast(db, self.b_shape))


class Add(Binary):
    """a + b:  d/da = 1,  d/db = 1"""
    op = "add"
    needs_inputs = False

    def partials(self, g):
        return g, g


class Sub(Binary):
    """a - b:  d/da = 1,  d/db = -1"""
    op = "sub"
    needs_inputs = False

    def partials(self, g):
        return g, -g


class Mul(Binary):
    """a * b:  d/da = b,  d/db = a"""
    op = "mul"

    def partials(self, g):
        a, b = self.saved_tensors
        wants_a, wants_b = self.inputs  # None where no gradient flows (a mask, a constant)
        return ((None if wants_a is None else _grad_product(g, b)),
                (None if wants_b is None else _grad_product(g, a)))


# Inside a backward pass.  With create_graph=True the pass is itself recorded, so its
# gradients must come from ops.  Without it (the usual case) nothing is recorded, and on
# the small tensors of a recurrent step the op around a kernel -- its checks, its node,
# its wrapping -- costs more than the kernel: the hottest backward products (Mul's, and
# the unary ops' derivative above) call the kernel alone.  In a composed LSTM step's
# backward that is 8% of the time.

def _grad_product(g, t):
    """g * t for a backward (t saved by forward: g's dtype and device, broadcasting)."""
    return _grad_binary("mul", g, t)


_GRAD_OPS = {"mul": Tensor.__mul__, "sub": Tensor.__sub__}


def _grad_binary(op, a, b):
    """a (op) b for a backward, op "mul" or "sub" (tensors of one dtype and device,
    broadcasting): the Tensor op when the backward is recorded (create_graph), else the
    kernel alone -- no op around it, as nothing will differentiate it."""
    if grad_mode._enabled[0]:
        return _GRAD_OPS[op](a, b)
    return Tensor._wrap(kernels(a).binary(op, a._array, b._array), a.device)


class Div(Binary):
    """a / b:  d/da = 1/b,  d/db = -a/b^2"""
    op = "div"

    def partials(self, g):
        a, b = self.saved_tensors
        ga = g / b
        return ga, -ga * a / b


class Pow(Binary):
    """a ** b:  d/da = b a^(b-1),  d/db = a^b ln a"""
    op = "pow"

    def partials(self, g):
        a, b = self.saved_tensors
        ga = g * b * a ** (b - 1)
        gb = g * (a ** b) * log(a) if self.needs_b_grad() else None
        return ga, gb

    def needs_b_grad(self):
        return self.inputs[1] is not None


class Maximum(Binary):
    """max(a, b): the gradient goes to the larger input, split evenly on ties."""
    op = "maximum"

    def partials(self, g):
        a, b = self.saved_tensors
        return _split_by_winner(g, a, b, "gt")


class Minimum(Binary):
    """min(a, b): the gradient goes to the smaller input, split evenly on ties."""
    op = "minimum"

    def partials(self, g):
        a, b = self.saved_tensors
        return _split_by_winner(g, a, b, "lt")


def _split_by_winner(g, a, b, wins):
    k = kernels(g)
    share_a = Tensor._wrap(k.binary("add", k.binary(wins, a._array, b._array),
                                    k.binary_scalar("mul", k.binary("eq", a._array, b._array), 0.5)),
                           g.device)
    share_b = 1 - share_a
    return g * share_a, g * share_b


# ---- a tensor and a Python number --------------------------------------------------


class Scalar(Function):
    """out = x (op) s, or s (op) x when `reverse`; s a Python number."""

    @property
    def name(self):
        return ("R" if self.reverse else "") + self.op.capitalize() + "Scalar"

    def forward(self, op, x, s, reverse=False):
        self.op, self.s, self.reverse = op, s, reverse
        if op in ("div", "pow") or (op == "sub" and reverse):
            self.save_for_backward(x)
        return kernels(x).binary_scalar(op, x._array, s, scalar_first=reverse)

    def backward(self, g):
        op, s = self.op, self.s
        if op == "add":
            return g
        if op == "sub":
            return -g if self.reverse else g
        if op == "mul":
            return g * s
        x, = self.saved_tensors
        if op == "div":
            return -g * s / (x * x) if self.reverse else g / s
        if op == "pow":
            if self.reverse:       # d s^x / dx = s^x ln s
                return g * (s ** x) * _log_scalar(s)
            if s == 0:
                return g * 0
            return g * s * x ** (s - 1)
        raise AssertionError(op)


def _log_scalar(s):
    import math
    return math.log(s) if s > 0 else float("nan")


_BINARY = {"add": Add, "sub": Sub, "mul": Mul, "div": Div, "pow": Pow,
           "maximum": Maximum, "minimum": Minimum}


def _binary(op, a, b):
    """Dispatch a binary op: tensor-scalar fast path, dtype promotion, tensor-tensor."""
    if isinstance(b, Tensor) and isinstance(a, Tensor) and a._array.dtype == b._array.dtype \
            and a.device == b.device:
        return _BINARY[op].apply(a, b)  # the common case, first
    if is_scalar(b) and isinstance(a, Tensor):
        a = _promote_for_scalar(a, b)
        if op in ("maximum", "minimum"):
            return _BINARY[op].apply(a, as_tensor_like(b, a))
        return Scalar.apply(op, a, b)
    if is_scalar(a) and isinstance(b, Tensor):
        b = _promote_for_scalar(b, a)
        if op in ("maximum", "minimum", "add", "mul"):
            return _binary(op, b, a)
        return Scalar.apply(op, b, a, True)
    a, b = _promote(a, b, op)
    return _BINARY[op].apply(a, b)


def _promote_for_scalar(t, s):
    if isinstance(s, float) and not dtypes.is_float(t.dtype):
        return t.to(dtypes.get_default_dtype())
    return t


def _promote(a, b, op):
    """Both operands as tensors of one dtype (PyTorch's order: float64 > float32 > int64)
    and one device (RuntimeError otherwise: devices are never mixed silently)."""
    if not isinstance(a, Tensor):
        a = as_tensor_like(a, b)
    if not isinstance(b, Tensor):
        b = as_tensor_like(b, a)
    if a.device != b.device:
        same_device(op, a, b)
    if a.dtype != b.dtype:
        dtype = dtypes.promote(a.dtype, b.dtype)
        a, b = a.to(dtype), b.to(dtype)
    return a, b


def add(a, b, alpha=1):
    """a + alpha * b, broadcasting."""
    return _binary("add", a, b if alpha == 1 else b * alpha)


def sub(a, b, alpha=1):
    """a - alpha * b, broadcasting."""
    return _binary("sub", a, b if alpha == 1 else b * alpha)


def rsub(a, b):
    """b - a (for `number - tensor`)."""
    return _binary("sub", b, a)


def mul(a, b):
    return _binary("mul", a, b)


def div(a, b):
    """True division; integer tensors are promoted to the default float dtype."""
    if isinstance(a, Tensor) and not dtypes.is_float(a.dtype) and \
            not (isinstance(b, Tensor) and dtypes.is_float(b.dtype)):
        a = a.to(dtypes.get_default_dtype())
    return _binary("div", a, b)


def rdiv(a, b):
    """b / a (for `number / tensor`)."""
    if not dtypes.is_float(a.dtype):
        a = a.to(dtypes.get_default_dtype())
    return _binary("div", b, a)


def pow(a, b):
    return _binary("pow", a, b)


def rpow(a, b):
    """b ** a (for `number ** tensor`)."""
    return _binary("pow", b, a)


def maximum(a, b):
    return _binary("maximum", a, b)


def minimum(a, b):
    return _binary("minimum", a, b)


class AddCMul(Function):
    """out = input + value * t1 * t2 (PyTorch's addcmul), all three broadcast together: one
    op where a recurrent step would record a product and a sum (an LSTM's c' = f c + i g).
    d/dinput = 1,  d/dt1 = value * t2,  d/dt2 = value * t1."""

    def forward(self, input, t1, t2, value):
        self.save_for_backward(t1, t2)
        self.shapes, self.value = (input._array.shape, t1._array.shape, t2._array.shape), value
        k = kernels(input)
        try:
            product = k.binary("mul", t1._array, t2._array)
            if value != 1:
                k.binary_scalar("mul", product, value, out=product)
            if product.shape == input._array.shape:  # the sum goes where the product is
                return k.binary("add", input._array, product, out=product)
            return k.binary("add", input._array, product)
        except ValueError:
            raise ValueError(f"addcmul: shapes {shape_str(input, t1, t2)} cannot be broadcast "
                             f"together") from None

    def backward(self, g):
        t1, t2 = self.saved_tensors
        wants_input, wants_t1, wants_t2 = self.inputs
        s_input, s_t1, s_t2 = self.shapes
        gv = g if self.value == 1 else g * self.value
        return (None if wants_input is None else unbroadcast(g, s_input),
                None if wants_t1 is None else unbroadcast(_grad_product(gv, t2), s_t1),
                None if wants_t2 is None else unbroadcast(_grad_product(gv, t1), s_t2))


def addcmul(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 * tensor2, broadcasting (PyTorch's addcmul): tensors of one
    dtype and device; value a Python number."""
    tensors = (input, tensor1, tensor2)
    if not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError("addcmul: input, tensor1 and tensor2 must be Tensors, got "
                        + ", ".join(type(t).__name__ for t in tensors))
    if not is_scalar(value):
        raise TypeError(f"addcmul: value must be a number, got {type(value).__name__}")
    if not (input.dtype == tensor1.dtype == tensor2.dtype):
        raise TypeError(f"addcmul: expected one dtype, got {input.dtype}, {tensor1.dtype} and "
                        f"{tensor2.dtype}")
    if not (input.device is tensor1.device is tensor2.device):
        same_device("addcmul", *tensors)
    return AddCMul.apply(input, tensor1, tensor2, value)


class Lerp(Function):
    """out = input + weight * (end - input) (PyTorch's lerp), all three broadcast together:
    a step from input toward end, one op where a recurrent step would record a difference,
    a product and a sum (a GRU's h' = (1 - z) n + z h = lerp(n, h, z)).  Nothing new is
    saved: backward reads the three inputs.
    d/dinput = 1 - weight,  d/dend = weight,  d/dweight = end - input."""

    def forward(self, input, end, weight):
        self.save_for_backward(input, end, weight)
        self.shapes = (input._array.shape, end._array.shape, weight._array.shape)
        k = kernels(input)
        a, b, w = input._array, end._array, weight._array
        try:
            step = k.binary("sub", b, a)
            # in place where the result keeps step's shape (the common case: one shape)
            step = k.binary("mul", w, step, out=step if w.shape == step.shape else None)
            return k.binary("add", a, step, out=step if a.shape == step.shape else None)
        except ValueError:
            raise ValueError(f"lerp: shapes {shape_str(input, end, weight)} cannot be broadcast "
                             f"together") from None

    def backward(self, g):
        input, end, weight = self.saved_tensors
        wants_input, wants_end, wants_weight = self.inputs
        s_input, s_end, s_weight = self.shapes
        g_end = g_input = g_weight = None
        if wants_input is not None or wants_end is not None:
            g_end = _grad_binary("mul", g, weight)
            if wants_input is not None:
                g_input = unbroadcast(_grad_binary("sub", g, g_end), s_input)
        if wants_weight is not None:
            g_weight = unbroadcast(_grad_binary("mul", g, _grad_binary("sub", end, input)),
                                   s_weight)
        return (g_input, None if wants_end is None else unbroadcast(g_end, s_end), g_weight)


def lerp(input, end, weight):
    """input + weight * (end - input), broadcasting (PyTorch's lerp): input and end Tensors of
    one dtype and device; weight a Tensor like them or a Python number."""
    if not (isinstance(input, Tensor) and isinstance(end, Tensor)):
        raise TypeError("lerp: input and end must be Tensors, got "
                        f"{type(input).__name__} and {type(end).__name__}")
    if is_scalar(weight):
        weight = as_tensor_like(weight, input)
    elif not isinstance(weight, Tensor):
        raise TypeError(f"lerp: weight must be a Tensor or a number, got {type(weight).__name__}")
    tensors = (input, end, weight)
    if not (input.dtype == end.dtype == weight.dtype):
        raise TypeError(f"lerp: expected one dtype, got {input.dtype}, {end.dtype} and "
                        f"{weight.dtype}")
    if not (input.device is end.device is weight.device):
        same_device("lerp", *tensors)
    return Lerp.apply(input, end, weight)


# ---- comparisons: 1/0 in the operands' dtype, never differentiable ----------------------


def _compare(op, a, b):
    if is_scalar(b):
        out = kernels(a).binary_scalar(op, a._array, b)
    else:
        a, b = _promote(a, b, op)
        try:
            out = kernels(a).binary(op, a._array, b._array)
        except ValueError:
            raise ValueError(f"{op}: shapes {shape_str(a, b)} cannot be broadcast together") from None
    return Tensor._wrap(out, a.device)


def eq(a, b):
    return _compare("eq", a, b)


def ne(a, b):
    return _compare("ne", a, b)


def lt(a, b):
    return _compare("lt", a, b)


def le(a, b):
    return _compare("le", a, b)


def gt(a, b):
    return _compare("gt", a, b)


def ge(a, b):
    return _compare("ge", a, b)


# ---- where and clamp -------------------------------------------------------------------


class Where(Function):
    """out = a where cond else b (broadcasting); the gradient follows the chosen side."""

    def forward(self, cond, a, b):
        self.save_for_backward(cond)
        self.a_shape, self.b_shape = a.shape, b.shape
        return kernels(a).where(cond._array, a._array, b._array)

    def backward(self, g):
        cond, = self.saved_tensors
        zero = g.new_zeros(())
        ga = unbroadcast(where(cond, g, zero), self.a_shape) if self.inputs[1] is not None else None
        gb = unbroadcast(where(cond, zero, g), self.b_shape) if self.inputs[2] is not None else None
        return None, ga, gb


def where(cond, a, b):
    """Elementwise `a if cond else b`; cond nonzero means true.  Broadcasts all three."""
    if not isinstance(a, Tensor):
        a = as_tensor_like(a, b if isinstance(b, Tensor) else cond)
    a, b = _promote(a, b, "where")
    if not isinstance(cond, Tensor):
        cond = Tensor(cond, device=a.device)
    same_device("where", a, cond)
    if cond.dtype != a.dtype:
        cond = cond.to(a.dtype)
    return Where.apply(cond.detach(), a, b)


class Clamp(Function):
    """min(max(x, lo), hi): the gradient passes where lo <= x <= hi."""

    def forward(self, x, lo, hi):
        self.lo, self.hi = lo, hi
        self.save_for_backward(x)
        return kernels(x).clamp(x._array, lo, hi)

    def backward(self, g):
        x, = self.saved_tensors
        return ClampGrad.apply(x, g, self.lo, self.hi)


class ClampGrad(Function):
    """g masked to where lo <= x <= hi; linear in g, so its backward is itself."""

    def forward(self, x, g, lo, hi):
        self.lo, self.hi = lo, hi
        self.save_for_backward(x)
        return kernels(g).clamp_backward(x._array, lo, hi, g._array)

    def backward(self, gg):
        x, = self.saved_tensors
        return None, ClampGrad.apply(x, gg, self.lo, self.hi)


def clamp(x, min=None, max=None):
    """Elementwise clamp to [min, max]; either bound may be None."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    return Clamp.apply(x, min, max)


clip = clamp


class Cast(Function):
    """The same values in another dtype; the gradient is cast back."""

    def forward(self, x, dtype):
        self.in_dtype = x.dtype
        return kernels(x).cast(x._array, dtype)

    def backward(self, g):
        return g.to(self.in_dtype) if dtypes.is_float(self.in_dtype) else None


def cast(x, dtype):
    return Cast.apply(x, dtype)
