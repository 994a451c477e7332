"""minigrad: a small deep-learning framework with a C core and a readable tape.

    import minigrad
    x = minigrad.randn(4, 3, requires_grad=True)
    loss = (x.tanh() ** 2).sum()
    loss.backward()          # x.grad now holds d(loss)/dx
"""
from minigrad._native import ffi as _ffi, lib as _lib
from minigrad.threads import get_num_threads, set_num_threads  # noqa: F401
from minigrad.dtypes import (  # noqa: F401
    device, float32, float64, int64, get_default_dtype, set_default_dtype)
from minigrad.tensor import Tensor  # noqa: F401
from minigrad.ops import *  # noqa: F401,F403
from minigrad.ops import TENSOR_METHODS as _TENSOR_METHODS  # noqa: F401
from minigrad.creation import (  # noqa: F401
    arange, as_tensor, bernoulli, empty, empty_like, eye, from_numpy, full, full_like, linspace,
    ones, ones_like, rand, rand_like, randint, randn, randn_like, tensor, zeros, zeros_like)
from minigrad.random import (  # noqa: F401
    Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state)
from minigrad.autograd import (  # noqa: F401
    enable_grad, is_grad_enabled, no_grad, set_grad_enabled)
from minigrad import autograd, viz  # noqa: F401
from minigrad import cuda  # noqa: F401  (is_available(), device_count(), ...)
from minigrad import nn, optim  # noqa: F401  (layers, losses; optimizers, schedulers)
from minigrad.serialization import load, save  # noqa: F401  (checkpoints)

BUILD_INFO = dict(item.split("=", 1)
                  for item in _ffi.string(_lib.mg_build_info()).decode().split())

float = float32  # noqa: A001  (PyTorch's aliases)
double = float64
long = int64

__version__ = "0.1.0"
