/*
 * elementwise.cu -- the CUDA elementwise kernels: unary ops and their
 * derivatives, broadcasting binary ops, ops with a scalar, where, clamp.
 *
 * Same contract, validation (elementwise_args.h, layout.h) and status codes
 * as the CPU's unary.c and binary.c; the per-element math is in
 * elementwise_ops.cuh and the strided walk in elementwise_layout.cuh.  Every
 * kernel is a grid-stride loop over int64 indices (any n, any grid),
 * templated on (op, dtype) so the loop has no switch.  Kernels read element
 * i before writing element i, so `out` may alias an input of the same shape,
 * as on the CPU.  Nothing here allocates or synchronises: each entry point
 * validates on the host, launches on the default stream and returns.
 */
#include <math.h>

#include "common.cuh"
#include "elementwise_args.h"
#include "elementwise_layout.cuh"
#include "elementwise_ops.cuh"

/* Kernels and helpers have internal linkage: every csrc/cuda file links into
 * one module, and a template kernel of the same name elsewhere must not merge
 * with these. */
namespace {

/* ---- kernels -------------------------------------------------------------- */

template <int OP, typename T>
__global__ void unary_kernel(int64_t n, const T *x, T *y) {
    MG_CUDA_FOR(i, n) y[i] = mg_unary_op<OP>(x[i]);
}

/* Loads only the operand the derivative reads: the other pointer may be NULL. */
template <int OP, typename T>
__global__ void unary_backward_kernel(int64_t n, const T *x, const T *y, const T *gy, T *gx) {
    MG_CUDA_FOR(i, n) {
        const T xi = mg_unary_grad_reads_x(OP) ? x[i] : T(0);
        const T yi = mg_unary_grad_reads_y(OP) ? y[i] : T(0);
        gx[i] = mg_unary_grad<OP>(xi, yi, gy[i]);
    }
}

/* Every operand contiguous with the output's shape: one flat index. */
template <int OP, typename T>
__global__ void binary_flat_kernel(int64_t n, const T *a, const T *b, T *out) {
    MG_CUDA_FOR(i, n) out[i] = mg_binary_op<OP>(a[i], b[i]);
}

/* Broadcast or strided operands: flat output index -> per-operand offsets. */
template <int OP, typename T>
__global__ void binary_strided_kernel(int64_t n, const mg_cuda_layout L, const T *a,
                                      const T *b, T *out) {
    MG_CUDA_FOR(i, n) {
        int64_t off[2];
        mg_layout_offsets<2>(L, i, off);
        out[i] = mg_binary_op<OP>(a[off[0]], b[off[1]]);
    }
}

/* op(a[i], s), or op(s, a[i]) when scalar_first (uniform across the grid). */
template <int OP, typename T>
__global__ void binary_scalar_kernel(int64_t n, const T *a, T s, int scalar_first, T *out) {
    MG_CUDA_FOR(i, n) {
        const T v = a[i];
        out[i] = scalar_first ? mg_binary_op<OP>(s, v) : mg_binary_op<OP>(v, s);
    }
}

template <typename T>
__global__ void where_flat_kernel(int64_t n, const T *cond, const T *a, const T *b, T *out) {
    MG_CUDA_FOR(i, n) {
        const T x = a[i], y = b[i];
        out[i] = cond[i] != T(0) ? x : y;
    }
}

/* Operand order in the layout: cond, a, b. */
template <typename T>
__global__ void where_strided_kernel(int64_t n, const mg_cuda_layout L, const T *cond,
                                     const T *a, const T *b, T *out) {
    MG_CUDA_FOR(i, n) {
        int64_t off[3];
        mg_layout_offsets<3>(L, i, off);
        out[i] = cond[off[0]] != T(0) ? a[off[1]] : b[off[2]];
    }
}

/* max then min, so lo > hi gives hi everywhere (torch.clamp); NaN in x stays
 * NaN.  A NaN bound (floats only; the host refuses it for int64) makes
 * every output NaN, as in PyTorch: the host passes nan_out then. */
template <typename T>
__global__ void clamp_kernel(int64_t n, const T *x, T lo, T hi, int nan_out, T *out) {
    MG_CUDA_FOR(i, n) {
        const T v = x[i];
        const T above = v < lo ? lo : v;
        T r = above > hi ? hi : above;
        if constexpr (std::is_floating_point<T>::value)
            if (nan_out) r = T(NAN);
        out[i] = r;
    }
}

/* The gradient passes where the forward passed x through (bounds included). */
template <typename T>
__global__ void clamp_backward_kernel(int64_t n, const T *x, T lo, T hi, const T *gy, T *gx) {
    MG_CUDA_FOR(i, n) {
        const T v = x[i], g = gy[i];
        gx[i] = (v >= lo && v <= hi) ? g : T(0);
    }
}

/* ---- launchers: op code -> kernel instantiation --------------------------- */

template <typename T>
static int launch_unary(int op, int64_t n, const void *x, void *y) {
    const unsigned blocks = mg_cuda_blocks(n, MG_CUDA_BLOCK);
    switch (op) {
#define CASE(OP)                                                                           \
    case OP:                                                                               \
        unary_kernel<OP, T><<<blocks, MG_CUDA_BLOCK>>>(n, (const T *)x, (T *)y);           \
        break;
        MG_FOR_EACH_UNARY_OP(CASE)
#undef CASE
    default: return MG_ERR_OP;
    }
    MG_CUDA_LAUNCHED("unary_kernel");
    return MG_OK;
}

template <typename T>
static int launch_unary_backward(int op, int64_t n, const void *x, const void *y,
                                 const void *gy, void *gx) {
    const unsigned blocks = mg_cuda_blocks(n, MG_CUDA_BLOCK);
    switch (op) {
#define CASE(OP)                                                                           \
    case OP:                                                                               \
        unary_backward_kernel<OP, T><<<blocks, MG_CUDA_BLOCK>>>(                            \
            n, (const T *)x, (const T *)y, (const T *)gy, (T *)gx);                        \
        break;
        MG_FOR_EACH_UNARY_OP(CASE)
#undef CASE
    default: return MG_ERR_OP;
    }
    MG_CUDA_LAUNCHED("unary_backward_kernel");
    return MG_OK;
}

template <typename T>
static int launch_binary(int op, int64_t n, const mg_cuda_layout &L, const void *a,
                         const void *b, void *out) {
    const unsigned blocks = mg_cuda_blocks(n, MG_CUDA_BLOCK);
    const bool flat = mg_layout_is_flat(&L, 2);
    switch (op) {
#define CASE(OP)                                                                           \
    case OP:                                                                               \
        if (flat)                                                                          \
            binary_flat_kernel<OP, T><<<blocks, MG_CUDA_BLOCK>>>(n, (const T *)a,          \
                                                                 (const T *)b, (T *)out);  \
        else                                                                               \
            binary_strided_kernel<OP, T><<<blocks, MG_CUDA_BLOCK>>>(                       \
                n, L, (const T *)a, (const T *)b, (T *)out);                               \
        break;
        MG_FOR_EACH_BINARY_OP(CASE)
#undef CASE
    default: return MG_ERR_OP;
    }
    MG_CUDA_LAUNCHED(flat ? "binary_flat_kernel" : "binary_strided_kernel");
    return MG_OK;
}

template <typename T>
static int launch_binary_scalar(int op, int64_t n, const void *a, T s, int scalar_first,
                                void *out) {
    const unsigned blocks = mg_cuda_blocks(n, MG_CUDA_BLOCK);
    if constexpr (std::is_floating_point<T>::value) {
        if (op == MG_POW && !scalar_first && s == T(2)) { /* x**2, the common case: no pow */
            binary_flat_kernel<MG_MUL, T><<<blocks, MG_CUDA_BLOCK>>>(n, (const T *)a,
                                                                    (const T *)a, (T *)out);
            MG_CUDA_LAUNCHED("binary_flat_kernel");
            return MG_OK;
        }
    }
    switch (op) {
#define CASE(OP)                                                                           \
    case OP:                                                                               \
        binary_scalar_kernel<OP, T><<<blocks, MG_CUDA_BLOCK>>>(n, (const T *)a, s,         \
                                                               scalar_first, (T *)out);    \
        break;
        MG_FOR_EACH_BINARY_OP(CASE)
#undef CASE
    default: return MG_ERR_OP;
    }
    MG_CUDA_LAUNCHED("binary_scalar_kernel");
    return MG_OK;
}

template <typename T>
static int launch_where(int64_t n, const mg_cuda_layout &L, const void *cond, const void *a,
                        const void *b, void *out) {
    const unsigned blocks = mg_cuda_blocks(n, MG_CUDA_BLOCK);
    if (mg_layout_is_flat(&L, 3)) {
        where_flat_kernel<T><<<blocks, MG_CUDA_BLOCK>>>(n, (const T *)cond, (const T *)a,
                                                        (const T *)b, (T *)out);
        MG_CUDA_LAUNCHED("where_flat_kernel");
    } else {
        where_strided_kernel<T><<<blocks, MG_CUDA_BLOCK>>>(n, L, (const T *)cond, (const T *)a,
                                                           (const T *)b, (T *)out);
        MG_CUDA_LAUNCHED("where_strided_kernel");
    }
    return MG_OK;
}

template <typename T>
static int launch_clamp(int64_t n, const void *x, T lo, T hi, int nan_out, void *out) {
    clamp_kernel<T><<<mg_cuda_blocks(n, MG_CUDA_BLOCK), MG_CUDA_BLOCK>>>(n, (const T *)x, lo, hi,
                                                                         nan_out, (T *)out);
    MG_CUDA_LAUNCHED("clamp_kernel");
    return MG_OK;
}

template <typename T>
static int launch_clamp_backward(int64_t n, const void *x, double lo, double hi,
                                 const void *gy, void *gx) {
    clamp_backward_kernel<T><<<mg_cuda_blocks(n, MG_CUDA_BLOCK), MG_CUDA_BLOCK>>>(
        n, (const T *)x, (T)lo, (T)hi, (const T *)gy, (T *)gx);
    MG_CUDA_LAUNCHED("clamp_backward_kernel");
    return MG_OK;
}

}  // namespace

