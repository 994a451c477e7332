"""minigrad: a small deep-learning framework with a C core and a readable tape."""
from minigrad._native import ffi as _ffi, lib as _lib
from minigrad.threads import set_num_threads, get_num_threads

BUILD_INFO = dict(item.split("=", 1) for item in _ffi.string(_lib.mg_build_info()).decode().split())

__version__ = "0.1.0"
