/*
 * gemm_packed.c -- C = op(A) op(B) + beta C with op(B) packed once and reused,
 * for the products of the recurrent layers' step loops (rnn.c).
 * gemm_packed.h has the contract and the reason.  The same micro-kernels
 * also run mg_gemm's small products without packing B ahead
 * (mg_gemm_inplace, at the end).
 *
 * The register tile holds MR rows x nr columns of C in vector registers and
 * runs over the whole of k: no k blocking, because a panel (k x nr values,
 * tens to a few hundred KB) stays in L2 while every MR-row block of A passes
 * it (A read transposed is the exception: see PK_DRIVER).  Panels form the
 * outer loop, so each comes from memory once per product, and the next one is
 * prefetched while the current one is in use (measured: +15% when the packed
 * matrix, 4 MB at H = 512, does not fit in L2).
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

/* Vectors per panel row in every micro-kernel (the panel width nr is PK_NV
 * vectors): two, so that MR rows x 2 vectors of accumulators plus the panel
 * row fit in the register file. */
#define PK_NV 2

/* Depth of k per pass when A is read transposed (see PK_DRIVER), and the
 * distance in bytes between A's stored rows from which a chunk of A's slice
 * (PK_KC_TRANSPOSED x PK_MC values) is copied into a buffer first. */
#ifndef PK_FAR_ROWS
#define PK_FAR_ROWS 4096
#endif
#ifndef PK_KC_TRANSPOSED
#define PK_KC_TRANSPOSED 128
#endif

/* Rows of a panel of B per slice of an unpacked product (see PK_INPLACE_DRIVER):
 * 256 rows of 32 floats (AVX-512) are 32 KB, which stay in a 48 KB L1. */
#ifndef PK_KC_INPLACE
#define PK_KC_INPLACE 256
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

int mg_packed_best_kernel(void) {
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
    MG_CHECK(kernel >= MG_PACKED_BEST && kernel <= MG_PACKED_AVX512, MG_ERR_OP);
    if (kernel == MG_PACKED_BEST) kernel = mg_packed_best_kernel();
    MG_CHECK(kernel_supported(kernel), MG_ERR_UNSUPPORTED);
    const int64_t nr = dtype == MG_FLOAT32 ? kernel_nr_f32(kernel) : kernel_nr_f64(kernel);
    struct mg_packed empty = {.dtype = dtype, .kernel = kernel, .nr = nr};
    const int status = mg_repack_b(&empty, trans_b, k, n, b, ldb);
    if (status == MG_OK) *pb = empty;
    return status;
}

int mg_repack_b(struct mg_packed *pb, int trans_b, int64_t k, int64_t n, const void *b,
                int64_t ldb) {
    MG_CHECK(pb != NULL, MG_ERR_NULL);
    MG_CHECK(trans_b == 0 || trans_b == 1, MG_ERR_OP);
    MG_CHECK(k >= 0 && n >= 0 && ldb >= (trans_b ? k : n), MG_ERR_SIZE);
    const int64_t nr = pb->nr;
    int64_t padded_n, elems;
    MG_CHECK(n <= PK_MAX_ELEMS, MG_ERR_SIZE);
    padded_n = (n + nr - 1) / nr * nr;
    MG_CHECK(!__builtin_mul_overflow(padded_n, k, &elems) && elems <= PK_MAX_ELEMS,
             MG_ERR_SIZE);
    MG_CHECK(b != NULL || n == 0 || k == 0, MG_ERR_NULL);
    if (pb->data == NULL || elems > pb->capacity) {
        /* 64-byte aligned: every panel row starts a cache line */
        const size_t bytes = ((size_t)elems * mg_dtype_size(pb->dtype) + 63) / 64 * 64;
        void *data = aligned_alloc(64, bytes > 0 ? bytes : 64);
        MG_CHECK(data != NULL, MG_ERR_NOMEM);
        free(pb->data);
        pb->data = data;
        pb->capacity = elems;
    }
    if (n > 0 && k > 0) {
        if (pb->dtype == MG_FLOAT32)
            pack_with_f32(pb->kernel, trans_b, k, n, b, ldb, nr, pb->data);
        else
            pack_with_f64(pb->kernel, trans_b, k, n, b, ldb, nr, pb->data);
    }
    pb->k = k;
    pb->n = n;
    return MG_OK;
}

void mg_packed_free(struct mg_packed *pb) {
    if (pb == NULL) return;
    free(pb->data);
    pb->data = NULL;
    pb->capacity = 0;
}

