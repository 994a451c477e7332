/*
 * runtime.cu -- the CUDA runtime section of minigrad_cuda.h: devices, device
 * memory, copies, synchronisation, and the per-thread record of the last
 * failed CUDA call (mg_cuda_fail / mg_cuda_last_error) that every other
 * csrc/cuda file reports through.
 *
 * The only state is that record: one small buffer per OS thread
 * (thread_local), because cffi releases the GIL and several Python threads
 * may fail CUDA calls at once.
 */
#include <stdio.h>
#include <string.h>

#include "common.cuh"

/* Byte counts travel as int64_t and become size_t for the runtime. */
static_assert(sizeof(size_t) >= sizeof(int64_t), "64-bit size_t expected");

/* Longest message kept; cudaGetErrorString texts are well under 200 bytes. */
#define MG_CUDA_ERROR_LEN 256

static char *error_buffer(void) {
    static thread_local char buffer[MG_CUDA_ERROR_LEN];
    return buffer;
}

/* Write "<call>: <reason> (error N)" into the calling thread's buffer.  `call`
 * is the text MG_CUDA_TRY stringified ("cudaMalloc(&p, n)"): only the name,
 * up to the first '(', is kept. */
static void record_error(const char *call, cudaError_t err) {
    if (call == NULL) call = "CUDA";
    int name_len = (int)strcspn(call, "(");
    while (name_len > 0 && call[name_len - 1] == ' ') name_len--;
    const char *reason = cudaGetErrorString(err);
    snprintf(error_buffer(), MG_CUDA_ERROR_LEN, "%.*s: %s (error %d)", name_len, call,
             reason != NULL ? reason : "unknown error", (int)err);
}

extern "C" int mg_cuda_fail(const char *call, cudaError_t err) {
    record_error(call, err);
    /* The runtime also remembers the error for cudaGetLastError(); read it
     * here so that the next MG_CUDA_LAUNCHED does not blame a kernel launch
     * for this failure.  (Sticky errors -- a corrupted context -- stay.) */
    (void)cudaGetLastError();
    return MG_ERR_CUDA;
}

extern "C" const char *mg_cuda_last_error(void) {
    return error_buffer();
}

/* cudaGetDeviceCount's ways of saying "no usable CUDA here": no GPU, no or
 * stub driver, a driver older than this runtime, devices busy or not ready. */
static bool means_no_device(cudaError_t err) {
    switch (err) {
    case cudaErrorNoDevice:
    case cudaErrorInsufficientDriver:
    case cudaErrorStubLibrary:
    case cudaErrorInitializationError:
    case cudaErrorDevicesUnavailable:
    case cudaErrorSystemNotReady:
    case cudaErrorSystemDriverMismatch:
    case cudaErrorCompatNotSupportedOnDevice:
    case cudaErrorNotPermitted:
    case cudaErrorNotSupported:
    case cudaErrorOperatingSystem:
        return true;
    default:
        return false;
    }
}

extern "C" int mg_cuda_device_count(int *count) {
    MG_CHECK(count != NULL, MG_ERR_NULL);
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err == cudaSuccess) {
        *count = n;
        return MG_OK;
    }
    *count = 0;
    if (means_no_device(err)) {
        /* Not an error for the caller, but keep the reason: Python quotes
         * mg_cuda_last_error() when it explains why CUDA is unavailable. */
        mg_cuda_fail("cudaGetDeviceCount", err);
        return MG_OK;
    }
    return mg_cuda_fail("cudaGetDeviceCount", err);
}

/* MG_OK when 0 <= device < the device count, MG_ERR_INDEX otherwise. */
static int check_device(int device) {
    int count = 0;
    int status = mg_cuda_device_count(&count);
    if (status != MG_OK) return status;
    MG_CHECK(device >= 0 && device < count, MG_ERR_INDEX);
    return MG_OK;
}

extern "C" int mg_cuda_set_device(int device) {
    int status = check_device(device);
    if (status != MG_OK) return status;
    MG_CUDA_TRY(cudaSetDevice(device));
    return MG_OK;
}

extern "C" int mg_cuda_device_name(int device, char *buf, int len) {
    MG_CHECK(buf != NULL, MG_ERR_NULL);
    MG_CHECK(len > 0, MG_ERR_SIZE);
    buf[0] = '\0';
    int status = check_device(device);
    if (status != MG_OK) return status;
    cudaDeviceProp prop;
    MG_CUDA_TRY(cudaGetDeviceProperties(&prop, device));
    /* prop.name is NUL-terminated within its 256 bytes; truncate to len. */
    snprintf(buf, (size_t)len, "%s", prop.name);
    return MG_OK;
}

extern "C" int mg_cuda_memory_info(int64_t *free_bytes, int64_t *total_bytes) {
    MG_CHECK(free_bytes != NULL && total_bytes != NULL, MG_ERR_NULL);
    size_t free_b = 0, total_b = 0;
    MG_CUDA_TRY(cudaMemGetInfo(&free_b, &total_b));
    *free_bytes = (int64_t)free_b;
    *total_bytes = (int64_t)total_b;
    return MG_OK;
}

extern "C" int mg_cuda_malloc(int64_t nbytes, void **ptr) {
    MG_CHECK(ptr != NULL, MG_ERR_NULL);
    *ptr = NULL;
    MG_CHECK(nbytes >= 0, MG_ERR_SIZE);
    if (nbytes == 0) return MG_OK; /* an empty tensor owns no device memory */
    void *p = NULL;
    MG_CUDA_TRY(cudaMalloc(&p, (size_t)nbytes));
    *ptr = p;
    return MG_OK;
}

extern "C" int mg_cuda_free(void *ptr) {
    if (ptr == NULL) return MG_OK;
    MG_CUDA_TRY(cudaFree(ptr));
    return MG_OK;
}

extern "C" int mg_cuda_memcpy(void *dst, const void *src, int64_t nbytes, int kind) {
    cudaMemcpyKind cuda_kind;
    switch (kind) {
    case MG_HOST_TO_DEVICE: cuda_kind = cudaMemcpyHostToDevice; break;
    case MG_DEVICE_TO_HOST: cuda_kind = cudaMemcpyDeviceToHost; break;
    case MG_DEVICE_TO_DEVICE: cuda_kind = cudaMemcpyDeviceToDevice; break;
    default: return MG_ERR_OP;
    }
    MG_CHECK(nbytes >= 0, MG_ERR_SIZE);
    if (nbytes == 0) return MG_OK; /* empty tensors have NULL device pointers */
    MG_CHECK(dst != NULL && src != NULL, MG_ERR_NULL);
    /* cudaMemcpy orders itself after earlier work on the legacy default
     * stream; copies to the host return once the data has arrived. */
    MG_CUDA_TRY(cudaMemcpy(dst, src, (size_t)nbytes, cuda_kind));
    return MG_OK;
}

extern "C" int mg_cuda_synchronize(void) {
    MG_CUDA_TRY(cudaDeviceSynchronize());
    return MG_OK;
}
