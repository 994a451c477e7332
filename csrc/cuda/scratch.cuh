/*
 * scratch.cuh -- device scratch memory for the duration of one call (private
 * to gemm.cu and rnn.cu).
 *
 * Why stream-ordered allocation: the kernels that need scratch (split-K
 * partial sums of the gemm, the gate gradients of the recurrent backward
 * pass) run inside training loops, where a plain cudaMalloc/cudaFree per call
 * would synchronise the device every time.  cudaMallocAsync/cudaFreeAsync on
 * the default stream take memory from the device's memory pool in stream
 * order: the free is queued behind the kernels that use the memory, nothing
 * waits, and the pool hands the same memory back to the next call without
 * asking the driver.  No state of ours outlives a call.  Where the device
 * has no memory pools (cudaErrorNotSupported) it falls back to
 * cudaMalloc/cudaFree (cudaFree waits for the kernels using the memory).
 */
#ifndef MINIGRAD_CUDA_SCRATCH_CUH
#define MINIGRAD_CUDA_SCRATCH_CUH

#include <cuda_runtime.h>
#include <stddef.h>

/* One scratch allocation, released (in stream order) when it goes out of
 * scope, so early returns cannot leak it. */
class MgDeviceScratch {
  public:
    MgDeviceScratch() = default;
    MgDeviceScratch(const MgDeviceScratch &) = delete;
    MgDeviceScratch &operator=(const MgDeviceScratch &) = delete;
    ~MgDeviceScratch() { release(); }

    /* Allocate `bytes` (nothing for 0: ptr() stays NULL).  On failure the
     * error is returned and also cleared from cudaGetLastError, so that a
     * caller which falls back to another path does not see it later. */
    cudaError_t allocate(size_t bytes) {
        release();
        if (bytes == 0) return cudaSuccess;
        cudaError_t err = cudaMallocAsync(&ptr_, bytes, 0);
        if (err == cudaErrorNotSupported) { /* no memory pools on this device */
            (void)cudaGetLastError();
            async_ = false;
            err = cudaMalloc(&ptr_, bytes);
        }
        if (err != cudaSuccess) {
            (void)cudaGetLastError();
            ptr_ = nullptr;
        }
        return err;
    }

    template <typename T> T *as() const { return static_cast<T *>(ptr_); }
    void *ptr() const { return ptr_; }

  private:
    void release() {
        if (ptr_ != nullptr) {
            /* A failure here comes from an earlier asynchronous error, which
             * the next synchronising call reports; clear the record so that
             * the next launch check does not report it under its own name. */
            cudaError_t err = async_ ? cudaFreeAsync(ptr_, 0) : cudaFree(ptr_);
            if (err != cudaSuccess) (void)cudaGetLastError();
        }
        ptr_ = nullptr;
        async_ = true;
    }

    void *ptr_ = nullptr;
    bool async_ = true;
};

#endif /* MINIGRAD_CUDA_SCRATCH_CUH */
