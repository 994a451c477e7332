/*
 * unary.c -- elementwise unary ops and their derivatives.
 *
 * The typed loops live in unary_typed.inc, compiled once per float dtype;
 * <tgmath.h> makes exp/log/tanh/... pick the float or double routine from
 * the argument type, so one text serves both.
 */
#include <tgmath.h>

#include "core.h"

#define T float
#define TYPED(name) name##_f32
#include "unary_typed.inc"
#undef T
#undef TYPED

#define T double
#define TYPED(name) name##_f64
#include "unary_typed.inc"
#undef T
#undef TYPED

static int check_unary(int dtype, int op, int64_t n) {
    MG_CHECK(mg_is_float_dtype(dtype), MG_ERR_DTYPE);
    MG_CHECK(op >= MG_NEG && op <= MG_SIGN, MG_ERR_OP);
    MG_CHECK(n >= 0, MG_ERR_SIZE);
    return MG_OK;
}

int mg_unary(int dtype, int op, int64_t n, const void *x, void *y) {
    int status = check_unary(dtype, op, n);
    if (status != MG_OK) return status;
    if (n == 0) return MG_OK;
    MG_CHECK(x != NULL && y != NULL, MG_ERR_NULL);
    if (dtype == MG_FLOAT32)
        unary_f32(op, n, x, y);
    else
        unary_f64(op, n, x, y);
    return MG_OK;
}

/* Which of (x, y) each derivative reads. */
static int backward_reads_output(int op) {
    return op == MG_TANH || op == MG_SIGMOID || op == MG_EXP || op == MG_SQRT;
}

int mg_unary_backward(int dtype, int op, int64_t n, const void *x, const void *y,
                      const void *gy, void *gx) {
    int status = check_unary(dtype, op, n);
    if (status != MG_OK) return status;
    if (n == 0) return MG_OK;
    MG_CHECK(gy != NULL && gx != NULL, MG_ERR_NULL);
    if (op != MG_NEG) MG_CHECK((backward_reads_output(op) ? y : x) != NULL, MG_ERR_NULL);
    if (dtype == MG_FLOAT32)
        unary_backward_f32(op, n, x, y, gy, gx);
    else
        unary_backward_f64(op, n, x, y, gy, gx);
    return MG_OK;
}
