/*
 * reduce_args.h -- the argument checks of the reductions over the middle axis
 * of x viewed as (outer, n, inner): mg_reduce and mg_arg_reduce (reduce.c) and
 * their CUDA twins (reduce.cu), with the same status codes in the same order.
 * Plain C for gcc and nvcc; not part of the public API.
 *
 * Each returns MG_OK without looking at the pointers when the output is empty
 * (outer == 0 or inner == 0): the caller has nothing to do then.
 */
#ifndef MINIGRAD_REDUCE_ARGS_H
#define MINIGRAD_REDUCE_ARGS_H

#include "check.h"

/* Any dtype (float32, float64, int64), sizes >= 0 addressing at most MG_MAX_ELEMS. */
static inline int mg_reduce_check_shape(int dtype, int64_t outer, int64_t n, int64_t inner) {
    MG_CHECK(mg_dtype_size(dtype) != 0, MG_ERR_DTYPE);
    MG_CHECK(outer >= 0 && n >= 0 && inner >= 0, MG_ERR_SIZE);
    MG_CHECK(mg_volume_fits(outer, n, inner), MG_ERR_SIZE);
    return MG_OK;
}

/* sum / max / min; the max and min of nothing (n == 0) have no value, the
 * sum of nothing is 0 (x is not read then). */
static inline int mg_reduce_check_args(int dtype, int op, int64_t outer, int64_t n, int64_t inner,
                                       const void *x, const void *out) {
    int status = mg_reduce_check_shape(dtype, outer, n, inner);
    if (status != MG_OK) return status;
    MG_CHECK(op == MG_SUM || op == MG_MAX || op == MG_MIN, MG_ERR_OP);
    if (op != MG_SUM) MG_CHECK(n > 0, MG_ERR_EMPTY);
    if (outer == 0 || inner == 0) return MG_OK;
    MG_CHECK(out != NULL && (n == 0 || x != NULL), MG_ERR_NULL);
    return MG_OK;
}

/* argmax / argmin (int64 indices out); n == 0 has no answer. */
static inline int mg_arg_reduce_check_args(int dtype, int op, int64_t outer, int64_t n,
                                           int64_t inner, const void *x, const int64_t *out) {
    int status = mg_reduce_check_shape(dtype, outer, n, inner);
    if (status != MG_OK) return status;
    MG_CHECK(op == MG_ARGMAX || op == MG_ARGMIN, MG_ERR_OP);
    MG_CHECK(n > 0, MG_ERR_EMPTY);
    if (outer == 0 || inner == 0) return MG_OK;
    MG_CHECK(x != NULL && out != NULL, MG_ERR_NULL);
    return MG_OK;
}

#endif /* MINIGRAD_REDUCE_ARGS_H */
