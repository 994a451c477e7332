/*
 * layout.h -- the strided-walk description of the broadcasting kernels
 * (binary, where, strided copy) on both devices: the checks of a strided call
 * and the simplification of its shape before any loop or launch (binary.c,
 * and elementwise_layout.cuh for elementwise.cu and copy.cu).  Plain C for
 * gcc and nvcc; not part of the public API.
 *
 * Broadcasting arrives as element strides over the output's shape (0 on a
 * broadcast dim, negative for reversed views).  mg_layout_merge_dims drops
 * size-1 dims and merges neighbouring dims that every operand walks
 * contiguously, so (N, C) + (N, C) becomes one flat row and (N, C) + (C,)
 * becomes N rows of C: fewer dims, fewer index computations per element.
 */
#ifndef MINIGRAD_LAYOUT_H
#define MINIGRAD_LAYOUT_H

#include "check.h"

/* Most operands a strided kernel reads (where: cond, a, b). */
#define MG_LAYOUT_MAX_OPERANDS 3

/* *count = the element count of a checked shape (mg_check_shape); MG_ERR_SIZE
 * when it does not fit int64 (a corrupt shape could overflow it). */
static inline int mg_layout_count(int ndim, const int64_t *shape, int64_t *count) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 0) {
            n = 0;
            break;
        }
        MG_CHECK(n <= INT64_MAX / shape[d], MG_ERR_SIZE);
        n *= shape[d];
    }
    *count = n;
    return MG_OK;
}

/* Shape, count and pointers of a strided call of `nops` operands (data[k]
 * walked by strides[k]) writing `out`; *n gets the output's element count.
 * Pointers are checked only when there is something to do (*n > 0); a 0-dim
 * call reads no strides. */
static inline int mg_layout_check(int ndim, const int64_t *shape, int nops,
                                  const void *const data[], const int64_t *const strides[],
                                  const void *out, int64_t *n) {
    int status = mg_check_shape(ndim, shape);
    if (status != MG_OK) return status;
    status = mg_layout_count(ndim, shape, n);
    if (status != MG_OK || *n == 0) return status;
    MG_CHECK(out != NULL, MG_ERR_NULL);
    for (int k = 0; k < nops; k++) {
        MG_CHECK(data[k] != NULL, MG_ERR_NULL);
        MG_CHECK(ndim == 0 || strides[k] != NULL, MG_ERR_NULL);
    }
    return MG_OK;
}

/* The checks of a strided copy (mg_copy_strided and its CUDA twin): *n gets the
 * element count; pointers are checked only when there is something to copy, and
 * a 0-dim copy (one element) reads no strides. */
static inline int mg_copy_strided_check_args(int elem_size, int ndim, const int64_t *shape,
                                             const void *src, const int64_t *src_strides,
                                             const void *dst, const int64_t *dst_strides,
                                             int64_t *n) {
    int status = mg_check_shape(ndim, shape);
    if (status != MG_OK) return status;
    MG_CHECK(elem_size == 4 || elem_size == 8, MG_ERR_DTYPE);
    status = mg_layout_count(ndim, shape, n);
    if (status != MG_OK || *n == 0) return status;
    MG_CHECK(src != NULL && dst != NULL, MG_ERR_NULL);
    MG_CHECK(ndim == 0 || (src_strides != NULL && dst_strides != NULL), MG_ERR_NULL);
    return MG_OK;
}

/* The simplified walk of a non-empty output for `nops` (<= 3) operands:
 * writes merged_shape[0, nd) and merged_strides[k][0, nd) for each operand k
 * and returns nd >= 1.  Dim d merges into the previous kept dim where every
 * operand has stride[prev] == stride[d] * shape[d]; a single element becomes
 * one dim of size 1 with stride 0. */
static inline int mg_layout_merge_dims(int ndim, const int64_t *shape, int nops,
                                       const int64_t *const strides[],
                                       int64_t merged_shape[MG_MAX_DIMS],
                                       int64_t merged_strides[][MG_MAX_DIMS]) {
    int nd = 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 1) continue;
        int merge = nd > 0;
        for (int k = 0; k < nops && merge; k++)
            merge = merged_strides[k][nd - 1] == strides[k][d] * shape[d];
        if (merge) {
            merged_shape[nd - 1] *= shape[d];
            for (int k = 0; k < nops; k++) merged_strides[k][nd - 1] = strides[k][d];
        } else {
            merged_shape[nd] = shape[d];
            for (int k = 0; k < nops; k++) merged_strides[k][nd] = strides[k][d];
            nd++;
        }
    }
    if (nd == 0) { /* a single element: one row of length 1 */
        merged_shape[0] = 1;
        for (int k = 0; k < nops; k++) merged_strides[k][0] = 0;
        nd = 1;
    }
    return nd;
}

#endif /* MINIGRAD_LAYOUT_H */
