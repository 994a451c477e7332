"""cffi (API mode) build description of minigrad's C core: ``minigrad._C``.

setuptools runs this file through ``setup(cffi_modules=[...])`` with the
project root as the working directory.  The build variant comes from the
environment:

    MINIGRAD_BLAS       auto (default) | scipy | system | none
                        auto: the scipy-openblas32 wheel if importable, else the
                        system OpenBLAS if its header is found, else none (our
                        own blocked gemm kernel).
    MINIGRAD_OPENMP     1 (default) | 0
    MINIGRAD_SANITIZE   1: -fsanitize=address,undefined,float-cast-overflow
    MINIGRAD_CUDA       1: also compile csrc/cuda/*.cu with nvcc (found on PATH)
                        and link them, with the static CUDA runtime, into the
                        same module; the cdef gains minigrad_cuda.h's block.
    MINIGRAD_CUDA_ARCH  GPU architectures for MINIGRAD_CUDA=1, default "90":
                        one SASS per listed arch plus PTX of the highest, e.g.
                        "80" or "75;90".
    MINIGRAD_CUBLAS     1 (with MINIGRAD_CUDA=1): gemm through cuBLAS, from the
                        nvidia-cublas wheel (nvidia/cu13) or else the toolkit.

How the CUDA variant is built: cffi calls the build_ext command's ``pre_run``
hook (setup.py) just before it writes the C source; the hook calls
``ffi.minigrad_pre_run``, defined here, which compiles each .cu file to
build/cuda/<name>.o (only when the .cu file, a CUDA header or a csrc/*.h header
is newer than the object, or the nvcc command changed) and hands the objects to
the linker.  Without MINIGRAD_CUDA=1 nothing CUDA is looked for, so editable
installs and default builds never need nvcc.

The chosen flags (the nvcc ones too) are written into the generated C source,
so changing a variable changes that file and setuptools rebuilds the module.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from cffi import FFI

CSRC = "csrc"
CUDA_SRC = os.path.join(CSRC, "cuda")
CUDA_BUILD = os.path.join("build", "cuda")
HEADER = os.path.join(CSRC, "minigrad.h")
CUDA_HEADER = os.path.join(CUDA_SRC, "minigrad_cuda.h")
SYSTEM_CBLAS_HEADERS = ("/usr/include/x86_64-linux-gnu/cblas.h", "/usr/include/cblas.h",
                        "/usr/include/aarch64-linux-gnu/cblas.h",
                        "/usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h")
# What the static CUDA runtime needs from the system when gcc links it into _C.
CUDART_LIBRARIES = ["cudart_static", "rt", "pthread", "dl", "stdc++"]


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


# ---- CUDA ------------------------------------------------------------------------------------

def find_nvcc():
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        sys.exit("build_ffi: MINIGRAD_CUDA=1 but nvcc is not on PATH (install the CUDA "
                 "toolkit, or add its bin/ folder to PATH)")
    return nvcc


def toolkit_root(nvcc):
    """The CUDA toolkit's root folder.  nvcc on PATH may be a wrapper script, so ask
    nvcc itself (the TOP= line of a dry run); fall back to <nvcc's real folder>/..."""
    try:
        run = subprocess.run([nvcc, "--dryrun", "-c", "minigrad_probe.cu"],
                             capture_output=True, text=True, timeout=60)
        match = re.search(r"^#\$ TOP=(.*)$", run.stdout + run.stderr, re.MULTILINE)
        if match:
            return os.path.realpath(match.group(1).strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return os.path.realpath(os.path.join(os.path.dirname(os.path.realpath(nvcc)), ".."))


def toolkit_lib_dir(root):
    for candidate in [os.path.join(root, "lib64")] + sorted(
            glob.glob(os.path.join(root, "targets", "*", "lib"))):
        if os.path.exists(os.path.join(candidate, "libcudart_static.a")):
            return candidate
    sys.exit(f"build_ffi: no libcudart_static.a under the CUDA toolkit at {root} "
             f"(looked in lib64/ and targets/*/lib/)")


def gencode_flags(value):
    """MINIGRAD_CUDA_ARCH ("90", "80", "75;90", "75,86 90") -> nvcc -gencode flags:
    SASS for each arch, plus PTX of the highest so newer GPUs can JIT it."""
    parts = [p for p in re.split(r"[;,\s]+", value.strip()) if p]
    if not parts or not all(p.isdigit() and int(p) >= 50 for p in parts):
        sys.exit(f"build_ffi: MINIGRAD_CUDA_ARCH={value!r} should list compute capabilities "
                 f"as numbers >= 50 separated by ';' (e.g. '90' or '75;90')")
    archs = sorted({int(p) for p in parts})
    flags = []
    for arch in archs:
        flags += ["-gencode", f"arch=compute_{arch},code=sm_{arch}"]
    flags += ["-gencode", f"arch=compute_{archs[-1]},code=compute_{archs[-1]}"]
    return flags


def cublas_config(root, toolkit_lib):
    """(include dir, library dir, library name) for cuBLAS: the nvidia-cublas wheel
    (CUDA 13 line, only a versioned .so) if importable, else the toolkit's own."""
    try:
        import nvidia  # namespace package of NVIDIA's wheels
        wheel_roots = [os.path.join(p, "cu13") for p in getattr(nvidia, "__path__", [])]
    except ImportError:
        wheel_roots = []
    for cu13 in wheel_roots:
        include, lib = os.path.join(cu13, "include"), os.path.join(cu13, "lib")
        if (os.path.exists(os.path.join(include, "cublas_v2.h"))
                and os.path.exists(os.path.join(lib, "libcublas.so.13"))):
            return include, lib, ":libcublas.so.13"
    include = os.path.join(root, "include")
    if (os.path.exists(os.path.join(include, "cublas_v2.h"))
            and os.path.exists(os.path.join(toolkit_lib, "libcublas.so"))):
        return include, toolkit_lib, "cublas"
    sys.exit("build_ffi: MINIGRAD_CUBLAS=1 but cuBLAS was not found: install the "
             "nvidia-cublas wheel (pip install nvidia-cublas, the CUDA 13 line) or a CUDA "
             f"toolkit with cuBLAS (none under {root})")


def cuda_config(use_cublas):
    """(nvcc command prefix, gcc/linker settings) for MINIGRAD_CUDA=1."""
    nvcc = find_nvcc()
    root = toolkit_root(nvcc)
    lib_dir = toolkit_lib_dir(root)
    nvcc_cmd = [nvcc, "-std=c++17", "-O3", "-Xcompiler", "-fPIC", "-Xcompiler", "-Wall",
                f"-I{CSRC}", f"-I{CUDA_SRC}"]
    nvcc_cmd += gencode_flags(os.environ.get("MINIGRAD_CUDA_ARCH", "90"))
    settings = {"define_macros": [("MG_WITH_CUDA", "1")], "include_dirs": [CUDA_SRC],
                "library_dirs": [lib_dir], "libraries": list(CUDART_LIBRARIES)}
    if use_cublas:
        include, cublas_lib, name = cublas_config(root, lib_dir)
        nvcc_cmd += ["-DMG_USE_CUBLAS=1", f"-I{include}"]
        settings["define_macros"].append(("MG_USE_CUBLAS", "1"))
        settings["library_dirs"].insert(0, cublas_lib)
        # cuBLAS before the static runtime, so the linker resolves in that order.
        settings["libraries"].insert(0, name)
        # $ORIGIN/..: the wheel beside minigrad in site-packages (a regular install);
        # the absolute folder: in-place and editable builds, where _C sits in the tree.
        settings["extra_link_args"] = ["-Wl,-rpath,$ORIGIN/../nvidia/cu13/lib",
                                       f"-Wl,-rpath,{cublas_lib}"]
    return nvcc_cmd, settings


def cuda_sources():
    return sorted(glob.glob(os.path.join(CUDA_SRC, "*.cu")))


def cuda_headers():
    """Everything a .cu file may include (the CUDA headers, and csrc/*.h: minigrad.h and the
    checks shared with the C core): a change to any of them recompiles them all."""
    return sorted(glob.glob(os.path.join(CUDA_SRC, "*.cuh")) + glob.glob(os.path.join(CUDA_SRC, "*.h"))
                  + glob.glob(os.path.join(CSRC, "*.h")))


def object_is_stale(obj, source, headers, command):
    """An object is rebuilt when missing, older than its sources, or built by another command
    (its .cmd file records the command that made it)."""
    try:
        built = os.path.getmtime(obj)
        with open(obj + ".cmd") as f:
            if f.read() != command:
                return True
    except OSError:
        return True
    return any(os.path.getmtime(path) > built for path in [source] + headers)


def compile_one(nvcc_cmd, source, obj):
    """Run nvcc on one file; returns None on success, else the error text."""
    command = nvcc_cmd + ["-c", source, "-o", obj]
    # one write per line: these run in parallel threads, and print() writes the text and
    # its newline separately, so two threads' lines could run together
    sys.stdout.write(f"nvcc {source} -> {obj}\n")  # the whole command is in <obj>.cmd
    sys.stdout.flush()
    run = subprocess.run(command, capture_output=True, text=True)
    output = (run.stdout + run.stderr).strip()
    if run.returncode != 0:
        for path in (obj, obj + ".cmd"):
            if os.path.exists(path):
                os.remove(path)
        return f"nvcc failed on {source} (exit {run.returncode}):\n{' '.join(command)}\n{output}"
    if output:  # warnings: show them, the build goes on
        sys.stdout.write(output + "\n")
        sys.stdout.flush()
    with open(obj + ".cmd", "w") as f:
        f.write(" ".join(nvcc_cmd))
    return None


def compile_cuda_objects(nvcc_cmd):
    """Compile csrc/cuda/*.cu into build/cuda/*.o (the stale ones, in parallel: nvcc is
    mostly single-threaded); returns every object path, in source order."""
    os.makedirs(CUDA_BUILD, exist_ok=True)
    headers = cuda_headers()
    command = " ".join(nvcc_cmd)
    jobs, objects = [], []
    for source in cuda_sources():
        obj = os.path.join(CUDA_BUILD, os.path.splitext(os.path.basename(source))[0] + ".o")
        objects.append(obj)
        if object_is_stale(obj, source, headers, command):
            jobs.append((source, obj))
    if jobs:
        workers = min(len(jobs), os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            errors = [e for e in pool.map(lambda job: compile_one(nvcc_cmd, *job), jobs) if e]
        if errors:
            sys.exit("build_ffi: " + "\n\n".join(errors))
    return objects


def make_pre_run(nvcc_cmd):
    """The hook setup.py's build_ext calls (through cffi) before the C source is written:
    compile the CUDA objects and add them to the extension's link, and to its depends so
    that a rebuilt object relinks _C."""
    def pre_run(ext):
        objects = compile_cuda_objects(nvcc_cmd)
        ext.extra_objects = list(ext.extra_objects or []) + objects
        ext.depends = list(ext.depends or []) + objects
    return pre_run


def merge(*configs):
    out = {}
    for config in configs:
        for key, values in config.items():
            out.setdefault(key, []).extend(values)
    return out


blas_choice = env_choice("MINIGRAD_BLAS", "auto", ("auto", "scipy", "system", "none"))
openmp = env_choice("MINIGRAD_OPENMP", "1", ("0", "1")) == "1"
sanitize = env_choice("MINIGRAD_SANITIZE", "0", ("0", "1")) == "1"
cuda = env_choice("MINIGRAD_CUDA", "0", ("0", "1")) == "1"
cublas = env_choice("MINIGRAD_CUBLAS", "0", ("0", "1")) == "1"
if cublas and not cuda:
    sys.exit("build_ffi: MINIGRAD_CUBLAS=1 needs MINIGRAD_CUDA=1 as well")

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

cdef = read_cdef()
preamble = '#include "minigrad.h"\n'
depends = sorted(glob.glob(os.path.join(CSRC, "*.h")) + glob.glob(os.path.join(CSRC, "*.inc")))
cuda_settings = {}
nvcc_cmd = None
if cuda:
    nvcc_cmd, cuda_settings = cuda_config(cublas)
    cdef += read_cdef(CUDA_HEADER)
    preamble += '#include "minigrad_cuda.h"\n'
    depends += cuda_sources() + cuda_headers()

config = merge(blas, {"extra_compile_args": compile_args, "extra_link_args": link_args,
                      "include_dirs": [CSRC]}, cuda_settings)
build_flags = (f"blas={blas_name} openmp={int(openmp)} sanitize={int(sanitize)} "
               f"cuda={int(cuda)} cublas={int(cublas)}")
variant = f"/* build flags: {build_flags} */\n"
if cuda:
    variant += f"/* nvcc: {' '.join(nvcc_cmd[1:])} */\n"

ffi = FFI()
ffi.cdef(cdef)
ffi.set_source(
    "minigrad._C",
    variant + preamble,
    sources=sorted(glob.glob(os.path.join(CSRC, "*.c"))),
    depends=sorted(set(depends)),
    py_limited_api=True,
    **config,
)
# setup.py's build_ext.pre_run looks for this; absent in builds without CUDA.
if cuda:
    ffi.minigrad_pre_run = make_pre_run(nvcc_cmd)

if __name__ == "__main__":
    print(build_flags)
    if cuda:
        print("nvcc:", " ".join(nvcc_cmd))
