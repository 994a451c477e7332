/*
 * gemm.c -- batched matrix multiply, C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b].
 *
 * Checks the arguments, settles the trivial cases, then hands each problem to
 * BLAS (one cblas_?gemm call per batch entry, never from inside an OpenMP
 * region: OpenBLAS runs its own thread pool) or, in a build without BLAS, to
 * minigrad's own blocked kernel (gemm_builtin.c).  Small products -- a step
 * of a recurrent net, a Linear layer's forward and gradients at a small
 * batch -- go to the packed kernels' AVX-512 micro-kernel instead
 * (mg_gemm_inplace, gemm_packed.c), which skips BLAS's copies of A and B:
 * 1.2-1.4x OpenBLAS's speed on them at one thread.
 */
#include <limits.h>

#include "blas.h"
#include "core.h"
#include "gemm.h"
#include "gemm_args.h"

/* C = beta * C over one (m, n) matrix with row stride ldc; beta == 0 writes
 * zeros without reading C (so NaN or garbage in C does not survive). */
#define DEFINE_SCALE(T, name)                                                        \
    static void name##_rows(int64_t lo, int64_t hi, int64_t n, T beta, T *c, int64_t ldc) { \
        for (int64_t i = lo; i < hi; i++) {                                          \
            T *row = c + i * ldc;                                                    \
            if (beta == (T)0)                                                        \
                for (int64_t j = 0; j < n; j++) row[j] = (T)0;                       \
            else if (beta != (T)1)                                                   \
                for (int64_t j = 0; j < n; j++) row[j] *= beta;                      \
        }                                                                            \
    }                                                                                \
    static void name(int64_t m, int64_t n, T beta, T *c, int64_t ldc) {              \
        MG_PARALLEL_RANGES(m, m * n, lo, hi, name##_rows(lo, hi, n, beta, c, ldc));  \
    }
DEFINE_SCALE(float, scale_f32)
DEFINE_SCALE(double, scale_f64)

int mg_gemm_prepare(int dtype, int trans_a, int trans_b, int64_t batch,
                    int64_t m, int64_t n, int64_t k, double alpha,
                    const void *a, int64_t lda, int64_t stride_a,
                    const void *b, int64_t ldb, int64_t stride_b,
                    double beta, void *c, int64_t ldc, int64_t stride_c, int *done) {
    int work;
    const int status = mg_gemm_check_args(dtype, trans_a, trans_b, batch, m, n, k, alpha, a, lda,
                                          stride_a, b, ldb, stride_b, c, ldc, stride_c, &work);
    *done = work != MG_GEMM_MULTIPLY;
    if (status != MG_OK || work != MG_GEMM_SCALE_C) return status;
    /* op(A) @ op(B) contributes nothing: C = beta * C */
    for (int64_t i = 0; i < batch; i++) {
        if (dtype == MG_FLOAT32)
            scale_f32(m, n, (float)beta, (float *)c + i * stride_c, ldc);
        else
            scale_f64(m, n, beta, (double *)c + i * stride_c, ldc);
    }
    return MG_OK;
}

#ifdef MG_USE_BLAS
/* The BLAS takes int sizes (scipy-openblas32 and Debian's OpenBLAS both). */
static int fits_int(int64_t v) { return v <= INT_MAX; }
#endif

int mg_gemm(int dtype, int trans_a, int trans_b, int64_t batch,
            int64_t m, int64_t n, int64_t k, double alpha,
            const void *a, int64_t lda, int64_t stride_a,
            const void *b, int64_t ldb, int64_t stride_b,
            double beta, void *c, int64_t ldc, int64_t stride_c) {
    int done;
    int status = mg_gemm_prepare(dtype, trans_a, trans_b, batch, m, n, k, alpha, a, lda,
                                 stride_a, b, ldb, stride_b, beta, c, ldc, stride_c, &done);
    if (status != MG_OK || done) return status;
    if (alpha == 1.0 && mg_gemm_inplace_suits(dtype, trans_b, m, n, k)) {
        for (int64_t i = 0; i < batch && status == MG_OK; i++) {
            const size_t size = mg_dtype_size(dtype);
            status = mg_gemm_inplace(dtype, -1, trans_a, trans_b, m, n, k,
                                     (const char *)a + i * stride_a * size, lda,
                                     (const char *)b + i * stride_b * size, ldb, beta,
                                     (char *)c + i * stride_c * size, ldc);
        }
        return status;
    }
#ifdef MG_USE_BLAS
    if (fits_int(m) && fits_int(n) && fits_int(k) && fits_int(lda) && fits_int(ldb) &&
        fits_int(ldc)) {
        enum CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
        enum CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
        for (int64_t i = 0; i < batch; i++) {
            if (dtype == MG_FLOAT32)
                MG_BLAS(cblas_sgemm)(CblasRowMajor, ta, tb, (int)m, (int)n, (int)k, (float)alpha,
                                     (const float *)a + i * stride_a, (int)lda,
                                     (const float *)b + i * stride_b, (int)ldb, (float)beta,
                                     (float *)c + i * stride_c, (int)ldc);
            else
                MG_BLAS(cblas_dgemm)(CblasRowMajor, ta, tb, (int)m, (int)n, (int)k, alpha,
                                     (const double *)a + i * stride_a, (int)lda,
                                     (const double *)b + i * stride_b, (int)ldb, beta,
                                     (double *)c + i * stride_c, (int)ldc);
        }
        return MG_OK;
    }
#endif
    /* No BLAS, or sizes beyond its int arguments. */
    return mg_gemm_builtin(dtype, trans_a, trans_b, batch, m, n, k, alpha, a, lda, stride_a,
                           b, ldb, stride_b, beta, c, ldc, stride_c);
}
