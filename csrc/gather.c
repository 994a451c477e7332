/*
 * gather.c -- index_select along the middle axis, and its adjoint.
 *
 *   gather:      out (outer, idx_n, inner) = src (outer, src_n, inner)[:, idx[j], :]
 *   scatter_add: dst (outer, dst_n, inner)[:, idx[j], :] += src (outer, idx_n, inner)[:, j, :]
 *
 * Indices may be negative (counted from the end, like Python).  Every index is
 * checked before anything is written, so an out-of-range index leaves the
 * output untouched.  gather only moves bytes and so serves any dtype;
 * scatter_add adds and takes float dtypes.
 *
 * scatter_add with repeated indices: two j's may hit the same dst row, so
 * threads never split the j loop.  They split (outer, column range) instead,
 * and each walks j in order -- the sums are the same at any thread count.
 */
#include <string.h>

#include "core.h"

/* Columns of one scatter_add task: a multiple of a cache line of floats and
 * doubles, so that two threads never write the same line. */
#define SCATTER_TILE 256

/* Python-style wrap of an index already known to lie in [-n, n). */
static inline int64_t wrap(int64_t i, int64_t n) { return i < 0 ? i + n : i; }

static int check_indices(const int64_t *idx, int64_t idx_n, int64_t n) {
    for (int64_t j = 0; j < idx_n; j++) MG_CHECK(idx[j] >= -n && idx[j] < n, MG_ERR_INDEX);
    return MG_OK;
}

/* Checks shared by both directions; on MG_OK the caller may touch memory. */
static int check_gather_args(int64_t outer, int64_t n, int64_t inner, const int64_t *idx,
                             int64_t idx_n) {
    MG_CHECK(outer >= 0 && n >= 0 && inner >= 0 && idx_n >= 0, MG_ERR_SIZE);
    if (idx_n == 0) return MG_OK;
    MG_CHECK(idx != NULL, MG_ERR_NULL);
    return check_indices(idx, idx_n, n);
}

/* Output rows [lo, hi) of a gather: row r = b * idx_n + j of out (outer,
 * idx_n, inner) is row (b, idx[j]) of src (outer, src_n, inner). */
static void gather_rows(int64_t lo, int64_t hi, size_t elem, int64_t src_n, int64_t inner,
                        const int64_t *idx, int64_t idx_n, const char *s, char *o) {
    const size_t row_bytes = (size_t)inner * elem;
    if (inner == 1 && elem == 4) { /* one element per index: skip memcpy */
        for (int64_t r = lo; r < hi; r++) {
            const int64_t b = r / idx_n, j = r % idx_n;
            ((uint32_t *)o)[r] = ((const uint32_t *)s)[b * src_n + wrap(idx[j], src_n)];
        }
    } else if (inner == 1) {
        for (int64_t r = lo; r < hi; r++) {
            const int64_t b = r / idx_n, j = r % idx_n;
            ((uint64_t *)o)[r] = ((const uint64_t *)s)[b * src_n + wrap(idx[j], src_n)];
        }
    } else {
        for (int64_t r = lo; r < hi; r++) {
            const int64_t b = r / idx_n, j = r % idx_n;
            memcpy(o + (size_t)r * row_bytes,
                   s + (size_t)(b * src_n + wrap(idx[j], src_n)) * row_bytes, row_bytes);
        }
    }
}

int mg_gather(int dtype, int64_t outer, int64_t src_n, int64_t inner,
              const int64_t *idx, int64_t idx_n, const void *src, void *out) {
    const size_t elem = mg_dtype_size(dtype);
    MG_CHECK(elem != 0, MG_ERR_DTYPE);
    int status = check_gather_args(outer, src_n, inner, idx, idx_n);
    if (status != MG_OK) return status;
    const int64_t rows = outer * idx_n; /* rows of `inner` elements to copy */
    if (rows == 0 || inner == 0) return MG_OK;
    MG_CHECK(src != NULL && out != NULL, MG_ERR_NULL);

    MG_PARALLEL_RANGES(rows, rows * inner, lo, hi,
                       gather_rows(lo, hi, elem, src_n, inner, idx, idx_n, src, out));
    return MG_OK;
}

#define MG_TYPED_FILE "gather_typed.inc"
#include "for_each_float.h"

int mg_scatter_add(int dtype, int64_t outer, int64_t dst_n, int64_t inner,
                   const int64_t *idx, int64_t idx_n, const void *src, void *dst) {
    MG_CHECK(mg_is_float_dtype(dtype), MG_ERR_DTYPE);
    int status = check_gather_args(outer, dst_n, inner, idx, idx_n);
    if (status != MG_OK) return status;
    if (outer == 0 || idx_n == 0 || inner == 0) return MG_OK;
    MG_CHECK(src != NULL && dst != NULL, MG_ERR_NULL);
    if (dtype == MG_FLOAT32)
        scatter_add_f32(outer, dst_n, inner, idx, idx_n, src, dst);
    else
        scatter_add_f64(outer, dst_n, inner, idx, idx_n, src, dst);
    return MG_OK;
}
