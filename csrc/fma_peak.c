/*
 * fma_peak.c -- this CPU's float32 multiply-add peak, measured.
 *
 * The benchmarks report how much of the peak a layer reaches.  The peak is
 * what this core does when it does nothing but multiply-adds: CHAINS
 * independent chains a = a * x + y in the vectors of the packed gemm's
 * micro-kernel (mg_packed_best_kernel), enough chains to cover the instruction's
 * latency on every FMA unit.  Each thread runs its own chains; the caller
 * times the call and divides the flops this returns by the time.
 */
#include "core.h" /* (and omp.h, in an OpenMP build) */
#include "gemm_packed.h"

/* Independent chains: latency 4 cycles x 2 FMA units needs 8; 12 leaves room. */
#define CHAINS 12

/* Where the chains' sums go, so that the compiler keeps the work. */
static volatile float fma_sink;

/* `rounds` steps of every chain with vectors of `lanes` floats.  x < 1 and y > 0:
 * every chain converges to y / (1 - x), far from overflow and subnormals. */
#define FMA_CHAINS_BODY(V, lanes)                                                  \
    do {                                                                           \
        V a[CHAINS], x, y;                                                         \
        for (int j = 0; j < (lanes); j++) {                                        \
            x[j] = 0.999f;                                                         \
            y[j] = 0.001f;                                                         \
        }                                                                          \
        for (int c = 0; c < CHAINS; c++) a[c] = x * (float)c;                      \
        for (int64_t r = 0; r < rounds; r++)                                       \
            for (int c = 0; c < CHAINS; c++) a[c] = a[c] * x + y;                  \
        float sum = 0.0f;                                                          \
        for (int c = 0; c < CHAINS; c++)                                           \
            for (int j = 0; j < (lanes); j++) sum += a[c][j];                      \
        fma_sink = sum;                                                            \
    } while (0)

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
typedef float v16f __attribute__((vector_size(64)));
typedef float v8f __attribute__((vector_size(32)));

__attribute__((target("avx512f,avx2,fma"))) static void chains_avx512(int64_t rounds) {
    FMA_CHAINS_BODY(v16f, 16);
}

__attribute__((target("avx2,fma"))) static void chains_avx2(int64_t rounds) {
    FMA_CHAINS_BODY(v8f, 8);
}
#endif

typedef float v4f __attribute__((vector_size(16)));

static void chains_portable(int64_t rounds) { FMA_CHAINS_BODY(v4f, 4); }

/* One thread's chains in the micro-kernel's vectors; returns their flops. */
static double run_chains(int64_t rounds) {
    int lanes = 4;
    switch (mg_packed_best_kernel()) {
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
    case MG_PACKED_AVX512: chains_avx512(rounds); lanes = 16; break;
    case MG_PACKED_AVX2: chains_avx2(rounds); lanes = 8; break;
#endif
    default: chains_portable(rounds); break;
    }
    return 2.0 * lanes * CHAINS * (double)rounds;
}

int mg_fma_peak_probe(int64_t rounds, int threads, double *flops) {
    MG_CHECK(rounds >= 0 && threads >= 1, MG_ERR_SIZE);
    MG_CHECK(flops != NULL, MG_ERR_NULL);
    double total = 0.0;
#ifdef _OPENMP
    MG_PRAGMA(omp parallel num_threads(threads) reduction(+ : total))
    total += run_chains(rounds);
#else
    total = run_chains(rounds);
#endif
    *flops = total;
    return MG_OK;
}
