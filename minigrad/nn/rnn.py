"""Recurrent nets: RNN, GRU, LSTM and their cells, with PyTorch's contract.

Two implementations give one answer:

  - composed: each time step is written from primitive tensor ops (the cell
    functions below -- read them to learn the equations; they are recorded op by
    op on the tape and can be differentiated twice);
  - fused: one C kernel per layer and direction runs the whole sequence (the
    input projection of all steps as one gemm, then per step one recurrent gemm
    and one fused gate kernel) and is recorded on the tape as ONE op whose
    backward computes all gate gradients step by step and the weight gradients
    as large gemms over all steps.

Layers use the fused path by default (`impl='fused'`); pass impl='composed' or
call `set_default_impl('composed')` to study the composed one.  A layer
differentiated twice must run composed (the fused op's gradients come from C, not
from recorded ops: create_graph=True through it is an error), and so does an LSTM
with proj_size > 0 on the GPU, until its CUDA kernels (mg_cuda_lstm_proj_*, which build;
tests/devices/test_cuda_table.py compares them with the CPU's on a GPU) have run on one.

With `lengths`, the padding past each sequence's length is never read (zeroed
first, as PyTorch's packed sequences never see it): NaN there changes nothing.
"""
import math
import warnings

from minigrad import dtypes
from minigrad.autograd import grad_mode
from minigrad.autograd.function import Function
from minigrad.backend import for_device
from minigrad.creation import zeros
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.ops.common import kernels
from minigrad.ops.elementwise import addcmul, lerp, where
from minigrad.ops.linalg import addmm
from minigrad.ops.shape import cat, stack
from minigrad.tensor import Tensor

IMPLS = ("fused", "composed")
_default_impl = ["fused"]


def set_default_impl(impl):
    """The implementation layers use when built without `impl`: 'fused' or 'composed'."""
    if impl not in IMPLS:
        raise ValueError(f"set_default_impl: expected 'fused' or 'composed', got {impl!r}")
    _default_impl[0] = impl


def get_default_impl():
    return _default_impl[0]


# ---- one time step, from primitive ops ------------------------------------------------
#
# x (B, in), h and c (B, H); w_ih (G*H, in), w_hh (G*H, H) with the gates stacked
# in PyTorch's order; biases (G*H,) or None.


def _affine(h, w_t, b):
    """h @ w_t + b for h (B, in) and a weight already transposed to (in, out): one gemm."""
    return h @ w_t if b is None else addmm(b, h, w_t)


def rnn_tanh_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)"""
    return rnn_step(F.linear(x, w_ih, b_ih), h, w_hh.T, b_hh, "tanh")


def rnn_relu_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """h' = relu(x W_ih^T + b_ih + h W_hh^T + b_hh)"""
    return rnn_step(F.linear(x, w_ih, b_ih), h, w_hh.T, b_hh, "relu")


def gru_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """Gates r, z, n (in that order in the weights):
        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
        z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))   -- reset applied after the matmul
        h' = (1 - z) * n + z * h"""
    return gru_step(*gru_split(F.linear(x, w_ih, b_ih)), h, w_hh.T, b_hh)


def lstm_cell(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None):
    """Gates i, f, g, o (in that order in the weights):
        i = sigmoid(.)  f = sigmoid(.)  g = tanh(.)  o = sigmoid(.)   of W_i* x + b_i* + W_h* h + b_h*
        c' = f * c + i * g
        h' = o * tanh(c')          (then h' = h' W_hr^T when projected)
    Returns (h', c')."""
    return lstm_step(F.linear(x, w_ih, b_ih), h, c, w_hh.T, b_hh,
                     None if w_hr is None else w_hr.T)


# The same steps from gi = x W_ih^T + b_ih, the input's share of the gates: a layer
# computes it for all time steps at once (one large gemm) before its time loop.  They
# take the recurrent weights transposed, w_hh_t = W_hh^T (H, G*H): a layer transposes
# once, so its backward sums the steps' gradients in that layout and transposes the sum
# once (a strided add of a (G*H, H) matrix at every step costs more than its gemm).

