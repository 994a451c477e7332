/* rnn.c -- NOT YET IMPLEMENTED: placeholders returning MG_ERR_UNSUPPORTED. */
#include "core.h"

int64_t mg_rnn_workspace_size(int cell, int64_t T, int64_t B, int64_t H) {
    return 0;
}

int mg_rnn_forward(int dtype, int cell, int64_t T, int64_t B, int64_t n_in, int64_t H, const void *x, const void *w_ih, const void *w_hh, const void *b_ih, const void *b_hh, const void *h0, const void *c0, const int64_t *lengths, int reverse, void *y, void *h_n, void *c_n, void *ws) {
    return MG_ERR_UNSUPPORTED;
}

int mg_rnn_backward(int dtype, int cell, int64_t T, int64_t B, int64_t n_in, int64_t H, const void *x, const void *w_ih, const void *w_hh, const void *b_ih, const void *b_hh, const void *h0, const void *c0, const int64_t *lengths, int reverse, const void *y, const void *ws, const void *dy, const void *dh_n, const void *dc_n, void *dx, void *dw_ih, void *dw_hh, void *db_ih, void *db_hh, void *dh0, void *dc0) {
    return MG_ERR_UNSUPPORTED;
}
