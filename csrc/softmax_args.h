/*
 * softmax_args.h -- the argument checks of softmax / log_softmax, their
 * backward, and logsumexp over the middle axis of x viewed as (outer, n,
 * inner): softmax.c and its CUDA twin softmax.cu, with the same status codes
 * in the same order.  Plain C for gcc and nvcc; not part of the public API.
 *
 * Each returns MG_OK without looking at the pointers when there is nothing to
 * write (the caller tests the same sizes and returns).
 */
#ifndef MINIGRAD_SOFTMAX_ARGS_H
#define MINIGRAD_SOFTMAX_ARGS_H

#include "check.h"

/* A float dtype, sizes >= 0 addressing at most MG_MAX_ELEMS. */
static inline int mg_softmax_check_shape(int dtype, int64_t outer, int64_t n, int64_t inner) {
    MG_CHECK(mg_is_float_dtype(dtype), MG_ERR_DTYPE);
    MG_CHECK(outer >= 0 && n >= 0 && inner >= 0, MG_ERR_SIZE);
    MG_CHECK(mg_volume_fits(outer, n, inner), MG_ERR_SIZE);
    return MG_OK;
}

/* softmax, log_softmax: y (outer, n, inner) from x; nothing when it is empty. */
static inline int mg_softmax_check_args(int dtype, int64_t outer, int64_t n, int64_t inner,
                                        const void *x, const void *y) {
    int status = mg_softmax_check_shape(dtype, outer, n, inner);
    if (status != MG_OK || outer == 0 || n == 0 || inner == 0) return status;
    MG_CHECK(x != NULL && y != NULL, MG_ERR_NULL);
    return MG_OK;
}

/* Their backward: gx from y and gy, all (outer, n, inner). */
static inline int mg_softmax_backward_check_args(int dtype, int64_t outer, int64_t n,
                                                 int64_t inner, const void *y, const void *gy,
                                                 const void *gx) {
    int status = mg_softmax_check_shape(dtype, outer, n, inner);
    if (status != MG_OK || outer == 0 || n == 0 || inner == 0) return status;
    MG_CHECK(y != NULL && gy != NULL && gx != NULL, MG_ERR_NULL);
    return MG_OK;
}

/* logsumexp: out (outer, inner); with n == 0 it is written (-inf), x unread. */
static inline int mg_logsumexp_check_args(int dtype, int64_t outer, int64_t n, int64_t inner,
                                          const void *x, const void *out) {
    int status = mg_softmax_check_shape(dtype, outer, n, inner);
    if (status != MG_OK || outer == 0 || inner == 0) return status;
    MG_CHECK(out != NULL && (n == 0 || x != NULL), MG_ERR_NULL);
    return MG_OK;
}

#endif /* MINIGRAD_SOFTMAX_ARGS_H */
