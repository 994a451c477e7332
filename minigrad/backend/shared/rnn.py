"""The fused recurrent layer's rules, the same on every device: the cell
table (C code, gates per hidden unit), and the checks of rnn_forward's and
rnn_backward's arguments -- which arrays exist for which cell, their shapes
(time-major, PyTorch's layout) and dtype, `lengths` in [0, T] -- down to the
`layer` namespace both kernels are called with, and the gradients' shapes.

The checks need a few operations of the calling table's device, given as
`device`, an object with:

    take(arr, kernel, name)          arr if it is this device's array, else raise
    take_w_hh(w_hh, kernel, cell, G) the same for w_hh (the CPU table reports a
                                     non-array w_hh as a shape error)
    dtype_code(arr, kernel)          the C code of a float array, else TypeError
    describe(arr)                    an array's dtype and shape in a shape error
    contiguous(arr)                  arr, or a C-contiguous copy
    lengths(kernel, lengths, B, T)   (device int64 array, host list of values) or
                                     (None, None); checked with check_lengths
    workspace_size(cell, T, B, H, P) rnn_workspace_size (the table's C call; P: an
                                     LSTM's projection size, 0 for none)
"""
from types import SimpleNamespace

from minigrad._native import lib

# cell name -> (C code, gates per hidden unit)
CELLS = {
    "rnn_tanh": (lib.MG_RNN_TANH, 1),
    "rnn_relu": (lib.MG_RNN_RELU, 1),
    "gru": (lib.MG_GRU, 3),
    "lstm": (lib.MG_LSTM, 4),
}
RNN_CELLS = tuple(CELLS)


def cell_spec(kernel, cell):
    """(C code, gates per hidden unit) of `cell`, or a ValueError listing the cells."""
    if cell not in CELLS:
        raise ValueError(f"{kernel}: unknown cell {cell!r}; expected one of {', '.join(RNN_CELLS)}")
    return CELLS[cell]


def rnn_gate_count(cell):
    """Gates per hidden unit: 1 (rnn_tanh, rnn_relu), 3 (gru), 4 (lstm)."""
    return cell_spec("rnn_gate_count", cell)[1]


def check_workspace_size(size, T, B, H):
    """The C workspace-size query's answer; negative means the sizes were refused."""
    if size < 0:
        raise ValueError(f"rnn_workspace_size: invalid sizes T={T}, B={B}, H={H}")
    return size


def shape_error(kernel, name, expected, got):
    """The ValueError for `name` not of shape `expected` (`got`: what came, as text)."""
    return ValueError(f"{kernel}: expected {name} of shape {expected}, got {got}")


def w_hh_error(kernel, cell, G, w_hh):
    """The ValueError for a w_hh that is not (G*H, H)."""
    hint = " (or (G*H, P) with w_hr (P, H), a projected lstm)" if cell == "lstm" else ""
    return ValueError(f"{kernel}: expected w_hh of shape (G*H, H) with G={G} for {cell}{hint}, "
                      f"got {getattr(w_hh, 'shape', type(w_hh).__name__)}")


def check_lengths(kernel, values, T):
    """Every sequence length (a host list) in [0, T]."""
    bad = [n for n in values if n < 0 or n > T]
    if bad:
        raise ValueError(f"{kernel}: lengths must lie in [0, T={T}], got {bad[0]}")


def checked_array(device, kernel, name, arr, shape, dtype):
    """`arr` made contiguous after checking it is a `device` array of `shape` and `dtype`."""
    arr = device.take(arr, kernel, name)
    if arr.dtype != dtype:
        raise TypeError(f"{kernel}: expected {name} of dtype {dtype}, got {arr.dtype} "
                        f"(shape {tuple(arr.shape)})")
    if arr.shape != shape:
        raise shape_error(kernel, name, shape, device.describe(arr))
    return device.contiguous(arr)


def _optional(device, kernel, name, arr, shape, dtype):
    return None if arr is None else checked_array(device, kernel, name, arr, shape, dtype)


