/*
 * copy.c -- fill, strided copy (the one kernel that makes a view contiguous
 * or writes into a view) and dtype conversion.
 */
#include <math.h>
#include <string.h>

#include "core.h"
#include "layout.h"

/* float -> int64 the way a careful cast should: NaN becomes 0, values beyond
 * the range saturate (a plain C cast is undefined behaviour there). */
static inline int64_t to_int64(double v) {
    if (v != v) return 0;
    if (v >= 9223372036854775807.0) return INT64_MAX;
    if (v <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)v;
}

int mg_fill(int dtype, int64_t n, double value, void *out) {
    MG_CHECK(mg_dtype_size(dtype) != 0, MG_ERR_DTYPE);
    MG_CHECK(n >= 0, MG_ERR_SIZE);
    if (n == 0) return MG_OK;
    MG_CHECK(out != NULL, MG_ERR_NULL);
    if (dtype == MG_FLOAT32) {
        float v = (float)value, *o = out;
        MG_PARALLEL_RANGES(n, n, lo, hi, for (int64_t i = lo; i < hi; i++) o[i] = v);
    } else if (dtype == MG_FLOAT64) {
        double *o = out;
        MG_PARALLEL_RANGES(n, n, lo, hi, for (int64_t i = lo; i < hi; i++) o[i] = value);
    } else {
        int64_t v = to_int64(value), *o = out;
        MG_PARALLEL_RANGES(n, n, lo, hi, for (int64_t i = lo; i < hi; i++) o[i] = v);
    }
    return MG_OK;
}

/* One row of a strided copy; steps in bytes.  The common rows get a fast
 * path: contiguous on both sides (a block copy) and a broadcast source (one
 * value repeated: a bias row stretched over a batch). */
static void copy_row(int elem_size, int64_t n, const char *src, int64_t src_step,
                     char *dst, int64_t dst_step) {
    if (src_step == elem_size && dst_step == elem_size) {
        memmove(dst, src, (size_t)(n * elem_size));
    } else if (elem_size == 4) {
        for (int64_t i = 0; i < n; i++)
            *(uint32_t *)(dst + i * dst_step) = *(const uint32_t *)(src + i * src_step);
    } else {
        for (int64_t i = 0; i < n; i++)
            *(uint64_t *)(dst + i * dst_step) = *(const uint64_t *)(src + i * src_step);
    }
}

/* Rows [r0, r1) of a walk over shape[0, nd) (the last dim is the row), strides in
 * elements: an odometer over the leading dims, started at row r0. */
static void copy_rows(int elem_size, int nd, const int64_t *shape, const char *src,
                      const int64_t *src_strides, char *dst, const int64_t *dst_strides,
                      int64_t r0, int64_t r1) {
    const int last = nd - 1;
    int64_t index[MG_MAX_DIMS] = {0};
    int64_t rest = r0;
    for (int k = last - 1; k >= 0; k--) { /* row r0's position */
        index[k] = rest % shape[k];
        rest /= shape[k];
        src += index[k] * src_strides[k] * elem_size;
        dst += index[k] * dst_strides[k] * elem_size;
    }
    for (int64_t r = r0; r < r1; r++) {
        copy_row(elem_size, shape[last], src, src_strides[last] * elem_size, dst,
                 dst_strides[last] * elem_size);
        for (int k = last - 1; k >= 0; k--) {
            src += src_strides[k] * elem_size;
            dst += dst_strides[k] * elem_size;
            if (++index[k] < shape[k]) break;
            src -= shape[k] * src_strides[k] * elem_size;
            dst -= shape[k] * dst_strides[k] * elem_size;
            index[k] = 0;
        }
    }
}

int mg_copy_strided(int elem_size, int ndim, const int64_t *shape,
                    const void *src, const int64_t *src_strides,
                    void *dst, const int64_t *dst_strides) {
    int64_t n;
    const int status = mg_copy_strided_check_args(elem_size, ndim, shape, src, src_strides, dst,
                                                  dst_strides, &n);
    if (status != MG_OK || n == 0) return status;
    if (ndim == 0) {
        memcpy(dst, src, (size_t)elem_size);
        return MG_OK;
    }
    /* Merged dims: a contiguous view is one long row, a broadcast bias N rows of C. */
    const int64_t *strides[2] = {src_strides, dst_strides};
    int64_t merged_shape[MG_MAX_DIMS], merged_strides[2][MG_MAX_DIMS];
    const int nd = mg_layout_merge_dims(ndim, shape, 2, strides, merged_shape, merged_strides);
    const int64_t rows = n / merged_shape[nd - 1];
    const char *s = src;
    char *d = dst;
    MG_PARALLEL_RANGES(rows, n, lo, hi,
                       copy_rows(elem_size, nd, merged_shape, s, merged_strides[0], d,
                                 merged_strides[1], lo, hi));
    return MG_OK;
}

