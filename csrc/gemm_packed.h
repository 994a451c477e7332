/*
 * gemm_packed.h -- private to the fused recurrent kernels (rnn.c): the matrix
 * product C (m, n) = A (m, k) op(B) (k, n) + beta C, for a right-hand matrix
 * that is packed once and then multiplied many times by a small A (m of 1 to
 * a few hundred rows).
 *
 * Why: a recurrent layer multiplies its (batch, H) state by the same W_hh at
 * every time step.  A general gemm (OpenBLAS) repacks the whole of W_hh at
 * every call -- for (32, 256) x (256, 1024) as much memory traffic as the
 * product itself; packing once per layer call takes that out of the loop.
 *
 * Layout: op(B) is cut into panels of nr columns (the last one padded with
 * zeros), each stored as k rows of nr contiguous values, which the
 * micro-kernel reads as one stream.  nr goes with the micro-kernel, and both
 * are chosen at pack time for the CPU we run on (AVX-512, AVX2/FMA, portable
 * C).  A is read in place: row-major with leading dimension lda.
 *
 * A packed matrix is read-only during products, so threads may share one.
 * Nothing outlives it: mg_packed_free releases its buffer.
 */
#ifndef MINIGRAD_GEMM_PACKED_H
#define MINIGRAD_GEMM_PACKED_H

#include <stdint.h>

/* Micro-kernels (for tests, which run each one the CPU supports). */
enum mg_packed_kernel {
    MG_PACKED_BEST = -1,    /* the fastest one this CPU runs */
    MG_PACKED_PORTABLE = 0, /* plain C, vectorised by the compiler for the baseline ISA */
    MG_PACKED_AVX2 = 1,     /* x86-64 AVX2 + FMA */
    MG_PACKED_AVX512 = 2    /* x86-64 AVX-512F */
};

struct mg_packed {
    int dtype;    /* MG_FLOAT32 or MG_FLOAT64 */
    int kernel;   /* enum mg_packed_kernel, never MG_PACKED_BEST */
    int64_t k, n; /* op(B) is (k, n) */
    int64_t nr;   /* columns per panel */
    void *data;   /* ceil(n / nr) panels of k * nr elements, 64-byte aligned */
};

/*
 * Packs op(B) (k, n): B is row-major with leading dimension ldb, and op(B) is
 * B itself (stored (k, n)) when trans_b == 0, its transpose (B stored (n, k))
 * when trans_b == 1.  `kernel` is an enum mg_packed_kernel; one the CPU lacks
 * (or a build without it) gives MG_ERR_UNSUPPORTED.  Returns MG_OK,
 * MG_ERR_NOMEM or a validation status; on failure *pb owns nothing.
 */
int mg_pack_b(struct mg_packed *pb, int dtype, int kernel, int trans_b, int64_t k, int64_t n,
              const void *b, int64_t ldb);

/* Releases what mg_pack_b allocated (safe on a failed or already freed pack). */
void mg_packed_free(struct mg_packed *pb);

/*
 * C (m, n) = A (m, k) op(B) + beta C, op(B) packed in *pb; A and C row-major
 * with leading dimensions lda >= k, ldc >= n.  beta == 0 does not read C.
 * Runs on the calling thread (the caller decides where threads go).
 */
int mg_gemm_packed(const struct mg_packed *pb, int64_t m, const void *a, int64_t lda,
                   double beta, void *c, int64_t ldc);

#endif /* MINIGRAD_GEMM_PACKED_H */
