"""Shared fixtures: thread counts, dtypes, devices, the `cuda` marker (see the end of this file)."""
import os

import numpy as np
import pytest

import minigrad


# Work from which the `threads` fixture splits loops across threads: the tests' arrays
# (tens of thousands of elements) are sized for it, below the library's default
# (minigrad.threads.set_parallel_min_work), so that their parallel paths run.
TEST_PARALLEL_MIN_WORK = 32768


@pytest.fixture
def thread_knobs():
    """Restores the thread count and the parallel threshold after the test."""
    before = minigrad.get_num_threads(), minigrad.threads.get_parallel_min_work()
    yield
    minigrad.set_num_threads(before[0])
    minigrad.threads.set_parallel_min_work(before[1])


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request, thread_knobs):
    """Run a test at 1 and at 2 threads (loops split from TEST_PARALLEL_MIN_WORK elements)."""
    minigrad.set_num_threads(request.param)
    minigrad.threads.set_parallel_min_work(TEST_PARALLEL_MIN_WORK)
    return request.param


@pytest.fixture(params=[np.float32, np.float64], ids=["f32", "f64"])
def dtype(request):
    return np.dtype(request.param)


def tolerance(dtype):
    """(rtol, atol) for comparing a kernel in `dtype` with a float64 oracle."""
    return (1e-5, 1e-6) if np.dtype(dtype) == np.float32 else (1e-12, 1e-12)


# ---- CUDA: the `cuda` marker -------------------------------------------------------------------
# Tests marked @pytest.mark.cuda need a visible CUDA device.  Without one they are skipped,
# unless MINIGRAD_REQUIRE_CUDA=1 (set by the GPU check), which turns the skip into a failure:
# a CUDA build that cannot see its GPU must not pass as "all skipped".

def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: needs a visible CUDA device (skipped without one; "
                                       "MINIGRAD_REQUIRE_CUDA=1 makes that a failure)")


def cuda_required():
    """True when MINIGRAD_REQUIRE_CUDA=1: missing CUDA is an error, not a skip."""
    return os.environ.get("MINIGRAD_REQUIRE_CUDA", "0").strip() == "1"


def pytest_runtest_setup(item):
    if item.get_closest_marker("cuda") is None or minigrad.cuda.is_available():
        return
    try:
        minigrad.cuda.require()
        reason = "CUDA is not available"
    except RuntimeError as exc:
        reason = str(exc)
    if cuda_required():
        pytest.fail(f"MINIGRAD_REQUIRE_CUDA=1 but CUDA is not usable: {reason} "
                    f"(BUILD_INFO {minigrad.BUILD_INFO})", pytrace=False)
    pytest.skip(f"CUDA test: {reason}")


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
def device(request):
    """Run a test on each device: "cpu", and "cuda" (marked, so skipped without a GPU)."""
    return request.param