def _gates(gi, h, w_hh_t, b_hh):
    """gi + h W_hh^T + b_hh: the recurrent product added onto gi in the same gemm."""
    pre = addmm(gi, h, w_hh_t)
    return pre if b_hh is None else pre + b_hh


def rnn_step(gi, h, w_hh_t, b_hh, nonlinearity):
    pre = _gates(gi, h, w_hh_t, b_hh)
    return pre.tanh() if nonlinearity == "tanh" else pre.relu()


def gru_split(gates):
    """(..., 3H) gate pre-activations -> the r and z gates' (..., 2H) and the n gate's (..., H)."""
    hidden = gates.shape[-1] // 3
    return gates.split([2 * hidden, hidden], -1)


def gru_step(gi_rz, gi_n, h, w_hh_t, b_hh):
    """One step from gi = x W_ih^T + b_ih split by gru_split (GRUCell's step)."""
    gh_rz, gh_n = gru_split(_affine(h, w_hh_t, b_hh))
    r, z = (gi_rz + gh_rz).sigmoid().chunk(2, -1)  # r and z side by side: one sigmoid
    return _gru_update(r, z, gi_n, gh_n, h)


def gru_fold(x, w_ih, b_ih, b_hh):
    """A GRU layer's input side of every step, from x (T, B, in), arranged once per
    sequence so that each step needs one addmm (gru_step_folded):
        gx   = [x W_irz^T + b_irz + b_hrz | b_hn]   (T, B, 3H)
        gi_n =  x W_in^T + b_in                     (T, B, H)
    Added to h W_hh^T, gx gives the r and z pre-activations and W_hn h + b_hn side by
    side (b_hr and b_hz enter the r and z gates as b_ih does; b_hn stays apart: r
    multiplies it).  The r, z and n rows of W_ih are two products, so that gi_n is a
    contiguous array for the steps' products, not a strided view of a (T, B, 3H) one."""
    hidden = w_ih.shape[0] // 3
    w_rz, w_n = w_ih.split([2 * hidden, hidden], 0)
    b_rz, b_in = (None, None) if b_ih is None else gru_split(b_ih)
    b_hrz, b_hn = (None, None) if b_hh is None else gru_split(b_hh)
    if b_hrz is not None:
        b_rz = b_hrz if b_rz is None else b_rz + b_hrz
    gi_rz, gi_n = F.linear(x, w_rz, b_rz), F.linear(x, w_n, b_in)
    b_n = zeros(*gi_n.shape, dtype=x.dtype, device=x.device) if b_hn is None \
        else b_hn.expand(gi_n.shape)
    return cat([gi_rz, b_n], -1), gi_n


def gru_step_folded(gx, gi_n, h, w_hh_t):
    """One step of a GRU layer, from gx and gi_n of gru_fold.  The step's product splits
    into three (B, H) views, r, z and W_hn h + b_hn, and r and z get a sigmoid each: two
    ops, as a sigmoid of r and z side by side and a chunk of it would be, but r and z
    then come out contiguous for the products that read them, and backward joins one
    split instead of two."""
    r, z, gh_n = addmm(gx, h, w_hh_t).chunk(3, -1)
    return _gru_update(r.sigmoid(), z.sigmoid(), gi_n, gh_n, h)


def _gru_update(r, z, gi_n, gh_n, h):
    """h' from the r and z gates (B, H), gi_n = W_in x + b_in and gh_n = W_hn h + b_hn
    (B, H)."""
    n = addcmul(gi_n, r, gh_n).tanh()  # tanh(gi_n + r gh_n)
    # (1 - z) * n + z * h, written as a step from n toward h, n + z (h - n): one op instead
    # of 4 (each op recorded costs more time than its arithmetic at these sizes).
    return lerp(n, h, z)


def lstm_step(gi, h, c, w_hh_t, b_hh, w_hr_t=None):
    i, f, g, o = _gates(gi, h, w_hh_t, b_hh).chunk(4, -1)
    c_next = addcmul(f.sigmoid() * c, i.sigmoid(), g.tanh())  # f c + i g, in two ops
    h_next = o.sigmoid() * c_next.tanh()
    if w_hr_t is not None:
        h_next = h_next @ w_hr_t
    return h_next, c_next