int mg_gemm_packed(const struct mg_packed *pb, int trans_a, int64_t m, const void *a,
                   int64_t lda, double beta, void *c, int64_t ldc) {
    MG_CHECK(pb != NULL, MG_ERR_NULL);
    MG_CHECK(pb->data != NULL, MG_ERR_NULL);
    MG_CHECK(trans_a == 0 || trans_a == 1, MG_ERR_OP);
    MG_CHECK(m >= 0 && lda >= (trans_a ? m : pb->k) && ldc >= pb->n, MG_ERR_SIZE);
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
    void *abuf = NULL; /* A's copied blocks when it is read transposed */
    if (trans_a) {
        /* a chunk's blocks: PK_MC rows rounded up to whole blocks of MR <= 8 */
        abuf = malloc((size_t)(PK_KC_TRANSPOSED * (PK_MC + 8)) * mg_dtype_size(pb->dtype));
        MG_CHECK(abuf != NULL, MG_ERR_NOMEM);
    }
    if (pb->dtype == MG_FLOAT32)
        product_f32(pb, trans_a, m, a, lda, (float)beta, c, ldc, abuf);
    else
        product_f64(pb, trans_a, m, a, lda, beta, c, ldc, abuf);
    free(abuf);
    return MG_OK;
}

/* Whether mg_gemm should send C = op(A) op(B) (alpha = 1) to mg_gemm_inplace
 * rather than BLAS.  Measured against OpenBLAS 0.3.34 (Xeon, AVX-512,
 * float32), in GFLOP/s, ours against OpenBLAS's:
 *   1 thread:  (32 x 128) (128 x 512) 136-161 / 110-122; (32 x 512) (512 x 128)
 *              123-133 / 104-114; A^T with (128 x 32)^T (32 x 512) 136-139 /
 *              111-117; up to 512 x 512 x 512, 174-185 / 167-181.  B read
 *              transposed (x W^T, a Linear layer's forward): (32 x 128)
 *              (512 x 128)^T 174 / 103, (64 x 784) (256 x 784)^T 186 / 138;
 *   several threads: mg_gemm asks for each thread's band of a product
 *              (gemm.c), so the limits are one thread's.  32 x 256 x 1024 in
 *              all three layouts: 127-141 us on one thread, 76-83 us shared by
 *              two (OpenBLAS's two threads had not gained on one);
 *   under 16 rows (one or two row blocks, k and n 128-1024), in us: with B
 *   transposed ours wins from m = 3 ((8 x 128) (512 x 128)^T 10.7 / 24.4, 1.45-
 *   2.6x: BLAS copies the transposed B); with B as stored at m = 4-8 (8 x 256 x
 *   1024: 28 / 62, 1.2-2.9x) and 13-15 (1.25-1.6x), and at 9-12 from 2M
 *   multiply-adds (1.45-1.87x; 0.68-0.79x at 128 x 512: the second row block
 *   is a half-height tile), but not at m = 3 (0.89-1.11x) nor below, where
 *   BLAS's gemv-like paths are quick (m = 1: 2-8 us, ours 6-48);
 *   a partial last panel that wastes much of its width (n = 65: 78 / 104), and
 *   products under 512K multiply-adds (64 x 64 x 64: 2.96 against 2.72 us) go
 *   to BLAS;
 *   at 1 thread up to 32M multiply-adds, if a slice of A (m rows of up to
 *   PK_KC_INPLACE values) fits half of L2: a char-RNN decoder's gradients,
 *   (2048 x 65) (65 x 128) 193 / 159 and (65 x 2048) (2048 x 128) 150 / 139;
 *   beyond, mixed (4096 x 65 x 256: 141 / 150).
 * Only with the AVX-512 micro-kernel: the AVX2 one ties with OpenBLAS's
 * Haswell kernels with B as stored (92 / 94) and trails them with B
 * transposed (72 / 82), whose two-vector shuffles AVX2 lacks. */
/* MINIGRAD_SMALL_GEMM=0 in the environment keeps every product with BLAS
 * (neither this path nor mg_gemm_packed_suits's is taken): for
 * comparisons, and for CPUs whose limits differ from this one's (read once). */
static int small_gemm_enabled(void) {
    static int enabled = -1; /* racing first calls all store the same value */
    if (enabled < 0) {
        const char *v = getenv("MINIGRAD_SMALL_GEMM");
        enabled = !(v != NULL && strcmp(v, "0") == 0);
    }
    return enabled;
}

