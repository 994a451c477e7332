/*
 * random_args.h -- the argument checks of the random draws (mg_random_* in
 * random.c, mg_cuda_random_* in random.cu): the same status codes on either
 * device.  Plain C for gcc and nvcc; not part of the public API.
 */
#ifndef MINIGRAD_RANDOM_ARGS_H
#define MINIGRAD_RANDOM_ARGS_H

#include <math.h>

#include "check.h"

/* What every draw needs: a float dtype, n >= 0, somewhere to write. */
static inline int mg_random_check_draw(int dtype, int64_t n, const void *out) {
    MG_CHECK(mg_is_float_dtype(dtype), MG_ERR_DTYPE);
    MG_CHECK(n >= 0, MG_ERR_SIZE);
    MG_CHECK(n == 0 || out != NULL, MG_ERR_NULL);
    return MG_OK;
}

/* uniform(low, high): finite bounds, low <= high, and a finite span. */
static inline int mg_random_check_uniform(int dtype, int64_t n, double low, double high,
                                          const void *out) {
    int status = mg_random_check_draw(dtype, n, out);
    if (status != MG_OK) return status;
    MG_CHECK(isfinite(low) && isfinite(high) && low <= high && isfinite(high - low), MG_ERR_OP);
    return MG_OK;
}

/* normal(mean, std): finite, std >= 0. */
static inline int mg_random_check_normal(int dtype, int64_t n, double mean, double std,
                                         const void *out) {
    int status = mg_random_check_draw(dtype, n, out);
    if (status != MG_OK) return status;
    MG_CHECK(isfinite(mean) && isfinite(std) && std >= 0, MG_ERR_OP);
    return MG_OK;
}

/* bernoulli(p): p in [0, 1]. */
static inline int mg_random_check_bernoulli(int dtype, int64_t n, double p, const void *out) {
    int status = mg_random_check_draw(dtype, n, out);
    if (status != MG_OK) return status;
    MG_CHECK(p >= 0 && p <= 1, MG_ERR_OP); /* false for NaN too */
    return MG_OK;
}

#endif /* MINIGRAD_RANDOM_ARGS_H */
