/* loss.c -- NOT YET IMPLEMENTED: placeholders returning MG_ERR_UNSUPPORTED. */
#include "core.h"

int mg_cross_entropy(int dtype, int64_t n, int64_t c, const void *logits, const int64_t *target, const void *weight, int64_t ignore_index, double label_smoothing, void *loss, void *row_weight, void *log_probs) {
    return MG_ERR_UNSUPPORTED;
}

int mg_cross_entropy_backward(int dtype, int64_t n, int64_t c, const void *log_probs, const int64_t *target, const void *weight, int64_t ignore_index, double label_smoothing, const void *grad_loss, void *grad_logits) {
    return MG_ERR_UNSUPPORTED;
}
