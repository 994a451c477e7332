/*
 * runtime.c -- status messages, the build description and the thread knob.
 */
#include "blas.h"
#include "core.h"

const char *mg_status_string(int status) {
    switch (status) {
    case MG_OK: return "ok";
    case MG_ERR_SIZE: return "invalid size, rank or stride";
    case MG_ERR_DTYPE: return "dtype not supported by this kernel";
    case MG_ERR_INDEX: return "index out of range";
    case MG_ERR_NOMEM: return "out of memory";
    case MG_ERR_OP: return "invalid op code or argument value";
    case MG_ERR_NULL: return "required buffer is missing (NULL pointer)";
    case MG_ERR_EMPTY: return "reduction over zero elements has no identity";
    case MG_ERR_UNSUPPORTED: return "not supported by this build";
    case MG_ERR_CUDA: return "CUDA call failed";
    default: return "unknown status code";
    }
}

/* One pool of threads runs everything.  With OpenMP, BLAS stays on one
 * thread and mg_gemm shares products among the OpenMP team itself (gemm.c):
 * BLAS's own workers and ours would otherwise compete for the cores, and
 * each pool's threads wake slowly when the other's have been running.
 * Without OpenMP, BLAS's threads are the only ones. */
void mg_set_num_threads(int n) {
    if (n < 1) n = 1;
#ifdef _OPENMP
    omp_set_num_threads(n);
#ifdef MG_USE_BLAS
    MG_BLAS(openblas_set_num_threads)(1);
#endif
#elif defined(MG_USE_BLAS)
    MG_BLAS(openblas_set_num_threads)(n);
#endif
}

/* (core.h: why this size) */
int64_t mg_parallel_min_work = 1 << 16;

void mg_set_parallel_min_work(int64_t work) { mg_parallel_min_work = work < 1 ? 1 : work; }

int64_t mg_get_parallel_min_work(void) { return mg_parallel_min_work; }

int mg_get_blas_num_threads(void) {
#ifdef MG_USE_BLAS
    return MG_BLAS(openblas_get_num_threads)();
#else
    return 0;
#endif
}

int mg_get_num_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#elif defined(MG_USE_BLAS)
    return MG_BLAS(openblas_get_num_threads)();
#else
    return 1;
#endif
}

#ifdef _OPENMP
#define MG_OPENMP_INFO "1"
#else
#define MG_OPENMP_INFO "0"
#endif

#if defined(__SANITIZE_ADDRESS__)
#define MG_SANITIZE_INFO "1"
#else
#define MG_SANITIZE_INFO "0"
#endif

/* build_ffi.py defines MG_WITH_CUDA (and MG_USE_CUBLAS) when it links csrc/cuda in. */
#if defined(MG_WITH_CUDA) && MG_WITH_CUDA
#define MG_CUDA_INFO "1"
#else
#define MG_CUDA_INFO "0"
#endif

#if defined(MG_USE_CUBLAS) && MG_USE_CUBLAS
#define MG_CUBLAS_INFO "1"
#else
#define MG_CUBLAS_INFO "0"
#endif

const char *mg_build_info(void) {
    return "blas=" MG_BLAS_NAME " openmp=" MG_OPENMP_INFO " sanitize=" MG_SANITIZE_INFO
           " cuda=" MG_CUDA_INFO " cublas=" MG_CUBLAS_INFO;
}
