/*
 * gemm_packed.h -- private to the fused recurrent kernels (rnn.c): the matrix
 * product C (m, n) = op(A) (m, k) op(B) (k, n) + beta C, for a right-hand
 * matrix that is packed once and then multiplied many times by a small A (m
 * of 1 to a few hundred rows), or packed and multiplied by a gate-gradient
 * matrix read transposed (backward's weight gradients, chunk by chunk).
 *
 * Why: a recurrent layer multiplies its (batch, H) state by the same W_hh at
 * every time step.  A general gemm (OpenBLAS) repacks the whole of W_hh at
 * every call -- for (32, 256) x (256, 1024) as much memory traffic as the
 * product itself; packing once per layer call takes that out of the loop.
 * And the weight gradients, done here, run inside the step loops' OpenMP
 * region, by each thread on its own rows, with no hand-over to BLAS's threads.
 *
 * Layout: op(B) is cut into panels of nr columns (the last one padded with
 * zeros), each stored as k rows of nr contiguous values, which the
 * micro-kernel reads as one stream.  nr goes with the micro-kernel, and both
 * are chosen at pack time for the CPU we run on (AVX-512, AVX2/FMA, portable
 * C).  A is read in place, as stored or transposed.
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

/* The fastest micro-kernel this CPU (and build) runs: never MG_PACKED_BEST. */
int mg_packed_best_kernel(void);

struct mg_packed {
    int dtype;    /* MG_FLOAT32 or MG_FLOAT64 */
    int kernel;   /* enum mg_packed_kernel, never MG_PACKED_BEST */
    int64_t k, n; /* op(B) is (k, n) */
    int64_t nr;   /* columns per panel */
    void *data;   /* ceil(n / nr) panels of k * nr elements, 64-byte aligned */
    int64_t capacity; /* elements data holds (mg_repack_b reuses it) */
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

/* Packs another op(B) (k, n) into *pb, a successful mg_pack_b's (same dtype and
 * micro-kernel), reusing its buffer when it is large enough: the chunks of
 * activations that backward's weight gradients multiply, one after another,
 * without an allocation (and its fresh pages) per chunk.  On failure *pb
 * keeps its buffer, and its contents are unspecified. */
int mg_repack_b(struct mg_packed *pb, int trans_b, int64_t k, int64_t n, const void *b,
                int64_t ldb);

/* Releases what mg_pack_b allocated (safe on a failed or already freed pack). */
void mg_packed_free(struct mg_packed *pb);

/*
 * C (m, n) = op(A) (m, k) op(B) + beta C, op(B) packed in *pb; C row-major
 * with leading dimension ldc >= n.  A is row-major, stored (m, k) with lda >=
 * k when trans_a == 0, and stored (k, m) with lda >= m when trans_a == 1 (op(A)
 * = A^T: the gate gradients of backward, read as da^T).  beta == 0 does not
 * read C.  Runs on the calling thread (the caller decides where threads go).
 */
int mg_gemm_packed(const struct mg_packed *pb, int trans_a, int64_t m, const void *a,
                   int64_t lda, double beta, void *c, int64_t ldc);

#endif /* MINIGRAD_GEMM_PACKED_H */
