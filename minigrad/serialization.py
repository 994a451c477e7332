"""Checkpoints: minigrad.save(obj, path) and minigrad.load(path).

The file is a standard safetensors file, so any safetensors reader opens it
and nothing in it is ever executed on load (no pickle):

  - every Tensor (and numpy array) of `obj` is one safetensors tensor, named by
    its path in `obj` with dots ("model.fc1.weight", "optimizer.state.0.exp_avg");
    a name already taken gets a "~1", "~2", ... suffix.  A tensor that appears
    twice in `obj` (tied weights) is stored once and loads as one tensor again;
  - everything else -- the nested dict/list/tuple structure, numbers, strings,
    bools, None, and for each tensor whether it requires grad or is a Parameter --
    is JSON in the safetensors metadata under "minigrad.tree", beside
    "minigrad.format_version" and "minigrad.sha256", a SHA-256 over that JSON and
    over every tensor's name, dtype, shape and bytes.

In the JSON tree, plain JSON values stand for themselves; every other node is a
one-key object: {"dict": [[key, value], ...]} (keys may be str, int, float,
bool, None or tuples of those), {"list": [...]}, {"tuple": [...]},
{"float": "nan" | "inf" | "-inf"}, {"tensor": name, "requires_grad": bool,
"parameter": bool} and {"ndarray": name}.

save writes to a temporary file in the destination's folder, flushes and fsyncs
it, renames it over the destination (atomic on POSIX; through a symbolic link, over
the file it points to; a new file's mode follows the umask, a replaced file keeps
its mode) and fsyncs the folder: a
crash at any moment leaves either the old file or the new one (a process killed
mid-save may leave its hidden ".<name>.*.tmp" beside it, safe to delete).  load reads the
whole file and checks the header, the JSON, the tensor names and the checksum
before it builds anything; a truncated, corrupted or foreign file raises a
ValueError saying what is wrong.

Devices: a tensor on the GPU is saved from a host copy of its values (the file
does not record devices), and load() gives CPU tensors unless asked for
another device with map_location='cuda' (as torch.load); load_state_dict then
copies CPU values into a model wherever its parameters live.
"""
import hashlib
import json
import math
import os
import tempfile

import numpy as np

FORMAT_VERSION = "1"
_TREE_KEY = "minigrad.tree"
_VERSION_KEY = "minigrad.format_version"
_DIGEST_KEY = "minigrad.sha256"
_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit on the header size


# ---- save -----------------------------------------------------------------------------


class _Encoder:
    """Walks `obj`, collecting tensors by name and building the JSON tree."""

    def __init__(self):
        self.tensors = {}   # safetensors name -> contiguous numpy array
        self.by_id = {}     # id(tensor or array) -> its name (tensors seen twice share it)
        self.keep = []      # the objects of by_id, kept alive so ids stay unique

    def encode(self, obj, path):
        from minigrad.nn.parameter import Parameter
        from minigrad.tensor import Tensor
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, (int, np.integer)):
            return int(obj)
        if isinstance(obj, (float, np.floating)):
            value = float(obj)
            return value if math.isfinite(value) else {"float": repr(value)}
        if isinstance(obj, Tensor):
            return {"tensor": self._store(obj, obj._host_array(), path),
                    "requires_grad": bool(obj.requires_grad),
                    "parameter": isinstance(obj, Parameter)}
        if isinstance(obj, np.ndarray):
            if obj.dtype.hasobject:
                raise TypeError(f"minigrad.save: the numpy array at {path or '<root>'!r} holds "
                                f"Python objects, which cannot be saved")
            return {"ndarray": self._store(obj, obj, path)}
        if isinstance(obj, dict):
            return {"dict": [[self._encode_key(k, path), self.encode(v, _join(path, k))]
                             for k, v in obj.items()]}
        if isinstance(obj, (list, tuple)):
            items = [self.encode(v, _join(path, i)) for i, v in enumerate(obj)]
            return {"tuple" if isinstance(obj, tuple) else "list": items}
        raise TypeError(f"minigrad.save: cannot save an object of type {type(obj).__name__} "
                        f"(at {path or '<root>'!r}); a checkpoint holds tensors, numpy arrays, "
                        f"numbers, strings, bools, None, and dicts, lists and tuples of them")

    def _encode_key(self, key, path):
        if key is None or isinstance(key, (bool, str, int, float)):
            return self.encode(key, path)
        if isinstance(key, tuple):
            return {"tuple": [self._encode_key(k, path) for k in key]}
        raise TypeError(f"minigrad.save: dict key {key!r} (at {path or '<root>'!r}) has type "
                        f"{type(key).__name__}; keys must be str, int, float, bool, None or "
                        f"tuples of them")

    def _store(self, obj, array, path):
        name = self.by_id.get(id(obj))
        if name is not None:
            return name
        name = path or "tensor"
        suffix = 0
        while name in self.tensors:
            suffix += 1
            name = f"{path or 'tensor'}~{suffix}"
        self.tensors[name] = _contiguous(array)
        self.by_id[id(obj)] = name
        self.keep.append(obj)
        return name


