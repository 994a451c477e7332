/*
 * copy.c -- fill, strided copy (the one kernel that makes a view contiguous
 * or writes into a view) and dtype conversion.
 */
#include <math.h>
#include <string.h>

#include "core.h"

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

/* One row of a strided copy; strides in bytes. */
static void copy_row(int elem_size, int64_t n, const char *src, int64_t src_step,
                     char *dst, int64_t dst_step) {
    if (elem_size == 4) {
        for (int64_t i = 0; i < n; i++)
            *(uint32_t *)(dst + i * dst_step) = *(const uint32_t *)(src + i * src_step);
    } else {
        for (int64_t i = 0; i < n; i++)
            *(uint64_t *)(dst + i * dst_step) = *(const uint64_t *)(src + i * src_step);
    }
}

int mg_copy_strided(int elem_size, int ndim, const int64_t *shape,
                    const void *src, const int64_t *src_strides,
                    void *dst, const int64_t *dst_strides) {
    int status = mg_check_shape(ndim, shape);
    if (status != MG_OK) return status;
    MG_CHECK(elem_size == 4 || elem_size == 8, MG_ERR_DTYPE);
    int64_t n = mg_numel(ndim, shape);
    if (n == 0) return MG_OK;
    MG_CHECK(src != NULL && dst != NULL, MG_ERR_NULL);
    if (ndim == 0) {
        memcpy(dst, src, (size_t)elem_size);
        return MG_OK;
    }
    MG_CHECK(src_strides != NULL && dst_strides != NULL, MG_ERR_NULL);

    /* Walk every dim but the last with an odometer; copy the last as a row. */
    const int last = ndim - 1;
    const int64_t rows = n / shape[last];
    int64_t index[MG_MAX_DIMS] = {0};
    const char *s = src;
    char *d = dst;
    for (int64_t r = 0; r < rows; r++) {
        copy_row(elem_size, shape[last], s, src_strides[last] * elem_size,
                 d, dst_strides[last] * elem_size);
        for (int k = last - 1; k >= 0; k--) {
            s += src_strides[k] * elem_size;
            d += dst_strides[k] * elem_size;
            if (++index[k] < shape[k]) break;
            s -= shape[k] * src_strides[k] * elem_size;
            d -= shape[k] * dst_strides[k] * elem_size;
            index[k] = 0;
        }
    }
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
