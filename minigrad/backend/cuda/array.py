"""CudaArray: the device container, numpy's ndarray without element access.

A CudaArray is a view of a DeviceBuffer (one block of device memory, returned
to the allocator when the last view of it dies) described by

    shape            tuple of ints
    dtype            numpy dtype (float32, float64, int64)
    element_strides  tuple of ints, in ELEMENTS (may be 0: broadcast, or negative)
    offset           element offset of element [0, ..., 0] from the buffer's start

so that reshaping contiguous data, transposing, basic slicing (steps
included, negative ones too), None / Ellipsis and broadcasting are metadata
changes, exactly as numpy's views.  `strides` gives numpy's BYTE strides, so
code written for ndarrays reads the same numbers; the kernels take
`element_strides`.

Values never reach Python implicitly: there is no element access, and
``np.asarray(cuda_array)`` raises.  Copies are explicit: ``to_numpy()``
(device -> host) and ``CudaArray.from_numpy(array)`` (host -> device).
"""
import operator

import numpy as np

from minigrad._native import ffi
from minigrad.backend.cuda import runtime


class DeviceBuffer:
    """`capacity` bytes of device memory at `base` (a char * cdata), from `allocator`.
    Goes back to the allocator's cache when the last CudaArray over it is dropped."""

    __slots__ = ("allocator", "base", "nbytes", "capacity")

    def __init__(self, nbytes, allocator=None):
        self.allocator = allocator if allocator is not None else runtime.allocator()
        self.nbytes = nbytes
        self.base, self.capacity = self.allocator.allocate(nbytes)

    def __del__(self):
        try:
            self.allocator.release(self.base, self.capacity)
        except Exception:  # interpreter shutdown: nothing left to give memory back to
            pass


class Flags:
    """The subset of numpy's `flags` the ops read."""

    __slots__ = ("c_contiguous", "writeable")
    aligned = True  # device allocations are aligned; views move by whole elements

    def __init__(self, c_contiguous, writeable):
        self.c_contiguous, self.writeable = c_contiguous, writeable

    def __repr__(self):
        return f"C_CONTIGUOUS : {self.c_contiguous}\nWRITEABLE : {self.writeable}"


def contiguous_strides(shape):
    """Row-major element strides of `shape`."""
    strides = [1] * len(shape)
    step = 1
    for i in range(len(shape) - 1, -1, -1):
        strides[i] = step
        step *= shape[i]
    return tuple(strides)


def _is_c_contiguous(shape, strides):
    """numpy's rule: strides of dims of size > 1 are row-major; empty arrays are contiguous."""
    if 0 in shape:
        return True
    step = 1
    for n, s in zip(reversed(shape), reversed(strides)):
        if n != 1:
            if s != step:
                return False
            step *= n
    return True


def _prod(values):
    out = 1
    for v in values:
        out *= v
    return out


