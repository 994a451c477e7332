"""The CUDA runtime as the kernel table sees it: one `api` object and a caching allocator.

Every C call of the CUDA table goes through the active api object, which has
one attribute per kernel, named as in minigrad.h without the ``mg_`` prefix
(``api.unary``, ``api.gemm``, ``api.rnn_forward`` ...), plus the runtime:

    api.malloc(nbytes) -> base     a ``char *`` cdata (or an object that acts as one
                                   and keeps the memory alive); ffi.NULL for 0 bytes
    api.free(base)                 release memory from api.malloc
    api.memcpy(dst, src, nbytes, kind)   kind: HOST_TO_DEVICE, DEVICE_TO_HOST,
                                   DEVICE_TO_DEVICE; raises on failure
    api.synchronize()              wait for the device (raises on failure)
    api.last_error() -> str        the calling thread's last CUDA failure ("" if none)

Two api objects exist:

  - CudaApi: ``lib.mg_cuda_*`` (a build with MINIGRAD_CUDA=1 on a machine with a
    GPU), installed on first use of device 'cuda' when minigrad.cuda.is_available();
  - LoopbackApi (loopback.py): the CPU kernels ``lib.mg_*`` over host memory, a
    test device.  Because mg_cuda_X has exactly the signature of mg_X, it runs the
    whole CUDA table -- CudaArray views, transfers, the ops above them -- on the
    CPU.  Tests install it; it is never active by default.

Memory comes from a caching allocator: a freed block goes back to a free list
of its size (rounded up to 512 bytes) and the next allocation of that size
reuses it, because cudaFree synchronises the device and cudaMalloc is slow.
All kernels run on one stream in order, so a block reused by a later kernel is
only written after every earlier kernel that read it has finished.  When an
allocation fails the cache is emptied and the allocation retried once.
"""
from minigrad._native import KernelError, ffi, lib

# Kernels shared by both tables, by their name without the prefix.
KERNELS = (
    "unary", "unary_backward", "binary", "binary_scalar", "where", "clamp", "clamp_backward",
    "fill", "copy_strided", "cast",
    "reduce", "arg_reduce", "softmax", "softmax_backward", "logsumexp",
    "gather", "scatter_add",
    "random_uniform", "random_normal", "random_bernoulli",
    "gemm", "gemm_builtin",
    "cross_entropy", "cross_entropy_backward",
    "sgd_step", "adam_step", "adagrad_step", "rmsprop_step", "norm_pow",
    "rnn_workspace_size", "rnn_forward", "rnn_backward",
    "lstm_proj_workspace_size", "lstm_proj_forward", "lstm_proj_backward",
)

# enum mg_memcpy_kind (csrc/cuda/minigrad_cuda.h); a CPU-only build lacks the enum.
HOST_TO_DEVICE, DEVICE_TO_HOST, DEVICE_TO_DEVICE = 1, 2, 3
MG_ERR_CUDA = 9

_GRANULE = 512  # allocation sizes are rounded up to this many bytes


class CudaApi:
    """The real device: ``lib.mg_cuda_*`` of a build made with MINIGRAD_CUDA=1."""

    name = "cuda"

    def __init__(self):
        missing = [n for n in KERNELS + ("malloc", "free", "memcpy", "synchronize", "last_error")
                   if not hasattr(lib, "mg_cuda_" + n)]
        if missing:
            raise RuntimeError("this build of minigrad has no CUDA kernels (build with "
                               "MINIGRAD_CUDA=1, e.g. `make cuda`); missing: "
                               + ", ".join("mg_cuda_" + n for n in missing[:5]))
        for n in KERNELS:
            setattr(self, n, getattr(lib, "mg_cuda_" + n))

    def last_error(self):
        return ffi.string(lib.mg_cuda_last_error()).decode(errors="replace")

    def _check(self, status, call):
        if status:
            from minigrad.cuda import check  # CudaError naming the failed CUDA call
            check(status, call)

    def malloc(self, nbytes):
        if nbytes == 0:
            return ffi.NULL
        out = ffi.new("void **")
        self._check(lib.mg_cuda_malloc(nbytes, out), "mg_cuda_malloc")
        return ffi.cast("char *", out[0])

    def free(self, base):
        lib.mg_cuda_free(base)  # a failure here has no one to report to

    def memcpy(self, dst, src, nbytes, kind):
        if nbytes:
            self._check(lib.mg_cuda_memcpy(dst, src, nbytes, kind), "mg_cuda_memcpy")

    def synchronize(self):
        self._check(lib.mg_cuda_synchronize(), "mg_cuda_synchronize")


