/*
 * gemm.cu -- batched matrix multiply on the GPU (mg_cuda_gemm,
 * mg_cuda_gemm_builtin; mg_cuda_gemm_device for the other CUDA files):
 *
 *     C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b]      (row-major)
 *
 * Same contract, checks (gemm_args.h) and status codes as mg_gemm.  The
 * trivial cases (nothing to write; k == 0 or alpha == 0, where C = beta * C
 * without reading A or B) are settled here; the rest goes to cuBLAS in a
 * build with MG_USE_CUBLAS=1, or to minigrad's own kernel:
 *
 * The tiled kernel.  Each thread block computes a BM x BN tile of C, walking
 * the k dimension in slices of BK: the block stages a BM x BK slice of op(A)
 * and a BK x BN slice of op(B) in shared memory (k-major, so that a thread's
 * operands for one k are contiguous), and each of its 256 threads keeps a
 * TM x TN sub-tile of C in registers (register blocking: TM + TN shared
 * loads feed TM * TN multiply-adds).  Two shared buffers alternate: the
 * global loads of the next slice are issued into registers before the
 * current slice is multiplied, and stored to the other buffer after it, so
 * one __syncthreads per slice suffices and memory latency overlaps the
 * arithmetic.  Loads outside m, n or k read zeros (no bounds assumptions on
 * sizes or leading dimensions); the transposes are template parameters that
 * pick, for each operand, the thread-to-element mapping whose global reads
 * are coalesced.
 *
 *     float, large problems: 128 x 128 tiles, BK 8, 8 x 8 per thread
 *     float, otherwise     :  64 x 64 tiles, BK 16, 4 x 4 per thread
 *     double               :  64 x 64 tiles, BK 8, 4 x 4 per thread
 *
 * A thread's TM rows are groups of 4 consecutive rows spaced BM/2 apart
 * (likewise its columns), so that the threads of a warp read one contiguous
 * run of shared memory with 16-byte loads (no bank conflicts); shared rows
 * are padded by 4 elements so that the transposing stores of a slice do not
 * conflict either.
 *
 * Few tiles, long k (the RNN backward's (B, 4H) x (4H, H) products): the k
 * range is split among several blocks per tile (split-K), each writing its
 * partial tile to device scratch, and a second kernel adds the partial sums
 * in a fixed order (deterministic) and applies alpha and beta.
 *
 * Every index that can exceed 2^31 (element offsets, tile numbers) is 64-bit;
 * the blocks walk the tiles with a grid-stride loop, so any batch count and
 * any m, n fit the launch limits.
 */
#include <limits.h>

#include "common.cuh"
#include "gemm.cuh"
#include "gemm_args.h"
#include "scratch.cuh"

#if defined(MG_USE_CUBLAS) && MG_USE_CUBLAS
#define MG_GEMM_CUBLAS 1
#include <cublas_v2.h>
#include <stdio.h>
#include <string.h>
#else
#define MG_GEMM_CUBLAS 0
#endif

/* Everything but the entry points has internal linkage: kernel templates named
 * alike in another file must not merge with these. */
