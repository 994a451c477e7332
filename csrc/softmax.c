/* softmax.c -- NOT YET IMPLEMENTED: placeholders returning MG_ERR_UNSUPPORTED. */
#include "core.h"

int mg_softmax(int dtype, int log, int64_t outer, int64_t n, int64_t inner, const void *x, void *y) {
    return MG_ERR_UNSUPPORTED;
}

int mg_softmax_backward(int dtype, int log, int64_t outer, int64_t n, int64_t inner, const void *y, const void *gy, void *gx) {
    return MG_ERR_UNSUPPORTED;
}

int mg_logsumexp(int dtype, int64_t outer, int64_t n, int64_t inner, const void *x, void *out) {
    return MG_ERR_UNSUPPORTED;
}
