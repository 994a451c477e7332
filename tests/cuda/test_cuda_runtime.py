"""minigrad.cuda and the CUDA runtime entry points (csrc/cuda/runtime.cu).

Three kinds of build run this file:
  - the default build (no CUDA backend): is_available() is False and every use
    raises a RuntimeError that says how to get CUDA;
  - a CUDA build on a machine without a GPU (CI): the same answers, plus the
    argument checks that runtime.cu makes before calling CUDA;
  - a CUDA build on a GPU machine: the tests marked `cuda` (memory round trips,
    device queries, error reporting).
"""
import threading

import numpy as np
import pytest

import minigrad
from minigrad._native import KernelError, ffi, lib

cuda = minigrad.cuda

# csrc/minigrad.h status codes
MG_OK, MG_ERR_SIZE, MG_ERR_INDEX, MG_ERR_OP, MG_ERR_NULL, MG_ERR_CUDA = 0, 1, 3, 5, 6, 9
H2D, D2H, D2D = 1, 2, 3  # enum mg_memcpy_kind

needs_cuda_build = pytest.mark.skipif(not cuda.is_built(), reason="build without CUDA backend")
needs_no_gpu = pytest.mark.skipif(cuda.is_available(), reason="a CUDA device is visible")


# ---- every build ------------------------------------------------------------------------------

def test_build_info_matches_the_module():
    assert minigrad.BUILD_INFO["cuda"] == ("1" if cuda.is_built() else "0")
    assert hasattr(lib, "mg_cuda_memcpy") == cuda.is_built()
    if minigrad.BUILD_INFO["cublas"] == "1":
        assert cuda.is_built()


def test_is_available_is_a_bool_and_consistent():
    assert isinstance(cuda.is_available(), bool)
    assert cuda.is_available() == (cuda.device_count() > 0)
    assert cuda.device_count() >= 0


@needs_no_gpu
@pytest.mark.parametrize("call", [
    lambda: cuda.get_device_name(0), cuda.synchronize, cuda.memory_info, cuda.require])
def test_use_without_a_device_raises_a_clear_error(call):
    with pytest.raises(RuntimeError) as exc:
        call()
    message = str(exc.value)
    if cuda.is_built():
        assert "no CUDA device is visible: " in message
        assert message.rstrip().split("visible: ", 1)[1]  # a reason follows
    else:
        assert "no CUDA backend" in message and "MINIGRAD_CUDA=1" in message
        assert "make cuda" in message


@needs_no_gpu
def test_no_device_means_zero_devices():
    assert cuda.is_available() is False
    assert cuda.device_count() == 0


def test_require_names_the_caller():
    if cuda.is_available():
        cuda.require("x")  # no error
        return
    with pytest.raises(RuntimeError, match=r"^Tensor\.to\('cuda'\): "):
        cuda.require("Tensor.to('cuda')")


def test_last_error_is_a_string():
    assert isinstance(cuda.last_error(), str)


# ---- CUDA builds: argument checks made before any CUDA call (run without a GPU too) ----------

@needs_cuda_build
def test_device_count_status_is_ok_without_a_gpu_too():
    count = ffi.new("int *", -1)
    assert lib.mg_cuda_device_count(count) == MG_OK
    assert count[0] == cuda.device_count()
    assert lib.mg_cuda_device_count(ffi.NULL) == MG_ERR_NULL


@needs_cuda_build
@needs_no_gpu
def test_no_device_reason_names_the_cuda_call():
    with pytest.raises(RuntimeError, match=r"cudaGetDeviceCount: .+ \(error \d+\)"):
        cuda.require()


@needs_cuda_build
def test_malloc_checks_arguments():
    ptr = ffi.new("void **", ffi.cast("void *", 1))
    assert lib.mg_cuda_malloc(-1, ptr) == MG_ERR_SIZE
    assert ptr[0] == ffi.NULL                       # never left dangling
    assert lib.mg_cuda_malloc(16, ffi.NULL) == MG_ERR_NULL
    ptr = ffi.new("void **", ffi.cast("void *", 1))
    assert lib.mg_cuda_malloc(0, ptr) == MG_OK      # zero bytes: NULL, no CUDA call
    assert ptr[0] == ffi.NULL
    assert lib.mg_cuda_free(ffi.NULL) == MG_OK


