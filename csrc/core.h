/*
 * core.h -- private helpers shared by the C core's files: argument checks,
 * dtype sizes and the OpenMP switch.  Not part of the public API.
 */
#ifndef MINIGRAD_CORE_H
#define MINIGRAD_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "minigrad.h"

/* Return `status` from the calling function when `cond` is false. */
#define MG_CHECK(cond, status) \
    do {                       \
        if (!(cond)) return (status); \
    } while (0)

/* Most tensors we see have at most this many dims; kernels that walk strides
 * reject larger ranks with MG_ERR_SIZE rather than allocate. */
#define MG_MAX_DIMS 16

/* Loops shorter than this stay serial: thread start-up costs more than it saves. */
#define MG_OMP_MIN_WORK 32768

/* `MG_OMP_FOR(work)` before a for-loop parallelises it when built with OpenMP
 * and the loop does at least MG_OMP_MIN_WORK units of work. */
#ifdef _OPENMP
#include <omp.h>
#define MG_PRAGMA(x) _Pragma(#x)
#define MG_OMP_FOR(work) MG_PRAGMA(omp parallel for schedule(static) if((work) >= MG_OMP_MIN_WORK))
#else
#define MG_OMP_FOR(work)
#endif

static inline int mg_is_float_dtype(int dtype) {
    return dtype == MG_FLOAT32 || dtype == MG_FLOAT64;
}

/* Bytes per element, or 0 for an unknown dtype. */
static inline size_t mg_dtype_size(int dtype) {
    switch (dtype) {
    case MG_FLOAT32: return 4;
    case MG_FLOAT64: return 8;
    case MG_INT64: return 8;
    default: return 0;
    }
}

/* Checks shared by strided kernels: rank in range, non-negative sizes. */
static inline int mg_check_shape(int ndim, const int64_t *shape) {
    MG_CHECK(ndim >= 0 && ndim <= MG_MAX_DIMS, MG_ERR_SIZE);
    MG_CHECK(ndim == 0 || shape != NULL, MG_ERR_NULL);
    for (int d = 0; d < ndim; d++) MG_CHECK(shape[d] >= 0, MG_ERR_SIZE);
    return MG_OK;
}

static inline int64_t mg_numel(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
    return n;
}

#endif /* MINIGRAD_CORE_H */