/* ---- entry points ------------------------------------------------------------ */

extern "C" int mg_cuda_unary(int dtype, int op, int64_t n, const void *x, void *y) {
    int status = mg_unary_check_op(dtype, op, n);
    if (status != MG_OK || n == 0) return status;
    MG_CHECK(x != NULL && y != NULL, MG_ERR_NULL);
    MG_CUDA_FLOAT_DISPATCH(dtype, return launch_unary<T>(op, n, x, y));
}

extern "C" int mg_cuda_unary_backward(int dtype, int op, int64_t n, const void *x,
                                      const void *y, const void *gy, void *gx) {
    int status = mg_unary_check_op(dtype, op, n);
    if (status != MG_OK || n == 0) return status;
    MG_CHECK(gy != NULL && gx != NULL, MG_ERR_NULL);
    if (op != MG_NEG) MG_CHECK((mg_unary_grad_reads_y(op) ? y : x) != NULL, MG_ERR_NULL);
    MG_CUDA_FLOAT_DISPATCH(dtype, return launch_unary_backward<T>(op, n, x, y, gy, gx));
}

extern "C" int mg_cuda_binary(int dtype, int op, int ndim, const int64_t *shape,
                              const void *a, const int64_t *a_strides,
                              const void *b, const int64_t *b_strides, void *out) {
    int64_t n;
    int status = mg_binary_check_args(dtype, op, ndim, shape, a, a_strides, b, b_strides, out, &n);
    if (status != MG_OK || n == 0) return status;

    const int64_t *strides[2] = {a_strides, b_strides};
    mg_cuda_layout L = {};
    mg_layout_simplify(&L, ndim, shape, 2, strides);
    switch (dtype) {
    case MG_FLOAT32: return launch_binary<float>(op, n, L, a, b, out);
    case MG_FLOAT64: return launch_binary<double>(op, n, L, a, b, out);
    default: return launch_binary<int64_t>(op, n, L, a, b, out);
    }
}

