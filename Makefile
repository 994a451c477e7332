# minigrad -- every target sets itself up: a fresh clone needs only `make test` or `make run`.
#
#   make test        venv + editable install + rebuild the C core + the whole test suite
#   make run         the same set-up, then the main example
#   make bench       benchmarks (ratios against numpy and PyTorch, medians)
#   make bench-quality  char-RNN validation loss and time-to-loss beside PyTorch (~20 min)
#   make docs        regenerate docs/walkthrough.md (tape, graph, experiments)
#   make sanitize    C core under AddressSanitizer + UBSan, kernel tests
#   make test-variants  kernel tests of the no-BLAS / no-OpenMP build
#   make build       rebuild the C core in place (needed after editing csrc/)
#   make cuda        rebuild in place with the CUDA backend (needs nvcc; MINIGRAD_CUDA_ARCH, MINIGRAD_CUBLAS)
#   make test-cuda-build  CI without a GPU: the CUDA variant builds, imports, sees no device
#   make gpu-check   on a GPU machine: CUDA build, CUDA tests, GPU benchmark (gpu-wheels first)

PYTHON3 ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
PYTEST  := $(VENV)/bin/pytest
# Benchmarks and sanitizer runs pin threads so ratios are repeatable on shared machines.
PIN     := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

.PHONY: all venv build cuda test test-kernels test-variants test-cuda-build gpu-wheels gpu-check sanitize bench bench-quality run torch clean

all: test

$(STAMP): pyproject.toml setup.py
	$(PYTHON3) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

venv: $(STAMP)

# PyTorch for the parity tests and benchmarks: pinned to the CPU wheel.
torch: $(STAMP)
	$(PY) -m pip install -q 'torch==2.13.0'

# Editable installs never rebuild C: do it here (about a second when up to date).
# flock: parallel `make build`s (several shells, several helpers) take turns.
build: $(STAMP)
	flock .build.lock $(PY) setup.py -q build_ext --inplace

# The CUDA variant: nvcc compiles csrc/cuda/*.cu into build/cuda/*.o (only the stale ones),
# linked with the static CUDA runtime into the same minigrad/_C module.  MINIGRAD_CUDA_ARCH
# (default 90) and MINIGRAD_CUBLAS=1 pass through from the environment.
cuda: $(STAMP)
	MINIGRAD_CUDA=1 flock .build.lock $(PY) setup.py -q build_ext --inplace

test: build
	$(PYTEST) -q

test-kernels: build
	$(PYTEST) -q tests/kernels

# The build that degrades: no BLAS (our own gemm), no OpenMP (serial loops).
test-variants: $(STAMP)
	MINIGRAD_BLAS=none MINIGRAD_OPENMP=0 $(PY) setup.py -q build_ext --inplace
	$(PY) -c "import minigrad; print(minigrad.BUILD_INFO)"
	$(PYTEST) -q tests/kernels
	$(PY) setup.py -q build_ext --inplace

# CI on machines without a GPU (nvcc installed): the CUDA variant builds, imports, says
# cuda=1 and "no device", and passes tests/cuda (the GPU tests skip); then the default
# build comes back.  On a GPU machine run the CUDA tests with MINIGRAD_REQUIRE_CUDA=1 instead.
test-cuda-build: $(STAMP)
	MINIGRAD_CUDA=1 $(PY) setup.py -q build_ext --inplace
	$(PY) -c "import minigrad; print(minigrad.BUILD_INFO); \
	  assert minigrad.BUILD_INFO['cuda'] == '1', 'not the CUDA variant'; \
	  assert minigrad.cuda.is_available() is False, 'a CUDA device is visible: this target is for machines without one'; \
	  from minigrad._native import lib; from minigrad.backend.cuda import runtime; \
	  missing = [n for n in runtime.KERNELS if not hasattr(lib, 'mg_cuda_' + n)]; \
	  assert not missing, 'kernels the CUDA table calls but the build lacks: %s' % missing; \
	  print('minigrad.cuda.is_available() is False:', minigrad.cuda.last_error())"
	$(PYTEST) -q tests/cuda
	$(PY) setup.py -q build_ext --inplace

# For a GPU machine without a network (Python 3.12): the wheels the build needs there, into
# .whl/ (ignored by git); benchmarks/gpu_check.sh installs them and runs the whole GPU check.
GPU_WHEELS := cffi==2.1.1 pycparser==3.12 scipy-openblas32==0.3.34.481.3
gpu-wheels:
	$(PYTHON3) -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
	  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
	  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
	  --platform manylinux1_x86_64 -d .whl $(GPU_WHEELS)

gpu-check:
	bash benchmarks/gpu_check.sh

sanitize: $(STAMP)
	MINIGRAD_SANITIZE=1 $(PY) setup.py -q build_ext --inplace
	LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libubsan.so)" \
	  ASAN_OPTIONS=detect_leaks=0 PYTHONMALLOC=malloc \
	  $(PYTEST) -q -p no:cacheprovider tests/kernels
	$(PY) setup.py -q build_ext --inplace

bench: build
	$(PY) benchmarks/run_all.py

# The char-RNN quality/speed measurement beside PyTorch (about 20 minutes).
bench-quality: build
	$(PY) benchmarks/char_rnn.py --full

run: build
	@$(PY) -c "import tqdm, matplotlib" 2>/dev/null || $(PY) -m pip install -q -e '.[examples]' || echo "(tqdm/matplotlib not installed: plain progress lines, no loss-curve PNG)"
	$(PY) examples/char_rnn.py train

clean:
	rm -rf build *.egg-info minigrad/_C*.so minigrad/_C.c

# docs/walkthrough.md: one LSTM step from Python to C, then the two recurrent-net experiments
# (reuses the saved default runs in docs/data; `$(PY) docs/make_docs.py --rerun` runs them again).
.PHONY: docs
docs: build
	$(PY) docs/make_docs.py
