"""Fused recurrent layers (csrc/rnn.c): one layer, one direction, a whole sequence.

Time-major shapes, PyTorch's equations, weight layout and gate order:

    x (T, B, n_in)   w_ih (G*H, n_in)   w_hh (G*H, H)   b_ih, b_hh (G*H,) or None
    h0, c0 (B, H)    lengths (B,) int64 or None          y (T, B, H)

G is 1 for 'rnn_tanh' / 'rnn_relu', 3 for 'gru' (gates r, z, n) and 4 for 'lstm'
(gates i, f, g, o); c0 / c_n exist for 'lstm' only.  With `lengths`, steps
t >= lengths[b] leave sequence b's state unchanged and give zeros in y, in both
directions (a reversed sequence starts at its own last step), which is what
PyTorch computes for a packed sequence.

The forward pass returns a workspace (a flat array) holding what the backward
pass needs; pass it back unchanged together with y.
"""
from types import SimpleNamespace

import numpy as np

from minigrad._native import check, ffi, lib
from minigrad.backend.cpu.common import INT64, contiguous, dtype_code, ptr

__all__ = ["RNN_CELLS", "rnn_gate_count", "rnn_workspace_size", "rnn_forward", "rnn_backward"]

# cell name -> (C code, gates per hidden unit)
_CELLS = {
    "rnn_tanh": (lib.MG_RNN_TANH, 1),
    "rnn_relu": (lib.MG_RNN_RELU, 1),
    "gru": (lib.MG_GRU, 3),
    "lstm": (lib.MG_LSTM, 4),
}
RNN_CELLS = tuple(_CELLS)


def _cell(kernel, cell):
    if cell not in _CELLS:
        raise ValueError(f"{kernel}: unknown cell {cell!r}; expected one of {', '.join(RNN_CELLS)}")
    return _CELLS[cell]


def rnn_gate_count(cell):
    """Gates per hidden unit: 1 (rnn_tanh, rnn_relu), 3 (gru), 4 (lstm)."""
    return _cell("rnn_gate_count", cell)[1]


def rnn_workspace_size(cell, T, B, H):
    """Elements of the workspace rnn_forward fills for backward (0 for plain RNNs)."""
    code, _ = _cell("rnn_workspace_size", cell)
    size = lib.mg_rnn_workspace_size(code, T, B, H)
    if size < 0:
        raise ValueError(f"rnn_workspace_size: invalid sizes T={T}, B={B}, H={H}")
    return size


def _shape_error(kernel, name, expected, arr):
    got = "None" if arr is None else f"{arr.dtype}{tuple(arr.shape)}"
    return ValueError(f"{kernel}: expected {name} of shape {expected}, got {got}")


def _array(kernel, name, arr, shape, dtype):
    """`arr` made contiguous after checking it is an ndarray of `shape` and `dtype`."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{kernel}: expected {name} to be a numpy array, got {type(arr).__name__}")
    if arr.dtype != dtype:
        raise TypeError(f"{kernel}: expected {name} of dtype {dtype}, got {arr.dtype} "
                        f"(shape {tuple(arr.shape)})")
    if arr.shape != shape:
        raise _shape_error(kernel, name, shape, arr)
    return contiguous(arr)


def _optional(kernel, name, arr, shape, dtype):
    return None if arr is None else _array(kernel, name, arr, shape, dtype)


def _p(arr):
    """A C pointer to `arr`'s data, or NULL for None."""
    return ffi.NULL if arr is None else ptr(arr)


def _check_layer(kernel, cell, x, w_ih, w_hh, b_ih, b_hh, h0, c0, lengths):
    """Checks the inputs forward and backward share; returns them (contiguous) and the sizes."""
    code, G = _cell(kernel, cell)
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{kernel}: expected x to be a numpy array, got {type(x).__name__}")
    dtype_code(x, kernel)
    if x.ndim != 3:
        raise _shape_error(kernel, "x", "(T, B, n_in)", x)
    T, B, n_in = x.shape
    if not isinstance(w_hh, np.ndarray) or w_hh.ndim != 2 or w_hh.shape[0] != G * w_hh.shape[1]:
        raise ValueError(f"{kernel}: expected w_hh of shape (G*H, H) with G={G} for {cell}, got "
                         f"{getattr(w_hh, 'shape', type(w_hh).__name__)}")
    H = w_hh.shape[1]
    GH = G * H
    dt = x.dtype
    layer = SimpleNamespace(cell=cell, code=code, G=G, T=T, B=B, n_in=n_in, H=H, dtype=dt,
                            dtype_code=dtype_code(x, kernel))
    layer.x = contiguous(x)
    layer.w_ih = _array(kernel, "w_ih", w_ih, (GH, n_in), dt)
    layer.w_hh = _array(kernel, "w_hh", w_hh, (GH, H), dt)
    layer.b_ih = _optional(kernel, "b_ih", b_ih, (GH,), dt)
    layer.b_hh = _optional(kernel, "b_hh", b_hh, (GH,), dt)
    layer.h0 = _array(kernel, "h0", h0, (B, H), dt)
    if cell == "lstm":
        layer.c0 = _array(kernel, "c0", c0, (B, H), dt)
    elif c0 is not None:
        raise ValueError(f"{kernel}: c0 is for lstm only, got one for {cell}")
    else:
        layer.c0 = None
    layer.lengths = None
    if lengths is not None:
        layer.lengths = _array(kernel, "lengths", lengths, (B,), INT64)
        bad = [n for n in layer.lengths.tolist() if n < 0 or n > T]
        if bad:
            raise ValueError(f"{kernel}: lengths must lie in [0, T={T}], got {bad[0]}")
    return layer


