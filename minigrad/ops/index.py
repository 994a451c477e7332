"""Indexing: x[key] for basic keys (ints, slices, None, ...) and integer arrays,
index_select, and x[key] = value.

Basic indexing is a view (of a numpy array or a CudaArray): the gradient is
written back into a zero tensor at the same place.  An integer-array index
gathers along one dim with the gather kernel; its gradient is scattered back
with scatter-add, so repeated indices accumulate.

Indices on a GPU tensor: an int64 index tensor on the GPU stays there (gather
reads it on the device); indices numpy computes -- positions of a mask, several
index arrays merged into one flat index, Python lists -- are computed on the
host and copied to the device by the kernel table.  A mask on the GPU is
copied to the host for that (its positions decide the result's shape).
Assignment through integer arrays (x[idx] = v) on a GPU tensor moves x's
values through host memory (numpy places them; nothing is computed).
"""
import numpy as np

from minigrad import dtypes
from minigrad.autograd import grad_mode
from minigrad.autograd.function import Function
from minigrad.backend import transfer
from minigrad.ops.common import kernels, normalize_dim
from minigrad.tensor import Tensor


class GetItem(Function):
    """out = x[key] for a basic key (a view);  the gradient lands at x[key] in zeros."""
    is_view = True

    def forward(self, x, key):
        self.in_shape, self.key = x.shape, key
        return x._array[key]

    def backward(self, g):
        return PutInZeros.apply(g, self.in_shape, self.key)


class PutInZeros(Function):
    """zeros(shape) with g written at [key]; linear in g, so its backward is g_out[key]."""

    def forward(self, g, shape, key):
        self.key = key
        k = kernels(g)
        out = k.fill(shape, 0.0, g.dtype)
        k.copy_into(g._array, out[key])
        return out

    def backward(self, gg):
        return GetItem.apply(gg, self.key)


class IndexSelect(Function):
    """out = x gathered at `index` along dim: shape x.shape[:dim] + index.shape + x.shape[dim+1:].
    The gradient is scatter-added back, so repeated indices accumulate."""

    def forward(self, x, dim, index):
        self.in_shape, self.dim, self.index = x.shape, dim, index
        return kernels(x).gather(x._array, index, dim)

    def backward(self, g):
        return IndexAddToZeros.apply(g, self.in_shape, self.dim, self.index)

    def release_extra(self):
        self.index = None


class IndexAddToZeros(Function):
    """zeros(shape) with g scatter-added at `index` along dim; its backward gathers."""

    def forward(self, g, shape, dim, index):
        self.dim, self.index = dim, index
        k = kernels(g)
        return k.scatter_add(k.fill(shape, 0.0, g.dtype), index, g._array, dim)

    def backward(self, gg):
        return IndexSelect.apply(gg, self.dim, self.index)


def index_select(x, dim, index):
    """Rows (or slices along `dim`) of x picked by an int64 index tensor of any shape."""
    dim = normalize_dim(dim, x.ndim, "index_select")
    return IndexSelect.apply(x, dim, _index_array(index, "index_select", x))


def _index_array(index, op, x):
    """The int64 index array for indexing tensor x: from a Tensor, list or array of
    integers (or booleans: their positions).  An int64 index tensor on x's GPU stays
    there (a CudaArray); everything else is a host numpy array."""
    if isinstance(index, Tensor):
        if index.device != "cpu":
            if x.device == "cpu":
                raise RuntimeError(f"{op}: indices on {index.device} cannot index a tensor on "
                                   f"cpu (shape {list(x.shape)}); move them with .cpu()")
            if index.dtype == dtypes.int64:
                return index._array
            index = Tensor._wrap(index._host_array())  # a mask: numpy finds its positions
        # A float tensor as an index is a mask: comparisons give 1/0 in float.
        index = index._array.astype(np.bool_) if dtypes.is_float(index.dtype) else index._array
    array = np.asarray(index)
    if array.dtype == np.bool_:
        return np.nonzero(array)[0].astype(np.int64) if array.ndim == 1 else array
    if array.dtype.kind not in "iu":
        raise IndexError(f"{op}: index arrays must hold integers, got {array.dtype}")
    return array.astype(np.int64, copy=False)


def _is_array_index(item):
    return isinstance(item, (Tensor, list, np.ndarray))


def _host(array):
    """An index array on the host (numpy computes with it)."""
    return array if isinstance(array, np.ndarray) else array.to_numpy()


