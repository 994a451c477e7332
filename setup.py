"""Build script: metadata lives in pyproject.toml; this adds the cffi module.

cffi wraps the build_ext command given here and calls its ``pre_run(ext, ffi)``
just before it generates the C source.  csrc/build_ffi.py puts a hook on the ffi
object only for the CUDA variant (MINIGRAD_CUDA=1): it compiles csrc/cuda/*.cu with
nvcc and adds the objects to the link.  Default builds have no hook and need no nvcc.
"""
from setuptools import setup
from setuptools.command.build_ext import build_ext


class BuildExt(build_ext):
    def pre_run(self, ext, ffi):
        hook = getattr(ffi, "minigrad_pre_run", None)
        if hook is not None:
            hook(ext)


setup(cffi_modules=["csrc/build_ffi.py:ffi"], cmdclass={"build_ext": BuildExt})