def _lengths_ptr(layer):
    if layer.lengths is None:
        return ffi.NULL
    return ffi.from_buffer("int64_t[]", layer.lengths)


def _details(layer, reverse):
    return lambda: (f"cell={layer.cell} T={layer.T} B={layer.B} n_in={layer.n_in} H={layer.H} "
                    f"dtype={layer.dtype} reverse={bool(reverse)} "
                    f"lengths={'None' if layer.lengths is None else layer.lengths.tolist()}")


def rnn_forward(cell, x, w_ih, w_hh, b_ih, b_hh, h0, c0=None, lengths=None, reverse=False,
                need_workspace=True):
    """Run one recurrent layer over a sequence.

    Returns (y (T, B, H), h_n (B, H), c_n (B, H) or None, ws or None): c_n for
    'lstm' only; ws (the workspace for rnn_backward) when `need_workspace`.
    """
    kernel = "rnn_forward"
    L = _check_layer(kernel, cell, x, w_ih, w_hh, b_ih, b_hh, h0, c0, lengths)
    y = np.empty((L.T, L.B, L.H), L.dtype)
    h_n = np.empty((L.B, L.H), L.dtype)
    c_n = np.empty((L.B, L.H), L.dtype) if cell == "lstm" else None
    ws = np.empty(rnn_workspace_size(cell, L.T, L.B, L.H), L.dtype) if need_workspace else None
    check(lib.mg_rnn_forward(L.dtype_code, L.code, L.T, L.B, L.n_in, L.H,
                             _p(L.x), _p(L.w_ih), _p(L.w_hh), _p(L.b_ih), _p(L.b_hh),
                             _p(L.h0), _p(L.c0), _lengths_ptr(L), int(bool(reverse)),
                             _p(y), _p(h_n), _p(c_n), _p(ws)),
          "mg_rnn_forward", _details(L, reverse))
    return y, h_n, c_n, ws


def rnn_backward(cell, x, w_ih, w_hh, b_ih, b_hh, h0, c0, lengths, reverse, y, ws, dy, dh_n,
                 dc_n=None):
    """Gradients of a rnn_forward call made with the same arguments.

    y and ws are what that call returned; dy (T, B, H) is the gradient of y,
    dh_n / dc_n (B, H) those of h_n / c_n (None means zero).  Returns a dict with
    'x', 'w_ih', 'w_hh', 'b_ih', 'b_hh', 'h0', 'c0': the gradients, None where
    the input does not exist (a missing bias, c0 of a non-LSTM cell).
    """
    kernel = "rnn_backward"
    L = _check_layer(kernel, cell, x, w_ih, w_hh, b_ih, b_hh, h0, c0, lengths)
    T, B, H, dt = L.T, L.B, L.H, L.dtype
    y = _array(kernel, "y", y, (T, B, H), dt)
    ws_size = rnn_workspace_size(cell, T, B, H)
    if ws is None and ws_size > 0:
        raise ValueError(f"{kernel}: {cell} needs the workspace from rnn_forward "
                         f"(need_workspace=True), got None")
    ws = _optional(kernel, "ws", ws, (ws_size,), dt)
    dy = _array(kernel, "dy", dy, (T, B, H), dt)
    dh_n = _optional(kernel, "dh_n", dh_n, (B, H), dt)
    if cell != "lstm" and dc_n is not None:
        raise ValueError(f"{kernel}: dc_n is for lstm only, got one for {cell}")
    dc_n = _optional(kernel, "dc_n", dc_n, (B, H), dt)

    grads = {
        "x": np.empty(L.x.shape, dt),
        "w_ih": np.empty(L.w_ih.shape, dt),
        "w_hh": np.empty(L.w_hh.shape, dt),
        "b_ih": None if L.b_ih is None else np.empty(L.b_ih.shape, dt),
        "b_hh": None if L.b_hh is None else np.empty(L.b_hh.shape, dt),
        "h0": np.empty((B, H), dt),
        "c0": np.empty((B, H), dt) if cell == "lstm" else None,
    }
    check(lib.mg_rnn_backward(L.dtype_code, L.code, T, B, L.n_in, H,
                              _p(L.x), _p(L.w_ih), _p(L.w_hh), _p(L.b_ih), _p(L.b_hh),
                              _p(L.h0), _p(L.c0), _lengths_ptr(L), int(bool(reverse)),
                              _p(y), _p(ws), _p(dy), _p(dh_n), _p(dc_n),
                              _p(grads["x"]), _p(grads["w_ih"]), _p(grads["w_hh"]),
                              _p(grads["b_ih"]), _p(grads["b_hh"]), _p(grads["h0"]),
                              _p(grads["c0"])),
          "mg_rnn_backward", _details(L, reverse))
    return grads
