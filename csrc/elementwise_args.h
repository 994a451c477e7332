/*
 * elementwise_args.h -- the argument checks of the elementwise kernels
 * (unary.c and binary.c on the CPU, elementwise.cu on the GPU), with the same
 * status codes in the same order, and the scalar conversions both devices
 * apply to int64 operands.  Plain C for gcc and nvcc; not part of the public
 * API.
 *
 * Where a check says "nothing to do" (n == 0) it returns MG_OK without
 * looking at the pointers; the caller tests n and returns.
 */
#ifndef MINIGRAD_ELEMENTWISE_ARGS_H
#define MINIGRAD_ELEMENTWISE_ARGS_H

#include <math.h>

#include "check.h"
#include "layout.h"

/* ---- scalar conversions ------------------------------------------------- */

/* A double that is exactly an int64 value, or -1 (caller reports MG_ERR_OP). */
static inline int mg_exact_int64(double v, int64_t *out) {
    if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) return -1; /* NaN too */
    if (v != floor(v)) return -1;
    *out = (int64_t)v;
    return 0;
}

/* Bounds for an integer clamp: the integers x with lo <= x are x >= ceil(lo). */
static inline int64_t mg_int64_bound(double v, int upper) {
    v = upper ? floor(v) : ceil(v);
    if (v >= 9223372036854775807.0) return INT64_MAX;
    if (v <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)v;
}

/* ---- checks ------------------------------------------------------------- */

/* unary and unary_backward: a float dtype, a unary op code, n >= 0. */
static inline int mg_unary_check_op(int dtype, int op, int64_t n) {
    MG_CHECK(mg_is_float_dtype(dtype), MG_ERR_DTYPE);
    MG_CHECK(op >= MG_NEG && op <= MG_SIGN, MG_ERR_OP);
    MG_CHECK(n >= 0, MG_ERR_SIZE);
    return MG_OK;
}

/* binary and binary_scalar: any dtype, a binary op code. */
static inline int mg_binary_check_op(int dtype, int op) {
    MG_CHECK(mg_dtype_size(dtype) != 0, MG_ERR_DTYPE);
    MG_CHECK(op >= MG_ADD && op <= MG_GE, MG_ERR_OP);
    /* integer division and powers have no one obvious meaning (floor? error on
     * negative exponents?); the caller casts to float instead */
    MG_CHECK(!(dtype == MG_INT64 && (op == MG_DIV || op == MG_POW)), MG_ERR_DTYPE);
    return MG_OK;
}

/* out = op(a, b) with broadcasting: each operand walks the output's shape with
 * its own element strides; *n gets the output's element count. */
static inline int mg_binary_check_args(int dtype, int op, int ndim, const int64_t *shape,
                                       const void *a, const int64_t *a_strides, const void *b,
                                       const int64_t *b_strides, const void *out, int64_t *n) {
    int status = mg_binary_check_op(dtype, op);
    if (status != MG_OK) return status;
    const void *data[2] = {a, b};
    const int64_t *strides[2] = {a_strides, b_strides};
    return mg_layout_check(ndim, shape, 2, data, strides, out, n);
}

/* op(a, s) over n elements; *s_int gets s for an int64 op (s must be an
 * integer then), 0 otherwise. */
static inline int mg_binary_scalar_check_args(int dtype, int op, int64_t n, const void *a,
                                              double s, const void *out, int64_t *s_int) {
    *s_int = 0;
    int status = mg_binary_check_op(dtype, op);
    if (status != MG_OK) return status;
    MG_CHECK(n >= 0, MG_ERR_SIZE);
    if (dtype == MG_INT64) MG_CHECK(mg_exact_int64(s, s_int) == 0, MG_ERR_OP);
    if (n == 0) return MG_OK;
    MG_CHECK(a != NULL && out != NULL, MG_ERR_NULL);
    return MG_OK;
}

/* out = cond != 0 ? a : b (any dtype, cond of the same dtype), broadcast as binary. */
static inline int mg_where_check_args(int dtype, int ndim, const int64_t *shape,
                                      const void *cond, const int64_t *cond_strides,
                                      const void *a, const int64_t *a_strides, const void *b,
                                      const int64_t *b_strides, const void *out, int64_t *n) {
    MG_CHECK(mg_dtype_size(dtype) != 0, MG_ERR_DTYPE);
    const void *data[3] = {cond, a, b};
    const int64_t *strides[3] = {cond_strides, a_strides, b_strides};
    return mg_layout_check(ndim, shape, 3, data, strides, out, n);
}

static inline int mg_clamp_check_args(int dtype, int64_t n, const void *x, double lo, double hi,
                                      const void *out) {
    MG_CHECK(mg_dtype_size(dtype) != 0, MG_ERR_DTYPE);
    MG_CHECK(n >= 0, MG_ERR_SIZE);
    /* a NaN bound has no integer meaning; for floats it makes every output NaN */
    MG_CHECK(dtype != MG_INT64 || (lo == lo && hi == hi), MG_ERR_OP);
    if (n == 0) return MG_OK;
    MG_CHECK(x != NULL && out != NULL, MG_ERR_NULL);
    return MG_OK;
}

static inline int mg_clamp_backward_check_args(int dtype, int64_t n, const void *x,
                                               const void *gy, const void *gx) {
    MG_CHECK(mg_is_float_dtype(dtype), MG_ERR_DTYPE); /* integers carry no gradient */
    MG_CHECK(n >= 0, MG_ERR_SIZE);
    if (n == 0) return MG_OK;
    MG_CHECK(x != NULL && gy != NULL && gx != NULL, MG_ERR_NULL);
    return MG_OK;
}

#endif /* MINIGRAD_ELEMENTWISE_ARGS_H */
