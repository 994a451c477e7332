"""Counter-based random numbers: a pure-Python Philox4x32-10 (checked on
Random123's known-answer vectors) as the bit-exact oracle, reproducibility,
independence from the thread count, the [low, high) bound, distribution checks
(Kolmogorov-Smirnov for uniform and normal, frequency for bernoulli), and bad
arguments."""
import math

import numpy as np
import pytest

import minigrad
from minigrad._native import ffi, lib
from minigrad.backend.cpu import advance, bernoulli, normal, uniform


# ---- a reference Philox4x32-10 ------------------------------------------------

MASK = 0xFFFFFFFF


def philox4x32_10(ctr, key):
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for _ in range(10):
        p0, p1 = 0xD2511F53 * c0, 0xCD9E8D57 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & MASK, p1 & MASK, \
            ((p0 >> 32) ^ c3 ^ k1) & MASK, p0 & MASK
        k0, k1 = (k0 + 0x9E3779B9) & MASK, (k1 + 0xBB67AE85) & MASK
    return c0, c1, c2, c3


# Random123's tests/kat_vectors, the three "philox4x32 10" lines: ctr, key, result.
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8)),
    ((MASK,) * 4, (MASK, MASK), (0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd)),
    ((0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344), (0xa4093822, 0x299f31d0),
     (0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1)),
]


def words(seed, offset, block, sub):
    c = (offset + block) % 2**64
    return philox4x32_10((c & MASK, c >> 32, sub, 0), (seed & MASK, seed >> 32))


