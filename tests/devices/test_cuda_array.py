"""CudaArray, the device container: views against numpy's on grids, transfers,
the allocator, and the refusals (no implicit host copies, no foreign memory).

Every view is checked by value: the view's elements (copied to the host with
to_numpy, which walks the strides with the copy kernel) must equal numpy's
view of the same host array, and shape, element strides and flags must match.
"""
import copy
import pickle

import numpy as np
import pytest

from minigrad.backend.cuda import runtime
from minigrad.backend.cuda.array import CudaArray, view_strides
from minigrad.backend.cuda.common import (broadcast_to, contiguous, copy_into, empty,
                                          may_share_memory, reshape_view, to_device, to_host)

pytestmark = pytest.mark.usefixtures("cuda_api")


def pair(shape, dtype=np.float64):
    """A host array with distinct values and its device copy."""
    host = np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape) - 3
    return host, to_device(host)


def same_view(dev, ref):
    """dev (a CudaArray view) shows exactly ref (the numpy view)."""
    assert dev.shape == ref.shape
    assert dev.dtype == ref.dtype
    assert dev.size == ref.size and dev.ndim == ref.ndim
    if ref.size:  # strides of dims of size 1 never matter (numpy's may differ)
        assert [s for s, n in zip(dev.strides, dev.shape) if n > 1] == \
            [s for s, n in zip(ref.strides, ref.shape) if n > 1], (dev.strides, ref.strides)
    assert dev.flags.c_contiguous == ref.flags.c_contiguous
    np.testing.assert_array_equal(dev.to_numpy(), ref)


