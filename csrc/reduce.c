/* reduce.c -- NOT YET IMPLEMENTED: placeholders returning MG_ERR_UNSUPPORTED. */
#include "core.h"

int mg_reduce(int dtype, int op, int64_t outer, int64_t n, int64_t inner, const void *x, void *out) {
    return MG_ERR_UNSUPPORTED;
}

int mg_arg_reduce(int dtype, int op, int64_t outer, int64_t n, int64_t inner, const void *x, int64_t *out) {
    return MG_ERR_UNSUPPORTED;
}
