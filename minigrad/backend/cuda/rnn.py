"""Fused recurrent layers on the device (csrc/cuda/rnn.cu): backend/cpu/rnn.py's
contract over CudaArrays -- one layer, one direction, a whole sequence:

    x (T, B, n_in)   w_ih (G*H, n_in)   w_hh (G*H, H)   b_ih, b_hh (G*H,) or None
    h0, c0 (B, H)    lengths (B,) int64 or None          y (T, B, H)

With w_hr (P, H) an LSTM projects its outputs (proj_size), as on the CPU.
rnn_forward returns (y, h_n, c_n or None, ws or None); rnn_backward takes the
same arguments plus y, ws and the output gradients and returns a dict of
gradients.  `lengths` may live on the host (a numpy array, as nn.RNN builds
it) or on the device; it is checked on the host (it is B integers) and copied
to the device for the kernel.  The cell table and the argument checks are
backend/shared/rnn.py's.
"""
from types import SimpleNamespace

import numpy as np

from minigrad.backend.cuda import runtime
from minigrad.backend.cuda.array import CudaArray
from minigrad.backend.cuda.common import (INT64, check, contiguous, describe, device_input,
                                          dtype_code, int64_ptr, optional_ptr, to_device,
                                          to_host)
from minigrad.backend.shared.rnn import (RNN_CELLS, cell_spec, check_backward,  # noqa: F401
                                         check_lengths, check_layer, check_workspace_size,
                                         details, grad_shapes, rnn_gate_count, shape_error)

__all__ = ["RNN_CELLS", "rnn_gate_count", "rnn_workspace_size", "rnn_forward", "rnn_backward"]


def rnn_workspace_size(cell, T, B, H, P=0):
    """Elements of the workspace rnn_forward fills for backward; P: an LSTM's projection
    size (0: none).  The GPU's own layout, not the CPU's."""
    code, _ = cell_spec("rnn_workspace_size", cell)
    if P and cell != "lstm":
        raise ValueError(f"rnn_workspace_size: a projection (P={P}) is for lstm only")
    api = runtime.api()
    size = api.lstm_proj_workspace_size(T, B, H, P) if P else \
        api.rnn_workspace_size(code, T, B, H)
    return check_workspace_size(size, T, B, H)


# ---- this table's side of the shared checks: CudaArrays, host or device lengths -------


def _lengths(kernel, lengths, B, T):
    """(device int64 array, host list) of checked lengths, or (None, None)."""
    if lengths is None:
        return None, None
    host = to_host(lengths) if isinstance(lengths, CudaArray) else np.asarray(lengths)
    if host.dtype != INT64:
        raise TypeError(f"{kernel}: expected lengths of dtype int64, got {host.dtype}")
    if host.shape != (B,):
        raise shape_error(kernel, "lengths", (B,), describe(host))
    values = host.tolist()
    check_lengths(kernel, values, T)
    device = lengths if isinstance(lengths, CudaArray) else to_device(host)
    return contiguous(device), values


def _take_w_hh(w_hh, kernel, cell, G):
    return device_input(w_hh, kernel, "w_hh")


_DEVICE = SimpleNamespace(take=device_input, take_w_hh=_take_w_hh, dtype_code=dtype_code,
                          describe=describe, contiguous=contiguous, lengths=_lengths,
                          workspace_size=rnn_workspace_size)


def rnn_forward(cell, x, w_ih, w_hh, b_ih, b_hh, h0, c0=None, lengths=None, reverse=False,
                need_workspace=True, w_hr=None):
    """Run one recurrent layer over a sequence: (y, h_n, c_n or None, ws or None), as the
    CPU table's rnn_forward (w_hr: an LSTM's projection)."""
    kernel = "rnn_forward"
    L = check_layer(_DEVICE, kernel, cell, x, w_ih, w_hh, b_ih, b_hh, h0, c0, lengths, w_hr)
    y = CudaArray.empty((L.T, L.B, L.O), L.dtype)
    h_n = CudaArray.empty((L.B, L.O), L.dtype)
    c_n = CudaArray.empty((L.B, L.H), L.dtype) if cell == "lstm" else None
    ws = CudaArray.empty((rnn_workspace_size(cell, L.T, L.B, L.H, L.P),), L.dtype) \
        if need_workspace else None
    common = (L.x.pointer(), L.w_ih.pointer(), L.w_hh.pointer())
    rest = (optional_ptr(L.b_ih), optional_ptr(L.b_hh), L.h0.pointer(), optional_ptr(L.c0),
            int64_ptr(L.lengths), int(bool(reverse)), y.pointer(), h_n.pointer(),
            optional_ptr(c_n), optional_ptr(ws))
    api = runtime.api()
    if L.P:
        status = api.lstm_proj_forward(L.dtype_code, L.T, L.B, L.n_in, L.H, L.P, *common,
                                       L.w_hr.pointer(), *rest)
    else:
        status = api.rnn_forward(L.dtype_code, L.code, L.T, L.B, L.n_in, L.H, *common, *rest)
    check(status, "mg_cuda_lstm_proj_forward" if L.P else "mg_cuda_rnn_forward",
          details(L, reverse))
    return y, h_n, c_n, ws


def rnn_backward(cell, x, w_ih, w_hh, b_ih, b_hh, h0, c0, lengths, reverse, y, ws, dy, dh_n,
                 dc_n=None, skip=(), w_hr=None):
    """Gradients of a rnn_forward call made with the same arguments: a dict with 'x',
    'w_ih', 'w_hh', 'w_hr', 'b_ih', 'b_hh', 'h0', 'c0' (None where the input does not
    exist, or its name is in `skip`: not computed)."""
    kernel = "rnn_backward"
    L = check_layer(_DEVICE, kernel, cell, x, w_ih, w_hh, b_ih, b_hh, h0, c0, lengths, w_hr)
    y, ws, dy, dh_n, dc_n = check_backward(_DEVICE, kernel, L, y, ws, dy, dh_n, dc_n)
    grads = {name: None if shape is None or name in skip else CudaArray.empty(shape, L.dtype)
             for name, shape in grad_shapes(L).items()}
    g = {name: optional_ptr(arr) for name, arr in grads.items()}
    common = (L.x.pointer(), L.w_ih.pointer(), L.w_hh.pointer())
    rest = (optional_ptr(L.b_ih), optional_ptr(L.b_hh), L.h0.pointer(), optional_ptr(L.c0),
            int64_ptr(L.lengths), int(bool(reverse)), y.pointer(), optional_ptr(ws),
            dy.pointer(), optional_ptr(dh_n), optional_ptr(dc_n), g["x"], g["w_ih"], g["w_hh"])
    biases_states = (g["b_ih"], g["b_hh"], g["h0"], g["c0"])
    api = runtime.api()
    if L.P:
        status = api.lstm_proj_backward(L.dtype_code, L.T, L.B, L.n_in, L.H, L.P, *common,
                                        L.w_hr.pointer(), *rest, g["w_hr"], *biases_states)
    else:
        status = api.rnn_backward(L.dtype_code, L.code, L.T, L.B, L.n_in, L.H, *common, *rest,
                                  *biases_states)
    check(status, "mg_cuda_lstm_proj_backward" if L.P else "mg_cuda_rnn_backward",
          details(L, reverse))
    return grads