SHAPES = [(), (0,), (1,), (5,), (2, 3), (3, 1, 4), (2, 0, 3), (2, 3, 4, 2)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_round_trip_and_metadata(shape):
    host, dev = pair(shape)
    assert isinstance(dev, CudaArray)
    assert dev.shape == host.shape
    if host.size:
        assert dev.strides == host.strides
        assert dev.element_strides == tuple(s // 8 for s in host.strides)
    assert dev.itemsize == 8 and dev.nbytes == host.nbytes
    assert dev.flags.c_contiguous and dev.flags.writeable and dev.flags.aligned
    back = to_host(dev)
    assert isinstance(back, np.ndarray) and back.flags.c_contiguous
    np.testing.assert_array_equal(back, host)
    for dt in (np.float32, np.int64):
        h = host.astype(dt)
        np.testing.assert_array_equal(to_host(to_device(h)), h)


@pytest.mark.parametrize("shape", [(5,), (2, 3), (3, 1, 4), (2, 3, 4, 2)], ids=str)
def test_transpose_and_swapaxes(shape):
    host, dev = pair(shape)
    same_view(dev.T, host.T)
    same_view(dev.transpose(), host.transpose())
    if len(shape) >= 2:
        same_view(dev.mT, np.swapaxes(host, -1, -2))
        same_view(dev.swapaxes(0, -1), host.swapaxes(0, -1))
        axes = tuple(reversed(range(1, len(shape)))) + (0,)
        same_view(dev.transpose(axes), host.transpose(axes))
        same_view(dev.transpose(*axes), host.transpose(*axes))
    with pytest.raises(ValueError):
        dev.transpose((0,) * dev.ndim if dev.ndim > 1 else (1,))


KEYS = [
    (slice(None),), (1,), (-1,), (slice(1, None),), (slice(None, None, 2),),
    (slice(None, None, -1),), (slice(3, 0, -2),), (slice(5, 1),), (None,), (Ellipsis,),
    (Ellipsis, 1), (1, Ellipsis), (None, slice(None), None), (slice(None), 1),
    (slice(None, None, -1), slice(None, None, -2)), (0, None, slice(1, 3)),
    (Ellipsis, None), (slice(-2, None), Ellipsis, slice(None, None, -1)),
]


@pytest.mark.parametrize("key", KEYS, ids=str)
@pytest.mark.parametrize("shape", [(4, 5), (3, 4, 5)], ids=str)
def test_basic_indexing_views(shape, key):
    host, dev = pair(shape)
    try:
        ref = host[key]
    except IndexError:
        with pytest.raises(IndexError):
            dev[key]
        return
    same_view(dev[key], ref)
    # a view of a view (negative strides and offsets compose)
    same_view(dev[key][..., ::-1], ref[..., ::-1])


def test_indexing_errors():
    _, dev = pair((3, 4))
    with pytest.raises(IndexError):
        dev[3]
    with pytest.raises(IndexError):
        dev[0, 0, 0]
    with pytest.raises(IndexError):
        dev[..., ...]
    with pytest.raises(IndexError, match="basic indexing"):
        dev[[0, 1]]


RESHAPES = [
    ((2, 3, 4), (6, 4)), ((2, 3, 4), (24,)), ((2, 3, 4), (-1, 2)), ((2, 3, 4), (4, 3, 2)),
    ((2, 3, 4), (2, 1, 12, 1)), ((1,), ()), ((), (1, 1)), ((0, 3), (3, 0)), ((4, 1, 3), (12,)),
]


@pytest.mark.parametrize("shape, new", RESHAPES, ids=str)
def test_reshape_of_contiguous_is_a_view(shape, new):
    host, dev = pair(shape)
    view = reshape_view(dev, np.reshape(host, new).shape)
    assert view is not None and view.buffer is dev.buffer
    same_view(view, host.reshape(new))
    same_view(dev.reshape(new), host.reshape(new))
    same_view(dev.reshape(*new) if new else dev.reshape(()), host.reshape(new))


# Views of non-contiguous arrays: a view in the new shape exists exactly when numpy
# finds one (checked both ways), and the values agree either way.
VIEW_CASES = [
    ("T", lambda a: a.T, (-1,)), ("T", lambda a: a.T, (4, 6)),
    ("slice", lambda a: a[:, ::2], (-1,)), ("slice", lambda a: a[:, ::2], (2, 3, 2)),
    ("step", lambda a: a[::2], (-1, 4)), ("step", lambda a: a[::2], (-1,)),
    ("rev", lambda a: a[::-1], (2, 3, 4)), ("rev", lambda a: a[::-1], (-1,)),
    ("bcast", lambda a: np.broadcast_to(a[:, :1], (6, 4)), (3, 2, 4)),
    ("bcast", lambda a: np.broadcast_to(a[:, :1], (6, 4)), (-1,)),
    ("none", lambda a: a[:, None, :], (6, 4)), ("none", lambda a: a[:, None, :], (24,)),
    ("perm3", lambda a: a.reshape(2, 3, 4).transpose(1, 0, 2), (3, 8)),
    ("perm3", lambda a: a.reshape(2, 3, 4).transpose(1, 0, 2), (6, 4)),
    ("col", lambda a: a[:, 1:2], (6,)), ("col", lambda a: a[:, 1:2], (2, 3, 1)),
]


def _dev_view(name, fn, dev):
    """The same view built with CudaArray operations."""
    return {
        "T": lambda: dev.T, "slice": lambda: dev[:, ::2], "step": lambda: dev[::2],
        "rev": lambda: dev[::-1], "bcast": lambda: broadcast_to(dev[:, :1], (6, 4)),
        "none": lambda: dev[:, None, :],
        "perm3": lambda: dev.reshape(2, 3, 4).transpose(1, 0, 2), "col": lambda: dev[:, 1:2],
    }[name]()


@pytest.mark.parametrize("name, fn, new", VIEW_CASES, ids=[f"{c[0]}-{c[2]}" for c in VIEW_CASES])
def test_reshape_of_views_matches_numpy(name, fn, new):
    host, dev = pair((6, 4))
    ref, view = fn(host), _dev_view(name, fn, dev)
    same_view(view, ref)
    try:
        numpy_view = np.reshape(ref, new, copy=False)
    except ValueError:
        numpy_view = None
    ours = reshape_view(view, numpy_view.shape if numpy_view is not None else
                        np.reshape(ref, new).shape)
    assert (ours is None) == (numpy_view is None)
    if ours is not None:
        assert ours.buffer is dev.buffer
        np.testing.assert_array_equal(ours.to_numpy(), numpy_view)
    # reshape() always works: a view or a contiguous copy
    np.testing.assert_array_equal(view.reshape(new).to_numpy(), np.reshape(ref, new))
    if ours is None:
        with pytest.raises(ValueError):
            view.reshape(new, copy=False)


def test_view_strides_against_numpy_on_random_layouts():
    rng = np.random.default_rng(3)
    checked = 0
    for _ in range(300):
        shape = tuple(int(n) for n in rng.integers(1, 4, size=rng.integers(1, 5)))
        host = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
        view = host.transpose(rng.permutation(len(shape)))
        view = view[tuple(slice(None, None, int(rng.choice([1, 2, -1]))) for _ in shape)]
        sizes = list(view.shape)
        rng.shuffle(sizes)
        for new in (tuple(sizes), (view.size,), tuple(sizes) + (1,)):
            try:
                expected = np.reshape(view, new, copy=False)
            except ValueError:
                expected = None
            strides = view_strides(view.shape, tuple(s // 8 for s in view.strides), new)
            assert (strides is None) == (expected is None), (view.shape, view.strides, new)
            if strides is not None and expected.size:
                got = tuple(s for s, n in zip(strides, new) if n > 1)
                want = tuple(s // 8 for s, n in zip(expected.strides, new) if n > 1)
                assert got == want
                checked += 1
    assert checked > 100


@pytest.mark.parametrize("shape, target", [((3,), (2, 3)), ((1, 3), (4, 3)), ((2, 1), (2, 5)),
                                           ((), (2, 2)), ((1,), (0,)), ((2, 1, 3), (4, 2, 6, 3))],
                         ids=str)
def test_broadcast_to(shape, target):
    host, dev = pair(shape)
    ref = np.broadcast_to(host, target)
    view = broadcast_to(dev, target)
    same_view(view, ref)
    assert not view.flags.writeable
    assert all(s == 0 for s, n, m in zip(view.element_strides[len(target) - len(shape):],
                                         shape, target[len(target) - len(shape):]) if n != m)
    with pytest.raises(ValueError, match="read-only"):
        copy_into(to_device(np.zeros(target)), view)


def test_broadcast_errors():
    _, dev = pair((2, 3))
    for target in [(3,), (2, 4), (4, 3)]:
        with pytest.raises(ValueError):
            broadcast_to(dev, target)


def test_copy_into_views_and_overlap():
    host, dev = pair((4, 5))
    # write a reversed slice into a strided view of another array
    dst_host = np.zeros((4, 10))
    dst = to_device(dst_host)
    copy_into(dev[::-1], dst[:, ::2])
    dst_host[:, ::2] = host[::-1]
    np.testing.assert_array_equal(dst.to_numpy(), dst_host)
    # overlapping source and destination in one buffer (x[1:] = x[:-1])
    copy_into(dev[:-1], dev[1:])
    expected = host.copy()
    expected[1:] = host[:-1].copy()
    np.testing.assert_array_equal(dev.to_numpy(), expected)
    assert may_share_memory(dev[1:], dev[:-1]) and not may_share_memory(dev[:1], dev[1:])
    with pytest.raises(ValueError, match="does not match"):
        copy_into(dev, to_device(np.zeros((5, 4))))


def test_contiguous_and_copy():
    host, dev = pair((3, 4))
    t = dev.T
    c = contiguous(t)
    assert c is not t and c.flags.c_contiguous and c.buffer is not dev.buffer
    np.testing.assert_array_equal(c.to_numpy(), host.T)
    assert contiguous(dev) is dev
    d = copy.deepcopy(t)
    assert d.buffer is not dev.buffer
    np.testing.assert_array_equal(d.to_numpy(), host.T)
    s = copy.copy(t)
    assert s.buffer is dev.buffer and s.shape == t.shape


def test_no_implicit_host_copies():
    _, dev = pair((2, 2))
    with pytest.raises(TypeError, match=r"\.cpu\(\)"):
        np.asarray(dev)
    with pytest.raises(TypeError):
        bool(dev)
    with pytest.raises(TypeError):
        list(dev)
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(dev)


def test_empty_and_errors():
    a = empty((2, 3), np.float32)
    assert a.shape == (2, 3) and a.dtype == np.float32 and a.flags.c_contiguous
    assert empty(4, np.int64).shape == (4,)
    z = empty((0, 3), np.float64)
    assert z.size == 0 and z.to_numpy().shape == (0, 3)
    with pytest.raises(ValueError):
        empty((-1, 2), np.float32)
    with pytest.raises(TypeError, match="unsupported dtype"):
        to_device(np.zeros(3, np.int32))


def test_allocator_reuses_freed_blocks():
    alloc = runtime.allocator()
    a = empty((100,), np.float64)
    base, capacity = a.buffer.base, a.buffer.capacity
    assert capacity % 512 == 0 and capacity >= 800
    del a
    assert alloc.cached_bytes >= capacity
    b = empty((90,), np.float64)  # rounds to the same block size
    assert b.buffer.base == base
    alloc.empty_cache()
    assert alloc.cached_bytes == 0 and not alloc.free_blocks


def test_arrays_of_another_api_are_refused(cuda_api):
    from minigrad.backend.cuda import loopback
    a = to_device(np.ones(3))
    previous = runtime.install(loopback.LoopbackApi())  # a fresh api: a new allocator
    try:
        with pytest.raises(RuntimeError, match="another CUDA api"):
            to_host(a)
    finally:
        runtime.install(previous)
    np.testing.assert_array_equal(to_host(a), np.ones(3))  # fine again under its own api
