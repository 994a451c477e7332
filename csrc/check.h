/*
 * check.h -- the argument checks every kernel entry point starts with, shared
 * by the C core (through core.h) and the .cu files under csrc/cuda: the
 * early-return MG_CHECK, the rank limit, dtype codes and shapes.
 *
 * Compiled as C11 by gcc and as C++17 by nvcc: plain C, static inline
 * functions only.  Not part of the public API.
 */
#ifndef MINIGRAD_CHECK_H
#define MINIGRAD_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "minigrad.h"

/* Return `status` from the calling function when `cond` is false.
 * (csrc/cuda/common.cuh defines the same macro, token for token.) */
#define MG_CHECK(cond, status) \
    do {                       \
        if (!(cond)) return (status); \
    } while (0)

/* Most tensors we see have at most this many dims; kernels that walk strides
 * reject larger ranks with MG_ERR_SIZE rather than allocate. */
#define MG_MAX_DIMS 16

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

/* Largest element count of any buffer the kernels address or allocate: small
 * enough that byte sizes and sums of a few such counts cannot overflow. */
#define MG_MAX_ELEMS (INT64_MAX / 64)

/* a * b into *out; 0 when the product exceeds MG_MAX_ELEMS (a, b >= 0). */
static inline int mg_mul_fits(int64_t a, int64_t b, int64_t *out) {
    return !__builtin_mul_overflow(a, b, out) && *out <= MG_MAX_ELEMS;
}

/* outer * n * inner within MG_MAX_ELEMS: the (outer, n, inner) view of a reduction,
 * softmax or gather addresses that many elements (sizes already >= 0). */
static inline int mg_volume_fits(int64_t outer, int64_t n, int64_t inner) {
    int64_t rows, all;
    return mg_mul_fits(outer, inner, &rows) && mg_mul_fits(rows, n, &all);
}

/* Checks shared by strided kernels: rank in range, non-negative sizes. */
static inline int mg_check_shape(int ndim, const int64_t *shape) {
    MG_CHECK(ndim >= 0 && ndim <= MG_MAX_DIMS, MG_ERR_SIZE);
    MG_CHECK(ndim == 0 || shape != NULL, MG_ERR_NULL);
    for (int d = 0; d < ndim; d++) MG_CHECK(shape[d] >= 0, MG_ERR_SIZE);
    return MG_OK;
}

#endif /* MINIGRAD_CHECK_H */
