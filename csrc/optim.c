/* optim.c -- NOT YET IMPLEMENTED: placeholders returning MG_ERR_UNSUPPORTED. */
#include "core.h"

int mg_sgd_step(int dtype, int64_t n, void *param, const void *grad, void *buf, double lr, double momentum, double dampening, double weight_decay, int nesterov, int maximize, int first_step) {
    return MG_ERR_UNSUPPORTED;
}

int mg_adam_step(int dtype, int64_t n, void *param, const void *grad, void *exp_avg, void *exp_avg_sq, void *max_exp_avg_sq, double lr, double beta1, double beta2, double eps, double weight_decay, int decoupled_wd, int64_t step, int maximize) {
    return MG_ERR_UNSUPPORTED;
}

int mg_adagrad_step(int dtype, int64_t n, void *param, const void *grad, void *state_sum, double lr, double lr_decay, double weight_decay, double eps, int64_t step, int maximize) {
    return MG_ERR_UNSUPPORTED;
}

int mg_rmsprop_step(int dtype, int64_t n, void *param, const void *grad, void *square_avg, void *momentum_buf, void *grad_avg, double lr, double alpha, double eps, double weight_decay, double momentum, int maximize) {
    return MG_ERR_UNSUPPORTED;
}

int mg_norm_pow(int dtype, int64_t n, const void *x, double p, double *out) {
    return MG_ERR_UNSUPPORTED;
}
