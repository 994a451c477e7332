/*
 * fma_peak.c -- this CPU's float32 multiply-add peak, measured.
 *
 * The benchmarks report how much of the peak a layer reaches.  The peak is
 * what this core does when it does nothing but multiply-adds: CHAINS
 * independent chains a = a * x + y in the widest vectors the CPU has (as the
 * packed gemm kernels pick them), enough chains to cover the instruction's
 * latency on every FMA unit.  Each thread runs its own chains; the caller
 * times the call and divides the flops this returns by the time.
 */
#include "core.h" /* (and omp.h, in an OpenMP build) */

/* Independent chains: latency 4 cycles x 2 FMA units needs 8; 12 leaves room. */
#define CHAINS 12

/* `rounds` steps of every chain with vectors of `lanes` floats; the sum of the
 * chains goes to *sink so that the compiler keeps the work.  x < 1 and y > 0:
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
        *sink = sum;                                                               \
    } while (0)

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
typedef float v16f __attribute__((vector_size(64)));
typedef float v8f __attribute__((vector_size(32)));

__attribute__((target("avx512f,avx2,fma"))) static void chains_avx512(int64_t rounds,
                                                                       float *sink) {
    FMA_CHAINS_BODY(v16f, 16);
}

__attribute__((target("avx2,fma"))) static void chains_avx2(int64_t rounds, float *sink) {
    FMA_CHAINS_BODY(v8f, 8);
}
#endif

typedef float v4f __attribute__((vector_size(16)));

static void chains_portable(int64_t rounds, float *sink) { FMA_CHAINS_BODY(v4f, 4); }

/* The chains of one thread in the widest vectors this CPU runs; returns their flops. */
static double run_chains(int64_t rounds, float *sink) {
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) {
        chains_avx512(rounds, sink);
        return 2.0 * 16 * CHAINS * (double)rounds;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        chains_avx2(rounds, sink);
        return 2.0 * 8 * CHAINS * (double)rounds;
    }
#endif
    chains_portable(rounds, sink);
    return 2.0 * 4 * CHAINS * (double)rounds;
}

int mg_fma_peak_probe(int64_t rounds, int threads, double *flops) {
    MG_CHECK(rounds >= 0 && threads >= 1, MG_ERR_SIZE);
    MG_CHECK(flops != NULL, MG_ERR_NULL);
    double total = 0.0;
    float sink = 0.0f;
#ifdef _OPENMP
    MG_PRAGMA(omp parallel num_threads(threads) reduction(+ : total))
    {
        float mine;
        total += run_chains(rounds, &mine);
        if (omp_get_thread_num() == 0) sink = mine;
    }
#else
    total = run_chains(rounds, &sink);
#endif
    *flops = sink == sink ? total : 0.0; /* (sink read: the chains are not dead code) */
    return MG_OK;
}