extern "C" int mg_cuda_binary_scalar(int dtype, int op, int64_t n, const void *a, double s,
                                     int scalar_first, void *out) {
    int64_t s_int;
    int status = mg_binary_scalar_check_args(dtype, op, n, a, s, out, &s_int);
    if (status != MG_OK || n == 0) return status;
    switch (dtype) {
    case MG_FLOAT32: return launch_binary_scalar<float>(op, n, a, (float)s, scalar_first, out);
    case MG_FLOAT64: return launch_binary_scalar<double>(op, n, a, s, scalar_first, out);
    default: return launch_binary_scalar<int64_t>(op, n, a, s_int, scalar_first, out);
    }
}

extern "C" int mg_cuda_where(int dtype, int ndim, const int64_t *shape,
                             const void *cond, const int64_t *cond_strides,
                             const void *a, const int64_t *a_strides,
                             const void *b, const int64_t *b_strides, void *out) {
    int64_t n;
    int status = mg_where_check_args(dtype, ndim, shape, cond, cond_strides, a, a_strides, b,
                                     b_strides, out, &n);
    if (status != MG_OK || n == 0) return status;

    const int64_t *strides[3] = {cond_strides, a_strides, b_strides};
    mg_cuda_layout L = {};
    mg_layout_simplify(&L, ndim, shape, 3, strides);
    switch (dtype) {
    case MG_FLOAT32: return launch_where<float>(n, L, cond, a, b, out);
    case MG_FLOAT64: return launch_where<double>(n, L, cond, a, b, out);
    default: return launch_where<int64_t>(n, L, cond, a, b, out);
    }
}

extern "C" int mg_cuda_clamp(int dtype, int64_t n, const void *x, double lo, double hi,
                             void *out) {
    int status = mg_clamp_check_args(dtype, n, x, lo, hi, out);
    if (status != MG_OK || n == 0) return status;
    const int nan_out = lo != lo || hi != hi;
    switch (dtype) {
    case MG_FLOAT32: return launch_clamp<float>(n, x, (float)lo, (float)hi, nan_out, out);
    case MG_FLOAT64: return launch_clamp<double>(n, x, lo, hi, nan_out, out);
    default:
        return launch_clamp<int64_t>(n, x, mg_int64_bound(lo, 0), mg_int64_bound(hi, 1), 0, out);
    }
}

extern "C" int mg_cuda_clamp_backward(int dtype, int64_t n, const void *x, double lo,
                                      double hi, const void *gy, void *gx) {
    int status = mg_clamp_backward_check_args(dtype, n, x, gy, gx);
    if (status != MG_OK || n == 0) return status;
    /* the same T-rounded bounds as the forward pass, so the gradient flows
     * exactly where the forward passed x through */
    MG_CUDA_FLOAT_DISPATCH(dtype, return launch_clamp_backward<T>(n, x, lo, hi, gy, gx));
}