@needs_cuda_build
@pytest.mark.parametrize("kind", [0, 4, -1, 1000])
def test_memcpy_rejects_unknown_kinds(kind):
    host = np.zeros(4, dtype=np.float32)
    p = ffi.from_buffer(host)
    assert lib.mg_cuda_memcpy(p, p, 16, kind) == MG_ERR_OP
    assert lib.mg_cuda_memcpy(p, p, 0, kind) == MG_ERR_OP


@needs_cuda_build
@pytest.mark.parametrize("kind", [H2D, D2H, D2D])
def test_memcpy_checks_sizes_and_pointers(kind):
    host = np.zeros(4, dtype=np.float32)
    p = ffi.from_buffer(host)
    assert lib.mg_cuda_memcpy(p, p, -1, kind) == MG_ERR_SIZE
    assert lib.mg_cuda_memcpy(ffi.NULL, ffi.NULL, 0, kind) == MG_OK   # nothing to copy
    assert lib.mg_cuda_memcpy(ffi.NULL, p, 16, kind) == MG_ERR_NULL
    assert lib.mg_cuda_memcpy(p, ffi.NULL, 16, kind) == MG_ERR_NULL


@needs_cuda_build
def test_device_queries_check_arguments():
    buf = ffi.new("char[]", 64)
    assert lib.mg_cuda_device_name(0, ffi.NULL, 64) == MG_ERR_NULL
    assert lib.mg_cuda_device_name(0, buf, 0) == MG_ERR_SIZE
    count = cuda.device_count()
    assert lib.mg_cuda_device_name(-1, buf, 64) == MG_ERR_INDEX
    assert lib.mg_cuda_device_name(count, buf, 64) == MG_ERR_INDEX
    assert lib.mg_cuda_set_device(count) == MG_ERR_INDEX
    assert lib.mg_cuda_set_device(-1) == MG_ERR_INDEX
    free = ffi.new("int64_t *")
    assert lib.mg_cuda_memory_info(ffi.NULL, free) == MG_ERR_NULL
    assert lib.mg_cuda_memory_info(free, ffi.NULL) == MG_ERR_NULL


@needs_cuda_build
@needs_no_gpu
def test_a_failed_cuda_call_becomes_an_exception_naming_it():
    # Without a GPU, cudaDeviceSynchronize fails: this exercises mg_cuda_fail's message
    # ("<call>: <reason> (error N)") and check()'s translation on any machine.
    status = lib.mg_cuda_synchronize()
    assert status == MG_ERR_CUDA
    assert cuda.last_error().startswith("cudaDeviceSynchronize: ")
    with pytest.raises(cuda.CudaError, match=r"^mg_cuda_synchronize: CUDA call failed: "
                                             r"cudaDeviceSynchronize: .+ \(error \d+\)") as exc:
        cuda.check(status, "mg_cuda_synchronize")
    assert isinstance(exc.value, KernelError) and exc.value.status == MG_ERR_CUDA


@needs_cuda_build
def test_last_error_is_per_thread():
    lib.mg_cuda_synchronize()           # fails without a GPU; harmless with one
    seen = []
    thread = threading.Thread(target=lambda: seen.append(cuda.last_error()))
    thread.start()
    thread.join()
    assert seen == [""]                 # a fresh thread has no failure recorded


def test_check_passes_other_statuses_through():
    cuda.check(MG_OK, "k")
    with pytest.raises(KernelError, match="^k: index out of range") as exc:
        cuda.check(MG_ERR_INDEX, "k")
    assert not isinstance(exc.value, cuda.CudaError)


# ---- on a GPU ---------------------------------------------------------------------------------

def _malloc(nbytes):
    ptr = ffi.new("void **")
    cuda.check(lib.mg_cuda_malloc(nbytes, ptr), "mg_cuda_malloc")
    return ptr[0]


