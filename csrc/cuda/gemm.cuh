/*
 * gemm.cuh -- the matrix multiply as the other CUDA files call it (private to
 * csrc/cuda; the public entry points are mg_cuda_gemm / mg_cuda_gemm_builtin
 * in minigrad_cuda.h).
 */
#ifndef MINIGRAD_CUDA_GEMM_CUH
#define MINIGRAD_CUDA_GEMM_CUH

#include <stdint.h>

/*
 * Exactly mg_cuda_gemm's contract (row-major, trans flags, batches with
 * strides, the same checks and status codes): C[b] = alpha op(A[b]) op(B[b])
 * + beta C[b] on device memory, launched on the default stream without
 * synchronising.  Through cuBLAS in a build with MG_USE_CUBLAS=1 (when the
 * sizes fit its int arguments), else minigrad's tiled kernel.  The recurrent
 * kernels (rnn.cu) call this for their products.
 */
int mg_cuda_gemm_device(int dtype, int trans_a, int trans_b, int64_t batch,
                        int64_t m, int64_t n, int64_t k, double alpha,
                        const void *a, int64_t lda, int64_t stride_a,
                        const void *b, int64_t ldb, int64_t stride_b,
                        double beta, void *c, int64_t ldc, int64_t stride_c);

#endif /* MINIGRAD_CUDA_GEMM_CUH */
