/*
 * gemm_args.h -- the argument checks of the batched matrix multiply
 * C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b], shared by the CPU's gemm.c
 * (mg_gemm, mg_gemm_builtin) and the GPU's gemm.cu (mg_cuda_gemm,
 * mg_cuda_gemm_builtin): the same status codes, in the same order, on either
 * device.  Plain C for gcc and nvcc; not part of the public API.
 */
#ifndef MINIGRAD_GEMM_ARGS_H
#define MINIGRAD_GEMM_ARGS_H

#include "check.h"

/* What a checked call leaves to do. */
enum mg_gemm_work {
    MG_GEMM_NOTHING,  /* nothing to write: batch, m or n == 0 */
    MG_GEMM_SCALE_C,  /* op(A) @ op(B) == 0 (k == 0 or alpha == 0): C = beta * C */
    MG_GEMM_MULTIPLY, /* the full product */
};

/*
 * Validates mg_gemm's arguments (row-major; a row of a stored matrix holds its
 * column count, so lda >= op(A)'s stored width, ...) and says in *work what is
 * left to do.  Pointers are checked only where they will be read: C unless
 * there is nothing to write, A and B only for the full product.  On an error
 * *work is MG_GEMM_NOTHING.
 */
static inline int mg_gemm_check_args(int dtype, int trans_a, int trans_b, int64_t batch,
                                     int64_t m, int64_t n, int64_t k, double alpha,
                                     const void *a, int64_t lda, int64_t stride_a,
                                     const void *b, int64_t ldb, int64_t stride_b,
                                     const void *c, int64_t ldc, int64_t stride_c, int *work) {
    *work = MG_GEMM_NOTHING;
    MG_CHECK(mg_is_float_dtype(dtype), MG_ERR_DTYPE);
    MG_CHECK((trans_a == 0 || trans_a == 1) && (trans_b == 0 || trans_b == 1), MG_ERR_OP);
    MG_CHECK(batch >= 0 && m >= 0 && n >= 0 && k >= 0, MG_ERR_SIZE);
    MG_CHECK(lda >= (trans_a ? m : k) && ldb >= (trans_b ? k : n) && ldc >= n, MG_ERR_SIZE);
    MG_CHECK(stride_a >= 0 && stride_b >= 0 && stride_c >= 0, MG_ERR_SIZE);
    if (batch == 0 || m == 0 || n == 0) return MG_OK;
    /* Distinct batch entries must not share an element of C: they may be
     * written concurrently (threads, or thread blocks). */
    if (batch > 1) MG_CHECK(stride_c >= (m - 1) * ldc + n, MG_ERR_SIZE);
    MG_CHECK(c != NULL, MG_ERR_NULL);
    if (k == 0 || alpha == 0) {
        *work = MG_GEMM_SCALE_C;
        return MG_OK;
    }
    MG_CHECK(a != NULL && b != NULL, MG_ERR_NULL);
    *work = MG_GEMM_MULTIPLY;
    return MG_OK;
}

#endif /* MINIGRAD_GEMM_ARGS_H */
