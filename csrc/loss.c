/*
 * loss.c -- fused cross-entropy: log-softmax and negative log-likelihood
 * over each row of logits, with PyTorch's class weights, ignore_index and
 * label smoothing (reduction 'none'; the caller reduces, dividing by the sum
 * of row_weight for a mean).
 *
 * The forward is mg_softmax's log_softmax (vectorised, rows in parallel)
 * followed by a light pass that picks each row's loss out of the
 * log-probabilities; the backward is one vectorised pass (vecmath.h's exp).
 * The typed loops live in loss_typed.inc; this file checks arguments
 * (loss_args.h, shared with loss.cu) and every target before anything is
 * written, and dispatches on dtype.
 */
#include "vecmath.h" /* first: it brings simd.h's no-trapping-math */

#include <math.h>

#include "core.h"
#include "loss_args.h"

#define DOT_LANES 8 /* double accumulators of the smoothing term's sum */

#define MG_TYPED_FILE "loss_typed.inc"
#include "for_each_float.h"

/* Every target in [0, c) or equal to ignore_index (one pass, before any write). */
static int check_targets(int64_t n, int64_t c, const int64_t *target, int64_t ignore_index) {
    for (int64_t i = 0; i < n; i++) {
        const int64_t t = target[i];
        MG_CHECK(t == ignore_index || (t >= 0 && t < c), MG_ERR_INDEX);
    }
    return MG_OK;
}

int mg_cross_entropy(int dtype, int64_t n, int64_t c, const void *logits,
                     const int64_t *target, const void *weight,
                     int64_t ignore_index, double label_smoothing,
                     void *loss, void *row_weight, void *log_probs) {
    int status = mg_cross_entropy_forward_check_args(dtype, n, c, label_smoothing, logits, target,
                                                     loss, row_weight, log_probs);
    if (status != MG_OK || n == 0) return status;
    status = check_targets(n, c, target, ignore_index);
    if (status != MG_OK) return status;
    status = mg_softmax(dtype, 1, n, c, 1, logits, log_probs); /* no-op when c == 0 */
    if (status != MG_OK) return status;
    if (dtype == MG_FLOAT32)
        cross_entropy_loss_f32(n, c, log_probs, target, weight, ignore_index, label_smoothing,
                               loss, row_weight);
    else
        cross_entropy_loss_f64(n, c, log_probs, target, weight, ignore_index, label_smoothing,
                               loss, row_weight);
    return MG_OK;
}

int mg_cross_entropy_backward(int dtype, int64_t n, int64_t c, const void *log_probs,
                              const int64_t *target, const void *weight,
                              int64_t ignore_index, double label_smoothing,
                              const void *grad_loss, void *grad_logits) {
    int status = mg_cross_entropy_backward_check_args(dtype, n, c, label_smoothing, log_probs,
                                                      target, grad_loss, grad_logits);
    if (status != MG_OK || n == 0) return status;
    status = check_targets(n, c, target, ignore_index);
    if (status != MG_OK) return status;
    if (dtype == MG_FLOAT32)
        cross_entropy_backward_f32(n, c, log_probs, target, weight, ignore_index,
                                   label_smoothing, grad_loss, grad_logits);
    else
        cross_entropy_backward_f64(n, c, log_probs, target, weight, ignore_index,
                                   label_smoothing, grad_loss, grad_logits);
    return MG_OK;
}
