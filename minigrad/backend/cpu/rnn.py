"""Fused recurrent layers (csrc/rnn.c): one layer, one direction, a whole sequence.

Time-major shapes, PyTorch's equations, weight layout and gate order:

    x (T, B, n_in)   w_ih (G*H, n_in)   w_hh (G*H, H)   b_ih, b_hh (G*H,) or None
    h0, c0 (B, H)    lengths (B,) int64 or None          y (T, B, H)

An LSTM may project its outputs (PyTorch's proj_size): with w_hr (P, H), each step's
h = (o * tanh c) w_hr^T, so w_hh is (4H, P), and h0, h_n and y are P wide
((B, P), (T, B, P)); c0 and c_n stay (B, H).

G is 1 for 'rnn_tanh' / 'rnn_relu', 3 for 'gru' (gates r, z, n) and 4 for 'lstm'
(gates i, f, g, o); c0 / c_n exist for 'lstm' only.  With `lengths`, steps
t >= lengths[b] leave sequence b's state unchanged and give zeros in y, in both
directions (a reversed sequence starts at its own last step), which is what
PyTorch computes for a packed sequence.

The forward pass returns a workspace (a flat array) holding what the backward
pass needs; pass it back unchanged together with y.  The cell table and the
argument checks are the same on every device: backend/shared/rnn.py.
"""
from types import SimpleNamespace

import numpy as np

from minigrad._native import check, ffi, lib
from minigrad.backend.cpu.common import INT64, contiguous, dtype_code, ptr
from minigrad.backend.cpu.host_cache import empty
from minigrad.backend.shared.rnn import (RNN_CELLS, cell_spec, check_backward, check_lengths,
                                         check_layer, check_workspace_size, checked_array,
                                         details, grad_shapes, rnn_gate_count, w_hh_error)

__all__ = ["RNN_CELLS", "rnn_gate_count", "rnn_workspace_size", "rnn_forward", "rnn_backward"]


def rnn_workspace_size(cell, T, B, H, P=0):
    """Elements of the workspace rnn_forward fills for backward (0 for plain RNNs);
    P: an LSTM's projection size (0: none)."""
    code, _ = cell_spec("rnn_workspace_size", cell)
    if P and cell != "lstm":
        raise ValueError(f"rnn_workspace_size: a projection (P={P}) is for lstm only")
    size = lib.mg_lstm_proj_workspace_size(T, B, H, P) if P else \
        lib.mg_rnn_workspace_size(code, T, B, H)
    return check_workspace_size(size, T, B, H)


# ---- this table's side of the shared checks: numpy arrays on the host ----------------


def _take(arr, kernel, name):
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{kernel}: expected {name} to be a numpy array, got {type(arr).__name__}")
    return arr


def _take_w_hh(w_hh, kernel, cell, G):
    if not isinstance(w_hh, np.ndarray):
        raise w_hh_error(kernel, cell, G, w_hh)
    return w_hh


def _lengths(kernel, lengths, B, T):
    if lengths is None:
        return None, None
    lengths = checked_array(_HOST, kernel, "lengths", lengths, (B,), INT64)
    values = lengths.tolist()
    check_lengths(kernel, values, T)
    return lengths, values


_HOST = SimpleNamespace(take=_take, take_w_hh=_take_w_hh, dtype_code=dtype_code,
                        describe=lambda arr: f"{arr.dtype}{tuple(arr.shape)}",
                        contiguous=contiguous, lengths=_lengths,
                        workspace_size=rnn_workspace_size)


def _p(arr):
    """A C pointer to `arr`'s data, or NULL for None."""
    return ffi.NULL if arr is None else ptr(arr)


def _lengths_ptr(layer):
    if layer.lengths is None:
        return ffi.NULL
    return ffi.from_buffer("int64_t[]", layer.lengths)


