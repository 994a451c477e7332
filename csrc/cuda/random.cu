/*
 * random.cu -- the CUDA counter-based random numbers (Philox4x32-10).
 *
 * The SAME stream as the CPU's random.c / random_typed.inc, so that a seeded
 * program draws the same numbers on either device:
 *   key     = seed (low word, high word)
 *   counter = (offset + b as two words, sub, 0) for element block b = i / 4
 * float32 takes 24 bits per element from one Philox call per block (sub 0);
 * float64 takes 53 bits per element from two calls (sub 0 and 1: lanes 0-1
 * from the first call, 2-3 from the second, each from a pair of words).
 * One thread computes one block of 4 elements, the unit in which the CPU
 * defines the stream, and applies the CPU's transforms in the CPU's order:
 *   uniform   (T)(low + span * u) in double, clamped below (T)high
 *   normal    Box-Muller on the pairs (0,1) and (2,3) of a block, in T
 *   bernoulli 1 if (double)u < p
 * The uniforms and bernoulli draws match the CPU bit for bit (the arithmetic
 * uses the _rn intrinsics, which nvcc never fuses into a multiply-add, as gcc
 * does not for this file).  normal matches up to the rounding of CUDA's
 * log/sqrt/sin/cos against glibc's (a few ulp).
 */
#include <math.h>

#include "common.cuh"
#include "philox.h"
#include "random_args.h"

