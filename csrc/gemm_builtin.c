/*
 * gemm_builtin.c -- minigrad's own matrix multiply, for builds without BLAS
 * (and for comparing against one).  Same contract as mg_gemm.
 *
 * The classic cache-blocked scheme (Goto & van de Geijn, "Anatomy of
 * high-performance matrix multiplication", 2008):
 *
 *   for each NC-wide column panel of op(B)               (jc loop)
 *     for each KC-deep slice of the k dimension          (pc loop)
 *       pack B[pc, jc] into NR-wide slivers               -> L2/L3 resident
 *       for each stripe of up to MSUPER rows of op(A)    (ic loop)
 *         pack A[ic, pc] into MR-tall slivers
 *         for each tile (MC rows x a run of B slivers), shared among threads:
 *           for each NR sliver of B, each MR sliver of A  -> B sliver in L1,
 *             micro-kernel: an MR x NR tile of C kept        A block in L2
 *             in registers, KC rank-1 updates
 *
 * Packing makes the micro-kernel's reads contiguous whatever the transposes
 * and leading dimensions, and pads edge slivers with zeros so the kernel
 * always computes a full tile (only the valid part is written back).
 *
 * The typed code lives in gemm_builtin_typed.inc, compiled once per float
 * dtype.  No state outlives a call: packing buffers are malloc'd per call.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "gemm.h"

/* Rows of the register tile (its width NR is 64 bytes of T: 16 floats or 8
 * doubles).  6 x 2 AVX2 accumulators leave 4 of the 16 registers for the B
 * row and the A broadcast. */
#define MG_GEMM_MR 6
/* Cache blocking (elements).  KC keeps an A and a B sliver in L1 together
 * (6*256 + 16*256 floats = 22 KB), an MC x KC block of packed A sits in L2,
 * and a KC x NC panel of packed B in L2/L3.  Measured on a Xeon (48 KB L1d,
 * 2 MB L2): MC from 30 to 120 and KC 256/384 are within noise of each other. */
#define MG_GEMM_KC 256
#define MG_GEMM_MC 48
#define MG_GEMM_NC 2048
/* Rows of A packed per round (a multiple of MC): enough row blocks for every
 * thread to have work when n is small, bounded so packed A stays small. */
#define MG_GEMM_MSUPER (16 * MG_GEMM_MC)
/* Problems with fewer multiply-adds than this (128^3) run on one thread:
 * below it, starting the team costs more than the second thread saves. */
#define MG_GEMM_PARALLEL_MIN_WORK (1 << 21)

/* Two micro-kernels.  The portable one is plain C that the compiler
 * vectorizes for the baseline instruction set (SSE2 on x86-64).  On x86-64
 * gcc/clang a second one, written with GCC vector extensions, is compiled for
 * AVX2/FMA with a function-level target attribute and chosen at run time when
 * the CPU has them, so one build is both fast and portable (-march=native is
 * not: SIGILL elsewhere).  Why not target_clones on one body: the body must
 * fix its vector width, and a 32-byte-vector body compiled for SSE2 goes
 * through memory (2.6 GFLOP/s), while the plain-C body compiled for AVX2
 * vectorizes poorly (60 GFLOP/s against 105 for the explicit one; Xeon,
 * n = 1024, float32). */
#if defined(__GNUC__) && defined(__x86_64__)
#define MG_GEMM_AVX2 __attribute__((target("avx2,fma")))
static int mg_gemm_cpu_has_avx2(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

#define MG_ALWAYS_INLINE inline __attribute__((always_inline))

/* Packed buffers are 64-byte aligned so each B vector load is aligned. */
static void *alloc_aligned(size_t count, size_t elem_size) {
    size_t bytes = (count * elem_size + 63) / 64 * 64;
    return aligned_alloc(64, bytes ? bytes : 64);
}

static inline int64_t min64(int64_t x, int64_t y) { return x < y ? x : y; }
static inline int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

#ifdef _OPENMP
static int max_threads(void) { return omp_get_max_threads(); }
#else
static int max_threads(void) { return 1; }
#endif

/* OpenMP directives that vanish in a serial build (no unknown-pragma noise). */
#ifdef _OPENMP
#define MG_GEMM_OMP(directive) MG_PRAGMA(omp directive)
#else
#define MG_GEMM_OMP(directive)
#endif

/* One problem's shape and scalars; the pointers travel per batch entry. */
struct mg_gemm_args {
    int trans_a, trans_b;
    int64_t m, n, k;
    double alpha, beta;
    int64_t lda, ldb, ldc;
};

#define MG_TYPED_FILE "gemm_builtin_typed.inc"
#include "for_each_float.h"

int mg_gemm_builtin(int dtype, int trans_a, int trans_b, int64_t batch,
                    int64_t m, int64_t n, int64_t k, double alpha,
                    const void *a, int64_t lda, int64_t stride_a,
                    const void *b, int64_t ldb, int64_t stride_b,
                    double beta, void *c, int64_t ldc, int64_t stride_c) {
    int done;
    int status = mg_gemm_prepare(dtype, trans_a, trans_b, batch, m, n, k, alpha, a, lda,
                                 stride_a, b, ldb, stride_b, beta, c, ldc, stride_c, &done);
    if (status != MG_OK || done) return status;
    struct mg_gemm_args args = {trans_a, trans_b, m, n, k, alpha, beta, lda, ldb, ldc};
    if (dtype == MG_FLOAT32)
        return gemm_batch_f32(&args, batch, a, stride_a, b, stride_b, c, stride_c);
    return gemm_batch_f64(&args, batch, a, stride_a, b, stride_b, c, stride_c);
}
