"""The CUDA kernel table: CudaArrays (device memory) in, CUDA kernels do the work.

The same function names, shapes and semantics as the CPU table
(minigrad/backend/cpu), so one op serves both devices; every function takes
and returns CudaArrays (array.py) and calls ``lib.mg_cuda_*`` through the
active api object (runtime.py).  Beyond the CPU table's kernels it has the
container functions both tables share:

    empty(shape, dtype)           a new contiguous array
    broadcast_to(arr, shape)      a read-only view with stride-0 dims
    reshape_view(arr, shape)      a view in a new shape, or None when a copy is needed
    to_device(np_array), to_host(arr)   explicit transfers (the CPU table's are identities)

and ``synchronize()``.  Index arrays (gather/scatter indices, cross-entropy
targets, RNN lengths) may come from the host: they are copied to the device.

The table runs on the real GPU when minigrad.cuda.is_available(), or on the
loopback test device (loopback.py), which runs these same wrappers on the CPU
kernels.  Importing this package touches no GPU.
"""
from minigrad.backend.cuda.common import (  # noqa: F401
    broadcast_to, cat_into, contiguous, copy_into, empty, reshape_view, synchronize, to_device,
    to_host)
from minigrad.backend.cuda.elementwise import *  # noqa: F401,F403
from minigrad.backend.cuda.reductions import *  # noqa: F401,F403
from minigrad.backend.cuda.indexing import *  # noqa: F401,F403
from minigrad.backend.cuda.random import *  # noqa: F401,F403
from minigrad.backend.cuda.linalg import *  # noqa: F401,F403
from minigrad.backend.cuda.loss import *  # noqa: F401,F403
from minigrad.backend.cuda.optim import *  # noqa: F401,F403
from minigrad.backend.cuda.rnn import *  # noqa: F401,F403
from minigrad.backend.cuda.array import CudaArray  # noqa: F401
