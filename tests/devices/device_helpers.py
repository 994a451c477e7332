"""Comparison helpers of the device tests (CUDA results against the CPU's)."""
import numpy as np

import minigrad


def tol(dtype, api="loopback"):
    """(rtol, atol) for a CUDA result against the CPU's: the loopback runs the very same
    kernels (tight); the GPU's math library and summation order differ (a few ulp)."""
    if api == "loopback":
        return (1e-6, 1e-7) if np.dtype(dtype) == np.float32 else (1e-14, 1e-14)
    return (2e-5, 2e-6) if np.dtype(dtype) == np.float32 else (1e-11, 1e-12)


def assert_close(actual, expected, dtype, api, scale=1.0):
    """CUDA result (a Tensor on the device, a CudaArray or a numpy array) against the CPU's."""
    rtol, atol = tol(dtype, api)
    np.testing.assert_allclose(host(actual), host(expected), rtol=rtol * scale,
                               atol=atol * scale)


def host(x):
    """Any result as a numpy array (device values copied)."""
    if isinstance(x, minigrad.Tensor):
        return x.detach().cpu().numpy()
    if hasattr(x, "to_numpy"):
        return x.to_numpy()
    return np.asarray(x)