def rnn_forward(cell, x, w_ih, w_hh, b_ih, b_hh, h0, c0=None, lengths=None, reverse=False,
                need_workspace=True, w_hr=None):
    """Run one recurrent layer over a sequence.

    Returns (y (T, B, O), h_n (B, O), c_n (B, H) or None, ws or None): O is H, or P
    with an LSTM's projection w_hr (P, H); c_n for 'lstm' only; ws (the workspace
    for rnn_backward) when `need_workspace`.
    """
    kernel = "rnn_forward"
    L = check_layer(_HOST, kernel, cell, x, w_ih, w_hh, b_ih, b_hh, h0, c0, lengths, w_hr)
    y = empty((L.T, L.B, L.O), L.dtype)
    h_n = empty((L.B, L.O), L.dtype)
    c_n = empty((L.B, L.H), L.dtype) if cell == "lstm" else None
    ws = empty(rnn_workspace_size(cell, L.T, L.B, L.H, L.P), L.dtype) if need_workspace else None
    common = (_p(L.x), _p(L.w_ih), _p(L.w_hh))
    rest = (_p(L.b_ih), _p(L.b_hh), _p(L.h0), _p(L.c0), _lengths_ptr(L), int(bool(reverse)),
            _p(y), _p(h_n), _p(c_n), _p(ws))
    if L.P:
        status = lib.mg_lstm_proj_forward(L.dtype_code, L.T, L.B, L.n_in, L.H, L.P, *common,
                                          _p(L.w_hr), *rest)
    else:
        status = lib.mg_rnn_forward(L.dtype_code, L.code, L.T, L.B, L.n_in, L.H, *common, *rest)
    check(status, "mg_lstm_proj_forward" if L.P else "mg_rnn_forward", details(L, reverse))
    return y, h_n, c_n, ws


def rnn_backward(cell, x, w_ih, w_hh, b_ih, b_hh, h0, c0, lengths, reverse, y, ws, dy, dh_n,
                 dc_n=None, skip=(), w_hr=None):
    """Gradients of a rnn_forward call made with the same arguments (w_hr included).

    y and ws are what that call returned; dy (T, B, O) is the gradient of y,
    dh_n (B, O) / dc_n (B, H) those of h_n / c_n (None means zero).  Returns a dict
    with 'x', 'w_ih', 'w_hh', 'w_hr', 'b_ih', 'b_hh', 'h0', 'c0': the gradients, None
    where the input does not exist (a missing bias or projection, c0 of a non-LSTM
    cell) or its name is in `skip` (not wanted: the kernel does not compute it -- dx
    alone is a product the size of the input projection).
    """
    kernel = "rnn_backward"
    L = check_layer(_HOST, kernel, cell, x, w_ih, w_hh, b_ih, b_hh, h0, c0, lengths, w_hr)
    y, ws, dy, dh_n, dc_n = check_backward(_HOST, kernel, L, y, ws, dy, dh_n, dc_n)
    grads = {name: None if shape is None or name in skip else empty(shape, L.dtype)
             for name, shape in grad_shapes(L).items()}
    g = {name: _p(arr) for name, arr in grads.items()}
    common = (_p(L.x), _p(L.w_ih), _p(L.w_hh))
    rest = (_p(L.b_ih), _p(L.b_hh), _p(L.h0), _p(L.c0), _lengths_ptr(L), int(bool(reverse)),
            _p(y), _p(ws), _p(dy), _p(dh_n), _p(dc_n), g["x"], g["w_ih"], g["w_hh"])
    biases_states = (g["b_ih"], g["b_hh"], g["h0"], g["c0"])
    if L.P:
        status = lib.mg_lstm_proj_backward(L.dtype_code, L.T, L.B, L.n_in, L.H, L.P, *common,
                                           _p(L.w_hr), *rest, g["w_hr"], *biases_states)
    else:
        status = lib.mg_rnn_backward(L.dtype_code, L.code, L.T, L.B, L.n_in, L.H, *common,
                                     *rest, *biases_states)
    check(status, "mg_lstm_proj_backward" if L.P else "mg_rnn_backward", details(L, reverse))
    return grads
