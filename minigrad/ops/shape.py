"""Shape ops: reshape, transpose/permute, expand, squeeze/unsqueeze, cat/stack,
split/chunk, contiguous, clone.

Views (reshape of contiguous data, permute, expand, ...) are views of the
device's container (numpy arrays, CudaArrays): only shape and strides change,
no element is touched.  When data must move (cat, clone, contiguous, a reshape
that cannot be a view) the strided-copy kernel moves it.  Allocation and views
go through the tensor's kernel table, so these ops serve every device.
"""
from minigrad.autograd import grad_mode
from minigrad.autograd.function import Function
from minigrad.ops.common import kernels, normalize_dim, same_device, shape_str
from minigrad.tensor import Tensor


def _shape_arg(shape, op):
    """reshape(2, 3) and reshape((2, 3)) both give (2, 3)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    try:
        return tuple(int(n) for n in shape)
    except TypeError:
        raise TypeError(f"{op}: expected ints for the shape, got {shape!r}") from None


def _infer_shape(shape, numel, in_shape, op):
    """Resolve one -1 and check that the element count matches."""
    if shape.count(-1) > 1:
        raise ValueError(f"{op}: only one dimension can be -1, got {list(shape)}")
    known = 1
    for n in shape:
        if n != -1:
            if n < 0:
                raise ValueError(f"{op}: invalid size {n} in shape {list(shape)}")
            known *= n
    if -1 in shape:
        if known == 0 or numel % known:
            raise ValueError(f"{op}: shape {list(shape)} is invalid for input of shape "
                             f"{list(in_shape)} ({numel} elements)")
        shape = tuple(numel // known if n == -1 else n for n in shape)
    elif known != numel:
        raise ValueError(f"{op}: shape {list(shape)} is invalid for input of shape "
                         f"{list(in_shape)} ({numel} elements)")
    return shape


class Reshape(Function):
    """The same elements in a new shape;  the gradient is reshaped back."""
    is_view = True

    def forward(self, x, shape):
        self.in_shape = x.shape
        k = kernels(x)
        out = k.reshape_view(x._array, shape)
        if out is None:  # the strides do not allow a view: copy, then view
            out = k.contiguous(x._array).reshape(shape)
        return out

    def backward(self, g):
        return g.reshape(self.in_shape)


def reshape(x, *shape):
    """x with a new shape of as many elements (one dim may be -1); a view when possible."""
    shape = _infer_shape(_shape_arg(shape, "reshape"), x.numel(), x.shape, "reshape")
    if shape == x.shape:
        return x
    return Reshape.apply(x, shape)


def view(x, *shape):
    """Like reshape, but only as a view: an error when the strides do not allow one."""
    shape = _infer_shape(_shape_arg(shape, "view"), x.numel(), x.shape, "view")
    if kernels(x).reshape_view(x._array, shape) is None:
        raise RuntimeError(f"view: shape {list(shape)} is not compatible with the strides of the "
                           f"input {list(x.shape)}; use reshape (or .contiguous().view)")
    return Reshape.apply(x, shape)


def flatten(x, start_dim=0, end_dim=-1):
    """Merge dims start_dim..end_dim into one."""
    if x.ndim == 0:
        return x.reshape(1)
    start = normalize_dim(start_dim, x.ndim, "flatten")
    end = normalize_dim(end_dim, x.ndim, "flatten")
    merged = 1
    for n in x.shape[start:end + 1]:
        merged *= n
    return x.reshape(x.shape[:start] + (merged,) + x.shape[end + 1:])


def unflatten(x, dim, sizes):
    dim = normalize_dim(dim, x.ndim, "unflatten")
    return x.reshape(x.shape[:dim] + tuple(sizes) + x.shape[dim + 1:])


def squeeze(x, dim=None):
    """Drop dims of size 1 (all of them, or only `dim` if it has size 1)."""
    if dim is None:
        return x.reshape(tuple(n for n in x.shape if n != 1))
    dims = (dim,) if isinstance(dim, int) else dim
    dims = {normalize_dim(d, x.ndim, "squeeze") for d in dims}
    return x.reshape(tuple(n for i, n in enumerate(x.shape) if not (i in dims and n == 1)))


def unsqueeze(x, dim):
    """Insert a dim of size 1 at `dim` (negative counts from the end of the result)."""
    dim = normalize_dim(dim, x.ndim + 1, "unsqueeze")
    return x.reshape(x.shape[:dim] + (1,) + x.shape[dim:])


class Permute(Function):
    """Dims reordered (a view);  the gradient is permuted back."""
    is_view = True

    def forward(self, x, dims):
        self.dims = dims
        return x._array.transpose(dims)

    def backward(self, g):
        inverse = [0] * len(self.dims)
        for i, d in enumerate(self.dims):
            inverse[d] = i
        return g.permute(tuple(inverse))


def permute(x, *dims):
    """Reorder the dims: out.shape[i] == x.shape[dims[i]]."""
    given = _shape_arg(dims, "permute")
    dims = tuple(normalize_dim(d, x.ndim, "permute") for d in given)
    if sorted(dims) != list(range(x.ndim)):
        raise ValueError(f"permute: {list(given)} is not a permutation of the {x.ndim} dims of "
                         f"a tensor of shape {list(x.shape)}")
    if dims == tuple(range(x.ndim)):
        return x
    return Permute.apply(x, dims)


def transpose(x, dim0, dim1):
    """Swap two dims (a view).  (Every backward of a matrix product takes one: `.mT`.)"""
    d0, d1 = normalize_dim(dim0, x.ndim, "transpose"), normalize_dim(dim1, x.ndim, "transpose")
    if d0 == d1:
        return x
    dims = list(range(x.ndim))
    dims[d0], dims[d1] = d1, d0
    return Permute.apply(x, tuple(dims))


swapaxes = transpose


def t(x):
    """Transpose of a tensor of at most 2 dims."""
    if x.ndim > 2:
        raise ValueError(f"t: expected at most 2 dims, got shape {list(x.shape)}")
    return x if x.ndim < 2 else transpose(x, 0, 1)


class Expand(Function):
    """x broadcast to a larger shape (a read-only view, no copy);  the gradient is
    summed over the broadcast dims."""
    is_view = True

    def forward(self, x, shape):
        self.in_shape = x.shape
        return kernels(x).broadcast_to(x._array, shape)

    def backward(self, g):
        from minigrad.ops.common import unbroadcast
        return unbroadcast(g, self.in_shape)


def expand(x, *shape):
    """Broadcast to `shape` (-1 keeps a dim) without copying."""
    shape = _shape_arg(shape, "expand")
    lead = len(shape) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: target shape {list(shape)} has fewer dims than the input "
                         f"{list(x.shape)}")
    shape = tuple(x.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(shape))
    for i, n in enumerate(x.shape):
        if n != 1 and n != shape[lead + i]:
            raise ValueError(f"expand: the input of shape {list(x.shape)} cannot be expanded to "
                             f"{list(shape)} (dim {i}: {n} vs {shape[lead + i]})")
    if shape == x.shape:
        return x
    return Expand.apply(x, shape)


def broadcast_to(x, shape):
    return expand(x, tuple(shape))


def expand_as(x, other):
    return expand(x, other.shape)


class Copy(Function):
    """A contiguous copy made by the C kernel;  the gradient passes unchanged."""

    def forward(self, x):
        k = kernels(x)
        return k.copy_into(x._array, k.empty(x.shape, x.dtype))

    def backward(self, g):
        return g


def clone(x):
    """A copy with its own storage (differentiable)."""
    return Copy.apply(x)


def contiguous(x):
    """x itself if its memory is row-major contiguous, else a contiguous copy."""
    return x if x._array.flags.c_contiguous else Copy.apply(x)


# ---- joining and splitting ---------------------------------------------------------


class Cat(Function):
    """Tensors joined along `dim`, or (`stacked`) stacked along a new dim `dim`;  each
    gets its slice of the gradient back (one Split: views of g, no copies)."""

    def forward(self, dim, stacked, *tensors):
        self.dim, self.stacked = dim, stacked
        first = tensors[0]
        shape = list(first.shape)
        if stacked:
            self.sizes = (1,) * len(tensors)
            shape.insert(dim, len(tensors))
        else:
            self.sizes = tuple(t.shape[dim] for t in tensors)
            shape[dim] = sum(self.sizes)
        return _join(tensors, dim, stacked, tuple(shape))

    def backward(self, g):
        return Split.apply(g, self.dim, self.sizes, not self.stacked)


def _join(tensors, dim, stacked, shape):
    """The array of `shape` that joins (or stacks) the tensors' arrays along `dim`: one
    allocation, and one C call for contiguous pieces (the table's cat_into)."""
    k = kernels(tensors[0])
    return k.cat_into([t._array for t in tensors], dim, stacked,
                      k.empty(shape, tensors[0].dtype))


class Stack(Cat):
    """Cat along a new dim (forward(dim, True, *tensors)): its own name on the tape."""


def cat(tensors, dim=0):
    """Join tensors of one shape (but along `dim`) and one dtype along `dim`."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    first = tensors[0]
    dim = normalize_dim(dim, first.ndim, "cat")
    for t_ in tensors[1:]:
        if t_.ndim != first.ndim or any(a != b for i, (a, b) in enumerate(zip(t_.shape, first.shape))
                                        if i != dim):
            raise ValueError(f"cat: shapes {shape_str(first, t_)} differ outside dim {dim}")
        if t_.dtype != first.dtype:
            raise TypeError(f"cat: expected one dtype, got {first.dtype} and {t_.dtype}")
        if t_.device != first.device:
            same_device("cat", first, t_)
    return Cat.apply(dim, False, *tensors)


concatenate = cat


def stack(tensors, dim=0):
    """Join tensors of one shape along a new dim."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    first = tensors[0]
    for t_ in tensors[1:]:
        if t_.shape != first.shape:
            raise ValueError(f"stack: expected tensors of one shape, got {shape_str(first, t_)}")
        if t_.dtype != first.dtype:
            raise TypeError(f"stack: expected one dtype, got {first.dtype} and {t_.dtype}")
        if t_.device != first.device:
            same_device("stack", first, t_)
    dim = normalize_dim(dim, first.ndim + 1, "stack")
    return Stack.apply(dim, True, *tensors)


def narrow(x, dim, start, length):
    """The slice start:start+length along dim (a view)."""
    dim = normalize_dim(dim, x.ndim, "narrow")
    return x[(slice(None),) * dim + (slice(start, start + length),)]


class Split(Function):
    """Consecutive pieces of x along `dim`, as views (with keepdim=False, pieces of size 1
    without that dim: unbind).  The gradient joins the pieces' gradients back into one
    tensor -- one allocation, however many pieces (zeros for pieces that got none)."""
    is_view = True

    def forward(self, x, dim, sizes, keepdim):
        self.dim, self.sizes, self.keepdim, self.in_shape = dim, sizes, keepdim, x.shape
        array, lead = x._array, (slice(None),) * dim
        pieces, start = [], 0
        for size in sizes:
            pieces.append(array[lead + ((slice(start, start + size) if keepdim else start),
                                        Ellipsis)])
            start += size
        return tuple(pieces)

    def backward(self, *grads):
        from minigrad.creation import zeros
        filled = [zeros(*piece_shape, dtype=dtype, device=self.device) if g is None else g
                  for g, (piece_shape, dtype) in zip(grads, self.out_meta)]
        if grad_mode._enabled[0]:  # create_graph: an op, differentiable again
            return (Cat if self.keepdim else Stack).apply(self.dim, not self.keepdim, *filled)
        # nothing records this backward: the join kernel alone (as in elementwise.py)
        return Tensor._wrap(_join(filled, self.dim, not self.keepdim, self.in_shape),
                            filled[0].device)


def split(x, split_size_or_sections, dim=0):
    """Views of consecutive pieces along dim: pieces of one size (the last may be
    smaller) or of the listed sizes."""
    dim = normalize_dim(dim, x.ndim, "split")
    n = x.shape[dim]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0:
            raise ValueError(f"split: split_size must be positive, got {size}")
        sizes = [size] * (n // size) + ([n % size] if n % size else [])
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise ValueError(f"split: sections {sizes} do not add up to {n} (dim {dim} of shape "
                             f"{list(x.shape)})")
    if not sizes:
        return ()
    return Split.apply(x, dim, tuple(sizes), True)


def chunk(x, chunks, dim=0):
    """Split into `chunks` pieces of ceil(n / chunks) (the last may be smaller)."""
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    n = x.shape[normalize_dim(dim, x.ndim, "chunk")]
    return split(x, max(-(-n // chunks), 1), dim)


def unbind(x, dim=0):
    """The slices along dim, each without that dim (views)."""
    dim = normalize_dim(dim, x.ndim, "unbind")
    if x.shape[dim] == 0:
        return ()
    return Split.apply(x, dim, (1,) * x.shape[dim], False)


def select(x, dim, index):
    dim = normalize_dim(dim, x.ndim, "select")
    return x[(slice(None),) * dim + (index,)]