/* out (outer, out_inner) = the pieces side by side: piece k, contiguous
 * (outer, inners[k]), fills columns [sum of inners[< k], + inners[k]) of every
 * row.  A cat along dim d has outer = the product of the dims before d; a stack
 * is a cat of pieces with a new dim of size 1.  One call however many pieces:
 * the per-piece strided copies it replaces cost more in Python than in C. */
static void concat_rows(int elem_size, int npieces, const int64_t *inners,
                        const void *const *pieces, int64_t out_inner, char *out,
                        int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
        char *dst = out + r * out_inner * elem_size;
        for (int k = 0; k < npieces; k++) {
            const size_t bytes = (size_t)(inners[k] * elem_size);
            if (bytes) memcpy(dst, (const char *)pieces[k] + r * bytes, bytes);
            dst += bytes;
        }
    }
}

int mg_concat(int elem_size, int64_t outer, int npieces, const int64_t *inners,
              const void *const *pieces, int64_t out_inner, void *out) {
    MG_CHECK(elem_size == 4 || elem_size == 8, MG_ERR_DTYPE);
    MG_CHECK(outer >= 0 && out_inner >= 0 && out_inner <= MG_MAX_ELEMS && npieces >= 1,
             MG_ERR_SIZE);
    MG_CHECK(inners != NULL && pieces != NULL, MG_ERR_NULL);
    int64_t total;
    MG_CHECK(mg_mul_fits(outer, out_inner, &total), MG_ERR_SIZE);
    int64_t sum = 0; /* stays <= out_inner <= MG_MAX_ELEMS: adding cannot overflow */
    for (int k = 0; k < npieces; k++) {
        MG_CHECK(inners[k] >= 0, MG_ERR_SIZE);
        MG_CHECK(pieces[k] != NULL || inners[k] == 0 || outer == 0, MG_ERR_NULL);
        sum += inners[k];
        MG_CHECK(sum <= out_inner, MG_ERR_SIZE);
    }
    MG_CHECK(sum == out_inner, MG_ERR_SIZE);
    if (total == 0) return MG_OK;
    MG_CHECK(out != NULL, MG_ERR_NULL);
    char *o = out;
    MG_PARALLEL_RANGES(outer, total, lo, hi,
                       concat_rows(elem_size, npieces, inners, pieces, out_inner, o, lo, hi));
    return MG_OK;
}

#define CAST_LOOP(SRC_T, DST_T, CONVERT)                                                 \
    do {                                                                                 \
        const SRC_T *s = src;                                                            \
        DST_T *d = dst;                                                                  \
        MG_PARALLEL_RANGES(n, n, lo, hi,                                                 \
                           for (int64_t i = lo; i < hi; i++) d[i] = CONVERT(s[i]));      \
    } while (0)
#define PLAIN(v) (v)

int mg_cast(int src_dtype, int dst_dtype, int64_t n, const void *src, void *dst) {
    MG_CHECK(mg_dtype_size(src_dtype) != 0 && mg_dtype_size(dst_dtype) != 0, MG_ERR_DTYPE);
    MG_CHECK(n >= 0, MG_ERR_SIZE);
    if (n == 0) return MG_OK;
    MG_CHECK(src != NULL && dst != NULL, MG_ERR_NULL);
    switch (src_dtype * 3 + dst_dtype) {
    case MG_FLOAT32 * 3 + MG_FLOAT32: memmove(dst, src, (size_t)n * 4); break;
    case MG_FLOAT32 * 3 + MG_FLOAT64: CAST_LOOP(float, double, PLAIN); break;
    case MG_FLOAT32 * 3 + MG_INT64: CAST_LOOP(float, int64_t, to_int64); break;
    case MG_FLOAT64 * 3 + MG_FLOAT32: CAST_LOOP(double, float, PLAIN); break;
    case MG_FLOAT64 * 3 + MG_FLOAT64: memmove(dst, src, (size_t)n * 8); break;
    case MG_FLOAT64 * 3 + MG_INT64: CAST_LOOP(double, int64_t, to_int64); break;
    case MG_INT64 * 3 + MG_FLOAT32: CAST_LOOP(int64_t, float, PLAIN); break;
    case MG_INT64 * 3 + MG_FLOAT64: CAST_LOOP(int64_t, double, PLAIN); break;
    case MG_INT64 * 3 + MG_INT64: memmove(dst, src, (size_t)n * 8); break;
    }
    return MG_OK;
}
