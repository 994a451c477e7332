/*
 * gemm.c -- batched matrix multiply, C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b].
 *
 * Checks the arguments, settles the trivial cases, then hands each problem to
 * BLAS (one cblas_?gemm call per batch entry, kept to one thread: with
 * several threads set, mg_gemm shares the products among its own OpenMP
 * threads, see below) or, in a build without BLAS, to minigrad's own blocked
 * kernel (gemm_builtin.c).  Small products -- a step of a recurrent net, a
 * Linear layer's forward and gradients at a small batch -- go to the packed
 * kernels' AVX-512 micro-kernel instead
 * (mg_gemm_inplace, gemm_packed.c), which skips BLAS's copies of A and B:
 * 1.2-1.4x OpenBLAS's speed on them at one thread; and so do tall products
 * with a B of up to 2 MB, B packed once (mg_gemm_packed_once): 1.1-1.4x.
 */
#include <limits.h>
#include <string.h>

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

static int gemm_one(int dtype, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                    double alpha, const void *a, int64_t lda, const void *b, int64_t ldb,
                    double beta, void *c, int64_t ldc);

/* C (m, n) = alpha op(A) op(B) + beta C for a few columns n (gemm_one's ragged
 * last columns): one BLAS matrix-vector product per column, where a gemm of
 * one column pays for copies of A (2048 x 128 by one column: 13 us against
 * 57).  With beta == 0 the column is zeroed first: a BLAS may scale y by
 * beta, and 0 * NaN stays NaN. */
