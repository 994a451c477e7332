"""The CPU kernel table: numpy host buffers in, C kernels do the work.

Every function here takes and returns numpy arrays; callers (the Tensor ops)
never see pointers.  A CUDA table with the same names can sit beside this one.
"""
from minigrad.backend.cpu.common import contiguous, copy_into  # noqa: F401