def _contiguous(array):
    """`array` as one C-contiguous buffer (the C copy kernel for minigrad's dtypes)."""
    from minigrad import dtypes
    from minigrad.backend.cpu import contiguous
    return contiguous(array) if array.dtype in dtypes.SUPPORTED else np.ascontiguousarray(array)


def _join(path, key):
    key = str(key)
    return key if not path else f"{path}.{key}"


def _digest(tree_json, tensors):
    """SHA-256 over the JSON tree and every tensor's name, dtype, shape and bytes."""
    h = hashlib.sha256()
    h.update(tree_json.encode("utf-8"))
    for name in sorted(tensors):
        array = tensors[name]
        h.update(b"\0" + name.encode("utf-8") + b"\0" + array.dtype.str.encode("ascii")
                 + b"\0" + repr(tuple(array.shape)).encode("ascii") + b"\0")
        if array.size:
            h.update(memoryview(np.ascontiguousarray(array).reshape(-1)).cast("B"))
    return h.hexdigest()


def save(obj, path):
    """Write `obj` (a state dict, or a nested dict/list of tensors, numbers, strings...)
    to `path` as a safetensors file, atomically (see the module docstring)."""
    from safetensors.numpy import save as st_save
    encoder = _Encoder()
    tree = encoder.encode(obj, "")
    tree_json = json.dumps(tree, separators=(",", ":"), allow_nan=False)
    metadata = {_VERSION_KEY: FORMAT_VERSION, _TREE_KEY: tree_json,
                _DIGEST_KEY: _digest(tree_json, encoder.tensors)}
    data = st_save(encoder.tensors, metadata=metadata)
    _atomic_write(os.fspath(path), data)


def _atomic_write(path, data):
    # Through a symbolic link, the file it points to is replaced and the link stays.
    path = os.path.realpath(path)
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:  # keep the mode of the file being replaced; a new file gets what open() gives
            mode = os.stat(path).st_mode & 0o777
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(folder)


def _umask():
    """The process's umask (read by setting it, so set back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(folder):
    """Make the rename durable (not supported on every platform: best effort there)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---- load -----------------------------------------------------------------------------


def _refuse(path, why):
    return ValueError(f"minigrad.load: {os.fspath(path)!r} is not a valid minigrad checkpoint: "
                      f"{why}")


def _check_data_size(path, header, data_start, size):
    """The tensor data the header describes ends where the file does."""
    ends = [entry["data_offsets"][1] for name, entry in header.items()
            if name != "__metadata__" and isinstance(entry, dict)
            and isinstance(entry.get("data_offsets"), list) and len(entry["data_offsets"]) == 2
            and isinstance(entry["data_offsets"][1], int)]
    expected = data_start + max(ends, default=0)
    if size < expected:
        raise _refuse(path, f"truncated: the file has {size} bytes, its header describes "
                            f"{expected}")
    if size > expected:
        raise _refuse(path, f"{size - expected} bytes follow the last tensor the header "
                            f"describes (appended to, or not a safetensors file)")