class CudaArray:
    """An n-dimensional array in device memory (see the module docstring)."""

    __slots__ = ("buffer", "shape", "dtype", "element_strides", "offset", "size", "ndim",
                 "flags", "__weakref__")
    __array_priority__ = 1000  # numpy defers binary operators to us (and we refuse them)

    def __init__(self, buffer, shape, dtype, element_strides=None, offset=0, writeable=True):
        self.buffer = buffer
        self.shape = shape = tuple(shape)
        self.dtype = dtype
        if element_strides is None:
            element_strides = contiguous_strides(shape)
            contiguous = True
        else:
            element_strides = tuple(element_strides)
            contiguous = _is_c_contiguous(shape, element_strides)
        self.element_strides = element_strides
        self.offset = offset
        self.size = _prod(shape)
        self.ndim = len(shape)
        self.flags = Flags(contiguous, writeable)

    # ---- making ------------------------------------------------------------

    @classmethod
    def empty(cls, shape, dtype):
        """A new contiguous array (contents undefined)."""
        if not isinstance(dtype, np.dtype):
            dtype = np.dtype(dtype)
        shape = tuple(map(operator.index, shape))
        if shape and min(shape) < 0:
            raise ValueError(f"CudaArray: negative dimension in shape {shape}")
        return cls(DeviceBuffer(_prod(shape) * dtype.itemsize), shape, dtype)

    @classmethod
    def from_numpy(cls, array):
        """A device copy of a host array (any layout)."""
        array = np.asarray(array, order="C")  # (ascontiguousarray would make 0-d 1-d)
        out = cls.empty(array.shape, array.dtype)
        if array.size:
            runtime.api().memcpy(out.pointer(), ffi.from_buffer(array), array.nbytes,
                                 runtime.HOST_TO_DEVICE)
        return out

    def to_numpy(self):
        """A host copy (a new C-contiguous numpy array)."""
        from minigrad.backend.cuda.common import contiguous
        src = contiguous(self)
        out = np.empty(self.shape, self.dtype)
        if out.size:
            runtime.api().memcpy(ffi.from_buffer(out), src.pointer(), out.nbytes,
                                 runtime.DEVICE_TO_HOST)
        return out

    def copy(self):
        """A contiguous device copy."""
        from minigrad.backend.cuda.common import copy_into
        return copy_into(self, CudaArray.empty(self.shape, self.dtype))

    def pointer(self):
        """A char * to element [0, ..., 0] (NULL for an empty array).  Refuses arrays
        whose memory belongs to an api that is no longer active."""
        if self.size == 0:
            return ffi.NULL
        buffer = self.buffer
        if buffer.allocator is not runtime._active[1]:
            raise RuntimeError("this CUDA array was allocated under another CUDA api "
                               f"({buffer.allocator.api.name}), which is no longer active")
        return buffer.base + self.offset * self.dtype.itemsize

    # ---- metadata ------------------------------------------------------------

    @property
    def itemsize(self):
        return self.dtype.itemsize

    @property
    def nbytes(self):
        return self.size * self.dtype.itemsize

    @property
    def strides(self):
        """numpy-style strides, in BYTES."""
        item = self.dtype.itemsize
        return tuple(s * item for s in self.element_strides)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __repr__(self):
        return (f"CudaArray(shape={self.shape}, dtype={self.dtype}, "
                f"strides={self.element_strides} elements, offset={self.offset})")

    # ---- no implicit transfers ----------------------------------------------------

    def __array__(self, dtype=None, copy=None):
        raise TypeError("can't convert a CUDA array to numpy implicitly (that would copy it "
                        "from the device); use Tensor.cpu() / .numpy(), or "
                        "CudaArray.to_numpy()")

    def __bool__(self):
        raise TypeError("the truth value of a CUDA array needs its values on the host; "
                        "use .cpu() / .item() first")

    def __iter__(self):
        raise TypeError("iterating over a CUDA array needs its values on the host; "
                        "use .cpu() first")

    def __reduce_ex__(self, protocol):
        raise TypeError("a CUDA array cannot be pickled; move it to the host with "
                        "to_numpy() (tensors: .cpu()) first")

    def __copy__(self):
        return self._view(self.shape, self.element_strides, self.offset)

    def __deepcopy__(self, memo):
        return self.copy()

    # ---- views ---------------------------------------------------------------

    def _view(self, shape, strides, offset, writeable=None):
        return CudaArray(self.buffer, shape, self.dtype, strides, offset,
                         self.flags.writeable if writeable is None else writeable)

    def reshape(self, *shape, copy=None):
        """numpy's reshape: a view when the strides allow one, else (unless copy=False)
        a contiguous copy in the new shape.  One dim may be -1."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        shape = _resolve_shape(tuple(operator.index(n) for n in shape), self.size, self.shape)
        strides = view_strides(self.shape, self.element_strides, shape) if copy is not True \
            else None
        if strides is not None:
            return self._view(shape, strides, self.offset)
        if copy is False:
            raise ValueError(f"cannot reshape an array of shape {self.shape} and strides "
                             f"{self.element_strides} to {shape} without copying")
        return self.copy()._view(shape, contiguous_strides(shape), 0)

    def transpose(self, *axes):
        """Dims permuted (reversed without arguments), as a view."""
        if not axes or (len(axes) == 1 and axes[0] is None):
            axes = tuple(range(self.ndim - 1, -1, -1))
        elif len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        ndim = self.ndim
        axes = tuple(operator.index(a) + (ndim if a < 0 else 0) for a in axes)
        if sorted(axes) != list(range(ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of {ndim} dims")
        return self._view(tuple(self.shape[a] for a in axes),
                          tuple(self.element_strides[a] for a in axes), self.offset)

    def swapaxes(self, a, b):
        axes = list(range(self.ndim))
        axes[a], axes[b] = axes[b], axes[a]
        return self.transpose(axes)

    @property
    def T(self):
        return self.transpose()

    @property
    def mT(self):
        if self.ndim < 2:
            raise ValueError(f"mT needs at least 2 dims, got shape {self.shape}")
        return self.swapaxes(-1, -2)

    def broadcast_to(self, shape):
        """numpy.broadcast_to: a read-only view with stride 0 on the stretched dims."""
        shape = tuple(operator.index(n) for n in shape)
        lead = len(shape) - self.ndim
        if lead < 0:
            raise ValueError(f"cannot broadcast an array of shape {self.shape} to {shape}")
        strides = [0] * lead
        for i, (n, s) in enumerate(zip(self.shape, self.element_strides)):
            target = shape[lead + i]
            if n == target:
                strides.append(s if n != 1 else 0)
            elif n == 1 and target >= 0:
                strides.append(0)
            else:
                raise ValueError(f"cannot broadcast an array of shape {self.shape} to {shape}")
        if shape == self.shape:
            return self._view(shape, self.element_strides, self.offset, writeable=False)
        return self._view(shape, strides, self.offset, writeable=False)

    def __getitem__(self, key):
        """Basic indexing (ints, slices with any step, None, Ellipsis) as a view."""
        if not isinstance(key, tuple):
            key = (key,)
        consumed = 0
        ellipses = 0
        for item in key:
            if item is Ellipsis:
                ellipses += 1
            elif item is not None:
                consumed += 1
        if ellipses > 1:
            raise IndexError("an index can only have a single ellipsis ('...')")
        if consumed > self.ndim:
            raise IndexError(f"too many indices for an array of {self.ndim} dims "
                             f"({consumed} were given)")
        shape, strides = [], []
        offset = self.offset
        dim = 0
        for item in key + ((Ellipsis,) if not ellipses else ()):
            if item is None:
                shape.append(1)
                strides.append(0)
                continue
            if item is Ellipsis:
                for _ in range(self.ndim - consumed):
                    shape.append(self.shape[dim])
                    strides.append(self.element_strides[dim])
                    dim += 1
                continue
            n, s = self.shape[dim], self.element_strides[dim]
            if isinstance(item, slice):
                start, stop, step = item.indices(n)
                length = len(range(start, stop, step))
                if length:
                    offset += start * s
                shape.append(length)
                strides.append(s * step)
            else:
                try:
                    i = operator.index(item)
                except TypeError:
                    raise IndexError(f"CudaArray supports basic indexing only (ints, slices, "
                                     f"None, ...), got {item!r}") from None
                if not -n <= i < n:
                    raise IndexError(f"index {i} is out of bounds for axis {dim} with size {n}")
                offset += (i % n) * s
            dim += 1
        return self._view(tuple(shape), tuple(strides), offset)


def _resolve_shape(shape, size, old_shape):
    """`shape` with one -1 resolved; ValueError when the sizes do not match."""
    if shape.count(-1) > 1:
        raise ValueError("can only specify one unknown dimension")
    known = _prod(n for n in shape if n != -1)
    if -1 in shape:
        if known == 0 or size % known:
            raise ValueError(f"cannot reshape an array of shape {old_shape} into {shape}")
        shape = tuple(size // known if n == -1 else n for n in shape)
    elif any(n < 0 for n in shape) or known != size:
        raise ValueError(f"cannot reshape an array of size {size} into shape {shape}")
    return shape


def view_strides(old_shape, old_strides, new_shape):
    """Element strides that show `old_shape` / `old_strides` in `new_shape` without
    copying, or None when no view can (the sizes must agree).

    Walks the old dims from the last, grouping them into chunks that are contiguous
    with one another; each chunk must be covered exactly by consecutive new dims."""
    if _prod(old_shape) == 0 or not old_shape:
        return contiguous_strides(new_shape)
    new_strides = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_base = old_strides[-1]
    tensor_numel = view_numel = 1
    for d in range(len(old_shape) - 1, -1, -1):
        tensor_numel *= old_shape[d]
        if d == 0 or (old_shape[d - 1] != 1
                      and old_strides[d - 1] != tensor_numel * chunk_base):
            while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
                new_strides[view_d] = view_numel * chunk_base
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if d > 0:
                chunk_base = old_strides[d - 1]
                tensor_numel = view_numel = 1
    if view_d != -1:
        return None
    return tuple(new_strides)
