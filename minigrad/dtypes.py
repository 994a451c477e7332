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


def check_device(device):
    """The canonical name of a device this build can use."""
    name = str(device)
    if name == "cpu":
        return "cpu"
    if name.startswith("cuda"):
        raise RuntimeError(f"device {name!r}: this build of minigrad has no CUDA backend "
                           f"(minigrad.cuda.is_available() is False)")
    raise RuntimeError(f"unknown device {device!r}; expected 'cpu'")