def _read_metadata(path, data):
    """The safetensors header's metadata, checked against the file's size."""
    if len(data) < 8:
        raise _refuse(path, f"the file is {len(data)} bytes long, too short for a safetensors "
                            f"header (truncated or empty?)")
    header_len = int.from_bytes(data[:8], "little")
    if header_len > _MAX_HEADER or 8 + header_len > len(data):
        raise _refuse(path, f"the header claims {header_len} bytes but the file has "
                            f"{len(data) - 8} after the length field (truncated or not a "
                            f"safetensors file)")
    try:
        header = json.loads(data[8:8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _refuse(path, f"the safetensors header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise _refuse(path, "the safetensors header is not a JSON object")
    _check_data_size(path, header, 8 + header_len, len(data))
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or _TREE_KEY not in meta:
        raise _refuse(path, "it is a safetensors file without minigrad's metadata (was it "
                            "written by another program?)")
    version = meta.get(_VERSION_KEY)
    if version != FORMAT_VERSION:
        raise _refuse(path, f"format version {version!r} is not supported (this minigrad "
                            f"reads version {FORMAT_VERSION})")
    return meta


def load(path, map_location=None):
    """Read a checkpoint written by save; every check passes before anything is returned.

    Tensors load on the CPU; map_location ('cpu', 'cuda', a minigrad.device) puts them
    on that device instead (numpy arrays in the checkpoint stay numpy arrays)."""
    from minigrad import dtypes
    device = dtypes.CPU if map_location is None else dtypes.check_device(map_location)
    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load
    with open(path, "rb") as f:
        data = f.read()
    meta = _read_metadata(path, data)
    try:
        tensors = st_load(data)
    except (SafetensorError, ValueError, TypeError) as exc:
        raise _refuse(path, f"the tensor data is damaged ({exc})") from None
    tree_json = meta[_TREE_KEY]
    if meta.get(_DIGEST_KEY) != _digest(tree_json, tensors):
        raise _refuse(path, "the checksum does not match its contents (the file was "
                            "corrupted or modified)")
    try:
        tree = json.loads(tree_json)
    except ValueError as exc:
        raise _refuse(path, f"the structure is not valid JSON ({exc})") from None
    decoder = _Decoder(path, tensors, device)
    obj = decoder.decode(tree)
    unused = set(tensors) - decoder.used
    if unused:
        raise _refuse(path, f"tensors {sorted(unused)[:5]} are not referenced by the structure")
    return obj


class _Decoder:
    def __init__(self, path, tensors, device):
        self.path, self.tensors, self.device = path, tensors, device
        self.used = set()
        self.built = {}  # name -> the object built for it (shared references stay shared)

    def decode(self, node):
        if node is None or isinstance(node, (bool, str, int, float)):
            return node
        if isinstance(node, list) or not isinstance(node, dict) or len(node) not in (1, 3):
            raise _refuse(self.path, f"unexpected node {str(node)[:80]!r} in the structure")
        if "tensor" in node:
            return self._tensor(node)
        (tag, value), = node.items()
        if tag == "dict" and isinstance(value, list) and \
                all(isinstance(kv, list) and len(kv) == 2 for kv in value):
            return {self._key(k): self.decode(v) for k, v in value}
        if tag in ("list", "tuple") and isinstance(value, list):
            items = [self.decode(v) for v in value]
            return items if tag == "list" else tuple(items)
        if tag == "float" and value in ("nan", "inf", "-inf"):
            return float(value)
        if tag == "ndarray" and isinstance(value, str):
            return self._array(value)
        raise _refuse(self.path, f"unexpected node {str(node)[:80]!r} in the structure")

    def _key(self, node):
        key = self.decode(node)
        try:
            hash(key)
        except TypeError:
            raise _refuse(self.path, f"unhashable dict key {key!r}") from None
        return key

    def _array(self, name):
        if name not in self.tensors:
            raise _refuse(self.path, f"the structure refers to tensor {name!r}, which the "
                                     f"file does not hold")
        self.used.add(name)
        array = self.tensors[name]
        if not array.flags.writeable or not array.flags.c_contiguous:
            array = np.array(array, copy=True, order="C")
            self.tensors[name] = array
        return array

    def _tensor(self, node):
        from minigrad import dtypes
        from minigrad.nn.parameter import Parameter
        from minigrad.tensor import Tensor
        name = node.get("tensor")
        if not isinstance(name, str) or set(node) != {"tensor", "requires_grad", "parameter"}:
            raise _refuse(self.path, f"unexpected tensor node {str(node)[:80]!r}")
        if name in self.built:
            return self.built[name]
        array = self._array(name)
        if array.dtype not in dtypes.SUPPORTED:
            raise _refuse(self.path, f"tensor {name!r} has dtype {array.dtype}, which minigrad "
                                     f"tensors do not support")
        if self.device != dtypes.CPU:
            from minigrad.backend import for_device
            array = for_device(self.device).to_device(array)
        if node["parameter"]:
            t = Parameter(Tensor._wrap(array, self.device),
                          requires_grad=bool(node["requires_grad"]))
        else:
            t = Tensor._wrap(array, self.device)
            if node["requires_grad"]:
                t.requires_grad_(True)
        self.built[name] = t
        return t
