/*
 * binary.c -- broadcasting binary ops, ops with a scalar, where, clamp.
 *
 * Broadcasting arrives as element strides over the output's shape (0 on a
 * broadcast dim, negative for reversed views).  Before looping we simplify
 * that description (layout.h, shared with the CUDA kernels): size-1 dims are
 * dropped and neighbouring dims that every operand walks contiguously are
 * merged, so (N, C) + (N, C) becomes one flat row and (N, C) + (C,) becomes N
 * rows of C.  The typed loops (binary_typed.inc, compiled once per dtype)
 * then only ever see rows with a stride per operand, and pick a fast loop
 * when the strides are 1 or 0.  The argument checks are elementwise_args.h's.
 */
#include <math.h>
#include <string.h>
#include <tgmath.h>

#include "core.h"
#include "elementwise_args.h"
#include "layout.h"

/* ---- layout: a simplified shape walked by up to three operands ---------- */

typedef struct {
    int ndim;                                            /* >= 1 after simplify() */
    int nops;                                            /* operands read */
    int64_t shape[MG_MAX_DIMS];
    int64_t strides[MG_LAYOUT_MAX_OPERANDS][MG_MAX_DIMS]; /* elements */
} layout;

/* Fill `L` from the caller's description of a non-empty output, simplified
 * (mg_layout_merge_dims; the output, being contiguous, never stops a merge). */
static void simplify(layout *L, int ndim, const int64_t *shape, int nops,
                     const int64_t *const strides[]) {
    L->nops = nops;
    L->ndim = mg_layout_merge_dims(ndim, shape, nops, strides, L->shape, L->strides);
}

/* Position of a walk over the layout in rows: the multi-index of the current
 * row (every dim but the last), the element offset of each operand at the start
 * of that row, and the column inside the row where the walk starts. */
typedef struct {
    int64_t index[MG_MAX_DIMS];
    int64_t offset[MG_LAYOUT_MAX_OPERANDS];
    int64_t col;
} cursor;

/* Place the cursor on flat output element `start`. */
static void cursor_seek(const layout *L, cursor *c, int64_t start) {
    const int last = L->ndim - 1;
    int64_t row = start / L->shape[last];
    c->col = start % L->shape[last];
    for (int k = 0; k < L->nops; k++) c->offset[k] = 0;
    for (int d = last - 1; d >= 0; d--) {
        c->index[d] = row % L->shape[d];
        row /= L->shape[d];
        for (int k = 0; k < L->nops; k++) c->offset[k] += c->index[d] * L->strides[k][d];
    }
}

/* Move to the start of the next row (an odometer over the outer dims). */
static void cursor_next_row(const layout *L, cursor *c) {
    c->col = 0;
    for (int d = L->ndim - 2; d >= 0; d--) {
        for (int k = 0; k < L->nops; k++) c->offset[k] += L->strides[k][d];
        if (++c->index[d] < L->shape[d]) return;
        for (int k = 0; k < L->nops; k++) c->offset[k] -= L->shape[d] * L->strides[k][d];
        c->index[d] = 0;
    }
}

/* Parallel loops hand each thread runs of this many elements: big enough that
 * seeking a cursor is free, small enough to balance rows of any length.  The
 * strided loops run MG_PARALLEL_RANGES over chunks: chunks [lo, hi) are the
 * elements [lo * CHUNK, chunk_end(hi, n)). */
#define CHUNK 32768

static inline int64_t chunk_count(int64_t n) { return (n + CHUNK - 1) / CHUNK; }
static inline int64_t chunk_end(int64_t hi, int64_t n) { return hi * CHUNK < n ? hi * CHUNK : n; }

/* ---- typed loops ----------------------------------------------------------- */

/* binary_typed.inc also reads T_IS_FLOAT and T_BITS, an unsigned integer of
 * T's size (named through TYPED, so one definition serves every dtype). */
typedef uint32_t bits_f32;
typedef uint64_t bits_f64;
typedef uint64_t bits_i64;
#define T_BITS TYPED(bits)

