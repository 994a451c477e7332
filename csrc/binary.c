/*
 * binary.c -- broadcasting binary ops, ops with a scalar, where, clamp.
 *
 * Broadcasting arrives as element strides over the output's shape (0 on a
 * broadcast dim, negative for reversed views).  Before looping we simplify
 * that description: size-1 dims are dropped and neighbouring dims that every
 * operand walks contiguously are merged, so (N, C) + (N, C) becomes one flat
 * row and (N, C) + (C,) becomes N rows of C.  The typed loops
 * (binary_typed.inc, compiled once per dtype) then only ever see rows with a
 * stride per operand, and pick a fast loop when the strides are 1 or 0.
 */
#include <math.h>
#include <string.h>
#include <tgmath.h>

#include "core.h"

/* ---- layout: a simplified shape walked by up to three operands ---------- */

/* Most operands a kernel here reads (where: cond, a, b). */
#define MAX_OPERANDS 3

typedef struct {
    int ndim;                                  /* >= 1 after simplify() */
    int nops;                                  /* operands read */
    int64_t shape[MG_MAX_DIMS];
    int64_t strides[MAX_OPERANDS][MG_MAX_DIMS]; /* elements */
} layout;

/* Fill `L` from the caller's description of a non-empty output: drop size-1
 * dims and merge dim d into d-1 where every operand has
 * stride[d-1] == stride[d] * shape[d] (the output, being contiguous, always does). */
static void simplify(layout *L, int ndim, const int64_t *shape, int nops,
                     const int64_t *const strides[]) {
    int nd = 0;
    L->nops = nops;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 1) continue;
        int merge = nd > 0;
        for (int k = 0; k < nops && merge; k++)
            merge = L->strides[k][nd - 1] == strides[k][d] * shape[d];
        if (merge) {
            L->shape[nd - 1] *= shape[d];
            for (int k = 0; k < nops; k++) L->strides[k][nd - 1] = strides[k][d];
        } else {
            L->shape[nd] = shape[d];
            for (int k = 0; k < nops; k++) L->strides[k][nd] = strides[k][d];
            nd++;
        }
    }
    if (nd == 0) { /* a single element: one row of length 1 */
        L->shape[0] = 1;
        for (int k = 0; k < nops; k++) L->strides[k][0] = 0;
        nd = 1;
    }
    L->ndim = nd;
}

/* Position of a walk over the layout in rows: the multi-index of the current
 * row (every dim but the last), the element offset of each operand at the start
 * of that row, and the column inside the row where the walk starts. */
typedef struct {
    int64_t index[MG_MAX_DIMS];
    int64_t offset[MAX_OPERANDS];
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

/* ---- scalar conversions ------------------------------------------------- */

/* A double that is exactly an int64 value, or -1 (caller reports MG_ERR_OP). */
static int exact_int64(double v, int64_t *out) {
    if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) return -1; /* NaN too */
    if (v != floor(v)) return -1;
    *out = (int64_t)v;
    return 0;
}

/* Bounds for an integer clamp: the integers x with lo <= x are x >= ceil(lo). */
static int64_t int64_bound(double v, int upper) {
    v = upper ? floor(v) : ceil(v);
    if (v >= 9223372036854775807.0) return INT64_MAX;
    if (v <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)v;
}

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

static int check_binary_op(int dtype, int op) {
    MG_CHECK(mg_dtype_size(dtype) != 0, MG_ERR_DTYPE);
    MG_CHECK(op >= MG_ADD && op <= MG_GE, MG_ERR_OP);
    /* integer division and powers have no one obvious meaning (floor? error on
     * negative exponents?); the caller casts to float instead */
    MG_CHECK(!(dtype == MG_INT64 && (op == MG_DIV || op == MG_POW)), MG_ERR_DTYPE);
    return MG_OK;
}

/* Shared validation of a strided call; *n gets the output's element count. */
static int check_strided(int ndim, const int64_t *shape, int nops, const void *const data[],
                         const int64_t *const strides[], const void *out, int64_t *n) {
    int status = mg_check_shape(ndim, shape);
    if (status != MG_OK) return status;
    /* the element count must fit int64 (a corrupt shape could overflow it) */
    int64_t count = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 0) { count = 0; break; }
        MG_CHECK(count <= INT64_MAX / shape[d], MG_ERR_SIZE);
        count *= shape[d];
    }
    *n = count;
    if (count == 0) return MG_OK;
    MG_CHECK(out != NULL, MG_ERR_NULL);
    for (int k = 0; k < nops; k++) {
        MG_CHECK(data[k] != NULL, MG_ERR_NULL);
        MG_CHECK(ndim == 0 || strides[k] != NULL, MG_ERR_NULL);
    }
    return MG_OK;
}

int mg_binary(int dtype, int op, int ndim, const int64_t *shape,
              const void *a, const int64_t *a_strides,
              const void *b, const int64_t *b_strides, void *out) {
    int status = check_binary_op(dtype, op);
    if (status != MG_OK) return status;
    const void *data[2] = {a, b};
    const int64_t *strides[2] = {a_strides, b_strides};
    int64_t n;
    status = check_strided(ndim, shape, 2, data, strides, out, &n);
    if (status != MG_OK || n == 0) return status;

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
    int status = check_binary_op(dtype, op);
    if (status != MG_OK) return status;
    MG_CHECK(n >= 0, MG_ERR_SIZE);
    int64_t s_int = 0;
    if (dtype == MG_INT64) MG_CHECK(exact_int64(s, &s_int) == 0, MG_ERR_OP);
    if (n == 0) return MG_OK;
    MG_CHECK(a != NULL && out != NULL, MG_ERR_NULL);
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
    MG_CHECK(mg_dtype_size(dtype) != 0, MG_ERR_DTYPE);
    const void *data[3] = {cond, a, b};
    const int64_t *strides[3] = {cond_strides, a_strides, b_strides};
    int64_t n;
    int status = check_strided(ndim, shape, 3, data, strides, out, &n);
    if (status != MG_OK || n == 0) return status;

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
    MG_CHECK(mg_dtype_size(dtype) != 0, MG_ERR_DTYPE);
    MG_CHECK(n >= 0, MG_ERR_SIZE);
    /* a NaN bound has no integer meaning; for floats it makes every output NaN */
    MG_CHECK(dtype != MG_INT64 || (lo == lo && hi == hi), MG_ERR_OP);
    if (n == 0) return MG_OK;
    MG_CHECK(x != NULL && out != NULL, MG_ERR_NULL);
    switch (dtype) {
    case MG_FLOAT32: clamp_f32(n, x, (float)lo, (float)hi, out); break;
    case MG_FLOAT64: clamp_f64(n, x, lo, hi, out); break;
    default: clamp_i64(n, x, int64_bound(lo, 0), int64_bound(hi, 1), out); break;
    }
    return MG_OK;
}

int mg_clamp_backward(int dtype, int64_t n, const void *x, double lo, double hi,
                      const void *gy, void *gx) {
    MG_CHECK(mg_is_float_dtype(dtype), MG_ERR_DTYPE); /* integers carry no gradient */
    MG_CHECK(n >= 0, MG_ERR_SIZE);
    if (n == 0) return MG_OK;
    MG_CHECK(x != NULL && gy != NULL && gx != NULL, MG_ERR_NULL);
    /* the same float32-rounded bounds as the forward pass, so the gradient
     * flows exactly where the forward passed x through */
    if (dtype == MG_FLOAT32)
        clamp_backward_f32(n, x, (float)lo, (float)hi, gy, gx);
    else
        clamp_backward_f64(n, x, lo, hi, gy, gx);
    return MG_OK;
}
