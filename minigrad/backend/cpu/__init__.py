"""The CPU kernel table: numpy host buffers in, C kernels do the work.

Every function here takes and returns numpy arrays; callers (the Tensor ops)
never see pointers.  A CUDA table with the same names can sit beside this one.
Each family lives in its own module; this package is the table.
"""
from minigrad.backend.cpu.common import cat_into, contiguous, copy_into  # noqa: F401
from minigrad.backend.cpu.container import *  # noqa: F401,F403  (empty, views, transfers)
from minigrad.backend.cpu.elementwise import *  # noqa: F401,F403
from minigrad.backend.cpu.reductions import *  # noqa: F401,F403
from minigrad.backend.cpu.indexing import *  # noqa: F401,F403
from minigrad.backend.cpu.random import *  # noqa: F401,F403
from minigrad.backend.cpu.linalg import *  # noqa: F401,F403
from minigrad.backend.cpu.loss import *  # noqa: F401,F403
from minigrad.backend.cpu.optim import *  # noqa: F401,F403
from minigrad.backend.cpu.rnn import *  # noqa: F401,F403
