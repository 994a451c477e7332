/* random.c -- NOT YET IMPLEMENTED: placeholders returning MG_ERR_UNSUPPORTED. */
#include "core.h"

int mg_random_uniform(int dtype, int64_t n, uint64_t seed, uint64_t offset, double low, double high, void *out) {
    return MG_ERR_UNSUPPORTED;
}

int mg_random_normal(int dtype, int64_t n, uint64_t seed, uint64_t offset, double mean, double std, void *out) {
    return MG_ERR_UNSUPPORTED;
}

int mg_random_bernoulli(int dtype, int64_t n, uint64_t seed, uint64_t offset, double p, void *out) {
    return MG_ERR_UNSUPPORTED;
}

uint64_t mg_random_advance(int64_t n) {
    return 0;
}