namespace {

/* The per-block work below is __host__ __device__: the kernels call it on the
 * GPU, and a host build can run it against the CPU's random.c to check that
 * the two streams agree bit for bit. */
#define MG_RANDOM_HD __host__ __device__ __forceinline__

/* The four uniforms in [0, 1) of counter block `block` (philox.h, the CPU's
 * own); exact in T. */
MG_RANDOM_HD void uniform4(uint64_t seed, uint64_t block, float u[4]) {
    mg_philox_uniform4_f32(seed, block, u);
}

MG_RANDOM_HD void uniform4(uint64_t seed, uint64_t block, double u[4]) {
    mg_philox_uniform4_f64(seed, block, u);
}

/* Arithmetic rounded step by step: nvcc never fuses the _rn intrinsics into a
 * multiply-add, so the rounding is the CPU's. */
#ifdef __CUDA_ARCH__
MG_RANDOM_HD float mul_rn(float a, float b) { return __fmul_rn(a, b); }
MG_RANDOM_HD double mul_rn(double a, double b) { return __dmul_rn(a, b); }
MG_RANDOM_HD float add_rn(float a, float b) { return __fadd_rn(a, b); }
MG_RANDOM_HD double add_rn(double a, double b) { return __dadd_rn(a, b); }
#else
MG_RANDOM_HD float mul_rn(float a, float b) { return a * b; }
MG_RANDOM_HD double mul_rn(double a, double b) { return a * b; }
MG_RANDOM_HD float add_rn(float a, float b) { return a + b; }
MG_RANDOM_HD double add_rn(double a, double b) { return a + b; }
#endif
MG_RANDOM_HD float log_t(float x) { return logf(x); }
MG_RANDOM_HD double log_t(double x) { return log(x); }
MG_RANDOM_HD float sqrt_t(float x) { return sqrtf(x); }
MG_RANDOM_HD double sqrt_t(double x) { return sqrt(x); }
MG_RANDOM_HD float sin_t(float x) { return sinf(x); }
MG_RANDOM_HD double sin_t(double x) { return sin(x); }
MG_RANDOM_HD float cos_t(float x) { return cosf(x); }
MG_RANDOM_HD double cos_t(double x) { return cos(x); }

/* Store block b's four values, or the first n - 4b of them in the last block. */
template <typename T>
MG_RANDOM_HD void store_block(T *out, int64_t n, int64_t b, const T v[4]) {
    const int64_t start = 4 * b;
    const int64_t count = n - start < 4 ? n - start : 4;
    for (int l = 0; l < 4; l++)
        if (l < count) out[start + l] = v[l];
}

/* Block b of uniform(low, high): low + span * u in double, kept below `top`
 * (the largest T below (T)high: the sum may round up to high itself). */
template <typename T>
MG_RANDOM_HD void uniform_block(int64_t n, int64_t b, uint64_t seed, uint64_t offset, double low,
                         double span, T top, T *out) {
    T v[4];
    uniform4(seed, offset + (uint64_t)b, v);
    for (int l = 0; l < 4; l++) {
        const T y = (T)add_rn(low, mul_rn(span, (double)v[l]));
        v[l] = y > top ? top : y;
    }
    store_block(out, n, b, v);
}

/* Block b of normal(mu, sigma): Box-Muller on the pairs (0,1) and (2,3), in
 * T.  1 - u is exact and lies in (0, 1], so log never sees 0. */
template <typename T>
MG_RANDOM_HD void normal_block(int64_t n, int64_t b, uint64_t seed, uint64_t offset, T mu, T sigma,
                        T *out) {
    const T two_pi = (T)6.283185307179586476925;
    T u[4], z[4];
    uniform4(seed, offset + (uint64_t)b, u);
    for (int l = 0; l < 4; l += 2) {
        const T radius = sqrt_t(mul_rn((T)-2, log_t((T)1 - u[l])));
        const T angle = mul_rn(two_pi, u[l + 1]);
        z[l] = add_rn(mu, mul_rn(sigma, mul_rn(radius, cos_t(angle))));
        z[l + 1] = add_rn(mu, mul_rn(sigma, mul_rn(radius, sin_t(angle))));
    }
    store_block(out, n, b, z);
}

/* Block b of bernoulli(p): 1 where u < p. */
template <typename T>
MG_RANDOM_HD void bernoulli_block(int64_t n, int64_t b, uint64_t seed, uint64_t offset, double p,
                           T *out) {
    T v[4];
    uniform4(seed, offset + (uint64_t)b, v);
    for (int l = 0; l < 4; l++) v[l] = (double)v[l] < p ? (T)1 : (T)0;
    store_block(out, n, b, v);
}

/* One thread per block of 4 elements, the unit in which the stream is defined. */
template <typename T>
__global__ void uniform_kernel(int64_t n, int64_t blocks, uint64_t seed, uint64_t offset,
                               double low, double span, T top, T *out) {
    MG_CUDA_FOR(b, blocks) uniform_block(n, b, seed, offset, low, span, top, out);
}

template <typename T>
__global__ void normal_kernel(int64_t n, int64_t blocks, uint64_t seed, uint64_t offset, T mu,
                              T sigma, T *out) {
    MG_CUDA_FOR(b, blocks) normal_block(n, b, seed, offset, mu, sigma, out);
}

template <typename T>
__global__ void bernoulli_kernel(int64_t n, int64_t blocks, uint64_t seed, uint64_t offset,
                                 double p, T *out) {
    MG_CUDA_FOR(b, blocks) bernoulli_block(n, b, seed, offset, p, out);
}

/* ---- launchers ------------------------------------------------------------ */

float next_below(float hi, float lo) { return nextafterf(hi, lo); }
double next_below(double hi, double lo) { return nextafter(hi, lo); }

/* Element blocks of a draw of n > 0 elements (one Philox block each). */
int64_t block_count(int64_t n) { return n / 4 + (n % 4 != 0); }

template <typename T>
int launch_uniform(int64_t n, uint64_t seed, uint64_t offset, double low, double high,
                   void *out) {
    const T lo = (T)low, hi = (T)high;
    /* When low and high round to the same T, that value is all we have. */
    const T top = lo < hi ? next_below(hi, lo) : lo;
    const int64_t blocks = block_count(n);
    uniform_kernel<T><<<mg_cuda_blocks(blocks, MG_CUDA_BLOCK), MG_CUDA_BLOCK>>>(
        n, blocks, seed, offset, low, high - low, top, (T *)out);
    MG_CUDA_LAUNCHED("uniform_kernel");
    return MG_OK;
}

template <typename T>
int launch_normal(int64_t n, uint64_t seed, uint64_t offset, double mean, double std,
                  void *out) {
    const int64_t blocks = block_count(n);
    normal_kernel<T><<<mg_cuda_blocks(blocks, MG_CUDA_BLOCK), MG_CUDA_BLOCK>>>(
        n, blocks, seed, offset, (T)mean, (T)std, (T *)out);
    MG_CUDA_LAUNCHED("normal_kernel");
    return MG_OK;
}

template <typename T>
int launch_bernoulli(int64_t n, uint64_t seed, uint64_t offset, double p, void *out) {
    const int64_t blocks = block_count(n);
    bernoulli_kernel<T><<<mg_cuda_blocks(blocks, MG_CUDA_BLOCK), MG_CUDA_BLOCK>>>(
        n, blocks, seed, offset, p, (T *)out);
    MG_CUDA_LAUNCHED("bernoulli_kernel");
    return MG_OK;
}

}  // namespace

/* ---- entry points ------------------------------------------------------------ */

extern "C" int mg_cuda_random_uniform(int dtype, int64_t n, uint64_t seed, uint64_t offset,
                                      double low, double high, void *out) {
    int status = mg_random_check_uniform(dtype, n, low, high, out);
    if (status != MG_OK || n == 0) return status;
    MG_CUDA_FLOAT_DISPATCH(dtype, return launch_uniform<T>(n, seed, offset, low, high, out));
}

extern "C" int mg_cuda_random_normal(int dtype, int64_t n, uint64_t seed, uint64_t offset,
                                     double mean, double std, void *out) {
    int status = mg_random_check_normal(dtype, n, mean, std, out);
    if (status != MG_OK || n == 0) return status;
    MG_CUDA_FLOAT_DISPATCH(dtype, return launch_normal<T>(n, seed, offset, mean, std, out));
}

extern "C" int mg_cuda_random_bernoulli(int dtype, int64_t n, uint64_t seed, uint64_t offset,
                                        double p, void *out) {
    int status = mg_random_check_bernoulli(dtype, n, p, out);
    if (status != MG_OK || n == 0) return status;
    MG_CUDA_FLOAT_DISPATCH(dtype, return launch_bernoulli<T>(n, seed, offset, p, out));
}