@pytest.mark.cuda
def test_device_name_and_count():
    assert cuda.device_count() >= 1
    name = cuda.get_device_name(0)
    assert isinstance(name, str) and name.strip()
    with pytest.raises(ValueError, match="does not exist"):
        cuda.get_device_name(cuda.device_count())
    with pytest.raises(TypeError):
        cuda.get_device_name("0")
    short = ffi.new("char[]", 4)                  # truncated, still NUL-terminated
    assert lib.mg_cuda_device_name(0, short, 4) == MG_OK
    assert ffi.string(short).decode() == name[:3]
    assert lib.mg_cuda_set_device(0) == MG_OK


@pytest.mark.cuda
def test_memory_info():
    free, total = cuda.memory_info()
    assert 0 < free <= total


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("n", [1, 7, 1000, 1 << 20])
def test_round_trip_host_device_device_host(dtype, n):
    src = (np.arange(n) * 3 - 5).astype(dtype)
    out = np.full(n, -1, dtype=dtype)
    nbytes = src.nbytes
    a, b = _malloc(nbytes), _malloc(nbytes)
    try:
        cuda.check(lib.mg_cuda_memcpy(a, ffi.from_buffer(src), nbytes, H2D), "H2D")
        cuda.check(lib.mg_cuda_memcpy(b, a, nbytes, D2D), "D2D")
        cuda.check(lib.mg_cuda_memcpy(ffi.from_buffer(out), b, nbytes, D2H), "D2H")
        cuda.synchronize()
    finally:
        cuda.check(lib.mg_cuda_free(a), "mg_cuda_free")
        cuda.check(lib.mg_cuda_free(b), "mg_cuda_free")
    np.testing.assert_array_equal(out, src)


@pytest.mark.cuda
def test_partial_copies_leave_the_rest_alone():
    src = np.arange(8, dtype=np.float64)
    out = np.full(8, -1.0)
    a = _malloc(src.nbytes)
    try:
        cuda.check(lib.mg_cuda_memcpy(a, ffi.from_buffer(src), src.nbytes, H2D), "H2D")
        cuda.check(lib.mg_cuda_memcpy(ffi.from_buffer(out), a, 3 * 8, D2H), "D2H")
    finally:
        lib.mg_cuda_free(a)
    np.testing.assert_array_equal(out, [0, 1, 2, -1, -1, -1, -1, -1])


@pytest.mark.cuda
def test_zero_bytes():
    assert _malloc(0) == ffi.NULL
    host = np.zeros(0, dtype=np.float32)
    for kind in (H2D, D2H, D2D):
        assert lib.mg_cuda_memcpy(ffi.NULL, ffi.from_buffer(host), 0, kind) == MG_OK
    assert lib.mg_cuda_free(ffi.NULL) == MG_OK
    cuda.synchronize()


@pytest.mark.cuda
def test_bad_kind_is_an_argument_error_not_a_cuda_error():
    a = _malloc(16)
    try:
        assert lib.mg_cuda_memcpy(a, a, 16, 7) == MG_ERR_OP
        with pytest.raises(KernelError, match="invalid op code") as exc:
            cuda.check(MG_ERR_OP, "mg_cuda_memcpy")
        assert not isinstance(exc.value, cuda.CudaError)
    finally:
        lib.mg_cuda_free(a)


@pytest.mark.cuda
def test_out_of_memory_names_cuda_malloc_and_does_not_poison_later_calls():
    ptr = ffi.new("void **")
    status = lib.mg_cuda_malloc(1 << 60, ptr)       # an exabyte: no GPU has it
    assert status == MG_ERR_CUDA and ptr[0] == ffi.NULL
    assert cuda.last_error().startswith("cudaMalloc: ")
    with pytest.raises(cuda.CudaError, match=r"mg_cuda_malloc: CUDA call failed: cudaMalloc: "):
        cuda.check(status, "mg_cuda_malloc")
    # The failure was cleared from the runtime's error state: work goes on.
    a = _malloc(64)
    cuda.check(lib.mg_cuda_free(a), "mg_cuda_free")
    cuda.synchronize()
