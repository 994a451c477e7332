/*
 * elementwise_ops.cuh -- the per-element math of elementwise.cu: unary ops and
 * their derivatives, binary ops, clamp.  Private to elementwise.cu.
 *
 * Each op is a template on its op code, so the kernels that call it are
 * compiled once per (op, dtype) with no switch in the loop.  The formulas are
 * the CPU's (unary_typed.inc, binary_typed.inc, vecmath.h), written for T =
 * float, double and (binary ops) int64_t.  Differences from the CPU are only
 * those of the math library: exp, log, tanh, pow come from CUDA's libdevice
 * (within 1-4 ulp, like glibc and vecmath.h), not from vecmath.h's
 * polynomials, and nvcc may fuse a multiply-add where gcc rounds twice
 * (tanh's gy * (1 - y*y)).  The functions are __host__ __device__ so that a
 * host build can check them against the CPU kernels value by value.
 */
#ifndef MINIGRAD_CUDA_ELEMENTWISE_OPS_CUH
#define MINIGRAD_CUDA_ELEMENTWISE_OPS_CUH

#include <type_traits>

#include "common.cuh"

/* ---- float/double math by overload (the kernels are templates on T) ------ */

static __host__ __device__ __forceinline__ float mg_fabs(float x) { return fabsf(x); }
static __host__ __device__ __forceinline__ double mg_fabs(double x) { return fabs(x); }
static __host__ __device__ __forceinline__ float mg_exp(float x) { return expf(x); }
static __host__ __device__ __forceinline__ double mg_exp(double x) { return exp(x); }
static __host__ __device__ __forceinline__ float mg_log(float x) { return logf(x); }
static __host__ __device__ __forceinline__ double mg_log(double x) { return log(x); }
static __host__ __device__ __forceinline__ float mg_sqrt(float x) { return sqrtf(x); }
static __host__ __device__ __forceinline__ double mg_sqrt(double x) { return sqrt(x); }
/* CUDA's tanh saturates to exactly +-1 and never overflows (as vecmath.h's). */
static __host__ __device__ __forceinline__ float mg_tanh(float x) { return tanhf(x); }
static __host__ __device__ __forceinline__ double mg_tanh(double x) { return tanh(x); }
static __host__ __device__ __forceinline__ float mg_pow(float x, float y) { return powf(x, y); }
static __host__ __device__ __forceinline__ double mg_pow(double x, double y) { return pow(x, y); }

/* NaN test that is simply false for integers. */
template <typename T>
static __host__ __device__ __forceinline__ bool mg_isnan(T x) {
    if constexpr (std::is_floating_point<T>::value)
        return x != x;
    else
        return false;
}

/* 1 / (1 + e^-x) from e = e^-|x| <= 1 only (vecmath.h's formula): 1/(1+e) for
 * x >= 0, e/(1+e) for x < 0, so nothing overflows and tiny results keep their
 * relative accuracy.  NaN: x >= 0 fails and e is NaN. */
template <typename T>
static __host__ __device__ __forceinline__ T mg_sigmoid(T x) {
    const T e = mg_exp(-mg_fabs(x));
    return (x >= T(0) ? T(1) : e) / (T(1) + e);
}

/* ---- unary ------------------------------------------------------------------ */

/* y = op(x) (unary_typed.inc's unary_span, vecmath.h for exp/tanh/sigmoid). */
template <int OP, typename T>
static __host__ __device__ __forceinline__ T mg_unary_op(T x) {
    if constexpr (OP == MG_NEG) return -x;
    else if constexpr (OP == MG_ABS) return mg_fabs(x);
    else if constexpr (OP == MG_EXP) return mg_exp(x);
    else if constexpr (OP == MG_LOG) return mg_log(x);
    else if constexpr (OP == MG_SQRT) return mg_sqrt(x);
    else if constexpr (OP == MG_TANH) return mg_tanh(x);
    else if constexpr (OP == MG_SIGMOID) return mg_sigmoid(x);
    else if constexpr (OP == MG_RELU) return x < T(0) ? T(0) : x; /* NaN stays NaN */
    else if constexpr (OP == MG_SQUARE) return x * x;
    else if constexpr (OP == MG_RECIPROCAL) return T(1) / x;
    else /* MG_SIGN: keeps 0 (and its sign) and NaN */
        return x > T(0) ? T(1) : (x < T(0) ? T(-1) : x);
}

/* Which of x and y = op(x) each derivative reads (the API's contract: tanh,
 * sigmoid, exp, sqrt read y; neg reads neither; the rest read x).  The
 * pointer not read may be NULL, so kernels load only what the op reads. */
