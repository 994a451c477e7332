/*
 * optim.c -- fused optimizer updates (SGD, Adam/AdamW, Adagrad, RMSprop) and
 * the sum |x|^p behind gradient-norm clipping.
 *
 * Each update reads and writes every state array once, in place.  The typed
 * loops live in optim_typed.inc; this file checks arguments and dispatches.
 * Hyper-parameter ranges (lr >= 0, ...) are the Python optimizer's business;
 * here we reject only what would make the arithmetic meaningless (a step
 * count below 1, Adam betas outside [0, 1), which divide by zero in the bias
 * correction) or an update that needs a state array it was not given.
 *
 * Speed note: gcc vectorises the Adam/Adagrad/RMSprop loops only when built
 * with -fno-math-errno; otherwise it keeps a scalar errno branch beside each
 * sqrt (a per-function `optimize` attribute does not lift it in gcc 12).
 * The results are identical either way.
 */
#include <tgmath.h>

#include "core.h"

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

/* Checks shared by every update: a float dtype, n >= 0, and the arrays every
 * update reads and writes. */
static int check_update(int dtype, int64_t n, const void *param, const void *grad) {
    MG_CHECK(mg_is_float_dtype(dtype), MG_ERR_DTYPE);
    MG_CHECK(n >= 0, MG_ERR_SIZE);
    MG_CHECK(n == 0 || (param != NULL && grad != NULL), MG_ERR_NULL);
    return MG_OK;
}

int mg_sgd_step(int dtype, int64_t n, void *param, const void *grad, void *buf,
                double lr, double momentum, double dampening, double weight_decay,
                int nesterov, int maximize, int first_step) {
    int status = check_update(dtype, n, param, grad);
    if (status != MG_OK) return status;
    /* PyTorch refuses Nesterov without momentum or with dampening. */
    MG_CHECK(!nesterov || (momentum > 0 && dampening == 0), MG_ERR_OP);
    if (n == 0) return MG_OK;
    MG_CHECK(momentum == 0 || buf != NULL, MG_ERR_NULL);
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
    int status = check_update(dtype, n, param, grad);
    if (status != MG_OK) return status;
    MG_CHECK(step >= 1, MG_ERR_OP);
    MG_CHECK(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, MG_ERR_OP);
    if (n == 0) return MG_OK;
    MG_CHECK(exp_avg != NULL && exp_avg_sq != NULL, MG_ERR_NULL);
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
    int status = check_update(dtype, n, param, grad);
    if (status != MG_OK) return status;
    MG_CHECK(step >= 1, MG_ERR_OP);
    if (n == 0) return MG_OK;
    MG_CHECK(state_sum != NULL, MG_ERR_NULL);
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
    int status = check_update(dtype, n, param, grad);
    if (status != MG_OK) return status;
    if (n == 0) return MG_OK;
    MG_CHECK(square_avg != NULL, MG_ERR_NULL);
    MG_CHECK(!(momentum > 0) || momentum_buf != NULL, MG_ERR_NULL);
    if (dtype == MG_FLOAT32)
        rmsprop_step_f32(n, param, grad, square_avg, momentum_buf, grad_avg, lr, alpha, eps,
                         weight_decay, momentum, maximize);
    else
        rmsprop_step_f64(n, param, grad, square_avg, momentum_buf, grad_avg, lr, alpha, eps,
                         weight_decay, momentum, maximize);
    return MG_OK;
}

int mg_norm_pow(int dtype, int64_t n, const void *x, double p, double *out) {
    MG_CHECK(mg_is_float_dtype(dtype), MG_ERR_DTYPE);
    MG_CHECK(n >= 0, MG_ERR_SIZE);
    MG_CHECK(p == p, MG_ERR_OP);
    MG_CHECK(out != NULL, MG_ERR_NULL);
    MG_CHECK(n == 0 || x != NULL, MG_ERR_NULL);
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