/* Whether the AVX-512 tiles' padding of a last partial panel costs at most 1/8
 * of the product's columns (n a multiple of the panel width, or 8 panels and
 * more; measured with the half-width last tile, n = 65 ran 1.05x OpenBLAS at
 * 2048 rows but 0.88x at 32). */
static int pads_little(int dtype, int64_t n) {
    const int64_t nr = dtype == MG_FLOAT32 ? kernel_nr_f32(MG_PACKED_AVX512)
                                           : kernel_nr_f64(MG_PACKED_AVX512);
    return n % nr == 0 || n >= 8 * nr;
}

/* Under 16 rows (see above): B transposed from 3 rows; B as stored from 4,
 * except 9-12 rows (a half-height second block) under 2M multiply-adds. */
static int few_rows_suit(int trans_b, int64_t m, double work) {
    if (m < 3) return 0;
    if (trans_b) return 1;
    if (m == 3) return 0;
    return m <= 8 || m >= 13 || work >= (double)(1 << 21);
}

int mg_gemm_inplace_suits(int dtype, int trans_b, int64_t m, int64_t n, int64_t k) {
    /* every mg_gemm call asks: the cheap tests first */
    const double work = (double)m * (double)n * (double)k;
    if (work < (double)(1 << 19) || !mg_is_float_dtype(dtype)) return 0;
    if (m < 16 && !few_rows_suit(trans_b, m, work)) return 0;
    if (mg_packed_best_kernel() != MG_PACKED_AVX512 || !small_gemm_enabled()) return 0;
    if (!pads_little(dtype, n)) return 0;
    const double a_slice = (double)m * (double)(k < PK_KC_INPLACE ? k : PK_KC_INPLACE) *
                           (double)mg_dtype_size(dtype);
    return work <= (double)(1 << 25) && a_slice <= (double)(1 << 20);
}

int mg_gemm_inplace(int dtype, int kernel, int trans_a, int trans_b, int64_t m, int64_t n,
                    int64_t k, const void *a, int64_t lda, const void *b, int64_t ldb,
                    double beta, void *c, int64_t ldc) {
    MG_CHECK(mg_is_float_dtype(dtype), MG_ERR_DTYPE);
    MG_CHECK(kernel >= MG_PACKED_BEST && kernel <= MG_PACKED_AVX512, MG_ERR_OP);
    if (kernel == MG_PACKED_BEST) kernel = mg_packed_best_kernel();
    MG_CHECK(kernel_supported(kernel), MG_ERR_UNSUPPORTED);
    MG_CHECK((trans_a == 0 || trans_a == 1) && (trans_b == 0 || trans_b == 1), MG_ERR_OP);
    MG_CHECK(m >= 0 && n >= 0 && k >= 0 && lda >= (trans_a ? m : k) &&
                 ldb >= (trans_b ? k : n) && ldc >= n,
             MG_ERR_SIZE);
    if (m == 0 || n == 0) return MG_OK;
    MG_CHECK(c != NULL, MG_ERR_NULL);
    const int f32 = dtype == MG_FLOAT32;
    if (k == 0) {
        if (f32)
            scale_f32(m, n, (float)beta, c, ldc);
        else
            scale_f64(m, n, beta, c, ldc);
        return MG_OK;
    }
    MG_CHECK(a != NULL && b != NULL, MG_ERR_NULL);
    const int64_t nr = f32 ? kernel_nr_f32(kernel) : kernel_nr_f64(kernel);
    /* A slice of a panel of B (see PK_INPLACE_DRIVER), on the stack: a heap block
     * of this size was measured at 2-3 us per call (freed to the top of the heap,
     * its pages come back faulted), as much as a 64 x 64 x 64 product. */
    union { /* PK_NV vectors of at most 64 bytes per row */
        _Alignas(64) float f32[PK_KC_INPLACE * PK_NV * 16];
        double f64[PK_KC_INPLACE * PK_NV * 8];
    } buf;
    MG_CHECK(PK_KC_INPLACE * nr * (int64_t)mg_dtype_size(dtype) <= (int64_t)sizeof buf,
             MG_ERR_SIZE);
    if (f32)
        inplace_f32(kernel, trans_a, trans_b, m, n, k, a, lda, b, ldb, (float)beta, c, ldc,
                    buf.f32);
    else
        inplace_f64(kernel, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc, buf.f64);
    return MG_OK;
}

