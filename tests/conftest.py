"""Shared fixtures: thread counts, dtypes, and the optional PyTorch import."""
import numpy as np
import pytest

import minigrad


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request):
    """Run a test at 1 and at 2 threads, restoring the previous count after."""
    before = minigrad.get_num_threads()
    minigrad.set_num_threads(request.param)
    yield request.param
    minigrad.set_num_threads(before)


@pytest.fixture(params=[np.float32, np.float64], ids=["f32", "f64"])
def dtype(request):
    return np.dtype(request.param)


def tolerance(dtype):
    """(rtol, atol) for comparing a kernel in `dtype` with a float64 oracle."""
    return (1e-5, 1e-6) if np.dtype(dtype) == np.float32 else (1e-12, 1e-12)
