"""The thread knobs of the C core: the thread count, shared by OpenMP and BLAS, and the
work from which kernel loops split across threads."""
import numpy as np
import pytest

import minigrad
from minigrad._native import lib
from minigrad.backend.cpu import elementwise, reduce


def test_thread_count(thread_knobs):
    minigrad.set_num_threads(2)
    # a build with neither OpenMP nor a BLAS has one thread, whatever is asked
    threaded = minigrad.BUILD_INFO["openmp"] == "1" or minigrad.BUILD_INFO["blas"] != "none"
    assert minigrad.get_num_threads() == (2 if threaded else 1)
    minigrad.set_num_threads(1)
    assert minigrad.get_num_threads() == 1
    with pytest.raises(ValueError, match="set_num_threads"):
        minigrad.set_num_threads(0)


def test_blas_is_kept_to_one_thread_beside_openmp(thread_knobs):
    # One pool of threads: in an OpenMP build mg_gemm shares products among OpenMP's
    # threads and BLAS runs each part on one; without OpenMP BLAS's threads are the pool.
    # (Checked first as imported: minigrad sets the knob when it loads.)
    openmp, blas = minigrad.BUILD_INFO["openmp"] == "1", minigrad.BUILD_INFO["blas"] != "none"
    for n in (None, 2, 1, 3):
        if n is not None:
            minigrad.set_num_threads(n)
        want = (1 if openmp else (n or minigrad.get_num_threads())) if blas else 0
        assert lib.mg_get_blas_num_threads() == want, n


def test_parallel_min_work(thread_knobs):
    # the default: starting the team costs more than small loops take
    assert minigrad.threads.get_parallel_min_work() == 1 << 16
    minigrad.threads.set_parallel_min_work(1000)
    assert minigrad.threads.get_parallel_min_work() == 1000
    with pytest.raises(ValueError, match="set_parallel_min_work"):
        minigrad.threads.set_parallel_min_work(0)
    lib.mg_set_parallel_min_work(-5)  # C clamps
    assert minigrad.threads.get_parallel_min_work() == 1


@pytest.mark.parametrize("min_work", [1, 4096, 1 << 19, 1 << 30])
def test_results_do_not_depend_on_the_split(thread_knobs, min_work):
    """Elementwise results are the same whether the loop is split or not; sums too
    (they are cut into fixed chunks whatever the threads)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal(200_003).astype(np.float32)
    b = rng.standard_normal(200_003).astype(np.float32)
    minigrad.set_num_threads(2)
    minigrad.threads.set_parallel_min_work(min_work)
    np.testing.assert_array_equal(elementwise.binary("mul", a, b), a * b)
    np.testing.assert_array_equal(elementwise.unary("neg", a), -a)
    minigrad.threads.set_parallel_min_work(1 << 30)
    serial = reduce("sum", a)
    minigrad.threads.set_parallel_min_work(min_work)
    assert reduce("sum", a).tobytes() == serial.tobytes()


def test_fma_peak_probe_counts_its_flops():
    # the benchmarks divide these flops by the call's time: every thread's chains count
    from minigrad._native import ffi
    flops = ffi.new("double *")
    assert lib.mg_fma_peak_probe(1000, 1, flops) == lib.MG_OK
    per_thread = flops[0]
    assert per_thread % (2 * 12 * 1000) == 0 and per_thread // (2 * 12 * 1000) in (4, 8, 16)
    threads = 2 if minigrad.BUILD_INFO["openmp"] == "1" else 1
    assert lib.mg_fma_peak_probe(1000, 2, flops) == lib.MG_OK
    assert flops[0] == threads * per_thread
    assert lib.mg_fma_peak_probe(0, 1, flops) == lib.MG_OK and flops[0] == 0
    assert lib.mg_fma_peak_probe(-1, 1, flops) == lib.MG_ERR_SIZE
    assert lib.mg_fma_peak_probe(10, 0, flops) == lib.MG_ERR_SIZE
    assert lib.mg_fma_peak_probe(10, 1, ffi.NULL) == lib.MG_ERR_NULL


@pytest.mark.parametrize("user_setting", [None, ("OMP_WAIT_POLICY", "PASSIVE"),
                                          ("GOMP_SPINCOUNT", "0")])
def test_load_settings_do_not_leak_into_the_environment(user_setting):
    # minigrad sets GOMP_SPINCOUNT for the OpenMP runtime it loads, then takes it out
    # again: PyTorch's own libgomp, loaded later, or a child process would otherwise
    # read it.  A user's own wait policy or spin count is left as it was (and ours is
    # not added beside it: GOMP_SPINCOUNT would override a user's OMP_WAIT_POLICY).
    import os
    import subprocess
    import sys
    names = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
    env = {k: v for k, v in os.environ.items() if k not in names}
    if user_setting is not None:
        env[user_setting[0]] = user_setting[1]
    code = "import os, minigrad; print(*(os.environ.get(n) for n in %r))" % (names,)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    expected = [str(env.get(name)) for name in names]
    assert out.stdout.split() == expected


@pytest.mark.parametrize("value, threads", [("3", "3"), ("abc", None), ("0", None), ("-2", None)])
def test_minigrad_num_threads_from_the_environment(value, threads):
    # A positive count is used; anything else is named in a warning and ignored (OpenMP's own
    # count), so that a typo in the environment does not stop `import minigrad`.
    import os
    import subprocess
    import sys
    env = dict(os.environ, MINIGRAD_NUM_THREADS=value)
    # (what set_num_threads(3) gives too: 3, or 1 in a build without OpenMP)
    code = ("import minigrad; n = minigrad.get_num_threads(); minigrad.set_num_threads(3); "
            "print(n, minigrad.get_num_threads())")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    at_import, three = (int(v) for v in out.stdout.split())
    if threads is not None:
        assert at_import == three and "MINIGRAD_NUM_THREADS" not in out.stderr
    else:
        assert at_import >= 1
        assert f"MINIGRAD_NUM_THREADS={value!r} is not a positive integer: ignored" in out.stderr
