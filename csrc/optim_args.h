/*
 * optim_args.h -- the argument checks of the fused optimizer updates and of
 * norm_pow: optim.c and its CUDA twin optim.cu, with the same status codes in
 * the same order.  Plain C for gcc and nvcc; not part of the public API.
 *
 * Hyper-parameter ranges (lr >= 0, ...) are the Python optimizer's business;
 * here we reject only what would make the arithmetic meaningless (a step
 * count below 1, Adam betas outside [0, 1), which divide by zero in the bias
 * correction) or an update that needs a state array it was not given.  An
 * update of n == 0 elements passes without its state arrays being looked at
 * (the caller has nothing to do).
 */
#ifndef MINIGRAD_OPTIM_ARGS_H
#define MINIGRAD_OPTIM_ARGS_H

#include "check.h"

/* Checks shared by every update: a float dtype, n >= 0, and the arrays every
 * update reads and writes. */
static inline int mg_optim_check_update(int dtype, int64_t n, const void *param,
                                        const void *grad) {
    MG_CHECK(mg_is_float_dtype(dtype), MG_ERR_DTYPE);
    MG_CHECK(n >= 0, MG_ERR_SIZE);
    MG_CHECK(n == 0 || (param != NULL && grad != NULL), MG_ERR_NULL);
    return MG_OK;
}

static inline int mg_sgd_check_args(int dtype, int64_t n, const void *param, const void *grad,
                                    const void *buf, double momentum, double dampening,
                                    int nesterov) {
    int status = mg_optim_check_update(dtype, n, param, grad);
    if (status != MG_OK) return status;
    /* PyTorch refuses Nesterov without momentum or with dampening. */
    MG_CHECK(!nesterov || (momentum > 0 && dampening == 0), MG_ERR_OP);
    if (n == 0) return MG_OK;
    MG_CHECK(momentum == 0 || buf != NULL, MG_ERR_NULL);
    return MG_OK;
}

/* max_exp_avg_sq (amsgrad) is optional. */
static inline int mg_adam_check_args(int dtype, int64_t n, const void *param, const void *grad,
                                     const void *exp_avg, const void *exp_avg_sq, double beta1,
                                     double beta2, int64_t step) {
    int status = mg_optim_check_update(dtype, n, param, grad);
    if (status != MG_OK) return status;
    MG_CHECK(step >= 1, MG_ERR_OP);
    MG_CHECK(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, MG_ERR_OP);
    if (n == 0) return MG_OK;
    MG_CHECK(exp_avg != NULL && exp_avg_sq != NULL, MG_ERR_NULL);
    return MG_OK;
}

static inline int mg_adagrad_check_args(int dtype, int64_t n, const void *param,
                                        const void *grad, const void *state_sum, int64_t step) {
    int status = mg_optim_check_update(dtype, n, param, grad);
    if (status != MG_OK) return status;
    MG_CHECK(step >= 1, MG_ERR_OP);
    if (n == 0) return MG_OK;
    MG_CHECK(state_sum != NULL, MG_ERR_NULL);
    return MG_OK;
}

/* grad_avg (centered) is optional; momentum_buf is needed when momentum > 0. */
static inline int mg_rmsprop_check_args(int dtype, int64_t n, const void *param,
                                        const void *grad, const void *square_avg,
                                        const void *momentum_buf, double momentum) {
    int status = mg_optim_check_update(dtype, n, param, grad);
    if (status != MG_OK || n == 0) return status;
    MG_CHECK(square_avg != NULL, MG_ERR_NULL);
    MG_CHECK(!(momentum > 0) || momentum_buf != NULL, MG_ERR_NULL);
    return MG_OK;
}

/* sum |x|^p (or max / min |x| for p = +-inf) into *out, a host double; p must
 * not be NaN.  (The empty cases are the caller's: min |x| of nothing is
 * MG_ERR_EMPTY.) */
static inline int mg_norm_pow_check_args(int dtype, int64_t n, const void *x, double p,
                                         const double *out) {
    MG_CHECK(mg_is_float_dtype(dtype), MG_ERR_DTYPE);
    MG_CHECK(n >= 0, MG_ERR_SIZE);
    MG_CHECK(p == p, MG_ERR_OP);
    MG_CHECK(out != NULL, MG_ERR_NULL);
    MG_CHECK(n == 0 || x != NULL, MG_ERR_NULL);
    return MG_OK;
}

#endif /* MINIGRAD_OPTIM_ARGS_H */
