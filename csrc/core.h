/*
 * core.h -- private helpers shared by the C core's files: argument checks,
 * dtype sizes, parallel loops and column tiles.  Not part of the public API.
 * (check.h holds the checks the CUDA files share, simd.h the vectorisation
 * switches, for_each_float.h the per-dtype instantiation of typed files.)
 */
#ifndef MINIGRAD_CORE_H
#define MINIGRAD_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "check.h" /* MG_CHECK, MG_MAX_DIMS, dtype and shape checks (shared with CUDA) */
#include "minigrad.h"

/* Loops shorter than this (elements of work) stay serial: starting the team
 * costs more than it saves.  While OpenMP's threads slept between regions, one
 * took about 60 us to wake on the 2-core machines we measure on (a float32 add
 * of 32K elements: 6 us on one thread, 67 us on two), which set this at 512K.
 * The team now spins a while between regions (GOMP_SPINCOUNT,
 * minigrad/_native.py), and 64K measured better at 2 threads (in-process A/B,
 * training step, against 512K): composed LSTM -4 to -5% at all three benchmark
 * sizes (its (64, 2048) gate arrays at H = 512 are now split), fused LSTM at
 * H = 256 -9%, the others within 1%.  It is a variable (runtime.c,
 * mg_set_parallel_min_work) so that tests can split moderate arrays. */
extern int64_t mg_parallel_min_work;
#define MG_OMP_MIN_WORK mg_parallel_min_work
/* Elements of work per range that MG_PARALLEL_RANGES hands a thread: big
 * enough to amortise the call, small enough to balance the threads. */
#define MG_RANGE_WORK 8192

/* Iterations per range of MG_PARALLEL_RANGES: about MG_RANGE_WORK elements'
 * worth, at least 1. */
static inline int64_t mg_range_grain(int64_t n, int64_t work) {
    const int64_t per_iteration = n > 0 && work > n ? work / n : 1;
    return per_iteration >= MG_RANGE_WORK ? 1 : MG_RANGE_WORK / per_iteration;
}

/*
 * MG_PARALLEL_RANGES(n, work, lo, hi, stmt) runs `stmt`, a statement over the
 * iterations [lo, hi) of a loop over [0, n) -- usually one call on a range of
 * elements, rows or tiles -- as one range or as many ranges shared among
 * threads:
 *
 *     MG_PARALLEL_RANGES(n, n, lo, hi, TYPED(unary_span)(op, hi - lo, x + lo, y + lo));
 *
 * `work` is the whole loop's cost in elements.  Below MG_OMP_MIN_WORK, stmt
 * runs once on [0, n) without entering an OpenMP region: entering one costs
 * about 0.2 us even when an if() clause keeps it to one thread, as much as a
 * small tensor's whole kernel.  Above it, ranges of about MG_RANGE_WORK
 * elements are shared out statically.  Ranges must write disjoint outputs, so
 * the split never changes a result.  Built without OpenMP it is always the
 * single call.  n and work are evaluated more than once.
 *
 * MG_PRAGMA(x) writes `#pragma x` from inside a macro (OpenMP builds only).
 */
#ifdef _OPENMP
#include <omp.h>
#define MG_PRAGMA(x) _Pragma(#x)
#define MG_PARALLEL_RANGES(n, work, lo, hi, ...)                                        \
    do {                                                                                \
        const int64_t mg_n_ = (n);                                                      \
        if ((work) < MG_OMP_MIN_WORK) {                                                 \
            const int64_t lo = 0, hi = mg_n_;                                           \
            __VA_ARGS__;                                                                \
        } else {                                                                        \
            const int64_t mg_grain_ = mg_range_grain(mg_n_, (work));                    \
            const int64_t mg_ranges_ = (mg_n_ + mg_grain_ - 1) / mg_grain_;             \
            MG_PRAGMA(omp parallel for schedule(static))                                \
            for (int64_t mg_r_ = 0; mg_r_ < mg_ranges_; mg_r_++) {                      \
                const int64_t lo = mg_r_ * mg_grain_;                                   \
                const int64_t hi = mg_n_ - lo > mg_grain_ ? lo + mg_grain_ : mg_n_;       \
                __VA_ARGS__;                                                            \
            }                                                                           \
        }                                                                               \
    } while (0)
#else
#define MG_PARALLEL_RANGES(n, work, lo, hi, ...) \
    do {                                          \
        const int64_t lo = 0, hi = (n);           \
        __VA_ARGS__;                              \
    } while (0)
#endif

/* Kernels over x viewed as (outer, n, inner) with inner > 1 hand each task a
 * tile: `width` neighbouring columns (fewer at the end of a row) of one outer
 * index, all n rows, so that inner loops run over contiguous memory.  Task t
 * of mg_tile_count(outer, inner, width) covers columns [col, col + width) of
 * outer index `outer`: elements x[outer * n * inner + i * inner + col + j]. */
struct mg_tile {
    int64_t outer, col, width;
};

static inline int64_t mg_tile_count(int64_t outer, int64_t inner, int64_t width) {
    return outer * ((inner + width - 1) / width);
}

static inline struct mg_tile mg_tile_of(int64_t t, int64_t inner, int64_t width) {
    const int64_t per_row = (inner + width - 1) / width;
    const int64_t col = (t % per_row) * width;
    return (struct mg_tile){t / per_row, col, inner - col < width ? inner - col : width};
}

static inline int64_t mg_numel(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
    return n;
}

#endif /* MINIGRAD_CORE_H */
