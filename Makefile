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

PYTHON3 ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
PYTEST  := $(VENV)/bin/pytest
# Benchmarks and sanitizer runs pin threads so ratios are repeatable on shared machines.
PIN     := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

.PHONY: all venv build test test-kernels test-variants sanitize bench bench-quality run torch clean

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