_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "GRU": 3, "LSTM": 4}
_KERNEL_CELL = {"RNN_TANH": "rnn_tanh", "RNN_RELU": "rnn_relu", "GRU": "gru", "LSTM": "lstm"}


# ---- cells -------------------------------------------------------------------------------


def _check_sizes(name, **sizes):
    """Sizes are ints (a float hidden_size is a mistake, not a size), as in PyTorch."""
    for key, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name}: {key} must be an int, got {value!r} "
                            f"({type(value).__name__})")


class RNNCellBase(Module):
    def __init__(self, input_size, hidden_size, bias, num_gates, device=None, dtype=None):
        super().__init__()
        _check_sizes(type(self).__name__, input_size=input_size, hidden_size=hidden_size)
        if input_size <= 0 or hidden_size <= 0:
            raise ValueError(f"{type(self).__name__}: input_size and hidden_size must be positive, "
                             f"got {input_size} and {hidden_size}")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        dtype = dtype or dtypes.get_default_dtype()
        self.weight_ih = Parameter(zeros(num_gates * hidden_size, input_size, dtype=dtype))
        self.weight_hh = Parameter(zeros(num_gates * hidden_size, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(zeros(num_gates * hidden_size, dtype=dtype))
            self.bias_hh = Parameter(zeros(num_gates * hidden_size, dtype=dtype))
        else:
            self.bias_ih = self.bias_hh = None
        self.reset_parameters()
        if device is not None:  # initialised on the CPU (same numbers), then moved
            self.to(device)

    def reset_parameters(self):
        _reset_uniform(self)

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            text += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text

    def _prepare(self, input, hx, name, n_states=1):
        """Batch the input ((in,) -> (1, in)) and check it and the `n_states` states of hx
        (a Tensor, or a tuple of n_states for LSTMCell; None: zeros) against the cell's sizes."""
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor input, got {type(input).__name__}")
        if n_states == 1 and isinstance(hx, (tuple, list)):
            raise TypeError(f"{name}: hx must be a Tensor (N, {self.hidden_size}), not a "
                            f"{type(hx).__name__}")
        if n_states > 1 and hx is not None and not (isinstance(hx, (tuple, list))
                                                    and len(hx) == n_states):
            raise TypeError(f"{name}: hx must be a tuple (h, c) of two Tensors, got "
                            f"{_describe_state(hx)}")
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: expected input of shape (batch, {self.input_size}) or "
                             f"({self.input_size},), got {list(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input has {input.shape[-1]} features, expected "
                             f"input_size={self.input_size} (shape {list(input.shape)})")
        _check_like(input, self.weight_ih, name)
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        expected = (x.shape[0], self.hidden_size)
        states = []
        for state in (hx if n_states > 1 and hx is not None else (hx,) * n_states):
            if state is None:
                state = zeros(*expected, dtype=input.dtype, device=input.device)
            elif not isinstance(state, Tensor):
                raise TypeError(f"{name}: a hidden state must be a Tensor, got "
                                f"{type(state).__name__}")
            else:
                state = state if batched else state.unsqueeze(0)
                _check_like(state, input, name)
                if tuple(state.shape) != expected:
                    raise ValueError(f"{name}: expected hidden state of shape "
                                     f"{list(expected if batched else expected[1:])}, got "
                                     f"{list(state.shape if batched else state.shape[1:])}")
            states.append(state)
        return x, states, batched


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)  (or relu).

    Args: input_size, hidden_size, bias=True, nonlinearity='tanh' | 'relu'.
    Inputs: input (N, H_in) or (H_in,); hx (N, H) or (H,), zeros if omitted.
    Output: h' (N, H) or (H,).
    Parameters: weight_ih (H, H_in), weight_hh (H, H), bias_ih (H), bias_hh (H)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, hx, "RNNCell")
        step = rnn_tanh_cell if self.nonlinearity == "tanh" else rnn_relu_cell
        out = step(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return out if batched else out.squeeze(0)


class GRUCell(RNNCellBase):
    """The GRU step (gates r, z, n; reset applied after the hidden matmul):
        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
        z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        h' = (1 - z) * n + z * h
    Inputs: input (N, H_in) or (H_in,); hx (N, H) or (H,).  Output: h'.
    Parameters: weight_ih (3H, H_in), weight_hh (3H, H), bias_ih (3H), bias_hh (3H)."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, hx, "GRUCell")
        out = gru_cell(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """The LSTM step (gates i, f, g, o):
        i, f, o = sigmoid(W_i* x + b_i* + W_h* h + b_h*),  g = tanh(W_ig x + b_ig + W_hg h + b_hg)
        c' = f * c + i * g,   h' = o * tanh(c')
    Inputs: input (N, H_in) or (H_in,); hx = (h, c), each (N, H) or (H,), zeros if omitted.
    Output: (h', c').
    Parameters: weight_ih (4H, H_in), weight_hh (4H, H), bias_ih (4H), bias_hh (4H)."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        x, (h, c), batched = self._prepare(input, hx, "LSTMCell", n_states=2)
        h, c = lstm_cell(x, h, c, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


def _reset_uniform(module):
    """Every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch."""
    bound = 1.0 / math.sqrt(module.hidden_size)
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


def _check_like(input, weight, name):
    """The input (or a state) must have the parameters' dtype and device."""
    if input.dtype != weight.dtype:
        fix = (f"convert one of them (module.to({input.dtype}) or input.to(...))"
               if dtypes.is_float(input.dtype) else
               f"token ids go through an nn.Embedding first, or convert: input.to({weight.dtype})")
        raise TypeError(f"{name}: input is {input.dtype} but the parameters are {weight.dtype}; "
                        f"{fix}")
    if input.device != weight.device:
        raise RuntimeError(f"{name}: input is on {input.device} but the parameters are on "
                           f"{weight.device}; move one of them (module.to('{input.device}') or "
                           f"input.to('{weight.device}'))")


# ---- the fused layer op --------------------------------------------------------------------


class FusedRNNLayer(Function):
    """One layer, one direction, the whole sequence, in C.

    Tensor inputs: x (T, B, in), w_ih, w_hh, [b_ih, b_hh], [h0 (B, O)], [c0 (B, H)],
    [w_hr (P, H)] (a missing h0 or LSTM's c0 starts from zeros and gets no gradient; w_hr
    projects an LSTM's outputs, O = P, else O = H).
    Outputs: y (T, B, O), h_n (B, O), and c_n (B, H) for LSTM.

    Backward reads the inputs and y as forward saw them: an in-place change to any of them in
    between is an error, as for every op.  Its gradients are computed by the C kernel, not by
    recorded ops, so they cannot be differentiated again (create_graph=True is an error;
    impl='composed' builds the same layer from ops, which differentiate twice)."""
    save_outputs = True  # y: backward reads the states h_t from it (for dW_hh, and GRU's and
    # RNN's gate gradients)

    def forward(self, cell, reverse, lengths, x, w_ih, w_hh, b_ih, b_hh, h0, c0, w_hr=None):
        self.cell, self.reverse, self.lengths = cell, reverse, lengths
        self.has_bias, self.has_h, self.has_c = b_ih is not None, h0 is not None, c0 is not None
        self.has_proj = w_hr is not None
        tensors = (x, w_ih, w_hh, b_ih, b_hh, h0, c0, w_hr)
        self.save_for_backward(*[t for t in tensors if t is not None])  # (their versions)
        arrays = [None if t is None else t._array for t in tensors]
        # zero states as bare arrays: no tensors, no ops on the tape (the kernels want them)
        k = kernels(x)
        batch = x.shape[1]
        if h0 is None:  # (B, O): O is w_hh's width
            arrays[5] = k.fill((batch, w_hh.shape[1]), 0.0, x.dtype)
        if c0 is None and cell == "lstm":  # (B, H): 4H rows in w_ih
            arrays[6] = k.fill((batch, w_ih.shape[0] // 4), 0.0, x.dtype)
        # The workspace (what backward reads) only when this call will be recorded.
        recording = grad_mode.is_grad_enabled() and any(t is not None and t.requires_grad
                                                        for t in tensors)
        y, h_n, c_n, ws = k.rnn_forward(cell, *arrays[:7], lengths=lengths, reverse=reverse,
                                        need_workspace=recording, w_hr=arrays[7])
        self.arrays, self.ws = arrays, ws
        return (y, h_n, c_n) if c_n is not None else (y, h_n)

    def backward(self, gy, gh_n, gc_n=None):
        if grad_mode.is_grad_enabled():
            raise RuntimeError("FusedRNNLayer: the fused kernels' gradients cannot be "
                               "differentiated again (create_graph=True); build the layer with "
                               "impl='composed' for double backward")
        self.saved_tensors  # raises if an input was changed in place since forward
        y = self.output(0)._array  # likewise for y
        k = for_device(self.device)
        gy_array = k.fill(y.shape, 0.0, y.dtype) if gy is None else gy._array
        # one name per tensor input; the kernel skips the gradients nothing receives (no edge:
        # data, or a tensor that needs none) and those of the zero states it made itself
        names = ["x", "w_ih", "w_hh"] + (["b_ih", "b_hh"] if self.has_bias else []) + \
            (["h0"] if self.has_h else []) + (["c0"] if self.has_c else []) + \
            (["w_hr"] if self.has_proj else [])
        skip = {n for n, edge in zip(names, self.inputs) if edge is None} | ({"h0", "c0"} - set(names))
        grads = k.rnn_backward(self.cell, *self.arrays[:7], self.lengths, self.reverse, y,
                               self.ws, gy_array, None if gh_n is None else gh_n._array,
                               None if gc_n is None else gc_n._array, skip=skip,
                               w_hr=self.arrays[7])
        return tuple(None if grads[n] is None else Tensor._wrap(grads[n], self.device)
                     for n in names)

    def release_extra(self):
        self.arrays = self.ws = None


# ---- layers ----------------------------------------------------------------------------------


class RNNBase(Module):
    """Shared machinery of RNN, GRU and LSTM: parameters, shapes, layers and directions."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, impl=None, device=None,
                 dtype=None):
        super().__init__()
        name = type(self).__name__
        _check_sizes(name, input_size=input_size, hidden_size=hidden_size,
                     num_layers=num_layers, proj_size=proj_size)
        if not (isinstance(dropout, (int, float)) and 0 <= dropout <= 1):
            raise ValueError(f"{name}: dropout must be a number in [0, 1], got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout={dropout} has no effect with num_layers=1 (it acts "
                          f"between layers, after every layer but the last)", stacklevel=2)
        if hidden_size <= 0 or input_size <= 0 or num_layers <= 0:
            raise ValueError(f"{name}: input_size, hidden_size and num_layers must be positive, "
                             f"got {input_size}, {hidden_size}, {num_layers}")
        if proj_size < 0 or (proj_size and mode != "LSTM"):
            raise ValueError(f"{name}: proj_size must be >= 0 and is for LSTM only")
        if proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size ({proj_size}) must be smaller than hidden_size "
                             f"({hidden_size})")
        if impl is not None and impl not in IMPLS:
            raise ValueError(f"{name}: impl must be 'fused' or 'composed', got {impl!r}")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        self.impl = impl
        dtype = dtype or dtypes.get_default_dtype()
        gates = _GATES[mode] * hidden_size
        out_size = proj_size or hidden_size
        directions = 2 if bidirectional else 1
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else out_size * directions
            for direction in range(directions):
                sfx = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = [("weight_ih" + sfx, (gates, layer_in)), ("weight_hh" + sfx, (gates, out_size))]
                if bias:
                    shapes += [("bias_ih" + sfx, (gates,)), ("bias_hh" + sfx, (gates,))]
                if proj_size:
                    shapes.append(("weight_hr" + sfx, (proj_size, hidden_size)))
                for pname, shape in shapes:
                    self.register_parameter(pname, Parameter(zeros(*shape, dtype=dtype)))
        self.reset_parameters()
        if device is not None:  # initialised on the CPU (same numbers), then moved
            self.to(device)

    def reset_parameters(self):
        _reset_uniform(self)

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        for key, default in (("proj_size", 0), ("num_layers", 1), ("bias", True),
                             ("batch_first", False), ("dropout", 0.0), ("bidirectional", False),
                             ("impl", None)):
            value = getattr(self, key)
            if value != default:
                text += f", {key}={value!r}" if isinstance(value, str) else f", {key}={value}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity!r}"
        return text

    @property
    def effective_impl(self):
        """'fused' or 'composed': what forward will actually run (a projected LSTM on the
        GPU runs composed until its CUDA kernels have run on a GPU: see the module's doc)."""
        if self.proj_size and self.weight_ih_l0.device != dtypes.CPU:
            return "composed"
        return self.impl or _default_impl[0]

    def _layer_params(self, layer, direction):
        sfx = f"_l{layer}" + ("_reverse" if direction else "")
        get = lambda n: getattr(self, n + sfx, None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"), get("weight_hr")

    # -- shapes --------------------------------------------------------------------------------

    def _check_input(self, input, hx, lengths):
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor input, got {type(input).__name__}")
        if input.ndim not in (2, 3):
            layout = "(N, L, H_in)" if self.batch_first else "(L, N, H_in)"
            raise ValueError(f"{name}: expected input of shape {layout} or (L, H_in), got "
                             f"{list(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input has {input.shape[-1]} features, expected "
                             f"input_size={self.input_size} (shape {list(input.shape)})")
        _check_like(input, self.weight_ih_l0, name)
        batched = input.ndim == 3
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        steps, batch = x.shape[0], x.shape[1]
        if steps == 0:
            raise ValueError(f"{name}: expected a sequence length L > 0, got input of shape "
                             f"{list(input.shape)}")
        if lengths is not None:
            lengths = _lengths_array(lengths, batch, steps, name)
        directions = 2 if self.bidirectional else 1
        out_size = self.proj_size or self.hidden_size
        h_shape = (directions * self.num_layers, batch, out_size)
        c_shape = (directions * self.num_layers, batch, self.hidden_size)
        if self.mode == "LSTM":
            if hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
                raise TypeError(f"{name}: hx must be a tuple (h_0, c_0) of two Tensors, got "
                                f"{_describe_state(hx)}")
            h0, c0 = hx if hx is not None else (None, None)
            h0 = _initial_state(h0, h_shape, batched, input, name, "h_0")
            c0 = _initial_state(c0, c_shape, batched, input, name, "c_0")
        else:
            if isinstance(hx, (tuple, list)):
                raise TypeError(f"{name}: hx must be a Tensor h_0, not a {type(hx).__name__}")
            h0 = _initial_state(hx, h_shape, batched, input, name, "h_0")
            c0 = None
        return x, h0, c0, lengths, batched

    # -- the pass over layers and directions -----------------------------------------------------

    def forward(self, input, hx=None, lengths=None):
        """See the class docstring for shapes.  `lengths` (N,) makes each sequence stop at its
        own length: its state stops there and its padded outputs are zeros."""
        x, h0, c0, lengths, batched = self._check_input(input, hx, lengths)
        if lengths is not None:
            # The padding is never read, as in PyTorch's packed sequences: zeroed here, so that
            # NaN or inf there cannot reach a product (0 * NaN is NaN) in either implementation.
            x = where(_step_masks(lengths, x), x, 0.0)
        directions = 2 if self.bidirectional else 1
        fused = self.effective_impl == "fused"
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                params = self._layer_params(layer, direction)
                h_init = None if h0 is None else h0[index]  # None: zeros
                c_init = None if c0 is None else c0[index]
                run = self._run_fused if fused else self._run_composed
                y, h_last, c_last = run(x, params, h_init, c_init, lengths, bool(direction))
                outputs.append(y)
                h_n.append(h_last)
                if c_last is not None:
                    c_n.append(c_last)
            x = outputs[0] if directions == 1 else cat(outputs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        output = x
        if batched and self.batch_first:
            output = output.transpose(0, 1)
        h_n = _stack_states(h_n)
        c_n = _stack_states(c_n) if c_n else None
        if not batched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)
            c_n = None if c_n is None else c_n.squeeze(1)
        return (output, (h_n, c_n)) if self.mode == "LSTM" else (output, h_n)

    def _run_fused(self, x, params, h0, c0, lengths, reverse):
        w_ih, w_hh, b_ih, b_hh, w_hr = params
        outs = FusedRNNLayer.apply(_KERNEL_CELL[self.mode], reverse, lengths, x, w_ih, w_hh,
                                   b_ih, b_hh, h0, c0, w_hr)
        return outs if len(outs) == 3 else (outs[0], outs[1], None)

    def _run_composed(self, x, params, h, c, lengths, reverse):
        """The time loop, one composed cell step per time step."""
        w_ih, w_hh, b_ih, b_hh, w_hr = params
        h = _zeros_for(h, x, self.proj_size or self.hidden_size)
        c = _zeros_for(c, x, self.hidden_size) if self.mode == "LSTM" else None
        w_hh_t = w_hh.T
        w_hr_t = None if w_hr is None else w_hr.T
        steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
        masks = _step_masks(lengths, x).unbind(0) if lengths is not None else None
        if self.mode != "GRU" and b_hh is not None:
            # b_ih and b_hh enter these gates alike: add both to the input projection, once,
            # rather than b_hh at every step (GRU's n gate needs b_hn apart: r multiplies it).
            b_ih, b_hh = (b_hh if b_ih is None else b_ih + b_hh), None
        # The input projection of every step at once, then one view per step (unbind: its
        # backward stacks the steps' gradients in one buffer); GRU's arranged for its steps
        # (gru_fold) once here rather than at every step.
        if self.mode == "GRU":
            gi = list(zip(*(part.unbind(0) for part in gru_fold(x, w_ih, b_ih, b_hh))))
        else:
            gi = F.linear(x, w_ih, b_ih).unbind(0)
        ys = [None] * x.shape[0]
        for t in steps:
            if self.mode == "LSTM":
                h_new, c_new = lstm_step(gi[t], h, c, w_hh_t, b_hh, w_hr_t)
            elif self.mode == "GRU":
                h_new, c_new = gru_step_folded(*gi[t], h, w_hh_t), None
            else:
                nonlinearity = "tanh" if self.mode == "RNN_TANH" else "relu"
                h_new, c_new = rnn_step(gi[t], h, w_hh_t, b_hh, nonlinearity), None
            if masks is None:
                h, c, ys[t] = h_new, c_new, h_new
            else:  # sequences already past their length keep their state and output zeros
                m = masks[t]
                h = h + m * (h_new - h)
                c = None if c is None else c + m * (c_new - c)
                ys[t] = m * h_new
        return stack(ys, 0), h, c


def _describe_state(hx):
    """What came as hx, for an error message."""
    if isinstance(hx, (tuple, list)):
        return f"a {type(hx).__name__} of {len(hx)}"
    return type(hx).__name__


def _lengths_array(lengths, batch, steps, name):
    import numpy as np
    if isinstance(lengths, Tensor):
        values = lengths.tolist() if lengths.ndim == 1 else None
    else:
        try:
            values = list(lengths)
        except TypeError:
            values = None
    if values is None:
        raise TypeError(f"{name}: lengths must be a sequence of {batch} integers (one per "
                        f"sequence of the batch), got {lengths!r}")
    if len(values) != batch:
        raise ValueError(f"{name}: lengths has {len(values)} entries for a batch of {batch}")
    if any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0 or v > steps
           for v in values):
        raise ValueError(f"{name}: lengths must be integers in [0, {steps}] (the sequence length), "
                         f"got {values}")
    return np.array(values, dtype=np.int64)


def _step_masks(lengths, x):
    """masks[t] (B, 1): 1 for sequences still running at step t, else 0."""
    from minigrad.creation import arange, tensor
    steps = arange(x.shape[0], device=x.device).reshape(-1, 1, 1)
    return (steps < tensor(lengths, device=x.device).reshape(1, -1, 1)).to(x.dtype)


def _initial_state(state, shape, batched, input, name, what):
    """The given h_0 or c_0, checked, as (D*num_layers, N, H); None stays None (zeros: the
    fused op makes them itself, the composed loop with _zeros_for)."""
    if state is None:
        return None
    if not isinstance(state, Tensor):
        raise TypeError(f"{name}: {what} must be a Tensor, got {type(state).__name__}")
    got = tuple(state.shape)
    expected = shape if batched else (shape[0], shape[2])
    if got != expected:
        raise ValueError(f"{name}: expected {what} of shape {list(expected)}, got {list(got)}")
    _check_like(state, input, name)
    return state if batched else state.unsqueeze(1)


def _zeros_for(state, x, size):
    """`state`, or zeros (N, size) like x (L, N, H_in) when it is None."""
    return state if state is not None else zeros(x.shape[1], size, dtype=x.dtype,
                                                 device=x.device)


def _stack_states(states):
    """The final states of every layer and direction, (B, H) each, as one (D*num_layers, B, H):
    a view of the only one when there is one (no copy)."""
    return states[0].unsqueeze(0) if len(states) == 1 else stack(states, 0)


_SHAPES_DOC = """
    Args: input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0
    (between layers, in training mode), bidirectional=False{extra}, impl=None ('fused' or
    'composed'; None follows set_default_impl, 'fused' unless changed), device, dtype (where
    the parameters live, their type: they are initialised on the CPU, then moved).
    Inputs: input (L, N, H_in), or (N, L, H_in) with batch_first, or unbatched (L, H_in);
    {state}; lengths (N,) optional: per-sequence lengths, no sorting required.
    Outputs: output (L, N, D * H_out) (batch_first: (N, L, D * H_out)), {out_state},
    where D = 2 if bidirectional else 1.
    Parameters: weight_ih_l{{k}} (G*H, H_in or D*H_out), weight_hh_l{{k}} (G*H, H_out),
    bias_ih_l{{k}}, bias_hh_l{{k}} (G*H), and the same with _reverse for the backward direction;
    all initialised from U(-1/sqrt(H), 1/sqrt(H)).
"""


class RNN(RNNBase):
    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, impl=None, device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         impl=impl, device=device, dtype=dtype)


RNN.__doc__ = """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_(t-1) W_hh^T + b_hh) (or relu), G = 1.
""" + _SHAPES_DOC.format(extra=", nonlinearity='tanh' | 'relu'",
                         state="h_0 (D*num_layers, N, H) optional, zeros if omitted",
                         out_state="h_n (D*num_layers, N, H)")


class GRU(RNNBase):
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, impl=None, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, impl=impl, device=device, dtype=dtype)


GRU.__doc__ = """Gated recurrent unit, G = 3 (gates r, z, n; see GRUCell for the equations).
""" + _SHAPES_DOC.format(extra="",
                         state="h_0 (D*num_layers, N, H) optional, zeros if omitted",
                         out_state="h_n (D*num_layers, N, H)")


class LSTM(RNNBase):
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, impl=None, device=None,
                 dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size=proj_size, impl=impl, device=device, dtype=dtype)


LSTM.__doc__ = """Long short-term memory, G = 4 (gates i, f, g, o; see LSTMCell for the equations).
With proj_size > 0, h_t = (o * tanh(c_t)) W_hr^T and H_out = proj_size (weight_hr_l{k}
(proj_size, H)); the fused CPU kernel projects each step itself (on the GPU such layers run
composed).
""" + _SHAPES_DOC.format(extra=", proj_size=0",
                         state="hx = (h_0 (D*num_layers, N, H_out), c_0 (D*num_layers, N, H)) "
                               "optional, zeros if omitted",
                         out_state="(h_n (D*num_layers, N, H_out), c_n (D*num_layers, N, H))")