def oracle_uniforms(seed, offset, n, dtype):
    """The uniforms in [0, 1) that element i of a draw is built from (see random.c)."""
    out = []
    for i in range(n):
        block, lane = divmod(i, 4)
        if np.dtype(dtype) == np.float32:
            out.append((words(seed, offset, block, 0)[lane] >> 8) * 2.0**-24)
        else:
            w = words(seed, offset, block, lane // 2)
            bits = (w[2 * (lane % 2) + 1] << 32) | w[2 * (lane % 2)]
            out.append((bits >> 11) * 2.0**-53)
    return np.array(out, np.float64)


SEEDS = [0, 1, 2**40 + 7, 2**64 - 1]
OFFSETS = [0, 5, 2**32 - 2, 2**64 - 2]  # the last two carry into the high word / wrap


# ---- bit-exact against the reference --------------------------------------------------

@pytest.mark.parametrize("ctr,key,want", KAT)
def test_reference_philox_matches_known_answers(ctr, key, want):
    assert philox4x32_10(ctr, key) == want


def test_first_numbers_are_the_known_answer_vector():
    u = uniform(4, np.float32, 0, 0)
    want = [(w >> 8) * 2.0**-24 for w in KAT[0][2]]
    np.testing.assert_array_equal(u, np.array(want, np.float32))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("offset", OFFSETS)
def test_draws_match_reference_bit_for_bit(dtype, seed, offset):
    n = 11  # two full blocks and a partial one
    u = oracle_uniforms(seed, offset, 12, dtype)  # the whole last block (normal pairs)
    np.testing.assert_array_equal(uniform(n, dtype, seed, offset), u[:n].astype(dtype))
    np.testing.assert_array_equal(bernoulli(n, dtype, seed, offset, 0.5),
                                  (u[:n] < 0.5).astype(dtype))
    z = normal(n, dtype, seed, offset, 0.0, 1.0)
    want = []
    for i in range(n):
        pair = i - i % 2
        radius = math.sqrt(-2.0 * math.log(1.0 - u[pair]))
        angle = 2 * math.pi * u[pair + 1]
        want.append(radius * (math.cos(angle) if i % 2 == 0 else math.sin(angle)))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(z, want, **tol)


# ---- reproducibility ------------------------------------------------------------------------

def test_same_seed_and_offset_repeat_and_others_differ(dtype):
    a = uniform((5, 7), dtype, 42, 100)
    np.testing.assert_array_equal(a, uniform((5, 7), dtype, 42, 100))
    assert not np.array_equal(a, uniform((5, 7), dtype, 42, 101))
    assert not np.array_equal(a, uniform((5, 7), dtype, 43, 100))
    np.testing.assert_array_equal(normal(9, dtype, 1, 2), normal(9, dtype, 1, 2))
    assert not np.array_equal(normal(9, dtype, 1, 2), normal(9, dtype, 1, 3))


def test_offset_counts_blocks_of_four(dtype):
    """counter = offset + element // 4: skipping m blocks is the same as offset + m,
    and a draw advanced by advance(n) never overlaps the previous one."""
    n, m = 30, 3
    full = uniform(n, dtype, 7, 1000)
    np.testing.assert_array_equal(full[4 * m:], uniform(n - 4 * m, dtype, 7, 1000 + m))
    nxt = uniform(8, dtype, 7, 1000 + advance(n))
    np.testing.assert_array_equal(nxt, uniform(n + 2 + 8, dtype, 7, 1000)[32:40])


def test_advance():
    assert [advance(n) for n in (0, 1, 3, 4, 5, 8, 9)] == [0, 1, 1, 1, 2, 2, 3]
    assert advance(10**15) == 25 * 10**13
    assert lib.mg_random_advance(-5) == 0


def test_thread_count_does_not_change_results(thread_knobs):
    runs = []
    for t in (1, 2, 3):
        minigrad.set_num_threads(t)
        runs.append([fn((301, 333), dt, 9, 77, *args)
                     for dt in (np.float32, np.float64)
                     for fn, args in ((uniform, (-1.0, 2.0)), (normal, (0.5, 2.0)),
                                      (bernoulli, (0.25,)))])
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            assert a.tobytes() == b.tobytes()


# ---- distributions --------------------------------------------------------------------------

def ks_statistic(sample, cdf):
    """Kolmogorov-Smirnov distance between the sample's empirical CDF and `cdf`."""
    x = np.sort(np.asarray(sample, np.float64))
    n = len(x)
    f = cdf(x)
    return max((np.arange(1, n + 1) / n - f).max(), (f - np.arange(n) / n).max())


N = 20_000
KS_LIMIT = 1.63 / math.sqrt(N)  # the 1% critical value


def test_uniform_distribution(dtype):
    x = uniform(N, dtype, 123, 0, -2.0, 3.0)
    assert x.dtype == dtype and x.shape == (N,)
    assert x.min() >= -2.0 and x.max() < 3.0
    assert ks_statistic(x, lambda v: (v + 2.0) / 5.0) < KS_LIMIT
    assert abs(x.mean() - 0.5) < 4 * 5 / math.sqrt(12 * N)


def test_normal_distribution(dtype):
    x = normal(N, dtype, 321, 0, 3.0, 2.0)
    assert np.isfinite(x).all()
    phi = np.vectorize(lambda v: 0.5 * (1 + math.erf((v - 3.0) / (2.0 * math.sqrt(2)))))
    assert ks_statistic(x, phi) < KS_LIMIT
    assert abs(x.mean() - 3.0) < 4 * 2.0 / math.sqrt(N)
    assert abs(x.std() - 2.0) < 0.05
    np.testing.assert_array_equal(normal(10, dtype, 1, 1, 1.5, 0.0), np.full(10, 1.5, dtype))


@pytest.mark.parametrize("p", [0.0, 0.01, 0.3, 0.5, 1.0])
def test_bernoulli_frequency(dtype, p):
    x = bernoulli(100_000, dtype, 5, 0, p)
    assert set(np.unique(x)) <= {0.0, 1.0}
    sigma = math.sqrt(p * (1 - p) / x.size)
    assert abs(x.mean() - p) <= 4 * sigma + 1e-12


def test_uniform_never_returns_high():
    """Cases where low + (high - low) * u must round up to `high` for some u:
    the kernel clamps to the largest value below it."""
    f32, f64 = np.float32, np.float64
    lo = float(np.nextafter(f32(1.0), f32(0.0)))  # the float32 just below 1
    x = uniform(10_000, f32, 1, 0, lo, 1.0)
    assert (x == f32(lo)).all()
    x = uniform(10_000, f32, 2, 0, 0.0, float(np.nextafter(f32(0), f32(1))))
    assert (x == 0).all()  # the only float32 in [0, smallest subnormal)
    x = uniform(10_000, f64, 3, 0, 1.0, float(np.nextafter(1.0, 2.0)))
    assert (x == 1.0).all()
    x = uniform(100_000, f32, 4, 0, 1.0, 2.0)
    assert x.min() >= 1.0 and x.max() < 2.0
    assert (uniform(5, f32, 1, 0, 2.5, 2.5) == 2.5).all()  # low == high: low


# ---- bad arguments -------------------------------------------------------------------------

def test_bad_arguments():
    with pytest.raises(TypeError, match="float32 or float64"):
        uniform(3, np.int64, 0, 0)
    with pytest.raises(TypeError, match="float32 or float64"):
        normal(3, "float16", 0, 0)
    with pytest.raises(ValueError, match="negative"):
        uniform((2, -1), np.float32, 0, 0)
    with pytest.raises(TypeError, match="shape"):
        uniform(2.5, np.float32, 0, 0)
    with pytest.raises(ValueError, match="seed"):
        uniform(3, np.float32, -1, 0)
    with pytest.raises(ValueError, match="offset"):
        uniform(3, np.float32, 0, 2**64)
    with pytest.raises(TypeError, match="seed"):
        uniform(3, np.float32, 1.5, 0)
    with pytest.raises(ValueError, match="low <= high"):
        uniform(3, np.float32, 0, 0, 2.0, 1.0)
    with pytest.raises(ValueError, match="finite"):
        uniform(3, np.float32, 0, 0, 0.0, math.inf)
    with pytest.raises(ValueError, match="finite range"):
        uniform(3, np.float64, 0, 0, -1e308, 1e308)
    with pytest.raises(ValueError, match="std"):
        normal(3, np.float32, 0, 0, 0.0, -1.0)
    with pytest.raises(ValueError, match="p must"):
        bernoulli(3, np.float32, 0, 0, 1.5)
    with pytest.raises(ValueError, match="finite"):
        bernoulli(3, np.float32, 0, 0, math.nan)
    with pytest.raises(ValueError, match="advance"):
        advance(-1)
    assert uniform((2, 0), np.float32, 0, 0).shape == (2, 0)


def test_c_entry_points_validate():
    out = ffi.new("double[4]")
    f64 = lib.MG_FLOAT64
    assert lib.mg_random_uniform(lib.MG_INT64, 4, 0, 0, 0.0, 1.0, out) == lib.MG_ERR_DTYPE
    assert lib.mg_random_uniform(f64, -1, 0, 0, 0.0, 1.0, out) == lib.MG_ERR_SIZE
    assert lib.mg_random_uniform(f64, 4, 0, 0, 0.0, 1.0, ffi.NULL) == lib.MG_ERR_NULL
    assert lib.mg_random_uniform(f64, 4, 0, 0, 1.0, 0.0, out) == lib.MG_ERR_OP
    assert lib.mg_random_uniform(f64, 4, 0, 0, math.nan, 1.0, out) == lib.MG_ERR_OP
    assert lib.mg_random_normal(f64, 4, 0, 0, 0.0, -1.0, out) == lib.MG_ERR_OP
    assert lib.mg_random_normal(f64, 4, 0, 0, math.inf, 1.0, out) == lib.MG_ERR_OP
    assert lib.mg_random_bernoulli(f64, 4, 0, 0, -0.1, out) == lib.MG_ERR_OP
    assert lib.mg_random_bernoulli(f64, 4, 0, 0, math.nan, out) == lib.MG_ERR_OP
    assert lib.mg_random_bernoulli(f64, 0, 0, 0, 0.5, ffi.NULL) == lib.MG_OK