class Allocator:
    """Device memory for CudaArrays, with freed blocks kept for reuse (see the module
    docstring).  allocate() gives (base, capacity); release() takes them back."""

    def __init__(self, api):
        self.api = api
        self.free_blocks = {}   # capacity -> [base, ...]
        self.cached_bytes = 0

    def allocate(self, nbytes):
        if nbytes <= 0:
            return ffi.NULL, 0
        capacity = -(-nbytes // _GRANULE) * _GRANULE
        blocks = self.free_blocks.get(capacity)
        if blocks:
            self.cached_bytes -= capacity
            return blocks.pop(), capacity
        try:
            return self.api.malloc(capacity), capacity
        except KernelError:
            if not self.cached_bytes:
                raise
            self.empty_cache()
            return self.api.malloc(capacity), capacity

    def release(self, base, capacity):
        if capacity:
            self.free_blocks.setdefault(capacity, []).append(base)
            self.cached_bytes += capacity

    def empty_cache(self):
        """Give every cached block back to the device."""
        blocks, self.free_blocks, self.cached_bytes = self.free_blocks, {}, 0
        for bases in blocks.values():
            for base in bases:
                self.api.free(base)


# The active api and its allocator (None until device 'cuda' is first used).
_active = [None, None]


def install(api):
    """Make `api` the active CUDA api; returns the previous one (or None).  Arrays made
    under another api refuse to be used until that api is installed again."""
    previous = _active[0]
    allocator = None
    if api is not None:  # one allocator per api object, kept across re-installs
        allocator = getattr(api, "allocator", None)
        if allocator is None:
            allocator = api.allocator = Allocator(api)
    _active[0], _active[1] = api, allocator
    return previous


def active():
    """The active api object, or None."""
    return _active[0]


def api():
    """The active api object.  None active yet: the real device's, installed now when
    minigrad.cuda.is_available(), else RuntimeError with minigrad.cuda's reason."""
    if _active[0] is None:
        require_cuda()
    return _active[0]


def allocator():
    """The active api's allocator (set up as api() does)."""
    if _active[1] is None:
        require_cuda()
    return _active[1]


def require_cuda():
    """Make sure a CUDA api is active: the loopback when a test installed it, else the
    real device when minigrad.cuda.is_available(); otherwise raise minigrad.cuda's
    clear error (no CUDA build, or no device visible)."""
    if _active[0] is not None:
        return
    from minigrad import cuda
    cuda.require("device 'cuda'")
    install(cuda_api())


_CUDA_API = []


def cuda_api():
    """The one CudaApi object of this process (its allocator's cache is shared by every
    install of it)."""
    if not _CUDA_API:
        _CUDA_API.append(CudaApi())
    return _CUDA_API[0]


def empty_cache():
    """Free the cached blocks of the active allocator (like torch.cuda.empty_cache)."""
    if _active[1] is not None:
        _active[1].empty_cache()


def synchronize():
    if _active[0] is not None:
        _active[0].synchronize()


__all__ = ["KERNELS", "CudaApi", "Allocator", "install", "active", "api", "allocator",
           "require_cuda", "cuda_api", "empty_cache", "synchronize"]
