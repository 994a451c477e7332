/*
 * reduce.c -- sum / max / min and argmax / argmin over the middle axis of x
 * viewed as (outer, n, inner).
 *
 * Two layouts, each with its own loops (in reduce_typed.inc):
 *   inner == 1  each output reduces one contiguous row of n elements;
 *               SIMD-friendly "lanes" of independent accumulators.
 *   inner  > 1  each output reduces a column with stride `inner`; a tile of
 *               COL_TILE neighbouring columns is reduced together, so the
 *               inner loop runs over contiguous memory.
 *
 * Accurate float sums without a wider type: elements are summed in blocks,
 * and block sums are combined pairwise (a binary-counter "cascade"), so the
 * rounding error grows like log(n) instead of n.  Long rows are cut into
 * chunks of a fixed size (not one per thread), summed in parallel and
 * cascaded again in order, so the result is bit-for-bit the same at any
 * thread count.
 *
 * int64 sums wrap around (two's complement), as in PyTorch and numpy.
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "reduce_args.h"
#include "simd.h"

#define LANES 16            /* independent accumulators of a contiguous row */
#define SUM_BLOCK 256       /* contiguous elements summed before cascading */
#define ROW_CHUNK (SUM_BLOCK * 64) /* parallel work unit along one long row */
#define ARG_BLOCK 2048      /* argmax/argmin: elements scanned per vectorised pass */
#define COL_TILE 64         /* columns reduced together when inner > 1 */
#define ROW_BLOCK 32        /* rows summed plainly before cascading, inner > 1 */
#define CASCADE_LEVELS 64   /* a binary counter of 64 bits never overflows */

static inline int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

/* reduce_typed.inc's parameters beyond T and TYPED (see its head). */
#define SUM_T T
#define IS_NAN(v) ((v) != (v))
#define NAN_VALUE NAN
#define MG_TYPED_FILE "reduce_typed.inc"
#include "for_each_float.h"
#undef SUM_T
#undef IS_NAN
#undef NAN_VALUE

/* int64: unsigned accumulators, so overflow wraps instead of being undefined. */
#define T int64_t
#define SUM_T uint64_t
#define TYPED(name) name##_i64
#define IS_NAN(v) 0
#define NAN_VALUE 0
#include "reduce_typed.inc"
#undef T
#undef SUM_T
#undef TYPED
#undef IS_NAN
#undef NAN_VALUE

int mg_reduce(int dtype, int op, int64_t outer, int64_t n, int64_t inner,
              const void *x, void *out) {
    int status = mg_reduce_check_args(dtype, op, outer, n, inner, x, out);
    if (status != MG_OK || outer == 0 || inner == 0) return status;
    switch (dtype) {
    case MG_FLOAT32: return reduce_f32(op, outer, n, inner, x, out);
    case MG_FLOAT64: return reduce_f64(op, outer, n, inner, x, out);
    default: return reduce_i64(op, outer, n, inner, x, out);
    }
}

int mg_arg_reduce(int dtype, int op, int64_t outer, int64_t n, int64_t inner,
                  const void *x, int64_t *out) {
    int status = mg_arg_reduce_check_args(dtype, op, outer, n, inner, x, out);
    if (status != MG_OK || outer == 0 || inner == 0) return status;
    int want_min = op == MG_ARGMIN;
    switch (dtype) {
    case MG_FLOAT32: arg_reduce_f32(want_min, outer, n, inner, x, out); break;
    case MG_FLOAT64: arg_reduce_f64(want_min, outer, n, inner, x, out); break;
    default: arg_reduce_i64(want_min, outer, n, inner, x, out); break;
    }
    return MG_OK;
}
