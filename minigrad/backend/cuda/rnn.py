"""Fused recurrent layers on the device (csrc/cuda/rnn.cu): backend/cpu/rnn.py's
contract over CudaArrays -- one layer, one direction, a whole sequence:

    x (T, B, n_in)   w_ih (G*H, n_in)   w_hh (G*H, H)   b_ih, b_hh (G*H,) or None
    h0, c0 (B, H)    lengths (B,) int64 or None          y (T, B, H)

rnn_forward returns (y, h_n, c_n or None, ws or None); rnn_backward takes the
same arguments plus y, ws and the output gradients and returns a dict of
gradients.  `lengths` may live on the host (a numpy array, as nn.RNN builds
it) or on the device; it is checked on the host (it is B integers) and copied
to the device for the kernel.
"""
from types import SimpleNamespace

import numpy as np

from minigrad.backend.cpu.rnn import RNN_CELLS, _CELLS, _cell, rnn_gate_count  # noqa: F401
from minigrad.backend.cuda import runtime
from minigrad.backend.cuda.array import CudaArray
from minigrad.backend.cuda.common import (INT64, check, contiguous, describe, device_input,
                                          dtype_code, int64_ptr, optional_ptr, to_device,
                                          to_host)

__all__ = ["RNN_CELLS", "rnn_gate_count", "rnn_workspace_size", "rnn_forward", "rnn_backward"]


def rnn_workspace_size(cell, T, B, H):
    """Elements of the workspace rnn_forward fills for backward."""
    code, _ = _cell("rnn_workspace_size", cell)
    size = runtime.api().rnn_workspace_size(code, T, B, H)
    if size < 0:
        raise ValueError(f"rnn_workspace_size: invalid sizes T={T}, B={B}, H={H}")
    return size


def _shape_error(kernel, name, expected, arr):
    got = "None" if arr is None else describe(arr)
    return ValueError(f"{kernel}: expected {name} of shape {expected}, got {got}")


def _array(kernel, name, arr, shape, dtype):
    arr = device_input(arr, kernel, name)
    if arr.dtype != dtype:
        raise TypeError(f"{kernel}: expected {name} of dtype {dtype}, got {arr.dtype} "
                        f"(shape {tuple(arr.shape)})")
    if arr.shape != shape:
        raise _shape_error(kernel, name, shape, arr)
    return contiguous(arr)


def _optional(kernel, name, arr, shape, dtype):
    return None if arr is None else _array(kernel, name, arr, shape, dtype)


def _lengths(kernel, lengths, B, T):
    """(device int64 array, host list) of checked lengths, or (None, None)."""
    if lengths is None:
        return None, None
    host = to_host(lengths) if isinstance(lengths, CudaArray) else np.asarray(lengths)
    if host.dtype != INT64:
        raise TypeError(f"{kernel}: expected lengths of dtype int64, got {host.dtype}")
    if host.shape != (B,):
        raise _shape_error(kernel, "lengths", (B,), host)
    values = host.tolist()
    bad = [n for n in values if n < 0 or n > T]
    if bad:
        raise ValueError(f"{kernel}: lengths must lie in [0, T={T}], got {bad[0]}")
    device = lengths if isinstance(lengths, CudaArray) else to_device(host)
    return contiguous(device), values


def _check_layer(kernel, cell, x, w_ih, w_hh, b_ih, b_hh, h0, c0, lengths):
    code, G = _cell(kernel, cell)
    x = device_input(x, kernel, "x")
    dtype = dtype_code(x, kernel)
    if x.ndim != 3:
        raise _shape_error(kernel, "x", "(T, B, n_in)", x)
    T, B, n_in = x.shape
    w_hh = device_input(w_hh, kernel, "w_hh")
    if w_hh.ndim != 2 or w_hh.shape[0] != G * w_hh.shape[1]:
        raise ValueError(f"{kernel}: expected w_hh of shape (G*H, H) with G={G} for {cell}, "
                         f"got {w_hh.shape}")
    H = w_hh.shape[1]
    GH = G * H
    dt = x.dtype
    layer = SimpleNamespace(cell=cell, code=code, G=G, T=T, B=B, n_in=n_in, H=H, dtype=dt,
                            dtype_code=dtype)
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
    layer.lengths, layer.length_values = _lengths(kernel, lengths, B, T)
    return layer


