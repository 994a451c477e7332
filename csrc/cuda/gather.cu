/*
 * gather.cu -- the CUDA index_select along the middle axis, and its adjoint.
 *
 *   gather:      out (outer, idx_n, inner) = src (outer, src_n, inner)[:, idx[j], :]
 *   scatter_add: dst (outer, dst_n, inner)[:, idx[j], :] += src (outer, idx_n, inner)[:, j, :]
 *
 * Same contract, validation and status codes as the CPU's gather.c.  Indices
 * may be negative (counted from the end).  They live on the device, so the
 * host cannot look at them: a validation kernel first raises a flag on any
 * index outside [-n, n), and the host reads the flag back (this is the one
 * synchronisation of these entry points).  Only then is anything written, so
 * an out-of-range index leaves the output untouched and returns MG_ERR_INDEX,
 * as on the CPU.
 *
 * scatter_add: one thread per source element, atomicAdd into dst (float and
 * double atomics exist on sm_60+).  Repeated indices accumulate correctly,
 * but the order of the additions is not fixed, so float results may differ
 * from the CPU's (ordered) sums by rounding and between runs.
 */
#include "common.cuh"

namespace {

/* The calling host thread's device int for index validation.  Allocated on
 * first use (and again if the thread's current device changed), freed when
 * the thread exits.  One per host thread, never shared: cffi releases the
 * GIL, and two Python threads validating at once must not share a flag.
 * Each use is memset, kernel, synchronous read-back, so it is idle between
 * calls. */
struct index_flag {
    int *ptr = nullptr;
    int device = -1;
    ~index_flag() {
        if (ptr != nullptr) cudaFree(ptr); /* errors at process exit are harmless */
    }
};
thread_local index_flag tls_index_flag;

int get_index_flag(int **flag) {
    int device;
    MG_CUDA_TRY(cudaGetDevice(&device));
    index_flag &f = tls_index_flag;
    if (f.ptr == nullptr || f.device != device) {
        if (f.ptr != nullptr) {
            cudaFree(f.ptr); /* the old device's: nothing to do if that fails */
            f.ptr = nullptr;
        }
        void *p = nullptr;
        MG_CUDA_TRY(cudaMalloc(&p, sizeof(int)));
        f.ptr = (int *)p;
        f.device = device;
    }
    *flag = f.ptr;
    return MG_OK;
}

/* *bad = 1 if some idx[j] lies outside [-n, n).  Threads only ever write 1,
 * so racing writes agree. */
__global__ void check_indices_kernel(int64_t idx_n, const int64_t *idx, int64_t n, int *bad) {
    MG_CUDA_FOR(j, idx_n) {
        const int64_t v = idx[j];
        if (v < -n || v >= n) *bad = 1;
    }
}

/* MG_ERR_INDEX unless every idx[j] (device memory) lies in [-n, n). */
int check_indices(const int64_t *idx, int64_t idx_n, int64_t n) {
    int *flag = nullptr;
    int status = get_index_flag(&flag);
    if (status != MG_OK) return status;
    MG_CUDA_TRY(cudaMemsetAsync(flag, 0, sizeof(int), 0));
    check_indices_kernel<<<mg_cuda_blocks(idx_n, MG_CUDA_BLOCK), MG_CUDA_BLOCK>>>(idx_n, idx, n,
                                                                                  flag);
    MG_CUDA_LAUNCHED("check_indices_kernel");
    int bad = 0;
    /* a copy to pageable host memory waits for the kernel before it */
    MG_CUDA_TRY(cudaMemcpy(&bad, flag, sizeof(int), cudaMemcpyDeviceToHost));
    return bad ? MG_ERR_INDEX : MG_OK;
}

/* Checks shared by both directions (gather.c's check_gather_args); on MG_OK
 * the indices are known to be in range. */
int check_gather_args(int64_t outer, int64_t n, int64_t inner, const int64_t *idx,
                      int64_t idx_n) {
    MG_CHECK(outer >= 0 && n >= 0 && inner >= 0 && idx_n >= 0, MG_ERR_SIZE);
    if (idx_n == 0) return MG_OK;
    MG_CHECK(idx != NULL, MG_ERR_NULL);
    return check_indices(idx, idx_n, n);
}

/* *total = outer * idx_n * inner, MG_ERR_SIZE if it overflows int64 (a
 * corrupt size: no buffer is that large). */
int element_count(int64_t outer, int64_t idx_n, int64_t inner, int64_t *total) {
    MG_CHECK(idx_n == 0 || outer <= INT64_MAX / idx_n, MG_ERR_SIZE);
    const int64_t rows = outer * idx_n;
    MG_CHECK(inner == 0 || rows <= INT64_MAX / inner, MG_ERR_SIZE);
    *total = rows * inner;
    return MG_OK;
}

__device__ __forceinline__ int64_t wrap(int64_t i, int64_t n) { return i < 0 ? i + n : i; }

/* Element e = (b * idx_n + j) * inner + c of the (outer, idx_n, inner) side
 * pairs with element (b, idx[j], c) of the (outer, n, inner) side: its offset
 * there. */
__device__ __forceinline__ int64_t indexed_offset(int64_t e, int64_t n, int64_t inner,
                                                  const int64_t *idx, int64_t idx_n) {
    const int64_t r = e / inner, c = e - r * inner;
    const int64_t b = r / idx_n, j = r - b * idx_n;
    return (b * n + wrap(idx[j], n)) * inner + c;
}

/* One thread per output element e; elements are moved as 4- or 8-byte words
 * (U), so any dtype works.  Neighbouring threads read neighbouring columns of
 * one source row (coalesced when inner is large). */
template <typename U>
__global__ void gather_kernel(int64_t total, int64_t src_n, int64_t inner, const int64_t *idx,
                              int64_t idx_n, const U *src, U *out) {
    MG_CUDA_FOR(e, total) out[e] = src[indexed_offset(e, src_n, inner, idx, idx_n)];
}

/* One thread per source element e. */
template <typename T>
__global__ void scatter_add_kernel(int64_t total, int64_t dst_n, int64_t inner,
                                   const int64_t *idx, int64_t idx_n, const T *src, T *dst) {
    MG_CUDA_FOR(e, total) atomicAdd(dst + indexed_offset(e, dst_n, inner, idx, idx_n), src[e]);
}

template <typename U>
int launch_gather(int64_t total, int64_t src_n, int64_t inner, const int64_t *idx,
                  int64_t idx_n, const void *src, void *out) {
    gather_kernel<U><<<mg_cuda_blocks(total, MG_CUDA_BLOCK), MG_CUDA_BLOCK>>>(
        total, src_n, inner, idx, idx_n, (const U *)src, (U *)out);
    MG_CUDA_LAUNCHED("gather_kernel");
    return MG_OK;
}

template <typename T>
int launch_scatter_add(int64_t total, int64_t dst_n, int64_t inner, const int64_t *idx,
                       int64_t idx_n, const void *src, void *dst) {
    scatter_add_kernel<T><<<mg_cuda_blocks(total, MG_CUDA_BLOCK), MG_CUDA_BLOCK>>>(
        total, dst_n, inner, idx, idx_n, (const T *)src, (T *)dst);
    MG_CUDA_LAUNCHED("scatter_add_kernel");
    return MG_OK;
}

}  // namespace