static int gemm_columns(int dtype, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                        double alpha, const void *a, int64_t lda, const void *b, int64_t ldb,
                        double beta, void *c, int64_t ldc) {
#ifdef MG_USE_BLAS
    if (fits_int(m) && fits_int(k) && fits_int(lda) && fits_int(ldb) && fits_int(ldc)) {
        const enum CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
        const int rows = trans_a ? (int)k : (int)m, cols = trans_a ? (int)m : (int)k;
        const int incx = trans_b ? 1 : (int)ldb; /* column j of op(B) */
        const size_t size = mg_dtype_size(dtype);
        if (beta == 0.0)
            for (int64_t i = 0; i < m; i++)
                memset((char *)c + (size_t)(i * ldc) * size, 0, (size_t)n * size);
        for (int64_t j = 0; j < n; j++) {
            const char *x = (const char *)b + (size_t)(trans_b ? j * ldb : j) * size;
            char *y = (char *)c + (size_t)j * size;
            if (dtype == MG_FLOAT32)
                MG_BLAS(cblas_sgemv)(CblasRowMajor, ta, rows, cols, (float)alpha,
                                     (const float *)a, (int)lda, (const float *)x, incx,
                                     (float)beta, (float *)y, (int)ldc);
            else
                MG_BLAS(cblas_dgemv)(CblasRowMajor, ta, rows, cols, alpha, (const double *)a,
                                     (int)lda, (const double *)x, incx, beta, (double *)y,
                                     (int)ldc);
        }
        return MG_OK;
    }
#endif
    return gemm_one(dtype, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* One product on the calling thread: the small-product kernel where it beats
 * BLAS (mg_gemm_inplace_suits), or for tall products op(B) packed once and the
 * same micro-kernel (mg_gemm_packed_suits), else BLAS, else (no BLAS, or sizes
 * beyond its int arguments) minigrad's own blocked kernel. */
static int gemm_one(int dtype, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                    double alpha, const void *a, int64_t lda, const void *b, int64_t ldb,
                    double beta, void *c, int64_t ldc) {
    const int64_t ragged = alpha == 1.0 ? mg_gemm_ragged_columns(dtype, trans_a, trans_b, m, n, k)
                                        : 0;
    if (ragged > 0) { /* whole panels, then the last few columns apart */
        const int64_t whole = n - ragged;
        const size_t size = mg_dtype_size(dtype);
        const int status = gemm_one(dtype, trans_a, trans_b, m, whole, k, alpha, a, lda, b, ldb,
                                    beta, c, ldc);
        if (status != MG_OK) return status;
        return gemm_columns(dtype, trans_a, trans_b, m, ragged, k, alpha, a, lda,
                            (const char *)b + (size_t)(trans_b ? whole * ldb : whole) * size, ldb,
                            beta, (char *)c + (size_t)whole * size, ldc);
    }
    if (alpha == 1.0 && mg_gemm_inplace_suits(dtype, trans_b, m, n, k))
        return mg_gemm_inplace(dtype, -1, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c,
                               ldc);
    if (alpha == 1.0 && mg_gemm_packed_suits(dtype, trans_a, trans_b, m, n, k))
        return mg_gemm_packed_once(dtype, -1, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta,
                                   c, ldc);
#ifdef MG_USE_BLAS
    if (fits_int(m) && fits_int(n) && fits_int(k) && fits_int(lda) && fits_int(ldb) &&
        fits_int(ldc)) {
        enum CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
        enum CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
        if (dtype == MG_FLOAT32)
            MG_BLAS(cblas_sgemm)(CblasRowMajor, ta, tb, (int)m, (int)n, (int)k, (float)alpha,
                                 (const float *)a, (int)lda, (const float *)b, (int)ldb,
                                 (float)beta, (float *)c, (int)ldc);
        else
            MG_BLAS(cblas_dgemm)(CblasRowMajor, ta, tb, (int)m, (int)n, (int)k, alpha,
                                 (const double *)a, (int)lda, (const double *)b, (int)ldb, beta,
                                 (double *)c, (int)ldc);
        return MG_OK;
    }
#endif
    return mg_gemm_builtin(dtype, trans_a, trans_b, 1, m, n, k, alpha, a, lda, 0, b, ldb, 0,
                           beta, c, ldc, 0);
}

/* ---- sharing a product among threads --------------------------------------
 * With several threads set, mg_gemm cuts each product into parts, one per
 * thread -- bands of rows of C (A's rows) or of columns (B's columns),
 * whichever dimension is longer -- and each thread runs its part with
 * gemm_one.  BLAS is kept to one thread (runtime.c): one pool of threads, our
 * OpenMP team, runs everything, so a team that stays awake between calls
 * (GOMP_SPINCOUNT, minigrad/_native.py) never competes with BLAS's own
 * workers for the cores, and small products -- a recurrent step's (32, 256) x
 * (256, 1024) -- are shared too, which BLAS's own threads did not gain on. */

#ifdef _OPENMP
#define GEMM_OMP(directive) MG_PRAGMA(omp directive)
#else
#define GEMM_OMP(directive)
#endif

/* Products of fewer multiply-adds stay on one thread. */
#define GEMM_SPLIT_WORK (1 << 19)
/* Bands are whole multiples of these: the small-product kernel's register
 * tile (8 rows of A, 32 floats of B's columns), so that only the last band
 * of a product has a partial tile. */
#define GEMM_ROW_UNIT 8
#define GEMM_COL_UNIT 32

/* How one call is cut: batch x parts tasks, run by the team or in turn. */
struct gemm_split {
    int parallel; /* whether the team shares the tasks */
    int parts;    /* bands per product (1: whole products) */
    int by_rows;  /* bands of rows, else of columns */
    int64_t units; /* the banded dimension in units (GEMM_ROW_UNIT or GEMM_COL_UNIT) */
};

/* Whole products to each thread when there are as many as threads, else each
 * product cut into one band per thread along its longer dimension; nothing
 * shared below GEMM_SPLIT_WORK in all or with one thread. */
static struct gemm_split gemm_split_of(int64_t batch, int64_t m, int64_t n, int64_t k) {
    struct gemm_split s = {0, 1, 1, 1};
#ifdef _OPENMP
    const double work = (double)batch * (double)m * (double)n * (double)k;
    const int threads = omp_get_max_threads();
    if (threads < 2 || work < (double)GEMM_SPLIT_WORK) return s;
    s.parallel = batch > 1;
    if (batch >= threads) return s;
    const int64_t row_units = (m + GEMM_ROW_UNIT - 1) / GEMM_ROW_UNIT;
    const int64_t col_units = (n + GEMM_COL_UNIT - 1) / GEMM_COL_UNIT;
    s.by_rows = row_units >= col_units;
    s.units = s.by_rows ? row_units : col_units;
    s.parts = s.units < threads ? (int)s.units : threads;
    s.parallel = batch * s.parts > 1;
#else
    (void)batch, (void)m, (void)n, (void)k;
#endif
    return s;
}

/* One mg_gemm call's problem, its matrices as byte pointers. */
struct gemm_problem {
    int dtype, trans_a, trans_b;
    int64_t m, n, k, lda, ldb, ldc, stride_a, stride_b, stride_c;
    double alpha, beta;
    const char *a, *b;
    char *c;
    size_t size; /* bytes per element */
};

/* Task t of a call cut as `split`: band t % parts of product t / parts, a band
 * [lo, hi) of C's rows (with A's rows) or of its columns (with B's columns). */
static int gemm_task(const struct gemm_problem *p, const struct gemm_split *split, int64_t t) {
    const int64_t i = t / split->parts, part = t % split->parts;
    const char *a = p->a + (size_t)(i * p->stride_a) * p->size;
    const char *b = p->b + (size_t)(i * p->stride_b) * p->size;
    char *c = p->c + (size_t)(i * p->stride_c) * p->size;
    const int64_t extent = split->by_rows ? p->m : p->n;
    const int64_t unit = split->by_rows ? GEMM_ROW_UNIT : GEMM_COL_UNIT;
    int64_t lo = 0, hi = extent;
    if (split->parts > 1) {
        lo = split->units * part / split->parts * unit;
        hi = split->units * (part + 1) / split->parts * unit;
        if (hi > extent) hi = extent;
    }
    if (split->by_rows) /* row lo of A starts at lo * lda, or at lo when A is stored transposed */
        return gemm_one(p->dtype, p->trans_a, p->trans_b, hi - lo, p->n, p->k, p->alpha,
                        a + (size_t)(p->trans_a ? lo : lo * p->lda) * p->size, p->lda, b, p->ldb,
                        p->beta, c + (size_t)(lo * p->ldc) * p->size, p->ldc);
    /* column lo of B starts at lo, or at lo * ldb when B is stored transposed */
    return gemm_one(p->dtype, p->trans_a, p->trans_b, p->m, hi - lo, p->k, p->alpha, a, p->lda,
                    b + (size_t)(p->trans_b ? lo * p->ldb : lo) * p->size, p->ldb, p->beta,
                    c + (size_t)lo * p->size, p->ldc);
}

int mg_gemm(int dtype, int trans_a, int trans_b, int64_t batch,
            int64_t m, int64_t n, int64_t k, double alpha,
            const void *a, int64_t lda, int64_t stride_a,
            const void *b, int64_t ldb, int64_t stride_b,
            double beta, void *c, int64_t ldc, int64_t stride_c) {
    int done;
    int status = mg_gemm_prepare(dtype, trans_a, trans_b, batch, m, n, k, alpha, a, lda,
                                 stride_a, b, ldb, stride_b, beta, c, ldc, stride_c, &done);
    if (status != MG_OK || done) return status;
    const struct gemm_problem problem = {
        dtype, trans_a, trans_b, m, n, k, lda, ldb, ldc, stride_a, stride_b, stride_c,
        alpha, beta, a, b, c, mg_dtype_size(dtype)};
    const struct gemm_split split = gemm_split_of(batch, m, n, k);
    const int64_t tasks = batch * split.parts;
    if (!split.parallel) { /* no OpenMP region: entering one costs even when it runs alone */
        for (int64_t t = 0; t < tasks && status == MG_OK; t++)
            status = gemm_task(&problem, &split, t);
        return status;
    }
    GEMM_OMP(parallel for schedule(static))
    for (int64_t t = 0; t < tasks; t++) {
        const int task_status = gemm_task(&problem, &split, t);
        if (task_status != MG_OK) {
            GEMM_OMP(critical(mg_gemm_status))
            status = task_status;
        }
    }
    return status;
}
