/*
 * philox.h -- the Philox4x32-10 counter-based generator and the uniforms in
 * [0, 1) it gives one counter block, shared by the CPU's random.c and the
 * GPU's random.cu so that a seeded program draws the same numbers on either
 * device (the counter layout is described in random.c).
 *
 * Philox (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as
 * 1, 2, 3", SC'11) maps a 128-bit counter and a 64-bit key to 128 random bits
 * through 10 rounds of multiply-and-xor.  Everything here is MG_HOST_DEVICE:
 * plain C for gcc, __host__ __device__ functions for nvcc.
 */
#ifndef MINIGRAD_PHILOX_H
#define MINIGRAD_PHILOX_H

#include <stdint.h>

#include "host_device.h"

/* Philox4x32 constants: the multipliers, and the key increments (the golden
 * ratio and sqrt(3) - 1 as 32-bit fractions). */
#define MG_PHILOX_M0 0xD2511F53u
#define MG_PHILOX_M1 0xCD9E8D57u
#define MG_PHILOX_W0 0x9E3779B9u
#define MG_PHILOX_W1 0xBB67AE85u

/* out = Philox4x32-10(counter = (block low, block high, sub, 0), key = seed).
 * The 32x32 -> 64-bit products compile to one wide multiply on the GPU. */
static inline MG_HOST_DEVICE void mg_philox4x32_10(uint64_t seed, uint64_t block, uint32_t sub,
                                                   uint32_t out[4]) {
    uint32_t c0 = (uint32_t)block, c1 = (uint32_t)(block >> 32), c2 = sub, c3 = 0;
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        const uint64_t p0 = (uint64_t)MG_PHILOX_M0 * c0;
        const uint64_t p1 = (uint64_t)MG_PHILOX_M1 * c2;
        const uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        const uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
        k0 += MG_PHILOX_W0;
        k1 += MG_PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* Four uniforms in [0, 1) for counter block `block`: the top 24 bits of each
 * word, times 2^-24 (exact in float). */
static inline MG_HOST_DEVICE void mg_philox_uniform4_f32(uint64_t seed, uint64_t block,
                                                         float u[4]) {
    uint32_t w[4];
    mg_philox4x32_10(seed, block, 0, w);
    for (int l = 0; l < 4; l++) u[l] = (float)(w[l] >> 8) * 0x1.0p-24f;
}

/* The same for float64: 53 bits from each pair of words, two Philox calls
 * (sub = 0 gives lanes 0-1, sub = 1 lanes 2-3). */
static inline MG_HOST_DEVICE void mg_philox_uniform4_f64(uint64_t seed, uint64_t block,
                                                         double u[4]) {
    for (uint32_t sub = 0; sub < 2; sub++) {
        uint32_t w[4];
        mg_philox4x32_10(seed, block, sub, w);
        for (int l = 0; l < 2; l++) {
            const uint64_t bits = ((uint64_t)w[2 * l + 1] << 32) | w[2 * l];
            u[2 * sub + l] = (double)(bits >> 11) * 0x1.0p-53;
        }
    }
}

#endif /* MINIGRAD_PHILOX_H */