def check_layer(device, kernel, cell, x, w_ih, w_hh, b_ih, b_hh, h0, c0, lengths, w_hr=None):
    """The inputs rnn_forward and rnn_backward share, checked: a namespace with
    cell, code, G, T, B, n_in, H, P (the projection size, 0 without w_hr), O (the
    width of h and y: P or H), dtype, dtype_code, the arrays x, w_ih, w_hh, w_hr,
    b_ih, b_hh, h0, c0 (contiguous; None where absent), lengths (the device's int64
    array or None) and length_values (a host list or None).  w_hr (P, H): an LSTM's
    projection, which makes w_hh (4H, P) and h0 (B, P)."""
    code, G = cell_spec(kernel, cell)
    x = device.take(x, kernel, "x")
    dtype_code = device.dtype_code(x, kernel)
    if x.ndim != 3:
        raise shape_error(kernel, "x", "(T, B, n_in)", device.describe(x))
    T, B, n_in = x.shape
    dt = x.dtype
    if w_hr is not None:
        if cell != "lstm":
            raise ValueError(f"{kernel}: w_hr (a projection) is for lstm only, got one for {cell}")
        w_hr = device.take(w_hr, kernel, "w_hr")
        if w_hr.ndim != 2 or 0 in w_hr.shape:
            raise shape_error(kernel, "w_hr", "(P, H) with P, H > 0", device.describe(w_hr))
        P, H = w_hr.shape
        w_hr = checked_array(device, kernel, "w_hr", w_hr, (P, H), dt)
        w_ih_rows = getattr(w_ih, "shape", (G * H,))[0]
        if w_ih_rows != G * H:  # blame the projection, not w_ih, for a wrong H
            raise shape_error(kernel, "w_hr", f"({P}, {w_ih_rows // G}) (P, H with w_ih "
                              f"(4H, n_in))", device.describe(w_hr))
    else:
        w_hh = device.take_w_hh(w_hh, kernel, cell, G)
        if w_hh.ndim != 2 or w_hh.shape[0] != G * w_hh.shape[1]:
            raise w_hh_error(kernel, cell, G, w_hh)
        P, H = 0, w_hh.shape[1]
    O, GH = P or H, G * H
    layer = SimpleNamespace(cell=cell, code=code, G=G, T=T, B=B, n_in=n_in, H=H, P=P, O=O,
                            dtype=dt, dtype_code=dtype_code)
    layer.x = device.contiguous(x)
    layer.w_ih = checked_array(device, kernel, "w_ih", w_ih, (GH, n_in), dt)
    layer.w_hh = checked_array(device, kernel, "w_hh", w_hh, (GH, O), dt)
    layer.w_hr = w_hr
    layer.b_ih = _optional(device, kernel, "b_ih", b_ih, (GH,), dt)
    layer.b_hh = _optional(device, kernel, "b_hh", b_hh, (GH,), dt)
    layer.h0 = checked_array(device, kernel, "h0", h0, (B, O), dt)
    if cell == "lstm":
        layer.c0 = checked_array(device, kernel, "c0", c0, (B, H), dt)
    elif c0 is not None:
        raise ValueError(f"{kernel}: c0 is for lstm only, got one for {cell}")
    else:
        layer.c0 = None
    layer.lengths, layer.length_values = device.lengths(kernel, lengths, B, T)
    return layer


def check_backward(device, kernel, layer, y, ws, dy, dh_n, dc_n):
    """rnn_backward's own inputs, checked against `layer` (check_layer's):
    (y, ws, dy, dh_n, dc_n), contiguous, None where absent."""
    T, B, H, O, dt, cell = layer.T, layer.B, layer.H, layer.O, layer.dtype, layer.cell
    y = checked_array(device, kernel, "y", y, (T, B, O), dt)
    ws_size = device.workspace_size(cell, T, B, H, layer.P)
    if ws is None and ws_size > 0:
        raise ValueError(f"{kernel}: {cell} needs the workspace from rnn_forward "
                         f"(need_workspace=True), got None")
    ws = _optional(device, kernel, "ws", ws, (ws_size,), dt)
    dy = checked_array(device, kernel, "dy", dy, (T, B, O), dt)
    dh_n = _optional(device, kernel, "dh_n", dh_n, (B, O), dt)
    if cell != "lstm" and dc_n is not None:
        raise ValueError(f"{kernel}: dc_n is for lstm only, got one for {cell}")
    dc_n = _optional(device, kernel, "dc_n", dc_n, (B, H), dt)
    return y, ws, dy, dh_n, dc_n


def grad_shapes(layer):
    """The shapes of rnn_backward's gradients, by input name; None where the input
    does not exist (a missing bias or projection, c0 of a non-LSTM cell)."""
    B, H = layer.B, layer.H
    return {
        "x": layer.x.shape,
        "w_ih": layer.w_ih.shape,
        "w_hh": layer.w_hh.shape,
        "w_hr": None if layer.w_hr is None else layer.w_hr.shape,
        "b_ih": None if layer.b_ih is None else layer.b_ih.shape,
        "b_hh": None if layer.b_hh is None else layer.b_hh.shape,
        "h0": (B, layer.O),
        "c0": (B, H) if layer.cell == "lstm" else None,
    }


def details(layer, reverse):
    """A failed kernel's details (built only on failure)."""
    return lambda: (f"cell={layer.cell} T={layer.T} B={layer.B} n_in={layer.n_in} H={layer.H} "
                    + (f"P={layer.P} " if layer.P else "") +
                    f"dtype={layer.dtype} reverse={bool(reverse)} "
                    f"lengths={layer.length_values}")
