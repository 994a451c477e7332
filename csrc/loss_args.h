/*
 * loss_args.h -- the argument checks of the fused cross-entropy, forward and
 * backward: loss.c and its CUDA twin loss.cu, with the same status codes in
 * the same order.  Plain C for gcc and nvcc; not part of the public API.
 *
 * The targets themselves (each in [0, c) or ignore_index, else MG_ERR_INDEX)
 * are checked by the caller after these, before anything is written: the
 * CPU reads them directly, the GPU with a kernel.  With n == 0 rows these
 * return MG_OK without looking at the pointers (the caller has nothing to do).
 */
#ifndef MINIGRAD_LOSS_ARGS_H
#define MINIGRAD_LOSS_ARGS_H

#include "check.h"

/* Sizes, smoothing and pointers shared by forward and backward: rows_in is
 * what the pass reads (logits, log_probs), rows_out what it writes (n, c). */
static inline int mg_cross_entropy_check_args(int dtype, int64_t n, int64_t c,
                                              double label_smoothing, const int64_t *target,
                                              const void *rows_in, const void *rows_out) {
    MG_CHECK(mg_is_float_dtype(dtype), MG_ERR_DTYPE);
    MG_CHECK(n >= 0 && c >= 0, MG_ERR_SIZE);
    MG_CHECK(c == 0 || n <= INT64_MAX / c, MG_ERR_SIZE);
    /* PyTorch accepts smoothing in [0, 1]; NaN fails both comparisons. */
    MG_CHECK(label_smoothing >= 0 && label_smoothing <= 1, MG_ERR_OP);
    if (n == 0) return MG_OK;
    MG_CHECK(target != NULL, MG_ERR_NULL);
    MG_CHECK(c == 0 || (rows_in != NULL && rows_out != NULL), MG_ERR_NULL);
    return MG_OK;
}

/* The forward: log_probs (n, c) from logits, loss and row_weight (n). */
static inline int mg_cross_entropy_forward_check_args(int dtype, int64_t n, int64_t c,
                                                      double label_smoothing,
                                                      const void *logits, const int64_t *target,
                                                      const void *loss, const void *row_weight,
                                                      const void *log_probs) {
    int status = mg_cross_entropy_check_args(dtype, n, c, label_smoothing, target, logits,
                                             log_probs);
    if (status != MG_OK || n == 0) return status;
    MG_CHECK(loss != NULL && row_weight != NULL, MG_ERR_NULL);
    return MG_OK;
}

/* The backward: grad_logits (n, c) from log_probs and grad_loss (n). */
static inline int mg_cross_entropy_backward_check_args(int dtype, int64_t n, int64_t c,
                                                       double label_smoothing,
                                                       const void *log_probs,
                                                       const int64_t *target,
                                                       const void *grad_loss,
                                                       const void *grad_logits) {
    int status = mg_cross_entropy_check_args(dtype, n, c, label_smoothing, target, log_probs,
                                             grad_logits);
    if (status != MG_OK || n == 0) return status;
    MG_CHECK(grad_loss != NULL, MG_ERR_NULL);
    return MG_OK;
}

#endif /* MINIGRAD_LOSS_ARGS_H */
