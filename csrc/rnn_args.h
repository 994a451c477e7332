/*
 * rnn_args.h -- what the fused recurrent layers of both devices share: the
 * problem and gradient descriptions, the argument checks of mg_rnn_forward /
 * mg_rnn_backward (rnn.c) and their CUDA twins (rnn.cu), with the same status
 * codes in the same order, and the ragged-sequence rules (which steps a
 * sequence takes, which row came before).  Plain C for gcc and nvcc; not part
 * of the public API.
 *
 * Each entry point checks mg_rnn_check_problem (the lengths included), then
 * mg_rnn_check_forward_outputs or mg_rnn_check_backward_inputs.  What differs
 * between devices comes in as arguments: the workspace size (each device has
 * its own layout: its mg_*rnn_workspace_size), and how the lengths are read
 * (host memory on the CPU, copied back from the device on the GPU).
 */
#ifndef MINIGRAD_RNN_ARGS_H
#define MINIGRAD_RNN_ARGS_H

#include <stdbool.h>

#include "check.h"
#include "host_device.h"

/* Sizes and inputs shared by forward and backward (pointers already checked). */
struct mg_rnn_problem {
    int dtype, cell, reverse;
    int64_t steps, B, n_in, H, G; /* steps is T (T names the element type in the .inc files) */
    int64_t P, O; /* LSTM's projection size (0: none) and the width of y and h: P or H */
    const void *x, *w_ih, *w_hh, *w_hr, *b_ih, *b_hh, *h0, *c0; /* w_hr (P, H) or NULL */
    const int64_t *lengths;
};

/* Backward's extra inputs and its outputs (any output may be NULL). */
struct mg_rnn_grads {
    const void *dy, *dh_n, *dc_n;
    void *dx, *dw_ih, *dw_hh, *dw_hr, *db_ih, *db_hh, *dh0, *dc0;
};

/* Gates per hidden unit: 1 (tanh/ReLU RNN), 3 (GRU), 4 (LSTM), 0 for an
 * unknown cell. */
static inline int64_t mg_rnn_gate_count(int cell) {
    switch (cell) {
    case MG_RNN_TANH:
    case MG_RNN_RELU: return 1;
    case MG_GRU: return 3;
    case MG_LSTM: return 4;
    default: return 0;
    }
}

/* MG_OK when lengths (NULL, or B values) all lie in [0, T], else MG_ERR_SIZE
 * (or the status of a failed read). */
typedef int (*mg_rnn_lengths_check)(const int64_t *lengths, int64_t B, int64_t T_);

/* Checks everything forward and backward share and fills the problem.  P > 0
 * (LSTM only) projects each output, h = (o * tanh(c)) w_hr^T with w_hr (P, H):
 * then w_hh is (G*H, P) and h0, y, h_n are P wide (mg_lstm_proj_forward).  c0
 * is ignored (and p->c0 NULL) for cells other than LSTM.  workspace_size: the
 * device's workspace size for these sizes; check_lengths: the device's reader
 * of the lengths, called after every other check. */
static inline int mg_rnn_check_problem(struct mg_rnn_problem *p, int dtype, int cell, int64_t T_,
                                       int64_t B, int64_t n_in, int64_t H, int64_t P,
                                       const void *x, const void *w_ih, const void *w_hh,
                                       const void *w_hr, const void *b_ih, const void *b_hh,
                                       const void *h0, const void *c0, const int64_t *lengths,
                                       int reverse, int64_t workspace_size,
                                       mg_rnn_lengths_check check_lengths) {
    MG_CHECK(mg_is_float_dtype(dtype), MG_ERR_DTYPE);
    const int64_t G = mg_rnn_gate_count(cell);
    MG_CHECK(G != 0 && (P == 0 || cell == MG_LSTM), MG_ERR_OP);
    MG_CHECK(T_ >= 0 && B >= 0 && n_in >= 0 && H >= 0 && P >= 0, MG_ERR_SIZE);
    MG_CHECK(P == 0 || H > 0, MG_ERR_SIZE); /* a projection of no units */
    const int64_t O = P > 0 ? P : H;
    /* every buffer size the kernels form must fit (scratch is a sum of a few) */
    int64_t S, GH, v;
    MG_CHECK(mg_mul_fits(T_, B, &S) && mg_mul_fits(G, H, &GH), MG_ERR_SIZE);
    MG_CHECK(mg_mul_fits(S, GH, &v) && mg_mul_fits(S, n_in, &v) &&
                 mg_mul_fits(GH, n_in, &v) && mg_mul_fits(GH, O, &v) &&
                 mg_mul_fits(B, GH, &v) && mg_mul_fits(S, O, &v) && mg_mul_fits(B, O, &v) &&
                 mg_mul_fits(P, H, &v),
             MG_ERR_SIZE);
    MG_CHECK(workspace_size >= 0, MG_ERR_SIZE);

    MG_CHECK(x != NULL || S * n_in == 0, MG_ERR_NULL);
    MG_CHECK(w_ih != NULL || GH * n_in == 0, MG_ERR_NULL);
    MG_CHECK(w_hh != NULL || GH * O == 0, MG_ERR_NULL);
    MG_CHECK(w_hr != NULL || P * H == 0, MG_ERR_NULL);
    MG_CHECK(h0 != NULL || B * O == 0, MG_ERR_NULL);
    if (cell == MG_LSTM) MG_CHECK(c0 != NULL || B * H == 0, MG_ERR_NULL);
    const int status = check_lengths(lengths, B, T_);
    if (status != MG_OK) return status;

    p->dtype = dtype;
    p->cell = cell;
    p->reverse = reverse != 0;
    p->steps = T_;
    p->B = B;
    p->n_in = n_in;
    p->H = H;
    p->G = G;
    p->P = P;
    p->O = O;
    p->x = x;
    p->w_ih = w_ih;
    p->w_hh = w_hh;
    p->w_hr = P > 0 ? w_hr : NULL;
    p->b_ih = b_ih;
    p->b_hh = b_hh;
    p->h0 = h0;
    p->c0 = cell == MG_LSTM ? c0 : NULL;
    p->lengths = lengths;
    return MG_OK;
}

