"""minigrad.save / minigrad.load: round trips, the safetensors layout, atomic replacement
(even under SIGKILL mid-save), and refusal of truncated, corrupted and foreign files."""
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import save_file

import minigrad as mg
from minigrad import nn, optim

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sample():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    model(mg.randn(5, 3)).sum().backward()
    opt.step()
    return {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "rng": mg.get_rng_state(),
        "step": 12,
        "config": {"lr": 1e-3, "name": "mlp", "layers": [3, 4, 2], "betas": (0.9, 0.999),
                   "amsgrad": False, "notes": None, "inf": math.inf, "ninf": -math.inf},
    }


def assert_same(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, mg.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


def test_round_trip_of_a_training_checkpoint(tmp_path):
    obj = sample()
    path = tmp_path / "ckpt.safetensors"
    mg.save(obj, path)
    loaded = mg.load(path)
    want = dict(obj)
    want["model"] = dict(obj["model"])  # OrderedDict comes back as a dict, same order
    assert_same(want, loaded)
    assert sorted(loaded["optimizer"]["state"]) == [0, 1, 2, 3]  # int keys stay ints
    assert loaded["config"]["betas"] == (0.9, 0.999)
    # the restored RNG state continues the same stream
    mg.set_rng_state(loaded["rng"])
    a = mg.rand(4).numpy()
    mg.set_rng_state(obj["rng"])
    np.testing.assert_array_equal(a, mg.rand(4).numpy())


def test_round_trip_of_values_and_edge_cases(tmp_path):
    base = mg.arange(12, dtype=mg.float64).reshape(3, 4)
    shared = mg.ones(2)
    obj = {
        "f32": mg.randn(2, 3), "f64": base, "i64": mg.tensor([1, -2, 3]),
        "scalar": mg.tensor(2.5), "empty": mg.zeros(0, 3), "view": base.T[1:],
        "param": nn.Parameter(mg.ones(2)), "frozen": nn.Parameter(mg.ones(1), False),
        "needs_grad": mg.ones(2, requires_grad=True),
        "np": np.arange(6, dtype=np.int32).reshape(2, 3), "np_bool": np.array([True, False]),
        "nan": math.nan, "big": 2 ** 70, "neg": -3, "unicode": "naïve ✓", "empty_str": "",
        "nested": [{"a": (1, 2.0, None)}, [], {}], 7: "int key", (1, "a"): "tuple key",
        2.5: "float key", None: "none key", True: "bool key",
        "tied": [shared, shared], "np_scalar": np.float32(1.5), "np_int": np.int64(4),
    }
    path = tmp_path / "edge.safetensors"
    mg.save(obj, path)
    loaded = mg.load(path)
    expected = dict(obj, view=base.T[1:].contiguous(), np_scalar=1.5, np_int=4)
    assert_same(expected, loaded)
    assert isinstance(loaded["param"], nn.Parameter) and loaded["param"].requires_grad
    assert isinstance(loaded["frozen"], nn.Parameter) and not loaded["frozen"].requires_grad
    assert loaded["tied"][0] is loaded["tied"][1]  # shared tensors stay shared
    with mg.no_grad():
        loaded["f32"].add_(1.0)  # loaded tensors are writable, not views of the file


def test_file_is_plain_safetensors_with_readable_names(tmp_path):
    obj = sample()
    path = tmp_path / "ckpt.safetensors"
    mg.save(obj, path)
    with safe_open(str(path), framework="numpy") as f:
        names = set(f.keys())
        meta = f.metadata()
        np.testing.assert_array_equal(f.get_tensor("model.0.weight"),
                                      obj["model"]["0.weight"].numpy())
    assert {"model.0.weight", "model.2.bias", "optimizer.state.0.exp_avg", "rng"} <= names
    assert meta["minigrad.format_version"] == "1"
    json.loads(meta["minigrad.tree"])
    # names that would collide get a suffix instead of overwriting each other
    mg.save({"a.b": mg.ones(1), "a": {"b": mg.zeros(1)}}, path)
    loaded = mg.load(path)
    assert loaded["a.b"].item() == 1 and loaded["a"]["b"].item() == 0


def test_unsupported_objects_are_refused_and_leave_the_file(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    mg.save({"x": 1}, path)
    before = path.read_bytes()
    for bad, match in [({"fn": lambda: 0}, "function"), ({"s": {1, 2}}, "set"),
                       ({"gen": mg.random.Generator()}, "Generator"),
                       ({frozenset([1]): 0}, "key"), ({"obj": np.array([object()])}, "objects")]:
        with pytest.raises(TypeError, match=match):
            mg.save(bad, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]  # no temporary file left


def test_a_failed_rename_removes_the_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    mg.save({"x": mg.ones(3)}, path)

    def broken(src, dst):
        raise OSError("disk on fire")
    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk on fire"):
        mg.save({"x": mg.zeros(3)}, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]
    assert mg.load(path)["x"].numpy().tolist() == [1, 1, 1]


def test_new_files_follow_the_umask_and_links_stay_links(tmp_path):
    # As open() would: a new checkpoint gets 0666 minus the umask; saving through a symbolic
    # link replaces the file it points to and keeps the link (a runs/latest -> run-7 layout).
    old = os.umask(0o077)
    try:
        mg.save({"x": mg.ones(2)}, tmp_path / "private.safetensors")
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "private.safetensors").st_mode & 0o777 == 0o600
    target, link = tmp_path / "target.safetensors", tmp_path / "link.safetensors"
    mg.save({"x": mg.ones(2)}, target)
    link.symlink_to(target)
    mg.save({"x": mg.zeros(2)}, link)
    assert link.is_symlink()
    assert mg.load(target)["x"].numpy().tolist() == [0, 0]


def test_truncated_files_are_refused(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    mg.save(sample(), path)
    data = path.read_bytes()
    header = 8 + int.from_bytes(data[:8], "little")
    for size in sorted({0, 3, 8, 20, header - 1, header, header + 10, len(data) // 2,
                        len(data) - 1}):
        path.write_bytes(data[:size])
        with pytest.raises(ValueError, match="not a valid minigrad checkpoint"):
            mg.load(path)


def test_truncation_and_appended_bytes_are_named(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    mg.save(sample(), path)
    data = path.read_bytes()
    path.write_bytes(data[:-10])  # (into the tensor data, past the header)
    with pytest.raises(ValueError, match=rf"'{path}' is not .*: truncated: the file has "
                                         rf"{len(data) - 10} bytes, its header describes "
                                         rf"{len(data)}"):
        mg.load(path)
    path.write_bytes(data + b"junk")
    with pytest.raises(ValueError, match="4 bytes follow the last tensor"):
        mg.load(path)


def test_every_flipped_bit_is_refused(tmp_path):
    path = tmp_path / "small.safetensors"
    mg.save({"w": mg.tensor([[1.0, 2.0], [3.0, 4.0]]), "step": 3, "name": "run"}, path)
    data = path.read_bytes()
    rng = np.random.default_rng(0)
    flips = [(i, i % 8) for i in range(len(data))]  # every byte, bits in turn
    flips += [(int(rng.integers(len(data))), int(rng.integers(8))) for _ in range(100)]
    for i, bit in flips:
        damaged = bytearray(data)
        damaged[i] ^= 1 << bit
        path.write_bytes(bytes(damaged))
        with pytest.raises(ValueError, match="not a valid minigrad checkpoint"):
            mg.load(path)


def test_foreign_files_are_refused(tmp_path):
    path = tmp_path / "foreign"
    save_file({"w": np.ones(3, np.float32)}, str(path))  # safetensors, but not ours
    with pytest.raises(ValueError, match="without minigrad's metadata"):
        mg.load(path)
    cases = [os.urandom(4096), b"", b'{"state": {}}', b"\x10" + b"\0" * 7 + b"[1, 2, 3]" + b" " * 7]
    for content in cases:
        path.write_bytes(content)
        with pytest.raises(ValueError, match="not a valid minigrad checkpoint"):
            mg.load(path)
    save_file({"w": np.ones(3, np.float32)}, str(path),
              metadata={"minigrad.format_version": "99", "minigrad.tree": "{}"})
    with pytest.raises(ValueError, match="version '99'"):
        mg.load(path)
    with pytest.raises(FileNotFoundError):
        mg.load(tmp_path / "missing")


CHILD = textwrap.dedent("""
    import sys
    import minigrad as mg
    path = sys.argv[1]
    big = {f"layer{i}": mg.randn(512, 512) for i in range(12)}   # about 12 MB
    i = 0
    while True:
        i += 1
        print("saving", i, flush=True)
        mg.save({"weights": big, "step": i}, path)
""")


def _wait_for_temp_file(folder, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if any(n.endswith(".tmp") for n in os.listdir(folder)):
            return True
        time.sleep(0.0005)
    return False


def test_sigkill_mid_save_leaves_a_loadable_checkpoint(tmp_path):
    """A process killed while saving (repeatedly) never leaves a damaged file: the path
    holds the previous checkpoint or the new one, whole.  Half the kills land while the
    temporary file is being written (the child is caught with it on disk), the others
    at a random moment of a save."""
    path = tmp_path / "ckpt.safetensors"
    mg.save({"weights": {}, "step": 0}, path)
    rng = np.random.default_rng(0)
    for trial in range(4):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], cwd=REPO,
                                 stdout=subprocess.PIPE, text=True)
        try:
            for _ in range(1 + trial % 3):  # kill during the 1st, 2nd or 3rd save
                assert child.stdout.readline().startswith("saving")
            if trial % 2 == 0:
                assert _wait_for_temp_file(tmp_path), "the child never wrote a temporary file"
            else:
                time.sleep(float(rng.uniform(0.0, 0.05)))
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
            child.stdout.close()
        loaded = mg.load(path)  # must not raise
        if loaded["step"]:
            assert len(loaded["weights"]) == 12
            assert all(t.shape == (512, 512) for t in loaded["weights"].values())
    leftovers = [n for n in os.listdir(tmp_path) if n != "ckpt.safetensors"]
    assert leftovers, "no kill landed while a temporary file was being written"
    assert all(n.startswith(".ckpt.safetensors.") and n.endswith(".tmp") for n in leftovers)
