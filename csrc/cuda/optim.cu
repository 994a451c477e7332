/*
 * optim.cu -- the CUDA optimizer updates (SGD, Adam/AdamW, Adagrad, RMSprop),
 * in place over n parameters, and the sum |x|^p behind gradient clipping.
 *
 * Same contract, validation (optim_args.h) and status codes as the CPU's
 * optim.c, and the same arithmetic, operation by operation (optim_typed.inc,
 * after PyTorch's single-tensor implementations): the hyper-parameters are
 * rounded to T on the host exactly as the CPU rounds them, and each element
 * update does the CPU's operations in the CPU's order, in T.  Multiplies and adds go through
 * the _rn intrinsics, which nvcc never fuses into an FMA (the CPU build has
 * none either), and float division and sqrt are IEEE round-to-nearest by
 * default; so a trajectory matches the CPU's to the last bit or very nearly.
 *
 * One thread per element (grid-stride); the loop-invariant choices (weight
 * decay, momentum, amsgrad, centered...) are uniform branches.  Updates never
 * synchronise.  norm_pow reduces with line_reduce.cuh's kernels (one row of
 * n, cut into chunks when long) into device scratch and copies the double
 * back to the host: it synchronises.
 */
#include <math.h>

#include "common.cuh"
#include "line_reduce.cuh"
#include "optim_args.h"

