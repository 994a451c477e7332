/*
 * gemm.h -- private to the matrix-multiply files (gemm.c, gemm_builtin.c):
 * the argument checks and trivial cases both entry points share.
 */
#ifndef MINIGRAD_GEMM_H
#define MINIGRAD_GEMM_H

#include <stdint.h>

/*
 * Validates mg_gemm's arguments and finishes the problems that need no
 * multiply: nothing to write (batch, m or n == 0), or op(A) @ op(B) == 0
 * (k == 0 or alpha == 0), where C = beta * C.  Returns a status; on MG_OK,
 * *done says whether C is already final.
 */
int mg_gemm_prepare(int dtype, int trans_a, int trans_b, int64_t batch,
                    int64_t m, int64_t n, int64_t k, double alpha,
                    const void *a, int64_t lda, int64_t stride_a,
                    const void *b, int64_t ldb, int64_t stride_b,
                    double beta, void *c, int64_t ldc, int64_t stride_c, int *done);

#endif /* MINIGRAD_GEMM_H */