/* Whether mg_gemm should pack op(B) once and run the packed product
 * (mg_gemm_packed_once) rather than call BLAS: tall products past
 * mg_gemm_inplace_suits's limits -- a layer's input projection over every
 * step of a sequence, or its input gradient, (T*B, k) x (k, n) -- where B
 * (k x n, packed: at most 2 MB, about L2) is reused by every block of A's
 * rows.  Measured against OpenBLAS 0.3.34 (Xeon, AVX-512, medians of
 * alternating runs), ours / OpenBLAS's GFLOP/s at 1 thread:
 *   float32 (2048 x 64) (512 x 64)^T 173 / 145, (2048 x 512) (512 x 64) 184 /
 *           145, (8192 x 2048) (2048 x 64) 193 / 136, (4096 x 784) (256 x
 *           784)^T 198 / 172, (2048 x 256) (1024 x 256)^T 206 / 187;
 *   float64 the same shapes 1.2-1.6x; 2 threads (a band of rows each, each
 *           packing B) 1.05-1.4x;
 * and where it lost, it is left to BLAS: A read transposed (a weight's
 * gradient, A^T B with long k: 134 / 141 at (2048 x 512)^T (2048 x 64)), B
 * over 2 MB (square n = 1024-2048: 173-175 / 196-204: no k blocking here), a
 * last panel padded by more than 1/8 (pads_little). */
int mg_gemm_packed_suits(int dtype, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k) {
    (void)trans_b; /* packing reads B either way at the same speed */
    if (trans_a || m < 256 || !mg_is_float_dtype(dtype)) return 0;
    if (mg_packed_best_kernel() != MG_PACKED_AVX512 || !small_gemm_enabled()) return 0;
    if (!pads_little(dtype, n)) return 0;
    return (double)k * (double)n * (double)mg_dtype_size(dtype) <= (double)(1 << 21);
}

/* How many of op(B)'s last columns mg_gemm should multiply apart (gemm.c's
 * gemm_columns: a BLAS matrix-vector product each) so that the others, whole
 * panels, go to the packed kernels: one or two columns past a multiple of the
 * panel width (n = 65, a character vocabulary's decoder) would otherwise keep
 * the whole product with BLAS (pads_little) or run a tile of mostly padding.
 * Measured, float32, 1 thread, n = 65 (medians, alternating processes):
 * (2048 x 128) (65 x 128)^T 290 -> 216 us, (2048 x 512) 1190 -> 1005 us,
 * (256 x 128) 39 -> 29 us, (32 x 512) 30 -> 17.5 us; n = 66 about 1.1x; at
 * 4 columns past (n = 68) the tall products broke even, so two at most
 * (float64: one).  0: no split. */
int64_t mg_gemm_ragged_columns(int dtype, int trans_a, int trans_b, int64_t m, int64_t n,
                               int64_t k) {
    if (!mg_is_float_dtype(dtype) || mg_packed_best_kernel() != MG_PACKED_AVX512) return 0;
    const int64_t nr = dtype == MG_FLOAT32 ? kernel_nr_f32(MG_PACKED_AVX512)
                                           : kernel_nr_f64(MG_PACKED_AVX512);
    const int64_t ragged = n % nr;
    if (n < nr || ragged == 0 || ragged > nr / 16 || pads_little(dtype, n)) return 0;
    return mg_gemm_inplace_suits(dtype, trans_b, m, n - ragged, k) ||
                   mg_gemm_packed_suits(dtype, trans_a, trans_b, m, n - ragged, k)
               ? ragged
               : 0;
}

/* Declared in minigrad.h: an empty pack, op(B) packed into it (mg_repack_b
 * growing the buffer), one product, one free. */
int mg_gemm_packed_once(int dtype, int kernel, int trans_a, int trans_b, int64_t m, int64_t n,
                        int64_t k, const void *a, int64_t lda, const void *b, int64_t ldb,
                        double beta, void *c, int64_t ldc) {
    struct mg_packed pb;
    int status = mg_pack_b(&pb, dtype, kernel, 0, 0, 0, NULL, 0);
    if (status != MG_OK) return status;
    status = mg_repack_b(&pb, trans_b, k, n, b, ldb);
    if (status == MG_OK) status = mg_gemm_packed(&pb, trans_a, m, a, lda, beta, c, ldc);
    mg_packed_free(&pb);
    return status;
}
