/*
 * softmax.c -- softmax, log_softmax, their backward, and logsumexp over the
 * middle axis of x viewed as (outer, n, inner).
 *
 * Stability: every row is shifted by its max m before exp, so exp never sees a
 * positive argument and the sum is at least 1.  The special rows follow from
 * plain IEEE arithmetic and match PyTorch: a NaN anywhere, or an all -inf row
 * (-inf - -inf = NaN), or a +inf entry (inf - inf = NaN) gives NaN for softmax
 * and log_softmax; logsumexp shifts by 0 instead when m is infinite, so an
 * all -inf row gives log(0) = -inf and a +inf entry gives +inf.
 *
 * exp comes from vecmath.h (branch-free, so the row loops vectorise, and
 * within about 1 ulp in both dtypes; libm's exp is a scalar call).  Sums
 * accumulate in T within short blocks and in double across them.
 *
 * Layouts as in reduce.c: inner == 1 works on contiguous rows; inner > 1 on
 * tiles of COL_TILE neighbouring columns, all rows of a tile at once.
 * x and y (gy and gx) may be the same buffer.
 */

#include "vecmath.h" /* first: it brings simd.h's no-trapping-math */

#include <math.h>
#include <stdint.h>

#include "core.h"
#include "softmax_args.h"

#define LANES 16    /* independent accumulators of a contiguous row */
#define BLOCK 256   /* contiguous elements a set of lanes sums before double takes over */
#define COL_TILE 64 /* columns handled together when inner > 1 */
#define ROW_BLOCK 64 /* rows a column tile sums in T before double takes over */

/* Folds lane[LANES] into lane[0] as a tree, `step` combining lane[j] with
 * lane[j + width]: log2(LANES) vector steps instead of a chain of LANES
 * dependent scalar ones (15% of a 65-class row).  Fully unrolled, or
 * gcc keeps the lanes in memory. */
#define FOLD_LANES(step)                                     \
    _Pragma("GCC unroll 8")                                  \
    for (int width = LANES / 2; width > 0; width /= 2)       \
        _Pragma("GCC unroll 16")                             \
        for (int j = 0; j < width; j++) step

static inline int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Tasks of an (outer, n, inner) softmax: rows when inner == 1, else tiles
 * of COL_TILE columns (core.h). */
static inline int64_t task_count(int64_t outer, int64_t inner) {
    return inner == 1 ? outer : mg_tile_count(outer, inner, COL_TILE);
}

#define MG_TYPED_FILE "softmax_typed.inc"
#include "for_each_float.h"

int mg_softmax(int dtype, int log, int64_t outer, int64_t n, int64_t inner,
               const void *x, void *y) {
    int status = mg_softmax_check_args(dtype, outer, n, inner, x, y);
    if (status != MG_OK || outer == 0 || n == 0 || inner == 0) return status;
    if (dtype == MG_FLOAT32)
        softmax_f32(log != 0, outer, n, inner, x, y);
    else
        softmax_f64(log != 0, outer, n, inner, x, y);
    return MG_OK;
}

int mg_softmax_backward(int dtype, int log, int64_t outer, int64_t n, int64_t inner,
                        const void *y, const void *gy, void *gx) {
    int status = mg_softmax_backward_check_args(dtype, outer, n, inner, y, gy, gx);
    if (status != MG_OK || outer == 0 || n == 0 || inner == 0) return status;
    if (dtype == MG_FLOAT32)
        softmax_backward_f32(log != 0, outer, n, inner, y, gy, gx);
    else
        softmax_backward_f64(log != 0, outer, n, inner, y, gy, gx);
    return MG_OK;
}

int mg_logsumexp(int dtype, int64_t outer, int64_t n, int64_t inner,
                 const void *x, void *out) {
    int status = mg_logsumexp_check_args(dtype, outer, n, inner, x, out);
    if (status != MG_OK || outer == 0 || inner == 0) return status;
    if (dtype == MG_FLOAT32)
        logsumexp_f32(outer, n, inner, x, out);
    else
        logsumexp_f64(outer, n, inner, x, out);
    return MG_OK;
}
