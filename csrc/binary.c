/* binary.c -- NOT YET IMPLEMENTED: placeholders returning MG_ERR_UNSUPPORTED. */
#include "core.h"

int mg_binary(int dtype, int op, int ndim, const int64_t *shape, const void *a, const int64_t *a_strides, const void *b, const int64_t *b_strides, void *out) {
    return MG_ERR_UNSUPPORTED;
}

int mg_binary_scalar(int dtype, int op, int64_t n, const void *a, double s, int scalar_first, void *out) {
    return MG_ERR_UNSUPPORTED;
}

int mg_where(int dtype, int ndim, const int64_t *shape, const void *cond, const int64_t *cond_strides, const void *a, const int64_t *a_strides, const void *b, const int64_t *b_strides, void *out) {
    return MG_ERR_UNSUPPORTED;
}

int mg_clamp(int dtype, int64_t n, const void *x, double lo, double hi, void *out) {
    return MG_ERR_UNSUPPORTED;
}

int mg_clamp_backward(int dtype, int64_t n, const void *x, double lo, double hi, const void *gy, void *gx) {
    return MG_ERR_UNSUPPORTED;
}