namespace {

/* ---- the tiled kernel ---------------------------------------------------- */

/* Everything a launch needs, passed by value. */
template <typename T>
struct GemmParams {
    const T *a, *b;
    T *c;
    T *partial; /* split-K: partial tiles (slices, m, n) instead of C; else NULL */
    int64_t m, n, k, lda, ldb, ldc, stride_a, stride_b, stride_c;
    int64_t batch, tiles_m, tiles_n;
    int64_t slices, k_slice; /* k split into `slices` ranges of k_slice (the last shorter) */
    T alpha, beta;
};

/* Four consecutive shared-memory values (16-byte aligned) into registers. */
__device__ __forceinline__ void load4_shared(const float *p, float *out) {
    const float4 v = *reinterpret_cast<const float4 *>(p);
    out[0] = v.x;
    out[1] = v.y;
    out[2] = v.z;
    out[3] = v.w;
}
__device__ __forceinline__ void load4_shared(const double *p, double *out) {
    const double2 v0 = *reinterpret_cast<const double2 *>(p);
    const double2 v1 = *reinterpret_cast<const double2 *>(p + 2);
    out[0] = v0.x;
    out[1] = v0.y;
    out[2] = v1.x;
    out[3] = v1.y;
}

/*
 * One operand's share of the k loop: a ROWS x BK slice of op(M) per step
 * (ROWS = BM for A, BN for B); element (i, p) is row i of the tile, k index p.
 * In memory the operand is contiguous along k (K_CONTIG: A not transposed, B
 * transposed; element at src[row * ld + kidx]) or along the rows (element at
 * src[kidx * ld + row]); consecutive threads take consecutive addresses in
 * either case.  Thread tid loads LOADS elements ("slots"): since NT is a
 * multiple of ROWS and of BK, its slots share one k index and step STEP rows
 * apart (K_CONTIG), or share one row and step STEP k indices apart, so one
 * offset plus l * slot_stride addresses slot l.  Elements outside the matrix
 * (rows_total) or the k range (k_end) read as zero.
 */
template <typename T, int ROWS, int BK, int NT, bool K_CONTIG>
struct SliceLoader {
    static_assert(NT % ROWS == 0 && NT % BK == 0 && (ROWS * BK) % NT == 0, "slots split evenly");
    static constexpr int LOADS = ROWS * BK / NT;
    static constexpr int STEP = K_CONTIG ? NT / BK : NT / ROWS;
    const T *__restrict__ src;
    int64_t offset;      /* of slot 0 in the current slice */
    int64_t slot_stride; /* elements from one slot to the next */
    int64_t k_advance;   /* elements from one slice to the next */
    int64_t rows_left;   /* rows_total - slot 0's row */
    int64_t k_left;      /* k_end - slot 0's k index, in the current slice */
    int i0, p0;          /* slot 0's row and k index in the slice */

    __device__ __forceinline__ SliceLoader(const T *m, int64_t ld, int64_t row0, int64_t rows_total,
                                           int64_t k_start, int64_t k_end, int tid) {
        src = m;
        i0 = K_CONTIG ? tid / BK : tid % ROWS;
        p0 = K_CONTIG ? tid % BK : tid / ROWS;
        const int64_t row = row0 + i0, kidx = k_start + p0;
        offset = K_CONTIG ? row * ld + kidx : kidx * ld + row;
        slot_stride = (int64_t)STEP * ld; /* STEP rows, or STEP k indices, apart */
        k_advance = K_CONTIG ? (int64_t)BK : (int64_t)BK * ld;
        rows_left = rows_total - row;
        k_left = k_end - kidx;
    }

    /* The current slice into registers. */
    __device__ __forceinline__ void load(T *regs) const {
#pragma unroll
        for (int l = 0; l < LOADS; l++) {
            const bool valid = K_CONTIG ? (l * STEP < rows_left && k_left > 0)
                                        : (rows_left > 0 && l * STEP < k_left);
            regs[l] = valid ? src[offset + l * slot_stride] : T(0);
        }
    }

    __device__ __forceinline__ void next() {
        offset += k_advance;
        k_left -= BK;
    }