namespace {

/* ---- unfused arithmetic ------------------------------------------------------- */

__device__ __forceinline__ float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double mul(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ float add(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ double add(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ float sub(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ double sub(double a, double b) { return __dsub_rn(a, b); }

/* PyTorch's lerp(x, y, w) with its loop-invariant branch taken on the host
 * (optim_typed.inc): |w| < 0.5: x + w (y - x); otherwise y + (w - 1) (y - x). */
template <typename T>
struct LerpWeight {
    T coeff;
    bool small;
};

template <typename T>
LerpWeight<T> lerp_weight(T w) {
    LerpWeight<T> lw;
    lw.small = fabs((double)w) < 0.5;
    lw.coeff = lw.small ? w : (T)(w - (T)1);
    return lw;
}

template <typename T>
__device__ __forceinline__ T lerp(T x, T y, const LerpWeight<T> &w) {
    return add(w.small ? x : y, mul(w.coeff, sub(y, x)));
}

/* max that keeps a NaN from either side, as torch.maximum does. */
template <typename T>
__device__ __forceinline__ T nan_max(T a, T b) {
    return (a > b || a != a) ? a : b;
}

/* ---- SGD ---------------------------------------------------------------------- */

template <typename T>
struct SgdConsts {
    T sign, wd, mom, damp1, neg_lr;
    bool use_wd, use_mom, first, nesterov;
};

template <typename T>
__global__ void sgd_kernel(int64_t n, T *p, const T *g, T *buf, SgdConsts<T> k) {
    MG_CUDA_FOR(i, n) {
        T gi = mul(k.sign, g[i]);
        if (k.use_wd) gi = add(gi, mul(k.wd, p[i]));
        if (k.use_mom) {
            /* first: PyTorch clones the gradient into the buffer */
            const T b = k.first ? gi : add(mul(buf[i], k.mom), mul(k.damp1, gi));
            buf[i] = b;
            gi = k.nesterov ? add(gi, mul(k.mom, b)) : b;
        }
        p[i] = add(p[i], mul(k.neg_lr, gi));
    }
}

template <typename T>
int launch_sgd(int64_t n, void *param, const void *grad, void *buf, double lr, double momentum,
               double dampening, double weight_decay, int nesterov, int maximize,
               int first_step) {
    SgdConsts<T> k;
    k.sign = maximize ? (T)-1 : (T)1;
    k.wd = (T)weight_decay;
    k.mom = (T)momentum;
    k.damp1 = (T)(1.0 - dampening);
    k.neg_lr = (T)(-lr);
    k.use_wd = weight_decay != 0;
    k.use_mom = momentum != 0;
    k.first = k.use_mom && first_step != 0;
    k.nesterov = k.use_mom && nesterov != 0; /* applies on the first step too */
    sgd_kernel<T><<<mg_cuda_blocks(n, MG_CUDA_BLOCK), MG_CUDA_BLOCK>>>(
        n, static_cast<T *>(param), static_cast<const T *>(grad), static_cast<T *>(buf), k);
    MG_CUDA_LAUNCHED("sgd_step");
    return MG_OK;
}

/* ---- Adam / AdamW ------------------------------------------------------------- */

template <typename T>
struct AdamConsts {
    T sign, wd, decay, b2, w2, neg_step_size, bc2_sqrt, eps;
    LerpWeight<T> w1;
    int wd_mode; /* 0 none, 1 L2 (added to the gradient), 2 decoupled (AdamW) */
};

template <typename T>
__global__ void adam_kernel(int64_t n, T *p, const T *g, T *m, T *v, T *vmax, AdamConsts<T> k) {
    MG_CUDA_FOR(i, n) {
        T gi = mul(k.sign, g[i]);
        T pi = p[i];
        if (k.wd_mode == 2) pi = mul(pi, k.decay);
        if (k.wd_mode == 1) gi = add(gi, mul(k.wd, pi));
        const T mi = lerp(m[i], gi, k.w1);
        T vi = add(mul(v[i], k.b2), mul(mul(k.w2, gi), gi));
        m[i] = mi;
        v[i] = vi;
        if (vmax != nullptr) { /* amsgrad */
            vi = nan_max(vmax[i], vi);
            vmax[i] = vi;
        }
        const T denom = add(sqrt(vi) / k.bc2_sqrt, k.eps);
        p[i] = add(pi, mul(k.neg_step_size, mi) / denom);
    }
}

template <typename T>
int launch_adam(int64_t n, void *param, const void *grad, void *exp_avg, void *exp_avg_sq,
                void *max_exp_avg_sq, double lr, double beta1, double beta2, double eps,
                double weight_decay, int decoupled, int64_t step, int maximize) {
    /* Bias corrections in double, as PyTorch computes them in Python floats. */
    const double bc1 = 1.0 - pow(beta1, (double)step);
    const double bc2 = 1.0 - pow(beta2, (double)step);
    AdamConsts<T> k;
    k.sign = maximize ? (T)-1 : (T)1;
    k.wd = (T)weight_decay;
    k.decay = (T)(1.0 - lr * weight_decay);
    k.w1 = lerp_weight<T>((T)(1.0 - beta1));
    k.b2 = (T)beta2;
    k.w2 = (T)(1.0 - beta2);
    k.neg_step_size = (T)(-(lr / bc1));
    k.bc2_sqrt = (T)pow(bc2, 0.5);
    k.eps = (T)eps;
    k.wd_mode = weight_decay == 0 ? 0 : (decoupled ? 2 : 1);
    adam_kernel<T><<<mg_cuda_blocks(n, MG_CUDA_BLOCK), MG_CUDA_BLOCK>>>(
        n, static_cast<T *>(param), static_cast<const T *>(grad), static_cast<T *>(exp_avg),
        static_cast<T *>(exp_avg_sq), static_cast<T *>(max_exp_avg_sq), k);
    MG_CUDA_LAUNCHED("adam_step");
    return MG_OK;
}

/* ---- Adagrad ------------------------------------------------------------------ */

template <typename T>
__global__ void adagrad_kernel(int64_t n, T *p, const T *g, T *sum, T sign, T wd, T neg_clr,
                               T eps, bool use_wd) {
    MG_CUDA_FOR(i, n) {
        T gi = mul(sign, g[i]);
        if (use_wd) gi = add(gi, mul(wd, p[i]));
        const T s = add(sum[i], mul(gi, gi));
        sum[i] = s;
        const T std = add(sqrt(s), eps);
        p[i] = add(p[i], mul(neg_clr, gi) / std);
    }
}

template <typename T>
int launch_adagrad(int64_t n, void *param, const void *grad, void *state_sum, double lr,
                   double lr_decay, double weight_decay, double eps, int64_t step, int maximize) {
    const double clr = lr / (1.0 + (double)(step - 1) * lr_decay);
    adagrad_kernel<T><<<mg_cuda_blocks(n, MG_CUDA_BLOCK), MG_CUDA_BLOCK>>>(
        n, static_cast<T *>(param), static_cast<const T *>(grad), static_cast<T *>(state_sum),
        maximize ? (T)-1 : (T)1, (T)weight_decay, (T)(-clr), (T)eps, weight_decay != 0);
    MG_CUDA_LAUNCHED("adagrad_step");
    return MG_OK;
}

/* ---- RMSprop ------------------------------------------------------------------ */

template <typename T>
struct RmspropConsts {
    T sign, wd, alpha, w, eps, mom, neg_lr;
    LerpWeight<T> lw;
    bool use_wd, use_mom;
};

/* gavg non-NULL: centered. */
template <typename T>
__global__ void rmsprop_kernel(int64_t n, T *p, const T *g, T *sq, T *buf, T *gavg,
                               RmspropConsts<T> k) {
    MG_CUDA_FOR(i, n) {
        T gi = mul(k.sign, g[i]);
        if (k.use_wd) gi = add(gi, mul(k.wd, p[i]));
        const T s = add(mul(sq[i], k.alpha), mul(mul(k.w, gi), gi));
        sq[i] = s;
        T avg;
        if (gavg != nullptr) {
            const T ga = lerp(gavg[i], gi, k.lw);
            gavg[i] = ga;
            avg = sqrt(sub(s, mul(ga, ga)));
        } else {
            avg = sqrt(s);
        }
        avg = add(avg, k.eps);
        if (k.use_mom) {
            const T b = add(mul(buf[i], k.mom), gi / avg);
            buf[i] = b;
            p[i] = add(p[i], mul(k.neg_lr, b));
        } else {
            p[i] = add(p[i], mul(k.neg_lr, gi) / avg);
        }
    }
}

template <typename T>
int launch_rmsprop(int64_t n, void *param, const void *grad, void *square_avg, void *momentum_buf,
                   void *grad_avg, double lr, double alpha, double eps, double weight_decay,
                   double momentum, int maximize) {
    RmspropConsts<T> k;
    k.sign = maximize ? (T)-1 : (T)1;
    k.wd = (T)weight_decay;
    k.alpha = (T)alpha;
    k.w = (T)(1.0 - alpha);
    k.lw = lerp_weight<T>((T)(1.0 - alpha));
    k.eps = (T)eps;
    k.mom = (T)momentum;
    k.neg_lr = (T)(-lr);
    k.use_wd = weight_decay != 0;
    k.use_mom = momentum > 0;
    rmsprop_kernel<T><<<mg_cuda_blocks(n, MG_CUDA_BLOCK), MG_CUDA_BLOCK>>>(
        n, static_cast<T *>(param), static_cast<const T *>(grad), static_cast<T *>(square_avg),
        static_cast<T *>(momentum_buf), static_cast<T *>(grad_avg), k);
    MG_CUDA_LAUNCHED("rmsprop_step");
    return MG_OK;
}

/* ---- norms -------------------------------------------------------------------- */

/* sum |x|^p in double; p == 2, 1 and 0 (count of non-zeros) skip pow. */
template <typename T>
struct NormPowOp {
    typedef T In;
    typedef double Acc;
    typedef double Out;
    double p;
    __device__ __forceinline__ Acc identity() const { return 0; }
    __device__ __forceinline__ Acc load(T v, int64_t) const {
        const double d = (double)v;
        if (p == 2) return d * d;
        if (p == 1) return fabs(d);
        if (p == 0) return v != 0 ? 1.0 : 0.0;
        return pow(fabs(d), p);
    }
    __device__ __forceinline__ Acc operator()(Acc a, Acc b) const { return a + b; }
    __device__ __forceinline__ Out finish(Acc a) const { return a; }
};

/* max |x| (want_max) or min |x|; a NaN wins. */
template <typename T>
struct NormExtremeOp {
    typedef T In;
    typedef double Acc;
    typedef double Out;
    bool want_max;
    __device__ __forceinline__ Acc identity() const { return want_max ? -INFINITY : INFINITY; }
    __device__ __forceinline__ Acc load(T v, int64_t) const { return fabs((double)v); }
    __device__ __forceinline__ Acc operator()(Acc a, Acc b) const {
        return ((want_max ? b > a : b < a) || b != b) ? b : a;
    }
    __device__ __forceinline__ Out finish(Acc a) const { return a; }
};

/* The reduction into this thread's scratch (the result's double first, then
 * the partial results), copied back to *out. */
template <typename Op>
int norm_reduce(const Op &op, int64_t n, const void *x, double *out) {
    const LinePlan plan = plan_lines(1, n, 1, true);
    void *scratch = nullptr;
    int status = get_line_scratch(16 + partial_bytes<Op>(plan), &scratch);
    if (status != MG_OK) return status;
    unsigned char *bytes = static_cast<unsigned char *>(scratch);
    double *result = reinterpret_cast<double *>(bytes);
    status = run_reduce(op, plan, static_cast<const typename Op::In *>(x), result, bytes + 16,
                        "norm_pow");
    if (status != MG_OK) return status;
    /* a copy to pageable host memory waits for the kernels before it */
    MG_CUDA_TRY(cudaMemcpy(out, result, sizeof(double), cudaMemcpyDeviceToHost));
    return MG_OK;
}

template <typename T>
int launch_norm_pow(int64_t n, const void *x, double p, double *out) {
    if (isinf(p)) {
        NormExtremeOp<T> op;
        op.want_max = p > 0;
        return norm_reduce(op, n, x, out);
    }
    NormPowOp<T> op;
    op.p = p;
    return norm_reduce(op, n, x, out);
}

}  // namespace

/* ---- entry points ------------------------------------------------------------ */

extern "C" int mg_cuda_sgd_step(int dtype, int64_t n, void *param, const void *grad, void *buf,
                                double lr, double momentum, double dampening, double weight_decay,
                                int nesterov, int maximize, int first_step) {
    int status = mg_sgd_check_args(dtype, n, param, grad, buf, momentum, dampening, nesterov);
    if (status != MG_OK || n == 0) return status;
    MG_CUDA_FLOAT_DISPATCH(dtype, return launch_sgd<T>(n, param, grad, buf, lr, momentum,
                                                       dampening, weight_decay, nesterov,
                                                       maximize, first_step));
}

extern "C" int mg_cuda_adam_step(int dtype, int64_t n, void *param, const void *grad,
                                 void *exp_avg, void *exp_avg_sq, void *max_exp_avg_sq,
                                 double lr, double beta1, double beta2, double eps,
                                 double weight_decay, int decoupled_wd, int64_t step,
                                 int maximize) {
    int status = mg_adam_check_args(dtype, n, param, grad, exp_avg, exp_avg_sq, beta1, beta2, step);
    if (status != MG_OK || n == 0) return status;
    MG_CUDA_FLOAT_DISPATCH(dtype, return launch_adam<T>(n, param, grad, exp_avg, exp_avg_sq,
                                                        max_exp_avg_sq, lr, beta1, beta2, eps,
                                                        weight_decay, decoupled_wd, step,
                                                        maximize));
}

extern "C" int mg_cuda_adagrad_step(int dtype, int64_t n, void *param, const void *grad,
                                    void *state_sum, double lr, double lr_decay,
                                    double weight_decay, double eps, int64_t step, int maximize) {
    int status = mg_adagrad_check_args(dtype, n, param, grad, state_sum, step);
    if (status != MG_OK || n == 0) return status;
    MG_CUDA_FLOAT_DISPATCH(dtype, return launch_adagrad<T>(n, param, grad, state_sum, lr,
                                                           lr_decay, weight_decay, eps, step,
                                                           maximize));
}

extern "C" int mg_cuda_rmsprop_step(int dtype, int64_t n, void *param, const void *grad,
                                    void *square_avg, void *momentum_buf, void *grad_avg,
                                    double lr, double alpha, double eps, double weight_decay,
                                    double momentum, int maximize) {
    int status = mg_rmsprop_check_args(dtype, n, param, grad, square_avg, momentum_buf, momentum);
    if (status != MG_OK || n == 0) return status;
    MG_CUDA_FLOAT_DISPATCH(dtype, return launch_rmsprop<T>(n, param, grad, square_avg,
                                                           momentum_buf, grad_avg, lr, alpha, eps,
                                                           weight_decay, momentum, maximize));
}

extern "C" int mg_cuda_norm_pow(int dtype, int64_t n, const void *x, double p, double *out) {
    int status = mg_norm_pow_check_args(dtype, n, x, p, out);
    if (status != MG_OK) return status;
    if (n == 0) {
        /* the empty sum and the max |x| of nothing are 0 (|x| >= 0); min |x|
         * of nothing has no value */
        MG_CHECK(!(isinf(p) && p < 0), MG_ERR_EMPTY);
        *out = 0;
        return MG_OK;
    }
    MG_CUDA_FLOAT_DISPATCH(dtype, return launch_norm_pow<T>(n, x, p, out));
}
