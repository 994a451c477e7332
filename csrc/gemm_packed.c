/*
 * gemm_packed.c -- C = A op(B) + beta C with op(B) packed once and reused, for
 * the small-m products in the step loops of the recurrent layers (rnn.c).
 * gemm_packed.h has the contract and the reason.
 *
 * The register tile holds MR rows x nr columns of C in vector registers and
 * runs over the whole of k: no k blocking, because a panel (k x nr values,
 * tens to a few hundred KB) stays in L2 while every MR-row block of A passes
 * it.  Panels form the outer loop, so each comes from memory once per product,
 * and the next one is prefetched while the current one is in use (measured:
 * +15% when the packed matrix, 4 MB at H = 512, does not fit in L2).
 *
 * Three micro-kernels, chosen at pack time: AVX-512 and AVX2/FMA (compiled
 * with function-level target attributes and picked only when the CPU has
 * them, so one build is fast and portable), and plain C.  The typed code is
 * in gemm_packed_typed.inc, compiled once per float dtype.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "gemm_packed.h"

#define MG_ALWAYS_INLINE inline __attribute__((always_inline))

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define MG_PACKED_X86 1
#define MG_PACKED_AVX2_TARGET __attribute__((target("avx2,fma")))
#define MG_PACKED_AVX512_TARGET __attribute__((target("avx512f,avx2,fma")))
#endif

/* Rows of A per chunk (see PK_DRIVER): a whole batch of the step loops, and
 * 64 rows of k <= 1024 floats (256 KB) fit in L2 beside a panel. */
#ifndef PK_MC
#define PK_MC 64
#endif

/* Whether this CPU (and build) runs `kernel`. */
static int kernel_supported(int kernel) {
    switch (kernel) {
    case MG_PACKED_PORTABLE: return 1;
#ifdef MG_PACKED_X86
    case MG_PACKED_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case MG_PACKED_AVX512: return __builtin_cpu_supports("avx512f");
#endif
    default: return 0;
    }
}

static int best_kernel(void) {
    if (kernel_supported(MG_PACKED_AVX512)) return MG_PACKED_AVX512;
    if (kernel_supported(MG_PACKED_AVX2)) return MG_PACKED_AVX2;
    return MG_PACKED_PORTABLE;
}

#define MG_TYPED_FILE "gemm_packed_typed.inc"
#include "for_each_float.h"

/* Largest element count of a packed matrix (its byte size cannot overflow). */
#define PK_MAX_ELEMS (INT64_MAX / 64)

int mg_pack_b(struct mg_packed *pb, int dtype, int kernel, int trans_b, int64_t k, int64_t n,
              const void *b, int64_t ldb) {
    MG_CHECK(pb != NULL, MG_ERR_NULL);
    *pb = (struct mg_packed){0};
    MG_CHECK(mg_is_float_dtype(dtype), MG_ERR_DTYPE);
    MG_CHECK(trans_b == 0 || trans_b == 1, MG_ERR_OP);
    MG_CHECK(k >= 0 && n >= 0 && ldb >= (trans_b ? k : n), MG_ERR_SIZE);
    MG_CHECK(kernel >= MG_PACKED_BEST && kernel <= MG_PACKED_AVX512, MG_ERR_OP);
    if (kernel == MG_PACKED_BEST) kernel = best_kernel();
    MG_CHECK(kernel_supported(kernel), MG_ERR_UNSUPPORTED);
    const int64_t nr = dtype == MG_FLOAT32 ? kernel_nr_f32(kernel) : kernel_nr_f64(kernel);
    int64_t padded_n, elems;
    MG_CHECK(n <= PK_MAX_ELEMS, MG_ERR_SIZE);
    padded_n = (n + nr - 1) / nr * nr;
    MG_CHECK(!__builtin_mul_overflow(padded_n, k, &elems) && elems <= PK_MAX_ELEMS,
             MG_ERR_SIZE);
    MG_CHECK(b != NULL || n == 0 || k == 0, MG_ERR_NULL);
    /* 64-byte aligned: every panel row starts a cache line */
    const size_t bytes = ((size_t)elems * mg_dtype_size(dtype) + 63) / 64 * 64;
    void *data = aligned_alloc(64, bytes > 0 ? bytes : 64);
    MG_CHECK(data != NULL, MG_ERR_NOMEM);
    if (n > 0 && k > 0) {
        if (dtype == MG_FLOAT32)
            pack_f32(trans_b, k, n, b, ldb, nr, data);
        else
            pack_f64(trans_b, k, n, b, ldb, nr, data);
    }
    *pb = (struct mg_packed){.dtype = dtype, .kernel = kernel, .k = k, .n = n, .nr = nr,
                             .data = data};
    return MG_OK;
}

void mg_packed_free(struct mg_packed *pb) {
    if (pb == NULL) return;
    free(pb->data);
    pb->data = NULL;
}

int mg_gemm_packed(const struct mg_packed *pb, int64_t m, const void *a, int64_t lda,
                   double beta, void *c, int64_t ldc) {
    MG_CHECK(pb != NULL, MG_ERR_NULL);
    MG_CHECK(pb->data != NULL, MG_ERR_NULL);
    MG_CHECK(m >= 0 && lda >= pb->k && ldc >= pb->n, MG_ERR_SIZE);
    if (m == 0 || pb->n == 0) return MG_OK;
    MG_CHECK(c != NULL, MG_ERR_NULL);
    if (pb->k == 0) { /* nothing to multiply: C = beta C, A not read */
        if (pb->dtype == MG_FLOAT32)
            scale_f32(m, pb->n, (float)beta, c, ldc);
        else
            scale_f64(m, pb->n, beta, c, ldc);
        return MG_OK;
    }
    MG_CHECK(a != NULL, MG_ERR_NULL);
    if (pb->dtype == MG_FLOAT32)
        product_f32(pb, m, a, lda, (float)beta, c, ldc);
    else
        product_f64(pb, m, a, lda, beta, c, ldc);
    return MG_OK;
}

/* The test hook declared in minigrad.h: one pack, one product, one free. */
int mg_gemm_packed_test(int dtype, int kernel, int trans_b, int64_t m, int64_t n, int64_t k,
                        const void *a, int64_t lda, const void *b, int64_t ldb, double beta,
                        void *c, int64_t ldc) {
    struct mg_packed pb;
    int status = mg_pack_b(&pb, dtype, kernel, trans_b, k, n, b, ldb);
    if (status != MG_OK) return status;
    status = mg_gemm_packed(&pb, m, a, lda, beta, c, ldc);
    mg_packed_free(&pb);
    return status;
}
