"""Fixtures of the device tests: the CUDA api under test (helpers: device_helpers.py).

`cuda_api` runs a test twice: on the loopback device (backend/cuda/loopback.py:
the CUDA kernel table, CudaArrays, transfers and everything above them, with
the CPU kernels doing the arithmetic -- runs everywhere) and on the real GPU
(marked `cuda`: skipped without one, a failure under MINIGRAD_REQUIRE_CUDA=1).
Either way device 'cuda' means that api for the test; the api that was active
before is restored after it.
"""
import numpy as np
import pytest

import minigrad
from minigrad.backend.cuda import loopback, runtime


@pytest.fixture(params=["loopback", pytest.param("gpu", marks=pytest.mark.cuda)])
def cuda_api(request):
    """'loopback' or 'gpu': the api behind device 'cuda' during the test."""
    if request.param == "loopback":
        api = loopback.LoopbackApi()
    else:
        minigrad.cuda.require("tests/devices")
        api = runtime.cuda_api()
    previous = runtime.install(api)
    try:
        yield request.param
    finally:
        runtime.install(previous)


@pytest.fixture(params=[np.float32, np.float64], ids=["f32", "f64"])
def fdtype(request):
    return np.dtype(request.param)