/* ---- entry points ------------------------------------------------------------ */

extern "C" int mg_cuda_gather(int dtype, int64_t outer, int64_t src_n, int64_t inner,
                              const int64_t *idx, int64_t idx_n, const void *src, void *out) {
    const size_t elem = mg_cuda_dtype_size(dtype);
    MG_CHECK(elem != 0, MG_ERR_DTYPE);
    int status = check_gather_args(outer, src_n, inner, idx, idx_n);
    if (status != MG_OK) return status;
    if (outer == 0 || idx_n == 0 || inner == 0) return MG_OK;
    MG_CHECK(src != NULL && out != NULL, MG_ERR_NULL);
    int64_t total;
    status = element_count(outer, idx_n, inner, &total);
    if (status != MG_OK) return status;
    if (elem == 4) return launch_gather<uint32_t>(total, src_n, inner, idx, idx_n, src, out);
    return launch_gather<uint64_t>(total, src_n, inner, idx, idx_n, src, out);
}

extern "C" int mg_cuda_scatter_add(int dtype, int64_t outer, int64_t dst_n, int64_t inner,
                                   const int64_t *idx, int64_t idx_n, const void *src,
                                   void *dst) {
    MG_CHECK(dtype == MG_FLOAT32 || dtype == MG_FLOAT64, MG_ERR_DTYPE);
    int status = check_gather_args(outer, dst_n, inner, idx, idx_n);
    if (status != MG_OK) return status;
    if (outer == 0 || idx_n == 0 || inner == 0) return MG_OK;
    MG_CHECK(src != NULL && dst != NULL, MG_ERR_NULL);
    int64_t total;
    status = element_count(outer, idx_n, inner, &total);
    if (status != MG_OK) return status;
    MG_CUDA_FLOAT_DISPATCH(dtype, return launch_scatter_add<T>(total, dst_n, inner, idx, idx_n,
                                                               src, dst));
}