static __host__ __device__ constexpr bool mg_unary_grad_reads_y(int op) {
    return op == MG_TANH || op == MG_SIGMOID || op == MG_EXP || op == MG_SQRT;
}
static __host__ __device__ constexpr bool mg_unary_grad_reads_x(int op) {
    return !mg_unary_grad_reads_y(op) && op != MG_NEG;
}

/* gx = gy * op'(x) (unary_typed.inc's unary_backward_span), from x or from y
 * as mg_unary_grad_reads_x/y say; the argument not read is ignored. */
template <int OP, typename T>
static __host__ __device__ __forceinline__ T mg_unary_grad(T x, T y, T g) {
    if constexpr (OP == MG_NEG) return -g;
    else if constexpr (OP == MG_ABS) return x > T(0) ? g : (x < T(0) ? -g : T(0)); /* 0 at 0 */
    else if constexpr (OP == MG_EXP) return g * y;
    else if constexpr (OP == MG_LOG) return g / x;
    else if constexpr (OP == MG_SQRT) return g / (T(2) * y);
    else if constexpr (OP == MG_TANH) return g * (T(1) - y * y);
    else if constexpr (OP == MG_SIGMOID) return g * y * (T(1) - y);
    else if constexpr (OP == MG_RELU) return x <= T(0) ? T(0) : g; /* PyTorch's: 0 at 0, g at NaN */
    else if constexpr (OP == MG_SQUARE) return g * T(2) * x;
    else if constexpr (OP == MG_RECIPROCAL) return -g / (x * x);
    else /* MG_SIGN: piecewise constant */
        return T(0);
}

/* ---- binary ----------------------------------------------------------------- */

/* out = op(x, y) (binary_typed.inc).  int64 add/sub/mul wrap around as in
 * numpy and PyTorch (computed in uint64_t, which has no signed-overflow UB);
 * int64 DIV and POW are refused on the host and never reach here.
 * Comparisons give 1 or 0 in T.  maximum/minimum propagate NaN from either side. */
template <int OP, typename T>
static __host__ __device__ __forceinline__ T mg_binary_op(T x, T y) {
    constexpr bool is_float = std::is_floating_point<T>::value;
    if constexpr (OP == MG_ADD) {
        if constexpr (is_float) return x + y;
        else return (T)((uint64_t)x + (uint64_t)y);
    } else if constexpr (OP == MG_SUB) {
        if constexpr (is_float) return x - y;
        else return (T)((uint64_t)x - (uint64_t)y);
    } else if constexpr (OP == MG_MUL) {
        if constexpr (is_float) return x * y;
        else return (T)((uint64_t)x * (uint64_t)y);
    } else if constexpr (OP == MG_DIV) {
        if constexpr (is_float) return x / y;
        else return T(0); /* unreachable: refused on the host */
    } else if constexpr (OP == MG_POW) {
        if constexpr (is_float) return mg_pow(x, y); /* NaN for (-2)^0.5, as numpy */
        else return T(0); /* unreachable: refused on the host */
    } else if constexpr (OP == MG_MAXIMUM) {
        return (x > y || mg_isnan(x)) ? x : y;
    } else if constexpr (OP == MG_MINIMUM) {
        return (x < y || mg_isnan(x)) ? x : y;
    } else if constexpr (OP == MG_EQ) {
        return (T)(x == y);
    } else if constexpr (OP == MG_NE) {
        return (T)(x != y);
    } else if constexpr (OP == MG_LT) {
        return (T)(x < y);
    } else if constexpr (OP == MG_LE) {
        return (T)(x <= y);
    } else if constexpr (OP == MG_GT) {
        return (T)(x > y);
    } else { /* MG_GE */
        return (T)(x >= y);
    }
}

/* Call F(OP) for every unary / binary op code: the host switches that pick a
 * kernel instantiation are written with these. */
#define MG_FOR_EACH_UNARY_OP(F)                                                       \
    F(MG_NEG) F(MG_ABS) F(MG_EXP) F(MG_LOG) F(MG_SQRT) F(MG_TANH) F(MG_SIGMOID)       \
    F(MG_RELU) F(MG_SQUARE) F(MG_RECIPROCAL) F(MG_SIGN)
#define MG_FOR_EACH_BINARY_OP(F)                                                      \
    F(MG_ADD) F(MG_SUB) F(MG_MUL) F(MG_DIV) F(MG_POW) F(MG_MAXIMUM) F(MG_MINIMUM)     \
    F(MG_EQ) F(MG_NE) F(MG_LT) F(MG_LE) F(MG_GT) F(MG_GE)

#endif /* MINIGRAD_CUDA_ELEMENTWISE_OPS_CUH */