#define T_IS_FLOAT 1
#define MG_TYPED_FILE "binary_typed.inc"
#include "for_each_float.h"
#undef T_IS_FLOAT

#define T int64_t
#define T_IS_FLOAT 0
#define TYPED(name) name##_i64
#include "binary_typed.inc"
#undef T
#undef T_IS_FLOAT
#undef TYPED

#undef T_BITS

/* ---- entry points ------------------------------------------------------- */

int mg_binary(int dtype, int op, int ndim, const int64_t *shape,
              const void *a, const int64_t *a_strides,
              const void *b, const int64_t *b_strides, void *out) {
    int64_t n;
    int status = mg_binary_check_args(dtype, op, ndim, shape, a, a_strides, b, b_strides, out, &n);
    if (status != MG_OK || n == 0) return status;

    const int64_t *strides[2] = {a_strides, b_strides};
    layout L;
    simplify(&L, ndim, shape, 2, strides);
    switch (dtype) {
    case MG_FLOAT32: binary_f32(op, &L, n, a, b, out); break;
    case MG_FLOAT64: binary_f64(op, &L, n, a, b, out); break;
    default: binary_i64(op, &L, n, a, b, out); break;
    }
    return MG_OK;
}

int mg_binary_scalar(int dtype, int op, int64_t n, const void *a, double s,
                     int scalar_first, void *out) {
    int64_t s_int;
    int status = mg_binary_scalar_check_args(dtype, op, n, a, s, out, &s_int);
    if (status != MG_OK || n == 0) return status;
    switch (dtype) {
    case MG_FLOAT32: binary_scalar_f32(op, n, a, (float)s, scalar_first, out); break;
    case MG_FLOAT64: binary_scalar_f64(op, n, a, s, scalar_first, out); break;
    default: binary_scalar_i64(op, n, a, s_int, scalar_first, out); break;
    }
    return MG_OK;
}

int mg_where(int dtype, int ndim, const int64_t *shape,
             const void *cond, const int64_t *cond_strides,
             const void *a, const int64_t *a_strides,
             const void *b, const int64_t *b_strides, void *out) {
    int64_t n;
    int status = mg_where_check_args(dtype, ndim, shape, cond, cond_strides, a, a_strides, b,
                                     b_strides, out, &n);
    if (status != MG_OK || n == 0) return status;

    const int64_t *strides[3] = {cond_strides, a_strides, b_strides};
    layout L;
    simplify(&L, ndim, shape, 3, strides);
    switch (dtype) {
    case MG_FLOAT32: where_f32(&L, n, cond, a, b, out); break;
    case MG_FLOAT64: where_f64(&L, n, cond, a, b, out); break;
    default: where_i64(&L, n, cond, a, b, out); break;
    }
    return MG_OK;
}

int mg_clamp(int dtype, int64_t n, const void *x, double lo, double hi, void *out) {
    int status = mg_clamp_check_args(dtype, n, x, lo, hi, out);
    if (status != MG_OK || n == 0) return status;
    switch (dtype) {
    case MG_FLOAT32: clamp_f32(n, x, (float)lo, (float)hi, out); break;
    case MG_FLOAT64: clamp_f64(n, x, lo, hi, out); break;
    default: clamp_i64(n, x, mg_int64_bound(lo, 0), mg_int64_bound(hi, 1), out); break;
    }
    return MG_OK;
}

int mg_clamp_backward(int dtype, int64_t n, const void *x, double lo, double hi,
                      const void *gy, void *gx) {
    int status = mg_clamp_backward_check_args(dtype, n, x, gy, gx);
    if (status != MG_OK || n == 0) return status;
    /* the same float32-rounded bounds as the forward pass, so the gradient
     * flows exactly where the forward passed x through */
    if (dtype == MG_FLOAT32)
        clamp_backward_f32(n, x, (float)lo, (float)hi, gy, gx);
    else
        clamp_backward_f64(n, x, lo, hi, gy, gx);
    return MG_OK;
}
