/* gather.c -- NOT YET IMPLEMENTED: placeholders returning MG_ERR_UNSUPPORTED. */
#include "core.h"

int mg_gather(int dtype, int64_t outer, int64_t src_n, int64_t inner, const int64_t *idx, int64_t idx_n, const void *src, void *out) {
    return MG_ERR_UNSUPPORTED;
}

int mg_scatter_add(int dtype, int64_t outer, int64_t dst_n, int64_t inner, const int64_t *idx, int64_t idx_n, const void *src, void *dst) {
    return MG_ERR_UNSUPPORTED;
}
