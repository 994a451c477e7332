#!/usr/bin/env bash
# The GPU check, in one command on a machine with an NVIDIA GPU, nvcc and PyTorch:
#
#   bash benchmarks/gpu_check.sh            (results in $OUT, else benchmarks/results/)
#
# 1. installs the wheels carried in .whl/ (cffi, pycparser, scipy-openblas32: `make
#    gpu-wheels` downloads them on a machine with a network) when cffi is missing;
# 2. builds the CUDA variant in place (MINIGRAD_CUDA=1, cuBLAS when the nvidia-cublas
#    wheel is there; MINIGRAD_CUDA_ARCH picks the GPU generation, default sm_90);
# 3. runs the CUDA tests with MINIGRAD_REQUIRE_CUDA=1, so a test that would skip fails;
# 4. benchmarks RNN training on the GPU beside PyTorch's cuDNN (benchmarks/rnn_gpu.py)
#    and trains the char-RNN for a few hundred steps with --device cuda.
# Every step's output goes to a file in the results folder; the script stops at the
# first failure (the files so far stay).
set -uo pipefail
cd "$(dirname "$0")/.."
RESULTS="${OUT:-benchmarks/results}"
mkdir -p "$RESULTS"
PY="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1
status=0

step() {  # step NAME COMMAND...: run, log to $RESULTS/NAME.txt, remember a failure
    local name="$1"; shift
    echo "== $name: $*"
    local start=$SECONDS
    if "$@" > >(tee "$RESULTS/$name.txt") 2>&1; then
        echo "== $name: ok ($((SECONDS - start)) s)"
    else
        echo "== $name: FAILED ($((SECONDS - start)) s)"
        status=1
    fi
}

if ! "$PY" -c "import cffi, pycparser, scipy_openblas32" 2>/dev/null; then
    ls .whl/*.whl >/dev/null 2>&1 || { echo "no cffi here and no wheels in .whl/ (make gpu-wheels)"; exit 1; }
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/minigrad_site .whl/*.whl || exit 1
    export PYTHONPATH="/tmp/minigrad_site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"   # the in-place build, not an install

command -v nvcc >/dev/null || export PATH="$PATH:/usr/local/cuda/bin"
cublas=0
"$PY" -c "import nvidia.cu13" 2>/dev/null && cublas=1
export MINIGRAD_CUDA=1 MINIGRAD_CUBLAS="${MINIGRAD_CUBLAS:-$cublas}"
step build "$PY" setup.py -q build_ext --inplace
if [ $status -ne 0 ] && [ "$MINIGRAD_CUBLAS" = 1 ]; then
    # the tiled kernel needs nothing beyond the toolkit: better a check without cuBLAS
    # than none
    echo "== the cuBLAS build failed; building with minigrad's own gemm instead"
    status=0 MINIGRAD_CUBLAS=0
    step build_without_cublas "$PY" setup.py -q build_ext --inplace
fi
[ $status -eq 0 ] || exit 1
step device "$PY" -c "import minigrad; print(minigrad.BUILD_INFO); minigrad.cuda.require('gpu_check'); \
print(minigrad.cuda.device_count(), 'device(s):', minigrad.cuda.get_device_name(0), \
'| free/total bytes', minigrad.cuda.memory_info())"
[ $status -eq 0 ] || exit 1

export MINIGRAD_REQUIRE_CUDA=1
# a kernel that hangs fails its test after TEST_TIMEOUT seconds instead of eating the run
timeout_flags=()
"$PY" -c "import pytest_timeout" 2>/dev/null && timeout_flags=(--timeout "${TEST_TIMEOUT:-120}")
step tests "$PY" -m pytest -q -p no:cacheprovider -rfE --tb=short "${timeout_flags[@]}" \
    --durations 10 tests/cuda tests/devices \
    "tests/examples/test_char_rnn.py::test_train_resume_and_sample_on_cuda" \
    "tests/examples/test_char_rnn.py::test_auto_threads_are_not_timed_on_a_gpu"
step bench_rnn "$PY" benchmarks/rnn_gpu.py --budget "${BENCH_BUDGET:-10}" \
    --json "$RESULTS/rnn_gpu.json"
step char_rnn "$PY" examples/char_rnn.py train --device cuda --steps 300 --eval-every 100 \
    --progress plain --out /tmp/minigrad_char_rnn_gpu
exit $status