/* The forward's outputs: y (T, B, O), h_n (B, O) and, for LSTM, c_n (B, H)
 * (O: p's output width).  (The workspace may be NULL: inference.) */
static inline int mg_rnn_check_forward_outputs(const struct mg_rnn_problem *p, const void *y,
                                               const void *h_n, const void *c_n) {
    MG_CHECK(y != NULL || p->steps * p->B * p->O == 0, MG_ERR_NULL);
    MG_CHECK(h_n != NULL || p->B * p->O == 0, MG_ERR_NULL);
    if (p->cell == MG_LSTM) MG_CHECK(c_n != NULL || p->B * p->H == 0, MG_ERR_NULL);
    return MG_OK;
}

/* The backward's inputs beyond the problem: the forward's y and workspace
 * (workspace_size elements), and dy (T, B, O). */
static inline int mg_rnn_check_backward_inputs(const struct mg_rnn_problem *p, const void *y,
                                               const void *ws, const void *dy,
                                               int64_t workspace_size) {
    MG_CHECK(y != NULL || p->steps * p->B * p->O == 0, MG_ERR_NULL);
    MG_CHECK(dy != NULL || p->steps * p->B * p->O == 0, MG_ERR_NULL);
    MG_CHECK(ws != NULL || workspace_size == 0, MG_ERR_NULL);
    return MG_OK;
}

/* The backward's gradients as the kernels take them: the cell state's only
 * for LSTM, and none for a bias or a projection that does not exist. */
static inline void mg_rnn_set_grads(struct mg_rnn_grads *g, const struct mg_rnn_problem *p,
                                    const void *dy, const void *dh_n, const void *dc_n, void *dx,
                                    void *dw_ih, void *dw_hh, void *dw_hr, void *db_ih,
                                    void *db_hh, void *dh0, void *dc0) {
    const int cell = p->cell;
    const void *b_ih = p->b_ih, *b_hh = p->b_hh;
    g->dy = dy;
    g->dh_n = dh_n;
    g->dc_n = cell == MG_LSTM ? dc_n : NULL;
    g->dx = dx;
    g->dw_ih = dw_ih;
    g->dw_hh = dw_hh;
    g->dw_hr = p->P > 0 ? dw_hr : NULL;
    g->db_ih = b_ih != NULL ? db_ih : NULL;
    g->db_hh = b_hh != NULL ? db_hh : NULL;
    g->dh0 = dh0;
    g->dc0 = cell == MG_LSTM ? dc0 : NULL;
}

/* ---- ragged sequences (lengths; NULL: every sequence takes every step) ---- */

/* Whether sequence b takes step t (t < its length). */
static inline MG_HOST_DEVICE bool mg_rnn_active(const int64_t *lengths, int64_t t, int64_t b) {
    return lengths == NULL || t < lengths[b];
}

/* The row (t', b) of the step that ran just before step t of sequence b, or -1
 * when step t is that sequence's first (its previous state is h0/c0).  Forward
 * the previous step is t-1; reversed it is t+1, unless that lies past the
 * sequence's end: a reversed ragged sequence starts at its own last step. */
static inline MG_HOST_DEVICE int64_t mg_rnn_prev_row(const int64_t *lengths, int reverse,
                                                     int64_t t, int64_t steps, int64_t B,
                                                     int64_t b) {
    const int64_t prev = reverse ? t + 1 : t - 1;
    if (prev < 0 || prev >= steps || !mg_rnn_active(lengths, prev, b)) return -1;
    return prev * B + b;
}

#endif /* MINIGRAD_RNN_ARGS_H */