def _details(layer, reverse):
    return lambda: (f"cell={layer.cell} T={layer.T} B={layer.B} n_in={layer.n_in} H={layer.H} "
                    f"dtype={layer.dtype} reverse={bool(reverse)} lengths={layer.length_values}")


def rnn_forward(cell, x, w_ih, w_hh, b_ih, b_hh, h0, c0=None, lengths=None, reverse=False,
                need_workspace=True):
    """Run one recurrent layer over a sequence: (y, h_n, c_n or None, ws or None)."""
    kernel = "rnn_forward"
    L = _check_layer(kernel, cell, x, w_ih, w_hh, b_ih, b_hh, h0, c0, lengths)
    y = CudaArray.empty((L.T, L.B, L.H), L.dtype)
    h_n = CudaArray.empty((L.B, L.H), L.dtype)
    c_n = CudaArray.empty((L.B, L.H), L.dtype) if cell == "lstm" else None
    ws = CudaArray.empty((rnn_workspace_size(cell, L.T, L.B, L.H),), L.dtype) \
        if need_workspace else None
    check(runtime.api().rnn_forward(L.dtype_code, L.code, L.T, L.B, L.n_in, L.H,
                                    L.x.pointer(), L.w_ih.pointer(), L.w_hh.pointer(),
                                    optional_ptr(L.b_ih), optional_ptr(L.b_hh), L.h0.pointer(),
                                    optional_ptr(L.c0), int64_ptr(L.lengths),
                                    int(bool(reverse)), y.pointer(), h_n.pointer(),
                                    optional_ptr(c_n), optional_ptr(ws)),
          "mg_cuda_rnn_forward", _details(L, reverse))
    return y, h_n, c_n, ws


def rnn_backward(cell, x, w_ih, w_hh, b_ih, b_hh, h0, c0, lengths, reverse, y, ws, dy, dh_n,
                 dc_n=None):
    """Gradients of a rnn_forward call made with the same arguments: a dict with 'x',
    'w_ih', 'w_hh', 'b_ih', 'b_hh', 'h0', 'c0' (None where the input does not exist)."""
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
        "x": CudaArray.empty(L.x.shape, dt),
        "w_ih": CudaArray.empty(L.w_ih.shape, dt),
        "w_hh": CudaArray.empty(L.w_hh.shape, dt),
        "b_ih": None if L.b_ih is None else CudaArray.empty(L.b_ih.shape, dt),
        "b_hh": None if L.b_hh is None else CudaArray.empty(L.b_hh.shape, dt),
        "h0": CudaArray.empty((B, H), dt),
        "c0": CudaArray.empty((B, H), dt) if cell == "lstm" else None,
    }
    g = {name: optional_ptr(arr) for name, arr in grads.items()}
    check(runtime.api().rnn_backward(L.dtype_code, L.code, T, B, L.n_in, H,
                                     L.x.pointer(), L.w_ih.pointer(), L.w_hh.pointer(),
                                     optional_ptr(L.b_ih), optional_ptr(L.b_hh), L.h0.pointer(),
                                     optional_ptr(L.c0), int64_ptr(L.lengths),
                                     int(bool(reverse)), y.pointer(), optional_ptr(ws),
                                     dy.pointer(), optional_ptr(dh_n), optional_ptr(dc_n),
                                     g["x"], g["w_ih"], g["w_hh"], g["b_ih"], g["b_hh"], g["h0"],
                                     g["c0"]),
          "mg_cuda_rnn_backward", _details(L, reverse))
    return grads
