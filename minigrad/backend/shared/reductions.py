"""The reduction family's rules, the same on every device: op names and codes,
axis normalisation (PyTorch's, 0-d arrays included), the (outer, n, inner)
view of a shape around its reduced axis, and the error messages.
"""
import math

import numpy as np

from minigrad._native import lib
from minigrad.backend.shared.checks import describe

REDUCE_OPS = {"sum": lib.MG_SUM, "max": lib.MG_MAX, "min": lib.MG_MIN}
ARG_OPS = {"argmax": lib.MG_ARGMAX, "argmin": lib.MG_ARGMIN}


def normalize_axis(kernel, shape, axis):
    """`axis` as an index into `shape` (negative counts from the end).  A 0-d
    shape accepts 0 and -1, as in PyTorch, and gives None (the lone element)."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{kernel}: axis must be an int or None, got {axis!r}")
    ndim = len(shape)
    limit = max(ndim, 1)
    if not -limit <= axis < limit:
        raise IndexError(f"{kernel}: axis {axis} is out of range for shape {tuple(shape)} "
                         f"(expected {-limit} <= axis < {limit})")
    return int(axis) % ndim if ndim else None


def split_axis(kernel, shape, axis):
    """(outer, n, inner, reduced_shape): `shape` seen as (outer, n, inner) around
    `axis`, and `shape` without it.  axis=None reduces over everything."""
    axis = None if axis is None else normalize_axis(kernel, shape, axis)
    if axis is None:
        return 1, math.prod(shape), 1, ()
    return (math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:]),
            tuple(shape[:axis]) + tuple(shape[axis + 1:]))


def empty_axis_error(kernel, op, shape, axis):
    """The ValueError for max / min / argmax / argmin over an empty axis (the sum of
    nothing is 0); raised only when the output has elements."""
    return ValueError(f"{kernel}: cannot take the {op} over an empty axis "
                      f"(shape {tuple(shape)}, axis {axis})")


def check_softmax_pair(kernel, y, gy):
    """softmax_backward's y and gy: one dtype (TypeError), one shape (ValueError).
    (The CPU table tests the condition inline and calls this only to raise.)"""
    if gy.dtype != y.dtype:
        raise TypeError(f"{kernel}: y and gy must share one dtype, got "
                        f"{describe(y)} and {describe(gy)}")
    if gy.shape != y.shape:
        raise ValueError(f"{kernel}: y and gy must have one shape, got "
                         f"{tuple(y.shape)} and {tuple(gy.shape)}")


def details(x, axis):
    """A failed kernel's details (built only on failure)."""
    return lambda: f"shape={tuple(x.shape)}, axis={axis}"