    /* Registers of load() into a k-major shared buffer dst[BK][ROWS + 4]. */
    __device__ __forceinline__ void store(T (*dst)[ROWS + 4], const T *regs) const {
#pragma unroll
        for (int l = 0; l < LOADS; l++) {
            if (K_CONTIG)
                dst[p0][i0 + l * STEP] = regs[l];
            else
                dst[p0 + l * STEP][i0] = regs[l];
        }
    }
};

/* C tiles of BM x BN, TM x TN per thread (TM, TN multiples of 4), 256 threads
 * for every configuration used.  TA / TB: op(A) = A^T / op(B) = B^T. */
template <typename T, int BM, int BN, int BK, int TM, int TN, bool TA, bool TB>
__global__ void __launch_bounds__((BM / TM) * (BN / TN))
    gemm_tiled_kernel(const GemmParams<T> p) {
    constexpr int TX = BN / TN, TY = BM / TM, NT = TX * TY;
    static_assert(TM % 4 == 0 && TN % 4 == 0, "thread tiles are groups of 4");
    typedef SliceLoader<T, BM, BK, NT, !TA> LoaderA;
    typedef SliceLoader<T, BN, BK, NT, TB> LoaderB;
    __shared__ __align__(16) T As[2][BK][BM + 4];
    __shared__ __align__(16) T Bs[2][BK][BN + 4];

    const int tid = threadIdx.x;
    const int tx = tid % TX, ty = tid / TX;
    const int64_t tiles = p.tiles_m * p.tiles_n * p.slices * p.batch;

    for (int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
        /* tile -> (batch entry, k slice, tile row, tile column), columns fastest */
        int64_t r = tile;
        const int64_t tn = r % p.tiles_n;
        r /= p.tiles_n;
        const int64_t tm = r % p.tiles_m;
        r /= p.tiles_m;
        const int64_t slice = r % p.slices;
        const int64_t entry = r / p.slices;
        const int64_t row0 = tm * BM, col0 = tn * BN;
        const int64_t k_start = slice * p.k_slice;
        const int64_t k_end = p.k - k_start < p.k_slice ? p.k : k_start + p.k_slice;
        const int64_t k_tiles = (k_end - k_start + BK - 1) / BK; /* >= 1: slices are non-empty */
        LoaderA load_a(p.a + entry * p.stride_a, p.lda, row0, p.m, k_start, k_end, tid);
        LoaderB load_b(p.b + entry * p.stride_b, p.ldb, col0, p.n, k_start, k_end, tid);

        T acc[TM][TN];
#pragma unroll
        for (int i = 0; i < TM; i++)
#pragma unroll
            for (int j = 0; j < TN; j++) acc[i][j] = T(0);

        T ra[LoaderA::LOADS], rb[LoaderB::LOADS];
        load_a.load(ra);
        load_b.load(rb);
        load_a.store(As[0], ra);
        load_b.store(Bs[0], rb);
        __syncthreads();

        for (int64_t kt = 0; kt < k_tiles; kt++) {
            const int buf = (int)(kt & 1);
            const bool more = kt + 1 < k_tiles;
            if (more) { /* next slice's global loads, in flight during the multiply */
                load_a.next();
                load_b.next();
                load_a.load(ra);
                load_b.load(rb);
            }
#pragma unroll
            for (int q = 0; q < BK; q++) {
                T af[TM], bf[TN];
#pragma unroll
                for (int g = 0; g < TM / 4; g++)
                    load4_shared(&As[buf][q][g * TY * 4 + ty * 4], &af[g * 4]);
#pragma unroll
                for (int g = 0; g < TN / 4; g++)
                    load4_shared(&Bs[buf][q][g * TX * 4 + tx * 4], &bf[g * 4]);
#pragma unroll
                for (int i = 0; i < TM; i++)
#pragma unroll
                    for (int j = 0; j < TN; j++) acc[i][j] += af[i] * bf[j];
            }
            /* The other buffer was last read in iteration kt - 1, which every
             * thread finished before the barrier that ended it. */
            if (more) {
                load_a.store(As[buf ^ 1], ra);
                load_b.store(Bs[buf ^ 1], rb);
            }
            __syncthreads();
        }

        /* write back the valid part: C = alpha acc + beta C (C not read when
         * beta == 0), or the raw partial sums of a k slice */
        T *c = p.c + entry * p.stride_c;
#pragma unroll
        for (int i = 0; i < TM; i++) {
            const int64_t gi = row0 + (i / 4) * (TY * 4) + ty * 4 + (i % 4);
            if (gi >= p.m) continue;
#pragma unroll
            for (int j = 0; j < TN; j++) {
                const int64_t gj = col0 + (j / 4) * (TX * 4) + tx * 4 + (j % 4);
                if (gj >= p.n) continue;
                if (p.partial != nullptr) {
                    p.partial[(slice * p.m + gi) * p.n + gj] = acc[i][j];
                } else {
                    T *dst = c + gi * p.ldc + gj;
                    const T v = p.alpha * acc[i][j];
                    *dst = p.beta == T(0) ? v : v + p.beta * *dst;
                }
            }
        }
    }
}

/* Split-K's second pass: C (m, n) = alpha * (sum of the slices' partial
 * tiles, added in slice order) + beta * C. */
template <typename T>
__global__ void gemm_splitk_reduce_kernel(const T *__restrict__ partial, int64_t slices,
                                          int64_t m, int64_t n, T alpha, T beta,
                                          T *__restrict__ c, int64_t ldc) {
    const int64_t mn = m * n;
    MG_CUDA_FOR(idx, mn) {
        T sum = T(0);
        for (int64_t s = 0; s < slices; s++) sum += partial[s * mn + idx];
        T *dst = c + (idx / n) * ldc + idx % n;
        *dst = beta == T(0) ? alpha * sum : alpha * sum + beta * *dst;
    }
}

/* C[b] = beta * C[b] over batch (m, n) matrices; beta == 0 writes zeros
 * without reading C (so NaN in C does not survive). */
template <typename T>
__global__ void gemm_scale_kernel(int64_t batch, int64_t m, int64_t n, T beta, T *c, int64_t ldc,
                                  int64_t stride_c) {
    MG_CUDA_FOR(idx, batch * m * n) {
        const int64_t j = idx % n, row = idx / n;
        T *dst = c + (row / m) * stride_c + (row % m) * ldc + j;
        *dst = beta == T(0) ? T(0) : beta * *dst;
    }
}

/* ---- host side: checks, configuration, launch ------------------------------ */

/* The launch of one tile configuration for the four transpose cases. */
template <typename T, int BM, int BN, int BK, int TM, int TN>
static int launch_tiled(const GemmParams<T> &p, int trans_a, int trans_b) {
    constexpr int threads = (BM / TM) * (BN / TN);
    const int64_t tiles = p.tiles_m * p.tiles_n * p.slices * p.batch;
    /* one block per tile up to a generous cap; the blocks loop over the rest */
    const unsigned grid = (unsigned)(tiles < (1LL << 30) ? tiles : (1LL << 30));
    if (!trans_a && !trans_b)
        gemm_tiled_kernel<T, BM, BN, BK, TM, TN, false, false><<<grid, threads>>>(p);
    else if (!trans_a && trans_b)
        gemm_tiled_kernel<T, BM, BN, BK, TM, TN, false, true><<<grid, threads>>>(p);
    else if (trans_a && !trans_b)
        gemm_tiled_kernel<T, BM, BN, BK, TM, TN, true, false><<<grid, threads>>>(p);
    else
        gemm_tiled_kernel<T, BM, BN, BK, TM, TN, true, true><<<grid, threads>>>(p);
    MG_CUDA_LAUNCHED("gemm_tiled_kernel");
    return MG_OK;
}

static int64_t ceil_div(int64_t x, int64_t y) { return (x + y - 1) / y; }

/* Split-K pays when the tiles cannot fill the GPU and each slice still has a
 * long k loop: at most this many slices, each at least this deep. */
#define GEMM_SPLITK_MAX_SLICES 16
#define GEMM_SPLITK_MIN_DEPTH 256

/* One problem set (arguments already checked, nothing trivial left) through
 * the tiled kernel of a configuration; split-K for a lone product whose tiles
 * would leave most multiprocessors idle. */
template <typename T, int BM, int BN, int BK, int TM, int TN>
static int tiled_gemm_config(int trans_a, int trans_b, int64_t batch, int64_t m, int64_t n,
                             int64_t k, T alpha, const T *a, int64_t lda, int64_t stride_a,
                             const T *b, int64_t ldb, int64_t stride_b, T beta, T *c, int64_t ldc,
                             int64_t stride_c, int sms) {
    GemmParams<T> p;
    p.a = a;
    p.b = b;
    p.c = c;
    p.partial = nullptr;
    p.m = m;
    p.n = n;
    p.k = k;
    p.lda = lda;
    p.ldb = ldb;
    p.ldc = ldc;
    p.stride_a = stride_a;
    p.stride_b = stride_b;
    p.stride_c = stride_c;
    p.batch = batch;
    p.tiles_m = ceil_div(m, BM);
    p.tiles_n = ceil_div(n, BN);
    p.slices = 1;
    p.k_slice = k;
    p.alpha = alpha;
    p.beta = beta;

    const int64_t tiles = p.tiles_m * p.tiles_n;
    int64_t slices = 1;
    if (batch == 1 && 2 * tiles <= sms && k >= 2 * GEMM_SPLITK_MIN_DEPTH) {
        slices = ceil_div(sms, tiles);
        if (slices > k / GEMM_SPLITK_MIN_DEPTH) slices = k / GEMM_SPLITK_MIN_DEPTH;
        if (slices > GEMM_SPLITK_MAX_SLICES) slices = GEMM_SPLITK_MAX_SLICES;
    }
    if (slices < 2) return launch_tiled<T, BM, BN, BK, TM, TN>(p, trans_a, trans_b);

    /* slices of whole BK steps; recount so that none is empty */
    const int64_t k_slice = ceil_div(ceil_div(k, slices), BK) * BK;
    slices = ceil_div(k, k_slice);
    MgDeviceScratch partial;
    if (slices < 2 || partial.allocate((size_t)(slices * m * n) * sizeof(T)) != cudaSuccess)
        return launch_tiled<T, BM, BN, BK, TM, TN>(p, trans_a, trans_b); /* no scratch: one pass */
    p.partial = partial.as<T>();
    p.slices = slices;
    p.k_slice = k_slice;
    int status = launch_tiled<T, BM, BN, BK, TM, TN>(p, trans_a, trans_b);
    if (status != MG_OK) return status;
    gemm_splitk_reduce_kernel<T><<<mg_cuda_blocks(m * n, MG_CUDA_BLOCK), MG_CUDA_BLOCK>>>(
        p.partial, slices, m, n, alpha, beta, c, ldc);
    MG_CUDA_LAUNCHED("gemm_splitk_reduce_kernel");
    return MG_OK; /* the scratch is freed in stream order, after the reduction */
}

/* Multiprocessors of the current device (sizes the split-K decision). */
static int multiprocessor_count(int *sms) {
    int device = 0;
    MG_CUDA_TRY(cudaGetDevice(&device));
    MG_CUDA_TRY(cudaDeviceGetAttribute(sms, cudaDevAttrMultiProcessorCount, device));
    if (*sms < 1) *sms = 1;
    return MG_OK;
}

/* The tiled kernel for a checked, non-trivial problem: float picks the large
 * tile when its tiles alone cover every multiprocessor, double one size. */
template <typename T>
static int tiled_gemm(int trans_a, int trans_b, int64_t batch, int64_t m, int64_t n, int64_t k,
                      double alpha, const void *a, int64_t lda, int64_t stride_a, const void *b,
                      int64_t ldb, int64_t stride_b, double beta, void *c, int64_t ldc,
                      int64_t stride_c) {
    int sms = 1;
    int status = multiprocessor_count(&sms);
    if (status != MG_OK) return status;
    const T al = (T)alpha, be = (T)beta;
    const T *A = (const T *)a, *B = (const T *)b;
    T *C = (T *)c;
    if constexpr (sizeof(T) == sizeof(double)) {
        return tiled_gemm_config<T, 64, 64, 8, 4, 4>(trans_a, trans_b, batch, m, n, k, al, A, lda,
                                                     stride_a, B, ldb, stride_b, be, C, ldc,
                                                     stride_c, sms);
    } else {
        if (ceil_div(m, 128) * ceil_div(n, 128) * batch >= sms)
            return tiled_gemm_config<T, 128, 128, 8, 8, 8>(trans_a, trans_b, batch, m, n, k, al, A,
                                                           lda, stride_a, B, ldb, stride_b, be, C,
                                                           ldc, stride_c, sms);
        return tiled_gemm_config<T, 64, 64, 16, 4, 4>(trans_a, trans_b, batch, m, n, k, al, A,
                                                      lda, stride_a, B, ldb, stride_b, be, C, ldc,
                                                      stride_c, sms);
    }
}

/*
 * The checks of mg_gemm (gemm_args.h, the CPU's own) and the problems that
 * need no multiply: nothing to write (batch, m or n == 0), or op(A) op(B) == 0
 * (k == 0 or alpha == 0), where C = beta * C is launched here.  On MG_OK,
 * *done says whether C is final.
 */
static int gemm_prepare(int dtype, int trans_a, int trans_b, int64_t batch, int64_t m, int64_t n,
                        int64_t k, double alpha, const void *a, int64_t lda, int64_t stride_a,
                        const void *b, int64_t ldb, int64_t stride_b, double beta, void *c,
                        int64_t ldc, int64_t stride_c, int *done) {
    int work;
    const int status = mg_gemm_check_args(dtype, trans_a, trans_b, batch, m, n, k, alpha, a, lda,
                                          stride_a, b, ldb, stride_b, c, ldc, stride_c, &work);
    *done = work != MG_GEMM_MULTIPLY;
    if (status != MG_OK || work != MG_GEMM_SCALE_C) return status;
    /* C = beta * C; nothing to do when beta == 1 */
    const unsigned grid = mg_cuda_blocks(batch * m * n, MG_CUDA_BLOCK);
    if (dtype == MG_FLOAT32 && (float)beta != 1.0f) {
        gemm_scale_kernel<float><<<grid, MG_CUDA_BLOCK>>>(batch, m, n, (float)beta, (float *)c,
                                                          ldc, stride_c);
        MG_CUDA_LAUNCHED("gemm_scale_kernel");
    } else if (dtype == MG_FLOAT64 && beta != 1.0) {
        gemm_scale_kernel<double><<<grid, MG_CUDA_BLOCK>>>(batch, m, n, beta, (double *)c, ldc,
                                                           stride_c);
        MG_CUDA_LAUNCHED("gemm_scale_kernel");
    }
    return MG_OK;
}

/* ---- cuBLAS --------------------------------------------------------------- */

#if MG_GEMM_CUBLAS

/* A failed cuBLAS call recorded like a failed runtime call, as
 * "cublasSgemm: CUBLAS_STATUS_EXECUTION_FAILED: <nearest runtime error>".
 * mg_cuda_fail takes a cudaError_t (and keeps the name up to its first '('),
 * so the cuBLAS status travels in the name and the closest runtime error
 * supplies the rest.  `call` is the stringified call "cublasSgemm(h, ...)". */
static int cublas_fail(const char *call, cublasStatus_t status) {
    char name[160];
    const int name_len = (int)strcspn(call, "(");
    snprintf(name, sizeof name, "%.*s: %s", name_len, call, cublasGetStatusName(status));
    cudaError_t err;
    switch (status) {
    case CUBLAS_STATUS_ALLOC_FAILED: err = cudaErrorMemoryAllocation; break;
    case CUBLAS_STATUS_NOT_INITIALIZED: err = cudaErrorInitializationError; break;
    case CUBLAS_STATUS_INVALID_VALUE: err = cudaErrorInvalidValue; break;
    case CUBLAS_STATUS_ARCH_MISMATCH: err = cudaErrorNoKernelImageForDevice; break;
    case CUBLAS_STATUS_NOT_SUPPORTED: err = cudaErrorNotSupported; break;
    case CUBLAS_STATUS_EXECUTION_FAILED: err = cudaErrorLaunchFailure; break;
    default: err = cudaErrorUnknown; break;
    }
    return mg_cuda_fail(name, err);
}

#define MG_CUBLAS_TRY(call)                                                   \
    do {                                                                      \
        cublasStatus_t mg_st_ = (call);                                       \
        if (mg_st_ != CUBLAS_STATUS_SUCCESS) return cublas_fail(#call, mg_st_); \
    } while (0)

/* Devices with a cached handle per thread; beyond that, the tiled kernel. */
#define MG_CUBLAS_MAX_DEVICES 64

/*
 * The calling thread's cuBLAS handle for the current device, created on first
 * use (thread_local: a handle must not be shared by threads that call
 * concurrently, and cffi releases the GIL).  A handle stays with its thread
 * until the process ends; it is never destroyed, because at exit the CUDA
 * runtime may already be torn down when thread-local destructors run.  The
 * handle uses the legacy default stream (cuBLAS's default), host-side alpha
 * and beta, and the default math mode: true float32, no TF32.
 */
static int cublas_handle(cublasHandle_t *out) {
    static thread_local cublasHandle_t handles[MG_CUBLAS_MAX_DEVICES] = {};
    int device = 0;
    MG_CUDA_TRY(cudaGetDevice(&device));
    if (device < 0 || device >= MG_CUBLAS_MAX_DEVICES) {
        *out = nullptr;
        return MG_OK;
    }
    if (handles[device] == nullptr) MG_CUBLAS_TRY(cublasCreate(&handles[device]));
    *out = handles[device];
    return MG_OK;
}

static bool fits_int(int64_t v) { return v <= INT_MAX; }

/*
 * Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: cuBLAS
 * gets B first.  Our row-major B (k, n) is a column-major (n, k) matrix with
 * leading dimension ldb, which is op(B)^T as is (CUBLAS_OP_N); a transposed B
 * (stored (n, k)) needs CUBLAS_OP_T.  Likewise for A.  So
 *     cublas?gemm(h, tb, ta, n, m, k, alpha, B, ldb, A, lda, beta, C, ldc),
 * and the strided-batched form for batches (stride 0 reuses a matrix; cuBLAS
 * ignores C's contents when beta == 0).  *used = 0 when the problem does not
 * fit cuBLAS's int arguments (the caller runs the tiled kernel instead).
 */
static int cublas_gemm(int dtype, int trans_a, int trans_b, int64_t batch, int64_t m, int64_t n,
                       int64_t k, double alpha, const void *a, int64_t lda, int64_t stride_a,
                       const void *b, int64_t ldb, int64_t stride_b, double beta, void *c,
                       int64_t ldc, int64_t stride_c, int *used) {
    *used = 0;
    if (!(fits_int(batch) && fits_int(m) && fits_int(n) && fits_int(k) && fits_int(lda) &&
          fits_int(ldb) && fits_int(ldc)))
        return MG_OK;
    cublasHandle_t h = nullptr;
    int status = cublas_handle(&h);
    if (status != MG_OK || h == nullptr) return status;
    *used = 1;
    const cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    if (dtype == MG_FLOAT32) {
        const float al = (float)alpha, be = (float)beta;
        if (batch == 1)
            MG_CUBLAS_TRY(cublasSgemm(h, op_b, op_a, (int)n, (int)m, (int)k, &al, (const float *)b,
                                      (int)ldb, (const float *)a, (int)lda, &be, (float *)c,
                                      (int)ldc));
        else
            MG_CUBLAS_TRY(cublasSgemmStridedBatched(
                h, op_b, op_a, (int)n, (int)m, (int)k, &al, (const float *)b, (int)ldb,
                (long long)stride_b, (const float *)a, (int)lda, (long long)stride_a, &be,
                (float *)c, (int)ldc, (long long)stride_c, (int)batch));
    } else {
        if (batch == 1)
            MG_CUBLAS_TRY(cublasDgemm(h, op_b, op_a, (int)n, (int)m, (int)k, &alpha,
                                      (const double *)b, (int)ldb, (const double *)a, (int)lda,
                                      &beta, (double *)c, (int)ldc));
        else
            MG_CUBLAS_TRY(cublasDgemmStridedBatched(
                h, op_b, op_a, (int)n, (int)m, (int)k, &alpha, (const double *)b, (int)ldb,
                (long long)stride_b, (const double *)a, (int)lda, (long long)stride_a, &beta,
                (double *)c, (int)ldc, (long long)stride_c, (int)batch));
    }
    return MG_OK;
}

#endif /* MG_GEMM_CUBLAS */

} /* namespace */

/* ---- entry points --------------------------------------------------------- */

/* The tiled kernel for a problem that passed gemm_prepare. */
static int builtin_gemm(int dtype, int trans_a, int trans_b, int64_t batch, int64_t m, int64_t n,
                        int64_t k, double alpha, const void *a, int64_t lda, int64_t stride_a,
                        const void *b, int64_t ldb, int64_t stride_b, double beta, void *c,
                        int64_t ldc, int64_t stride_c) {
    if (dtype == MG_FLOAT32)
        return tiled_gemm<float>(trans_a, trans_b, batch, m, n, k, alpha, a, lda, stride_a, b, ldb,
                                 stride_b, beta, c, ldc, stride_c);
    return tiled_gemm<double>(trans_a, trans_b, batch, m, n, k, alpha, a, lda, stride_a, b, ldb,
                              stride_b, beta, c, ldc, stride_c);
}

int mg_cuda_gemm_device(int dtype, int trans_a, int trans_b, int64_t batch, int64_t m, int64_t n,
                        int64_t k, double alpha, const void *a, int64_t lda, int64_t stride_a,
                        const void *b, int64_t ldb, int64_t stride_b, double beta, void *c,
                        int64_t ldc, int64_t stride_c) {
    int done;
    int status = gemm_prepare(dtype, trans_a, trans_b, batch, m, n, k, alpha, a, lda, stride_a, b,
                              ldb, stride_b, beta, c, ldc, stride_c, &done);
    if (status != MG_OK || done) return status;
#if MG_GEMM_CUBLAS
    int used = 0;
    status = cublas_gemm(dtype, trans_a, trans_b, batch, m, n, k, alpha, a, lda, stride_a, b, ldb,
                         stride_b, beta, c, ldc, stride_c, &used);
    if (status != MG_OK || used) return status;
#endif
    return builtin_gemm(dtype, trans_a, trans_b, batch, m, n, k, alpha, a, lda, stride_a, b, ldb,
                        stride_b, beta, c, ldc, stride_c);
}

extern "C" int mg_cuda_gemm(int dtype, int trans_a, int trans_b, int64_t batch, int64_t m,
                            int64_t n, int64_t k, double alpha, const void *a, int64_t lda,
                            int64_t stride_a, const void *b, int64_t ldb, int64_t stride_b,
                            double beta, void *c, int64_t ldc, int64_t stride_c) {
    return mg_cuda_gemm_device(dtype, trans_a, trans_b, batch, m, n, k, alpha, a, lda, stride_a,
                               b, ldb, stride_b, beta, c, ldc, stride_c);
}

extern "C" int mg_cuda_gemm_builtin(int dtype, int trans_a, int trans_b, int64_t batch, int64_t m,
                                    int64_t n, int64_t k, double alpha, const void *a, int64_t lda,
                                    int64_t stride_a, const void *b, int64_t ldb, int64_t stride_b,
                                    double beta, void *c, int64_t ldc, int64_t stride_c) {
    int done;
    int status = gemm_prepare(dtype, trans_a, trans_b, batch, m, n, k, alpha, a, lda, stride_a, b,
                              ldb, stride_b, beta, c, ldc, stride_c, &done);
    if (status != MG_OK || done) return status;
    return builtin_gemm(dtype, trans_a, trans_b, batch, m, n, k, alpha, a, lda, stride_a, b, ldb,
                        stride_b, beta, c, ldc, stride_c);
}
