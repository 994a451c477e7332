"""Build script: metadata lives in pyproject.toml; this adds the cffi module."""
from setuptools import setup

setup(cffi_modules=["csrc/build_ffi.py:ffi"])
