/*
 * random.c -- counter-based random numbers (Philox4x32-10).
 *
 * Philox (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as
 * 1, 2, 3", SC'11) maps a 128-bit counter and a 64-bit key to 128 random bits
 * through 10 rounds of multiply-and-xor (philox.h, shared with random.cu).
 * It keeps no state: the caller owns (seed, offset) and moves offset forward
 * by mg_random_advance(n) per draw.
 *
 * How a draw of n elements uses the counter:
 *   key     = seed (low word, high word)
 *   counter = (offset + b as two words, sub, 0) for element block b = i / 4
 * Each block of 4 elements takes one Philox call (float32: 24 bits per
 * element from one word) or two calls with sub = 0 and 1 (float64: 53 bits
 * per element from two words).  So element i is a pure function of
 * (seed, offset, i, dtype) -- any thread may compute any block -- and every
 * draw of n elements moves the counter by ceil(n / 4), whatever its dtype.
 *
 * Distributions, all from uniforms u in [0, 1):
 *   uniform   low + (high - low) * u, clamped below `high` (rounding can
 *             reach it), so the result lies in [low, high)
 *   normal    Box-Muller on the pairs of a block: u1 = 1 - u in (0, 1], so
 *             log(u1) is finite; z = sqrt(-2 log u1) * (cos, sin)(2 pi u2)
 *   bernoulli 1 if u < p, else 0
 */
#include <math.h>
#include <string.h>
#include <tgmath.h>

#include "core.h"
#include "philox.h"
#include "random_args.h"

#define MG_TYPED_FILE "random_typed.inc"
#include "for_each_float.h"

uint64_t mg_random_advance(int64_t n) {
    return n <= 0 ? 0 : ((uint64_t)n + 3) / 4;
}

int mg_random_uniform(int dtype, int64_t n, uint64_t seed, uint64_t offset,
                      double low, double high, void *out) {
    int status = mg_random_check_uniform(dtype, n, low, high, out);
    if (status != MG_OK) return status;
    if (dtype == MG_FLOAT32)
        uniform_f32(n, seed, offset, low, high, out);
    else
        uniform_f64(n, seed, offset, low, high, out);
    return MG_OK;
}

int mg_random_normal(int dtype, int64_t n, uint64_t seed, uint64_t offset,
                     double mean, double std, void *out) {
    int status = mg_random_check_normal(dtype, n, mean, std, out);
    if (status != MG_OK) return status;
    if (dtype == MG_FLOAT32)
        normal_f32(n, seed, offset, mean, std, out);
    else
        normal_f64(n, seed, offset, mean, std, out);
    return MG_OK;
}

int mg_random_bernoulli(int dtype, int64_t n, uint64_t seed, uint64_t offset,
                        double p, void *out) {
    int status = mg_random_check_bernoulli(dtype, n, p, out);
    if (status != MG_OK) return status;
    if (dtype == MG_FLOAT32)
        bernoulli_f32(n, seed, offset, p, out);
    else
        bernoulli_f64(n, seed, offset, p, out);
    return MG_OK;
}
