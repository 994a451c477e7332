"""cffi (API mode) build description of minigrad's C core: ``minigrad._C``.

setuptools runs this file through ``setup(cffi_modules=[...])`` with the
project root as the working directory.  The build variant comes from the
environment:

    MINIGRAD_BLAS      auto (default) | scipy | system | none
                       auto: the scipy-openblas32 wheel if importable, else the
                       system OpenBLAS if its header is found, else none (our
                       own blocked gemm kernel).
    MINIGRAD_OPENMP    1 (default) | 0
    MINIGRAD_SANITIZE  1: -fsanitize=address,undefined,float-cast-overflow
    MINIGRAD_CUDA      1: reserved for the CUDA backend (not built yet)

The chosen flags are written into the generated C source, so changing a
variable changes that file and setuptools rebuilds the module.
"""
import glob
import os
import sys

from cffi import FFI

CSRC = "csrc"
HEADER = os.path.join(CSRC, "minigrad.h")
SYSTEM_CBLAS_HEADERS = ("/usr/include/x86_64-linux-gnu/cblas.h", "/usr/include/cblas.h",
                        "/usr/include/aarch64-linux-gnu/cblas.h",
                        "/usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h")


def read_cdef(path=HEADER):
    """The declarations between the cdef-begin and cdef-end markers of the header."""
    with open(path) as f:
        text = f.read()
    start = text.index("/* cdef-begin */") + len("/* cdef-begin */")
    return text[start:text.index("/* cdef-end */")]


def env_choice(name, default, allowed):
    value = os.environ.get(name, default).strip().lower() or default
    if value not in allowed:
        sys.exit(f"build_ffi: {name}={value!r} is not one of {', '.join(allowed)}")
    return value


def blas_config(choice):
    """Compiler/linker settings for the BLAS variant; returns (settings, name)."""
    if choice in ("auto", "scipy"):
        try:
            import scipy_openblas32
        except ImportError:
            if choice == "scipy":
                sys.exit("build_ffi: MINIGRAD_BLAS=scipy but the scipy-openblas32 wheel "
                         "is not installed (pip install scipy-openblas32)")
        else:
            return {
                "define_macros": [("MG_USE_BLAS", "1"), ("BLAS_SYMBOL_PREFIX", "scipy_"),
                                  ("MG_BLAS_NAME", '"scipy-openblas"')],
                "include_dirs": [scipy_openblas32.get_include_dir()],
                "library_dirs": [scipy_openblas32.get_lib_dir()],
                "libraries": [scipy_openblas32.get_library()],
                # Both packages sit side by side in site-packages after a regular
                # install; an editable install relies on `import scipy_openblas32`
                # having loaded the library first (see minigrad/_native.py).
                "extra_link_args": ["-Wl,-rpath,$ORIGIN/../scipy_openblas32/lib"],
            }, "scipy-openblas"
    if choice in ("auto", "system"):
        header = next((h for h in SYSTEM_CBLAS_HEADERS if os.path.exists(h)), None)
        if header is not None:
            return {
                "define_macros": [("MG_USE_BLAS", "1"), ("BLAS_SYMBOL_PREFIX", ""),
                                  ("MG_BLAS_NAME", '"system-openblas"')],
                "include_dirs": [os.path.dirname(header)],
                "libraries": ["openblas"],
            }, "system-openblas"
        if choice == "system":
            sys.exit("build_ffi: MINIGRAD_BLAS=system but no cblas.h was found "
                     "(apt-get install libopenblas-dev)")
    return {"define_macros": [("MG_BLAS_NAME", '"none"')]}, "none"


def merge(*configs):
    out = {}
    for config in configs:
        for key, values in config.items():
            out.setdefault(key, []).extend(values)
    return out


blas_choice = env_choice("MINIGRAD_BLAS", "auto", ("auto", "scipy", "system", "none"))
openmp = env_choice("MINIGRAD_OPENMP", "1", ("0", "1")) == "1"
sanitize = env_choice("MINIGRAD_SANITIZE", "0", ("0", "1")) == "1"
if env_choice("MINIGRAD_CUDA", "0", ("0", "1")) == "1":
    sys.exit("build_ffi: MINIGRAD_CUDA=1 is reserved for the CUDA backend, which is not built yet")

blas, blas_name = blas_config(blas_choice)
# -fno-math-errno: nothing reads errno, and without it gcc wraps every sqrt in a scalar
# errno check that stops loops (Adam, RMSprop, ...) from vectorising.
compile_args = ["-std=gnu11", "-O3", "-fno-math-errno", "-Wall", "-Wextra", "-Wno-unused-parameter"]
link_args = []
if openmp:
    compile_args.append("-fopenmp")
    link_args.append("-fopenmp")
if sanitize:
    flags = ["-fsanitize=address,undefined,float-cast-overflow", "-fno-omit-frame-pointer",
             "-fno-sanitize-recover=all", "-g"]
    compile_args += flags
    link_args += flags

config = merge(blas, {"extra_compile_args": compile_args, "extra_link_args": link_args,
                      "include_dirs": [CSRC]})
build_flags = f"blas={blas_name} openmp={int(openmp)} sanitize={int(sanitize)} cuda=0"

ffi = FFI()
ffi.cdef(read_cdef())
ffi.set_source(
    "minigrad._C",
    f'/* build flags: {build_flags} */\n#include "minigrad.h"\n',
    sources=sorted(glob.glob(os.path.join(CSRC, "*.c"))),
    depends=sorted(glob.glob(os.path.join(CSRC, "*.h")) + glob.glob(os.path.join(CSRC, "*.inc"))),
    py_limited_api=True,
    **config,
)

if __name__ == "__main__":
    print(build_flags)
