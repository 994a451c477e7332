/*
 * copy.cu -- the CUDA memory kernels: fill, strided copy (the one kernel that
 * makes a view contiguous or writes into one) and dtype conversion.
 *
 * Same contract, validation and status codes as the CPU's copy.c.  Kernels
 * are grid-stride loops over int64 indices; nothing here synchronises.
 */
#include <type_traits>

#include "common.cuh"
#include "elementwise_layout.cuh"

/* Kernels and helpers have internal linkage: every csrc/cuda file links into
 * one module, and a template kernel of the same name elsewhere must not merge
 * with these. */
namespace {

/* float -> int64 the way a careful cast should (copy.c's to_int64): NaN
 * becomes 0, values beyond the range saturate (a plain cast is undefined). */
static __host__ __device__ __forceinline__ int64_t to_int64(double v) {
    if (v != v) return 0;
    if (v >= 9223372036854775807.0) return INT64_MAX;
    if (v <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)v;
}

/* ---- kernels -------------------------------------------------------------- */

template <typename T>
__global__ void fill_kernel(int64_t n, T value, T *out) {
    MG_CUDA_FOR(i, n) out[i] = value;
}

/* Elements are moved as 4- or 8-byte words (U = uint32_t or uint64_t): the
 * copy never looks at the dtype.  Both sides contiguous: one flat index. */
template <typename U>
__global__ void copy_flat_kernel(int64_t n, const U *src, U *dst) {
    MG_CUDA_FOR(i, n) dst[i] = src[i];
}

/* Operand order in the layout: src, dst (both by element strides, either may
 * be negative; dst is not assumed contiguous). */
template <typename U>
__global__ void copy_strided_kernel(int64_t n, const mg_cuda_layout L, const U *src, U *dst) {
    MG_CUDA_FOR(i, n) {
        int64_t off[2];
        mg_layout_offsets<2>(L, i, off);
        dst[off[1]] = src[off[0]];
    }
}

/* dst[i] = convert(src[i]): to int64 through to_int64, else a plain C++
 * conversion (round to nearest, as on the CPU). */
template <typename S, typename D>
__global__ void cast_kernel(int64_t n, const S *src, D *dst) {
    MG_CUDA_FOR(i, n) {
        if constexpr (std::is_same<D, int64_t>::value && std::is_floating_point<S>::value)
            dst[i] = to_int64((double)src[i]);
        else
            dst[i] = (D)src[i];
    }
}

/* ---- launchers ------------------------------------------------------------ */

template <typename T>
static int launch_fill(int64_t n, T value, void *out) {
    fill_kernel<T><<<mg_cuda_blocks(n, MG_CUDA_BLOCK), MG_CUDA_BLOCK>>>(n, value, (T *)out);
    MG_CUDA_LAUNCHED("fill_kernel");
    return MG_OK;
}

template <typename U>
static int launch_copy(int64_t n, const mg_cuda_layout &L, const void *src, void *dst) {
    const unsigned blocks = mg_cuda_blocks(n, MG_CUDA_BLOCK);
    if (mg_layout_is_flat(&L, 2)) {
        copy_flat_kernel<U><<<blocks, MG_CUDA_BLOCK>>>(n, (const U *)src, (U *)dst);
        MG_CUDA_LAUNCHED("copy_flat_kernel");
    } else {
        copy_strided_kernel<U><<<blocks, MG_CUDA_BLOCK>>>(n, L, (const U *)src, (U *)dst);
        MG_CUDA_LAUNCHED("copy_strided_kernel");
    }
    return MG_OK;
}

template <typename S, typename D>
static int launch_cast(int64_t n, const void *src, void *dst) {
    cast_kernel<S, D><<<mg_cuda_blocks(n, MG_CUDA_BLOCK), MG_CUDA_BLOCK>>>(n, (const S *)src,
                                                                           (D *)dst);
    MG_CUDA_LAUNCHED("cast_kernel");
    return MG_OK;
}

}  // namespace

/* ---- entry points ------------------------------------------------------------ */

extern "C" int mg_cuda_fill(int dtype, int64_t n, double value, void *out) {
    MG_CHECK(mg_cuda_dtype_size(dtype) != 0, MG_ERR_DTYPE);
    MG_CHECK(n >= 0, MG_ERR_SIZE);
    if (n == 0) return MG_OK;
    MG_CHECK(out != NULL, MG_ERR_NULL);
    switch (dtype) {
    case MG_FLOAT32: return launch_fill<float>(n, (float)value, out);
    case MG_FLOAT64: return launch_fill<double>(n, value, out);
    default: return launch_fill<int64_t>(n, to_int64(value), out);
    }
}

extern "C" int mg_cuda_copy_strided(int elem_size, int ndim, const int64_t *shape,
                                    const void *src, const int64_t *src_strides,
                                    void *dst, const int64_t *dst_strides) {
    int64_t n;
    int status = mg_copy_strided_check_args(elem_size, ndim, shape, src, src_strides, dst,
                                            dst_strides, &n);
    if (status != MG_OK || n == 0) return status;

    mg_cuda_layout L = {};
    const int64_t *strides[2] = {src_strides, dst_strides};
    mg_layout_simplify(&L, ndim, shape, 2, strides);
    if (elem_size == 4) return launch_copy<uint32_t>(n, L, src, dst);
    return launch_copy<uint64_t>(n, L, src, dst);
}

extern "C" int mg_cuda_cast(int src_dtype, int dst_dtype, int64_t n, const void *src,
                            void *dst) {
    MG_CHECK(mg_cuda_dtype_size(src_dtype) != 0 && mg_cuda_dtype_size(dst_dtype) != 0,
             MG_ERR_DTYPE);
    MG_CHECK(n >= 0, MG_ERR_SIZE);
    if (n == 0) return MG_OK;
    MG_CHECK(src != NULL && dst != NULL, MG_ERR_NULL);
    switch (src_dtype * 3 + dst_dtype) {
    case MG_FLOAT32 * 3 + MG_FLOAT64: return launch_cast<float, double>(n, src, dst);
    case MG_FLOAT32 * 3 + MG_INT64: return launch_cast<float, int64_t>(n, src, dst);
    case MG_FLOAT64 * 3 + MG_FLOAT32: return launch_cast<double, float>(n, src, dst);
    case MG_FLOAT64 * 3 + MG_INT64: return launch_cast<double, int64_t>(n, src, dst);
    case MG_INT64 * 3 + MG_FLOAT32: return launch_cast<int64_t, float>(n, src, dst);
    case MG_INT64 * 3 + MG_FLOAT64: return launch_cast<int64_t, double>(n, src, dst);
    default: /* same dtype: a plain copy, nothing at all in place */
        if (src != dst)
            MG_CUDA_TRY(cudaMemcpyAsync(dst, src, (size_t)n * mg_cuda_dtype_size(src_dtype),
                                        cudaMemcpyDeviceToDevice, 0));
        return MG_OK;
    }
}
