"""minigrad.Tensor: an n-dimensional array that can record how it was computed.

A Tensor holds
  - its values: a numpy array on the CPU (the host container; the C core does
    the arithmetic on it) or a CudaArray in GPU memory (backend/cuda), and
    `device`, which says which ('cpu' or 'cuda:0', a minigrad.device),
  - `requires_grad`, `grad`, and, when an op computed it under grad mode, the
    node that recorded that op (`grad_fn`) -- see minigrad/autograd,
  - a version counter shared with its views, bumped by in-place changes so
    that backward can detect a saved tensor that was overwritten.

Names and semantics follow PyTorch.  Methods are thin: each op lives in
minigrad/ops with its forward and backward side by side.
"""
import itertools
import weakref

import numpy as np

from minigrad import dtypes
from minigrad.autograd import function

_ids = itertools.count()


class Tensor:
    __slots__ = ("_array", "requires_grad", "grad", "_node", "_out_index", "_version",
                 "_hooks", "_id", "device", "__weakref__")

    def __init__(self, data, dtype=None, requires_grad=False, device=None):
        """Prefer minigrad.tensor(...); this accepts the same arguments.  device=None:
        data's device when data is a Tensor, else the CPU."""
        source = data.device if isinstance(data, Tensor) else dtypes.CPU
        device = source if device is None else dtypes.check_device(device)
        if source != dtypes.CPU:  # a copy of a device tensor, made on its device
            from minigrad.backend import for_device, transfer
            k = for_device(source)
            array = data._array
            if dtype is not None and dtypes.as_dtype(dtype) != array.dtype:
                array = k.cast(array, dtypes.as_dtype(dtype))
            else:
                array = k.copy_into(array, k.empty(array.shape, array.dtype))
            array = transfer(array, source, device)
        else:
            array = dtypes.as_array(data, dtype)
            if device != dtypes.CPU:
                from minigrad.backend import for_device
                array = for_device(device).to_device(array)
        self._init(array, device)
        if requires_grad:
            self.requires_grad_(True)

    def _init(self, array, device):
        self._array = array
        self.requires_grad = False
        self.grad = None
        self._node = None
        self._out_index = 0
        self._version = [0]
        self._hooks = None
        self._id = next(_ids)
        self.device = device

    @classmethod
    def _wrap(cls, array, device=dtypes.CPU):
        """A new Tensor around `array` without copying or checking (for ops; the
        hottest path in minigrad, hence _init spelled out)."""
        t = cls.__new__(cls)
        t._array = array
        t.requires_grad = False
        t.grad = None
        t._node = None
        t._out_index = 0
        t._version = [0]
        t._hooks = None
        t._id = next(_ids)
        t.device = device
        return t

    def _view_of(self, array):
        """A Tensor over `array`, a view of this tensor's storage: they share versions."""
        t = Tensor._wrap(array, self.device)
        t._version = self._version
        return t

    # ---- metadata ----------------------------------------------------------

    @property
    def shape(self):
        return self._array.shape

    @property
    def dtype(self):
        return self._array.dtype

    @property
    def ndim(self):
        return self._array.ndim

    def dim(self):
        return self._array.ndim

    def size(self, dim=None):
        return self._array.shape if dim is None else self._array.shape[dim]

    def numel(self):
        return self._array.size

    def __len__(self):
        if self._array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._array.shape[0]

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def grad_fn(self):
        """The recorded op that computed this tensor (None for leaves)."""
        return self._node

    @property
    def data(self):
        """A tensor sharing this one's values, detached from the graph (PyTorch's `.data`)."""
        return self.detach()

    @data.setter
    def data(self, other):
        if not isinstance(other, Tensor):
            raise TypeError(f"Tensor.data must be set to a Tensor, got {type(other).__name__}")
        self._array = other._array
        self.device = other.device
        self._version[0] += 1

    @property
    def data_array(self):
        """The array holding the values (the kernel-facing buffer, no copy): a numpy
        array on the CPU, a CudaArray on the GPU."""
        return self._array

    @property
    def is_cuda(self):
        return self.device != dtypes.CPU

    def _host_array(self):
        """The values as a numpy array: this tensor's own on the CPU, a copy from a GPU."""
        if self.device == dtypes.CPU:
            return self._array
        from minigrad.backend import for_device
        return for_device(self.device).to_host(self._array)

    # ---- conversion ----------------------------------------------------------

    def numpy(self):
        """The values as a numpy array sharing memory (refused while grad is required,
        and for GPU tensors: copy them with .cpu() first)."""
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on a Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        if self.device != dtypes.CPU:
            raise TypeError(_TO_NUMPY_MESSAGE.format(device=self.device))
        return self._array

    def __array__(self, dtype=None, copy=None):
        if self.device != dtypes.CPU:
            raise TypeError(_TO_NUMPY_MESSAGE.format(device=self.device))
        return self._array if dtype is None else self._array.astype(dtype)

    def item(self):
        """The value of a one-element tensor as a Python number (from a GPU tensor: a
        copy to the host, which waits for the device)."""
        if self._array.size != 1:
            raise ValueError(f"item(): a Tensor with {self._array.size} elements cannot be "
                             f"converted to a Python scalar")
        return self._host_array().reshape(()).item()

    def tolist(self):
        return self._host_array().tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self._array.size != 1:
            raise RuntimeError(f"Boolean value of a Tensor with {self._array.size} elements "
                               f"is ambiguous")
        return bool(self.item())

    def __index__(self):
        if self.dtype != dtypes.int64 or self._array.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.item())

    def to(self, *args, dtype=None, device=None, copy=False, non_blocking=False):
        """to(dtype) / to(device) / to(device, dtype) / to(other tensor): a converted
        copy, differentiable (the gradient goes back to this tensor's device and
        dtype); self when nothing changes (unless copy=True).  Copies between host
        and GPU are synchronous (non_blocking is accepted for PyTorch's sake)."""
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, str):
                device = a
            else:
                dtype = a
        out = self
        if device is not None:
            device = dtypes.check_device(device)
            if device != self.device:
                out = _to_device(out, device)
        if dtype is not None and dtypes.as_dtype(dtype) != self.dtype:
            out = _ops.cast(out, dtypes.as_dtype(dtype))
        if copy and out is self:
            out = _ops.clone(self)
        return out

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def long(self):
        return self.to(dtypes.int64)

    def cpu(self):
        """This tensor on the CPU (self when it is there already)."""
        return self.to(dtypes.CPU)

    def cuda(self, device=None):
        """This tensor on the GPU, 'cuda:0' (self when it is there already)."""
        return self.to("cuda" if device is None else
                       (f"cuda:{device}" if isinstance(device, int) else device))

    def type_as(self, other):
        return self.to(other.dtype)

    # ---- autograd ------------------------------------------------------------

    def requires_grad_(self, requires_grad=True):
        """Mark a leaf as needing gradients (in place); returns self."""
        if self._node is not None and not requires_grad:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor: use detach() instead")
        if requires_grad and not dtypes.is_float(self.dtype):
            raise RuntimeError(f"only floating point tensors can require gradients, "
                               f"got {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def backward(self, gradient=None, retain_graph=False, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into `.grad` of every leaf that requires grad.

        gradient: d(loss)/d(self), same shape; may be omitted only for a scalar.
        retain_graph: keep saved values so a second backward works.
        create_graph: record the backward pass (higher-order gradients).
        """
        from minigrad.autograd.engine import run_backward
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                               "grad_fn")
        gradient = _ops.implicit_grad(self, gradient, "backward")
        if inputs is not None:
            grads = run_backward([self], [gradient], retain_graph, create_graph,
                                 inputs=list(inputs), allow_unused=True)
            for t, g in zip(inputs, grads):
                if g is not None:
                    t.grad = g.detach() if t.grad is None else t.grad + g.detach()
            return
        run_backward([self], [gradient], retain_graph or create_graph, create_graph)

    def retain_grad(self):
        """Keep `.grad` for this non-leaf tensor after backward (leaves always keep it)."""
        if self._node is None:
            return
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on a Tensor that has requires_grad=False")
        node = self._node
        if node.retained is None:
            node.retained = {}
        node.retained[self._out_index] = weakref.ref(self)

    @property
    def retains_grad(self):
        node = self._node
        return bool(node is not None and node.retained and self._out_index in node.retained)

    def register_hook(self, hook):
        """Call hook(grad) when this tensor's gradient is computed; a returned tensor
        replaces the gradient.  Returns a handle whose remove() unregisters it."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._node is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            node = self._node
            if node.out_hooks is None:
                node.out_hooks = {}
            hooks = node.out_hooks.setdefault(self._out_index, [])
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    def detach(self):
        """The same values, cut from the graph (shares storage and version counter)."""
        return self._view_of(self._array)

    def detach_(self):
        self._node = None
        self.requires_grad = False
        return self

    # ---- printing -----------------------------------------------------------

    def __repr__(self):
        prefix = "tensor("
        body = np.array2string(self._host_array(), separator=", ", prefix=prefix,
                               threshold=1000)
        extras = []
        if self.device != dtypes.CPU:
            extras.append(f"device='{self.device}'")
        if self.dtype != dtypes.float32 and not (self.dtype == dtypes.int64 and self._array.size):
            extras.append(f"dtype=minigrad.{self.dtype}")
        if self._array.size == 0:
            extras.append(f"size={tuple(self.shape)}")
        if self._node is not None:
            extras.append(f"grad_fn=<{self._node.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return prefix + body + "".join(", " + e for e in extras) + ")"

    def __hash__(self):
        return id(self)

    # ---- arithmetic operators --------------------------------------------------

    def __neg__(self):
        return _ops.neg(self)

    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(self, other)

    def __sub__(self, other):
        return _ops.sub(self, other)

    def __rsub__(self, other):
        return _ops.rsub(self, other)

    def __mul__(self, other):
        return _ops.mul(self, other)

    def __rmul__(self, other):
        return _ops.mul(self, other)

    def __truediv__(self, other):
        return _ops.div(self, other)

    def __rtruediv__(self, other):
        return _ops.rdiv(self, other)

    def __pow__(self, other):
        return _ops.pow(self, other)

    def __rpow__(self, other):
        return _ops.rpow(self, other)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(_ops.as_tensor_like(other, self), self)

    def __abs__(self):
        return _ops.abs(self)

    def __eq__(self, other):
        return _ops.eq(self, other)

    def __ne__(self, other):
        return _ops.ne(self, other)

    def __lt__(self, other):
        return _ops.lt(self, other)

    def __le__(self, other):
        return _ops.le(self, other)

    def __gt__(self, other):
        return _ops.gt(self, other)

    def __ge__(self, other):
        return _ops.ge(self, other)

    def __getitem__(self, key):
        return _ops.getitem(self, key)

    def __setitem__(self, key, value):
        _ops.setitem(self, key, value)

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    # in-place updates (not recorded: refused on tensors that take part in a graph)
    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    @property
    def T(self):
        """Dims reversed (for 2-D: the transpose), as a view."""
        return _ops.permute(self, tuple(reversed(range(self.ndim))))

    @property
    def mT(self):
        """The last two dims swapped, as a view."""
        return _ops.transpose(self, -2, -1)


_TO_NUMPY_MESSAGE = ("can't convert {device} device type tensor to numpy. Use Tensor.cpu() to "
                     "copy the tensor to host memory first.")


class _HookHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


function.Tensor = Tensor

from minigrad import ops as _ops  # noqa: E402  (ops build on Tensor)
from minigrad.ops.transfer import to_device as _to_device  # noqa: E402

# Every op that is also a method: x.exp(), x.sum(dim=1), x.reshape(2, 3), ...
for _name in _ops.TENSOR_METHODS:
    setattr(Tensor, _name, getattr(_ops, _name))
del _name
