/*
 * optim.c -- fused optimizer updates (SGD, Adam/AdamW, Adagrad, RMSprop) and
 * the sum |x|^p behind gradient-norm clipping.
 *
 * Each update reads and writes every state array once, in place.  The typed
 * loops live in optim_typed.inc; this file checks arguments (optim_args.h,
 * shared with the CUDA updates: what is rejected, and why) and dispatches.
 *
 * Speed note: gcc vectorises the Adam/Adagrad/RMSprop loops only when built
 * with -fno-math-errno; otherwise it keeps a scalar errno branch beside each
 * sqrt (a per-function `optimize` attribute does not lift it in gcc 12).
 * The results are identical either way.
 */
#include <tgmath.h>

#include "core.h"
#include "optim_args.h"

/* The update loops are independent per element: let OpenMP split them across
 * threads and vectorise them without runtime alias checks (in-place updates
 * alias exactly, element by element, which SIMD lanes allow). */
#ifdef _OPENMP
#define MG_OPTIM_FOR(n) \
    MG_PRAGMA(omp parallel for simd schedule(static) if ((n) >= MG_OMP_MIN_WORK))
#define MG_OMP_SUM(n, acc) \
    MG_PRAGMA(omp parallel for simd schedule(static) reduction(+ : acc) if ((n) >= MG_OMP_MIN_WORK))
#else
#define MG_OPTIM_FOR(n)
#define MG_OMP_SUM(n, acc)
#endif

#define MG_TYPED_FILE "optim_typed.inc"
#include "for_each_float.h"

int mg_sgd_step(int dtype, int64_t n, void *param, const void *grad, void *buf,
                double lr, double momentum, double dampening, double weight_decay,
                int nesterov, int maximize, int first_step) {
    int status = mg_sgd_check_args(dtype, n, param, grad, buf, momentum, dampening, nesterov);
    if (status != MG_OK || n == 0) return status;
    if (dtype == MG_FLOAT32)
        sgd_step_f32(n, param, grad, buf, lr, momentum, dampening, weight_decay, nesterov,
                     maximize, first_step);
    else
        sgd_step_f64(n, param, grad, buf, lr, momentum, dampening, weight_decay, nesterov,
                     maximize, first_step);
    return MG_OK;
}

int mg_adam_step(int dtype, int64_t n, void *param, const void *grad,
                 void *exp_avg, void *exp_avg_sq, void *max_exp_avg_sq,
                 double lr, double beta1, double beta2, double eps,
                 double weight_decay, int decoupled_wd, int64_t step, int maximize) {
    int status = mg_adam_check_args(dtype, n, param, grad, exp_avg, exp_avg_sq, beta1, beta2, step);
    if (status != MG_OK || n == 0) return status;
    if (dtype == MG_FLOAT32)
        adam_step_f32(n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2,
                      eps, weight_decay, decoupled_wd, step, maximize);
    else
        adam_step_f64(n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2,
                      eps, weight_decay, decoupled_wd, step, maximize);
    return MG_OK;
}

int mg_adagrad_step(int dtype, int64_t n, void *param, const void *grad, void *state_sum,
                    double lr, double lr_decay, double weight_decay, double eps,
                    int64_t step, int maximize) {
    int status = mg_adagrad_check_args(dtype, n, param, grad, state_sum, step);
    if (status != MG_OK || n == 0) return status;
    if (dtype == MG_FLOAT32)
        adagrad_step_f32(n, param, grad, state_sum, lr, lr_decay, weight_decay, eps, step,
                         maximize);
    else
        adagrad_step_f64(n, param, grad, state_sum, lr, lr_decay, weight_decay, eps, step,
                         maximize);
    return MG_OK;
}

int mg_rmsprop_step(int dtype, int64_t n, void *param, const void *grad, void *square_avg,
                    void *momentum_buf, void *grad_avg, double lr, double alpha, double eps,
                    double weight_decay, double momentum, int maximize) {
    int status = mg_rmsprop_check_args(dtype, n, param, grad, square_avg, momentum_buf, momentum);
    if (status != MG_OK || n == 0) return status;
    if (dtype == MG_FLOAT32)
        rmsprop_step_f32(n, param, grad, square_avg, momentum_buf, grad_avg, lr, alpha, eps,
                         weight_decay, momentum, maximize);
    else
        rmsprop_step_f64(n, param, grad, square_avg, momentum_buf, grad_avg, lr, alpha, eps,
                         weight_decay, momentum, maximize);
    return MG_OK;
}

int mg_norm_pow(int dtype, int64_t n, const void *x, double p, double *out) {
    int status = mg_norm_pow_check_args(dtype, n, x, p, out);
    if (status != MG_OK) return status;
    if (isinf(p)) {
        /* max |x| of nothing is 0 (|x| >= 0); min |x| of nothing has no value. */
        if (n == 0) {
            MG_CHECK(p > 0, MG_ERR_EMPTY);
            *out = 0;
            return MG_OK;
        }
        *out = dtype == MG_FLOAT32 ? norm_extreme_f32(n, x, p > 0) : norm_extreme_f64(n, x, p > 0);
        return MG_OK;
    }
    *out = dtype == MG_FLOAT32 ? norm_pow_sum_f32(n, x, p) : norm_pow_sum_f64(n, x, p);
    return MG_OK;
}
