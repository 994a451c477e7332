/* gemm.c -- NOT YET IMPLEMENTED: placeholders returning MG_ERR_UNSUPPORTED. */
#include "core.h"

int mg_gemm(int dtype, int trans_a, int trans_b, int64_t batch, int64_t m, int64_t n, int64_t k, double alpha, const void *a, int64_t lda, int64_t stride_a, const void *b, int64_t ldb, int64_t stride_b, double beta, void *c, int64_t ldc, int64_t stride_c) {
    return MG_ERR_UNSUPPORTED;
}

int mg_gemm_builtin(int dtype, int trans_a, int trans_b, int64_t batch, int64_t m, int64_t n, int64_t k, double alpha, const void *a, int64_t lda, int64_t stride_a, const void *b, int64_t ldb, int64_t stride_b, double beta, void *c, int64_t ldc, int64_t stride_c) {
    return MG_ERR_UNSUPPORTED;
}
