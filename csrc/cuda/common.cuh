/*
 * What every CUDA kernel file shares: the status codes and enums of
 * minigrad.h, the error recording of runtime.cu, launch-size helpers and the
 * float/double dispatch.  Internal to csrc/cuda (not part of the cffi API).
 */
#ifndef MINIGRAD_CUDA_COMMON_CUH
#define MINIGRAD_CUDA_COMMON_CUH

#include <cuda_runtime.h>
#include <stdint.h>

#include "minigrad.h"
#include "minigrad_cuda.h"

/* Record "<call>: <cudaGetErrorString(err)>" as the calling thread's last
 * error (mg_cuda_last_error) and return MG_ERR_CUDA.  Defined in runtime.cu. */
extern "C" int mg_cuda_fail(const char *call, cudaError_t err);

/* Return `status` from the calling function when `cond` is false (as core.h). */
#define MG_CHECK(cond, status) \
    do {                       \
        if (!(cond)) return (status); \
    } while (0)

/* Run a CUDA runtime call; on failure record it by name and return MG_ERR_CUDA. */
#define MG_CUDA_TRY(call)                                        \
    do {                                                         \
        cudaError_t mg_err_ = (call);                            \
        if (mg_err_ != cudaSuccess) return mg_cuda_fail(#call, mg_err_); \
    } while (0)

/* After a <<<...>>> launch: report a launch failure under the kernel's name. */
#define MG_CUDA_LAUNCHED(kernel_name)                                   \
    do {                                                                \
        cudaError_t mg_err_ = cudaGetLastError();                       \
        if (mg_err_ != cudaSuccess) return mg_cuda_fail(kernel_name, mg_err_); \
    } while (0)

/* Same limit as the CPU kernels (core.h). */
#define MG_MAX_DIMS 16

/* Threads per block for flat elementwise loops. */
#define MG_CUDA_BLOCK 256

/* Blocks for n elements with grid-stride loops: enough to fill the GPU,
 * capped so that the grid size stays a valid launch dimension. */
static inline unsigned mg_cuda_blocks(int64_t n, int block) {
    int64_t blocks = (n + block - 1) / block;
    if (blocks < 1) blocks = 1;
    if (blocks > 65535LL * 8) blocks = 65535LL * 8;
    return (unsigned)blocks;
}

/* Grid-stride loop over [0, n): every kernel copes with any n and grid. */
#define MG_CUDA_FOR(i, n)                                                      \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);  \
         i += (int64_t)blockDim.x * gridDim.x)

/* Call `body` with T defined as float or double for a float dtype code;
 * returns MG_ERR_DTYPE for any other. Usage:
 *     MG_CUDA_FLOAT_DISPATCH(dtype, return launch_exp<T>(n, x, y));          */
#define MG_CUDA_FLOAT_DISPATCH(dtype, ...)             \
    do {                                               \
        if ((dtype) == MG_FLOAT32) {                   \
            typedef float T;                           \
            __VA_ARGS__;                               \
        } else if ((dtype) == MG_FLOAT64) {            \
            typedef double T;                          \
            __VA_ARGS__;                               \
        } else {                                       \
            return MG_ERR_DTYPE;                       \
        }                                              \
    } while (0)

/* Bytes per element, or 0 for an unknown dtype (as core.h). */
static inline size_t mg_cuda_dtype_size(int dtype) {
    return dtype == MG_FLOAT32 ? 4 : (dtype == MG_FLOAT64 || dtype == MG_INT64) ? 8 : 0;
}

/* Shapes and strides travel to kernels by value in this struct (the host
 * arrays in the API are copied here), so no device allocation per call. */
struct mg_cuda_layout {
    int ndim;
    int64_t shape[MG_MAX_DIMS];
    int64_t strides[3][MG_MAX_DIMS]; /* up to three operands' element strides */
};

#endif /* MINIGRAD_CUDA_COMMON_CUH */
