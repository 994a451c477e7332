"""The dtypes minigrad computes in, and how Python data becomes an array of one.

float32 is the default, float64 is what gradcheck needs, int64 holds indices.
The dtypes are numpy dtype objects, so `t.dtype == minigrad.float32` and
`t.numpy().dtype` agree.
"""
import numpy as np

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = np.dtype(np.int64)

SUPPORTED = (float32, float64, int64)
_BY_NAME = {"float32": float32, "float": float32, "float64": float64, "double": float64,
            "int64": int64, "long": int64}
_default_float = [float32]


def get_default_dtype():
    return _default_float[0]


def set_default_dtype(dtype):
    """The float dtype factories and Python floats use (float32 or float64)."""
    dtype = as_dtype(dtype)
    if not is_float(dtype):
        raise TypeError(f"set_default_dtype: only float32 or float64, got {dtype}")
    _default_float[0] = dtype


def as_dtype(dtype):
    """A supported dtype from a dtype, a numpy type or a name ('float32', 'long', ...)."""
    if isinstance(dtype, str):
        if dtype in _BY_NAME:
            return _BY_NAME[dtype]
    else:
        try:
            d = np.dtype(dtype)
        except TypeError:
            d = None
        if d in SUPPORTED:
            return d
    raise TypeError(f"unsupported dtype {dtype!r}: minigrad computes in float32, float64 and int64")


def is_float(dtype):
    return dtype == float32 or dtype == float64


def promote(a, b):
    """The dtype of a binary op between dtypes a and b: float64 > float32 > int64."""
    if a == b:
        return a
    if float64 in (a, b):
        return float64
    return float32


def as_array(data, dtype=None):
    """A new contiguous array of a supported dtype holding `data` (lists, scalars, arrays,
    Tensors).  Python floats become the default float dtype, ints int64, bools int64."""
    if hasattr(data, "_array"):  # a Tensor
        data = data._array
    if dtype is not None:
        return np.array(data, dtype=as_dtype(dtype), copy=True, order="C")
    array = np.array(data, copy=True, order="C")
    if array.dtype.kind == "f":
        target = array.dtype if array.dtype in (float32, float64) and isinstance(data, np.ndarray) \
            else _default_float[0]
    elif array.dtype.kind in "iub":
        target = int64
    else:
        raise TypeError(f"cannot make a tensor from {type(data).__name__} of dtype {array.dtype}: "
                        f"minigrad supports float32, float64 and int64")
    return array.astype(target, copy=False)


class device(str):
    """Where a tensor lives: ``minigrad.device('cpu')`` or ``minigrad.device('cuda')``.

    A str subclass holding the canonical name, so ``t.device == 'cpu'`` and
    dictionaries keyed by names keep working; ``.type`` is 'cpu' or 'cuda' and
    ``.index`` None or the GPU's number.  minigrad drives one GPU, so 'cuda',
    'cuda:0' and device('cuda', 0) all name 'cuda:0' (a tensor's device, as in
    PyTorch, always carries the index)."""

    __slots__ = ()

    def __new__(cls, spec, index=None):
        if isinstance(spec, device) and index is None:
            return spec
        name = str(spec).strip()
        kind, sep, number = name.partition(":")
        if index is not None:
            if sep:
                raise ValueError(f"device: index given twice ({spec!r} and {index!r})")
            number, sep = str(index), ":"
        if kind == "cpu" and (not sep or number in ("0", "-1")):
            return _CANONICAL.get("cpu") or str.__new__(cls, "cpu")
        if kind == "cuda":
            if not sep:
                number = "0"
            if not number.isdigit():
                raise ValueError(f"device: invalid device string {name!r} (expected 'cuda' "
                                 f"or 'cuda:N')")
            if int(number) != 0:
                raise RuntimeError(f"device {name!r}: minigrad drives one GPU, 'cuda:0' "
                                   f"(got index {int(number)})")
            return _CANONICAL.get("cuda:0") or str.__new__(cls, "cuda:0")
        raise RuntimeError(f"unknown device {spec!r}; expected 'cpu', 'cuda' or 'cuda:0'")

    @property
    def type(self):
        return self.partition(":")[0]

    @property
    def index(self):
        number = self.partition(":")[2]
        return int(number) if number else None

    def __repr__(self):
        if self == "cpu":
            return "device(type='cpu')"
        return f"device(type='{self.type}', index={self.index})"


_CANONICAL = {}
CPU = _CANONICAL["cpu"] = device("cpu")
CUDA = _CANONICAL["cuda:0"] = device("cuda:0")


def check_device(spec):
    """The canonical device (CPU or CUDA) named by `spec` ('cpu', 'cuda', 'cuda:0', a
    minigrad.device), after making sure this build and machine can use it: device
    'cuda' needs minigrad.cuda.is_available() (or the loopback test device), else
    RuntimeError with minigrad.cuda's explanation."""
    if spec is CPU or spec == "cpu":
        return CPU
    if spec is None:
        raise TypeError("check_device: expected a device ('cpu' or 'cuda'), got None")
    dev = device(spec)
    if dev is CPU:
        return CPU
    from minigrad.backend.cuda import runtime  # the CUDA table loads only for CUDA
    runtime.require_cuda()
    return dev
