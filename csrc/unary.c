/*
 * unary.c -- elementwise unary ops and their derivatives.
 *
 * The typed loops live in unary_typed.inc, compiled once per float dtype;
 * <tgmath.h> makes exp/log/tanh/... pick the float or double routine from
 * the argument type, so one text serves both.
 *
 * exp, tanh and sigmoid, the ops of every activation, do not call libm:
 * libm's are scalar calls, which keep the loop from vectorising, while numpy
 * uses SIMD for them.  They come from vecmath.h (branch-free range reduction
 * and polynomials, within about 3 ulp), in loops compiled for SSE2, AVX2 and
 * AVX-512 with the copy picked at load time.
 */
/* First: vecmath.h brings simd.h's no-trapping-math for every function below. */
#include "vecmath.h"

#include <tgmath.h>

#include "core.h"
#include "elementwise_args.h"

#define MG_TYPED_FILE "unary_typed.inc"
#include "for_each_float.h"

/* ---- exp, tanh, sigmoid through vecmath.h ---------------------------- */

/* The loops, one multi-versioned function each.  OpenMP regions stay outside
 * (an outlined parallel body would not inherit the clones): the driver below
 * hands each thread whole blocks.  The first loop runs up to the first
 * 64-byte boundary of y, so that the main loop's vector stores never split a
 * cache line (numpy's buffers start 16 bytes past one; about 5% at 1M
 * elements). */
#define VEC_BLOCK(name, T, f)                                              \
    MG_SIMD_CLONES static void name(int64_t n, const void *xv, void *yv) { \
        const T *x = xv;                                                   \
        T *y = yv;                                                         \
        int64_t head = (int64_t)((64 - ((uintptr_t)y & 63)) & 63);         \
        head /= (int64_t)sizeof(T);                                        \
        if (head > n) head = n;                                            \
        for (int64_t i = 0; i < head; i++) y[i] = f(x[i]);                 \
        for (int64_t i = head; i < n; i++) y[i] = f(x[i]);                 \
    }
VEC_BLOCK(exp_block_f32, float, mg_exp_f32)
VEC_BLOCK(tanh_block_f32, float, mg_tanh_f32)
VEC_BLOCK(sigmoid_block_f32, float, mg_sigmoid_f32)
VEC_BLOCK(exp_block_f64, double, mg_exp_f64)
VEC_BLOCK(tanh_block_f64, double, mg_tanh_f64)
VEC_BLOCK(sigmoid_block_f64, double, mg_sigmoid_f64)

/* The vecmath.h loop of op, or NULL when op has none (the typed loops run it). */
typedef void (*vec_block_fn)(int64_t, const void *, void *);
static vec_block_fn vec_block(int dtype, int op) {
    const int f32 = dtype == MG_FLOAT32;
    switch (op) {
    case MG_EXP: return f32 ? exp_block_f32 : exp_block_f64;
    case MG_TANH: return f32 ? tanh_block_f32 : tanh_block_f64;
    case MG_SIGMOID: return f32 ? sigmoid_block_f32 : sigmoid_block_f64;
    default: return NULL;
    }
}

/* y[0:n] = op(x[0:n]) on the calling thread. */
static void unary_span(int dtype, int op, int64_t n, const void *x, void *y) {
    const vec_block_fn block = vec_block(dtype, op);
    if (block != NULL)
        block(n, x, y);
    else if (dtype == MG_FLOAT32)
        unary_span_f32(op, n, x, y);
    else
        unary_span_f64(op, n, x, y);
}

/* ---- entry points ------------------------------------------------------- */

int mg_unary(int dtype, int op, int64_t n, const void *x, void *y) {
    int status = mg_unary_check_op(dtype, op, n);
    if (status != MG_OK || n == 0) return status;
    MG_CHECK(x != NULL && y != NULL, MG_ERR_NULL);
    const size_t size = mg_dtype_size(dtype);
    MG_PARALLEL_RANGES(n, n, lo, hi,
                       unary_span(dtype, op, hi - lo, (const char *)x + lo * size,
                                  (char *)y + lo * size));
    return MG_OK;
}

int mg_unary_rows(int dtype, int op, int64_t rows, int64_t cols, const void *x, int64_t ldx,
                  void *y) {
    int status = mg_unary_check_op(dtype, op, cols);
    if (status != MG_OK) return status;
    MG_CHECK(rows >= 0 && ldx >= cols, MG_ERR_SIZE);
    if (rows == 0 || cols == 0) return MG_OK;
    MG_CHECK(x != NULL && y != NULL, MG_ERR_NULL);
    const size_t size = mg_dtype_size(dtype);
    const char *xb = x;
    char *yb = y;
    MG_PARALLEL_RANGES(rows, rows * cols, lo, hi,
                       for (int64_t r = lo; r < hi; r++)
                           unary_span(dtype, op, cols, xb + r * ldx * size, yb + r * cols * size));
    return MG_OK;
}

/* Which of (x, y) each derivative reads. */
static int backward_reads_output(int op) {
    return op == MG_TANH || op == MG_SIGMOID || op == MG_EXP || op == MG_SQRT;
}

int mg_unary_backward(int dtype, int op, int64_t n, const void *x, const void *y,
                      const void *gy, void *gx) {
    int status = mg_unary_check_op(dtype, op, n);
    if (status != MG_OK || n == 0) return status;
    MG_CHECK(gy != NULL && gx != NULL, MG_ERR_NULL);
    if (op != MG_NEG) MG_CHECK((backward_reads_output(op) ? y : x) != NULL, MG_ERR_NULL);
    if (dtype == MG_FLOAT32)
        unary_backward_f32(op, n, x, y, gy, gx);
    else
        unary_backward_f64(op, n, x, y, gy, gx);
    return MG_OK;
}
