/*
 * random.c -- counter-based random numbers (Philox4x32-10).
 *
 * Philox (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as
 * 1, 2, 3", SC'11) maps a 128-bit counter and a 64-bit key to 128 random bits
 * through 10 rounds of multiply-and-xor.  It keeps no state: the caller owns
 * (seed, offset) and moves offset forward by mg_random_advance(n) per draw.
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

/* Philox4x32 constants: the multipliers, and the key increments (the golden
 * ratio and sqrt(3) - 1 as 32-bit fractions). */
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

/* out = Philox4x32-10(counter = (block low, block high, sub, 0), key = seed). */
static inline void philox4x32_10(uint64_t seed, uint64_t block, uint32_t sub, uint32_t out[4]) {
    uint32_t c0 = (uint32_t)block, c1 = (uint32_t)(block >> 32), c2 = sub, c3 = 0;
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        const uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        const uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        const uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        const uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* Four uniforms in [0, 1) for counter block `block`: the top 24 bits of each
 * word, times 2^-24 (exact in float). */
static inline void uniform4_f32(uint64_t seed, uint64_t block, float u[4]) {
    uint32_t w[4];
    philox4x32_10(seed, block, 0, w);
    for (int l = 0; l < 4; l++) u[l] = (float)(w[l] >> 8) * 0x1.0p-24f;
}

/* The same for float64: 53 bits from each pair of words, two Philox calls. */
static inline void uniform4_f64(uint64_t seed, uint64_t block, double u[4]) {
    for (uint32_t sub = 0; sub < 2; sub++) {
        uint32_t w[4];
        philox4x32_10(seed, block, sub, w);
        for (int l = 0; l < 2; l++) {
            const uint64_t bits = ((uint64_t)w[2 * l + 1] << 32) | w[2 * l];
            u[2 * sub + l] = (double)(bits >> 11) * 0x1.0p-53;
        }
    }
}

#define MG_TYPED_FILE "random_typed.inc"
#include "for_each_float.h"

uint64_t mg_random_advance(int64_t n) {
    return n <= 0 ? 0 : ((uint64_t)n + 3) / 4;
}

static int check_draw(int dtype, int64_t n, void *out) {
    MG_CHECK(mg_is_float_dtype(dtype), MG_ERR_DTYPE);
    MG_CHECK(n >= 0, MG_ERR_SIZE);
    MG_CHECK(n == 0 || out != NULL, MG_ERR_NULL);
    return MG_OK;
}

int mg_random_uniform(int dtype, int64_t n, uint64_t seed, uint64_t offset,
                      double low, double high, void *out) {
    int status = check_draw(dtype, n, out);
    if (status != MG_OK) return status;
    MG_CHECK(isfinite(low) && isfinite(high) && low <= high && isfinite(high - low), MG_ERR_OP);
    if (dtype == MG_FLOAT32)
        uniform_f32(n, seed, offset, low, high, out);
    else
        uniform_f64(n, seed, offset, low, high, out);
    return MG_OK;
}

int mg_random_normal(int dtype, int64_t n, uint64_t seed, uint64_t offset,
                     double mean, double std, void *out) {
    int status = check_draw(dtype, n, out);
    if (status != MG_OK) return status;
    MG_CHECK(isfinite(mean) && isfinite(std) && std >= 0, MG_ERR_OP);
    if (dtype == MG_FLOAT32)
        normal_f32(n, seed, offset, mean, std, out);
    else
        normal_f64(n, seed, offset, mean, std, out);
    return MG_OK;
}

int mg_random_bernoulli(int dtype, int64_t n, uint64_t seed, uint64_t offset,
                        double p, void *out) {
    int status = check_draw(dtype, n, out);
    if (status != MG_OK) return status;
    MG_CHECK(p >= 0 && p <= 1, MG_ERR_OP); /* false for NaN too */
    if (dtype == MG_FLOAT32)
        bernoulli_f32(n, seed, offset, p, out);
    else
        bernoulli_f64(n, seed, offset, p, out);
    return MG_OK;
}