def getitem(x, key):
    """x[key] with numpy's rules for ints, slices, None, Ellipsis, and one integer array
    (or several integer arrays addressing the leading dims together)."""
    key = key if isinstance(key, tuple) else (key,)
    arrays = [i for i, item in enumerate(key) if _is_array_index(item)]
    if not arrays:
        return GetItem.apply(x, _checked_basic_key(x, key))
    key = list(key)
    for i in arrays:
        key[i] = _index_array(key[i], "index", x)
    if len(arrays) == 1 and key[arrays[0]].dtype != np.bool_:
        pos = arrays[0]
        basic = tuple(slice(None) if i == pos else item for i, item in enumerate(key))
        base = GetItem.apply(x, _checked_basic_key(x, basic))
        return IndexSelect.apply(base, _output_dim(x.ndim, key, pos), key[pos])
    if len(key) == 1 and key[0].dtype == np.bool_:  # x[mask] with mask of x's shape
        mask = key[0]
        if mask.shape != x.shape:
            raise IndexError(f"index: boolean mask of shape {list(mask.shape)} does not match "
                             f"the tensor's shape {list(x.shape)}")
        return IndexSelect.apply(x.reshape(-1), 0, np.flatnonzero(mask).astype(np.int64))
    if arrays == list(range(len(arrays))) and len(key) == len(arrays):
        return _leading_arrays(x, [_host(a) for a in key])
    raise IndexError(f"index: this combination of index arrays is not supported "
                     f"({len(arrays)} arrays at positions {arrays}); use one integer array, "
                     f"or integer arrays for the leading dims only")


def _leading_arrays(x, arrays):
    """x[i0, i1, ...] with integer arrays for the first k dims: one gather over them merged."""
    k = len(arrays)
    if k > x.ndim:
        raise IndexError(f"index: too many indices ({k}) for a tensor of {x.ndim} dims")
    try:
        arrays = np.broadcast_arrays(*arrays)
    except ValueError:
        raise IndexError(f"index: index arrays of shapes {[list(a.shape) for a in arrays]} "
                         f"cannot be broadcast together") from None
    lead = x.shape[:k]
    try:
        flat = np.ravel_multi_index(tuple(arrays), lead)
    except ValueError:
        raise IndexError(f"index: an index is out of range for the leading dims {list(lead)} "
                         f"(negative indices are not supported with several index arrays)") from None
    merged = x.reshape((-1,) + x.shape[k:])
    return IndexSelect.apply(merged, 0, flat.astype(np.int64, copy=False))


def _checked_basic_key(x, key):
    """Check ints against their dims, so a bad index raises an IndexError naming the shape."""
    consumed = sum(1 for item in key if item is not None and item is not Ellipsis)
    if consumed > x.ndim:
        raise IndexError(f"index: too many indices ({consumed}) for a tensor of shape "
                         f"{list(x.shape)}")
    dim = 0
    for item in key:
        if item is Ellipsis:
            dim += x.ndim - consumed
        elif item is None:
            continue
        else:
            if isinstance(item, (int, np.integer)) and not -x.shape[dim] <= item < x.shape[dim]:
                raise IndexError(f"index {item} is out of bounds for dim {dim} with size "
                                 f"{x.shape[dim]} (shape {list(x.shape)})")
            if not isinstance(item, (int, np.integer, slice)):
                raise IndexError(f"index: unsupported index {item!r}")
            dim += 1
    key = tuple(int(i) if isinstance(i, np.integer) else i for i in key)
    # A trailing Ellipsis makes numpy return a 0-d view, never a detached scalar.
    return key if Ellipsis in key else key + (Ellipsis,)


def _output_dim(ndim, key, pos):
    """Where the dim indexed by key[pos] lands after basic indexing of the rest."""
    consumed = sum(1 for item in key if item is not None and item is not Ellipsis)
    out = 0
    for item in key[:pos]:
        if item is Ellipsis:
            out += ndim - consumed
        elif item is None or isinstance(item, slice) or _is_array_index(item):
            out += 1
    return out


def setitem(x, key, value):
    """x[key] = value, in place (not recorded: refused on tensors that need gradients)."""
    if x.requires_grad and grad_mode.is_grad_enabled():
        raise RuntimeError("a tensor that requires grad cannot be written in place "
                           "(x[...] = ...); do it under minigrad.no_grad() or on a detached copy")
    k = kernels(x)
    if isinstance(value, Tensor):
        src = transfer(value._array, value.device, x.device)  # a copy, as copy_ makes
        if value.dtype != x.dtype:
            src = k.cast(src, x.dtype)
    else:
        src = k.to_device(dtypes.as_array(value, x.dtype))
    key = key if isinstance(key, tuple) else (key,)
    if any(_is_array_index(item) for item in key):
        key = tuple(_host(_index_array(i, "index", x)) if _is_array_index(i) else i
                    for i in key)
        if x.device == "cpu":
            x._array[key] = src  # numpy's fancy assignment: moves values, computes nothing
        else:  # the same on a host copy of x's values, written back
            values = k.to_host(x._array)
            values[key] = k.to_host(src)
            k.copy_into(k.to_device(values), x._array)
    else:
        target = x._array[_checked_basic_key(x, key)]
        try:
            k.copy_into(k.broadcast_to(src, target.shape), target)
        except ValueError:
            raise ValueError(f"setitem: value of shape {list(src.shape)} cannot be broadcast to "
                             f"{list(target.shape)}") from None
    x._version[0] += 1
