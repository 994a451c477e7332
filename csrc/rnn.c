/*
 * rnn.c -- fused recurrent layers (tanh/ReLU RNN, GRU, LSTM): one layer, one
 * direction, a whole time-major sequence per call, forward and backward.
 *
 * Where the time goes, and how it is spent well:
 *   forward   per step the input product x_t W_ih^T and the recurrent
 *             product h W_hh^T ((B, H) x (H, G*H)) -- one product over
 *             [x_t | h] for small LSTM/RNN layers, the input products of a
 *             block of steps at once for large ones on one thread -- and one
 *             fused gate kernel (activations and state update in one pass);
 *   backward  per step (in reverse) one fused gate-gradient kernel, one
 *             product carrying dh back through W_hh and one giving dx through
 *             W_ih, bias gradients summed while the step's gate gradients are
 *             in cache; after every chunk of steps (about 256 rows per
 *             thread), the weight gradients of its rows as products over the
 *             whole chunk, while its gate gradients are in cache.
 * An LSTM whose outputs are projected (mg_lstm_proj_*: PyTorch's proj_size)
 * adds per step one product r W_hr^T after the gate kernel (r = o * tanh c,
 * kept for backward), and in backward one product dh W_hr before the gate
 * gradients and dW_hr over each chunk.
 * These products use gemm_packed.c: W_ih and W_hh are packed once per call
 * rather than at every step, as a BLAS gemm does (measured on an AVX-512
 * Xeon, 1 thread, (32, 256) x (256, 1024): 1.5 to 3x faster than OpenBLAS's
 * call), and each chunk's activations once for its weight gradients.  Only
 * the last product of backward (the steps whose previous state is h0) goes
 * through mg_gemm (BLAS when built with it).
 * The typed code lives in rnn_cells_typed.inc (gate arithmetic of one row)
 * and rnn_typed.inc (the sequence loops), compiled once per float dtype; this
 * file validates arguments and dispatches.
 */
#include <stdlib.h>
#include <string.h>

#include "vecmath.h" /* first: the gate activations, and simd.h's no-trapping-math */
#include "core.h"
#include "gemm_packed.h"
#include "rnn_args.h" /* the problem, its checks, ragged sequences (shared with rnn.cu) */

/* C (m, n) = op(A) op(B) + beta C with C contiguous (ldc == n).  An empty
 * inner dimension (k == 0) leaves beta C, so zeros when beta == 0: BLAS
 * implementations differ on k == 0 and on leading dimensions of 0. */
static int rnn_gemm(int dtype, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                    const void *a, int64_t lda, const void *b, int64_t ldb, double beta,
                    void *c, int64_t ldc) {
    if (m == 0 || n == 0) return MG_OK;
    if (k == 0) {
        if (beta == 0.0) memset(c, 0, (size_t)(m * ldc) * mg_dtype_size(dtype));
        return MG_OK;
    }
    return mg_gemm(dtype, trans_a, trans_b, 1, m, n, k, 1.0, a, lda, 0, b, ldb, 0, beta, c,
                   ldc, 0);
}

/* ---- threads of the step loops (see rnn_typed.inc) ---------------------- */

/* Rows per thread at least: the height of the packed product's AVX-512 tile. */
#define RNN_ROWS_PER_THREAD 8

/* Threads for the step loops: OpenMP's count, but no more than there are
 * blocks of RNN_ROWS_PER_THREAD rows, and one for small layers, where
 * starting the team costs more than the second thread saves. */
static int rnn_step_threads(const struct mg_rnn_problem *p) {
#ifdef _OPENMP
    const double work = (double)p->steps * (double)p->B * (double)(p->G * p->H) * (double)p->H;
    int64_t threads = omp_get_max_threads();
    if (threads > p->B / RNN_ROWS_PER_THREAD) threads = p->B / RNN_ROWS_PER_THREAD;
    if (work < (double)(1 << 22) || threads < 1) threads = 1;
    return (int)threads;
#else
    (void)p;
    return 1;
#endif
}

/* The calling thread's rows [*b0, *b1) of a batch of B: contiguous blocks of
 * whole multiples of RNN_ROWS_PER_THREAD (but the last), split evenly among
 * the team.  Returns the thread's number. */
static int rnn_thread_rows(int64_t B, int64_t *b0, int64_t *b1) {
#ifdef _OPENMP
    const int id = omp_get_thread_num(), team = omp_get_num_threads();
#else
    const int id = 0, team = 1;
#endif
    const int64_t blocks = (B + RNN_ROWS_PER_THREAD - 1) / RNN_ROWS_PER_THREAD;
    const int64_t lo = blocks * id / team * RNN_ROWS_PER_THREAD;
    const int64_t hi = blocks * (id + 1) / team * RNN_ROWS_PER_THREAD;
    *b0 = lo < B ? lo : B;
    *b1 = hi < B ? hi : B;
    return id;
}

/* ---- chunks of backward (see rnn_typed.inc) ------------------------------ */

/* Rows of gate gradients per chunk and thread: the depth of the weight-gradient
 * products.  Measured (1 thread): at 256 rows the products run within about
 * 10% of one over the whole sequence, and the whole backward pass is 5-10%
 * faster than with one (no fresh pages, operands in cache). */
#ifndef RNN_CHUNK_ROWS
#define RNN_CHUNK_ROWS 256
#endif

/* Steps per chunk for a batch of B rows shared by `threads` threads. */
static int64_t rnn_chunk_steps(int threads, int64_t T_, int64_t B) {
    const int64_t share = threads > 1 ? (B + threads - 1) / threads : B; /* rows per thread */
    int64_t steps = share > 0 ? RNN_CHUNK_ROWS / share : T_;
    if (steps < 1) steps = 1;
    return steps < T_ ? steps : (T_ > 0 ? T_ : 1);
}

/* Gradients that vanish through time turn into subnormal floats, which x86
 * cores process about 100x slower (measured: a float32 LSTM backward took 50x
 * longer at T=200 than at T=100, float64 stayed linear).  Every thread running
 * the step loops flushes subnormals to zero (FTZ and DAZ bits of MXCSR) while
 * it works, and restores its previous mode afterwards. */
#if defined(__x86_64__) || defined(__SSE2__)
#include <xmmintrin.h>
#define RNN_FTZ_DAZ 0x8040u
static inline unsigned rnn_flush_subnormals(void) {
    unsigned mode = _mm_getcsr();
    _mm_setcsr(mode | RNN_FTZ_DAZ);
    return mode;
}
static inline void rnn_restore_fp_mode(unsigned mode) { _mm_setcsr(mode); }
#else
static inline unsigned rnn_flush_subnormals(void) { return 0; }
static inline void rnn_restore_fp_mode(unsigned mode) { (void)mode; }
#endif

/* One OpenMP region of `threads` (none when 1), and directives inside it;
 * both vanish in a build without OpenMP. */
#ifdef _OPENMP
#define RNN_OMP(directive) MG_PRAGMA(omp directive)
#define RNN_OMP_PARALLEL(threads) MG_PRAGMA(omp parallel num_threads(threads) if((threads) > 1))
#else
#define RNN_OMP(directive)
#define RNN_OMP_PARALLEL(threads) (void)(threads);
#endif

#define MG_TYPED_FILE "rnn_typed.inc" /* which includes rnn_cells_typed.inc first */
#include "for_each_float.h"

/* ---- argument checks (rnn_args.h) ------------------------------------------ */

/* Workspace elements for (cell, T, B, H) with a projection of P (0: none), or
 * -1 when an argument is invalid or the size is beyond MG_MAX_ELEMS. */
static int64_t workspace_size(int cell, int64_t T_, int64_t B, int64_t H, int64_t P) {
    const int64_t G = mg_rnn_gate_count(cell);
    if (G == 0 || T_ < 0 || B < 0 || H < 0 || P < 0 || (P > 0 && cell != MG_LSTM)) return -1;
    /* per (t, b) row: LSTM 4H gates + c + tanh c (+ the unprojected output
     * o * tanh c, with a projection); GRU 3H gates + W_hn h + b_hn */
    const int64_t per_unit = cell == MG_LSTM ? (P > 0 ? 7 : 6) : (cell == MG_GRU ? 4 : 0);
    int64_t rows, row_size, size;
    if (!mg_mul_fits(T_, B, &rows) || !mg_mul_fits(H, per_unit, &row_size) ||
        !mg_mul_fits(rows, row_size, &size))
        return -1;
    return size;
}

int64_t mg_rnn_workspace_size(int cell, int64_t T_, int64_t B, int64_t H) {
    return workspace_size(cell, T_, B, H, 0);
}

int64_t mg_lstm_proj_workspace_size(int64_t T_, int64_t B, int64_t H, int64_t P) {
    return workspace_size(MG_LSTM, T_, B, H, P);
}

/* rnn_args.h's lengths check: every length in [0, T] (lengths may be NULL). */
static int check_lengths(const int64_t *lengths, int64_t B, int64_t T_) {
    if (lengths != NULL)
        for (int64_t b = 0; b < B; b++) MG_CHECK(lengths[b] >= 0 && lengths[b] <= T_, MG_ERR_SIZE);
    return MG_OK;
}

/* ---- entry points ---------------------------------------------------------- */

/* mg_rnn_forward and mg_lstm_proj_forward (P > 0). */
static int rnn_forward(int dtype, int cell, int64_t T_, int64_t B, int64_t n_in, int64_t H,
                       int64_t P, const void *x, const void *w_ih, const void *w_hh,
                       const void *w_hr, const void *b_ih, const void *b_hh, const void *h0,
                       const void *c0, const int64_t *lengths, int reverse, void *y, void *h_n,
                       void *c_n, void *ws) {
    struct mg_rnn_problem p;
    int status = mg_rnn_check_problem(&p, dtype, cell, T_, B, n_in, H, P, x, w_ih, w_hh, w_hr,
                                      b_ih, b_hh, h0, c0, lengths, reverse,
                                      workspace_size(cell, T_, B, H, P), check_lengths);
    if (status == MG_OK) status = mg_rnn_check_forward_outputs(&p, y, h_n, c_n);
    if (status != MG_OK) return status;

    /* (ws may be NULL: inference, see forward in rnn_typed.inc) */
    const unsigned fp_mode = rnn_flush_subnormals();
    if (dtype == MG_FLOAT32)
        status = forward_f32(&p, y, h_n, c_n, ws);
    else
        status = forward_f64(&p, y, h_n, c_n, ws);
    rnn_restore_fp_mode(fp_mode);
    return status;
}

/* mg_rnn_backward and mg_lstm_proj_backward (P > 0). */
static int rnn_backward(int dtype, int cell, int64_t T_, int64_t B, int64_t n_in, int64_t H,
                        int64_t P, const void *x, const void *w_ih, const void *w_hh,
                        const void *w_hr, const void *b_ih, const void *b_hh, const void *h0,
                        const void *c0, const int64_t *lengths, int reverse, const void *y,
                        const void *ws, const void *dy, const void *dh_n, const void *dc_n,
                        void *dx, void *dw_ih, void *dw_hh, void *dw_hr, void *db_ih,
                        void *db_hh, void *dh0, void *dc0) {
    struct mg_rnn_problem p;
    const int64_t ws_size = workspace_size(cell, T_, B, H, P);
    int status = mg_rnn_check_problem(&p, dtype, cell, T_, B, n_in, H, P, x, w_ih, w_hh, w_hr,
                                      b_ih, b_hh, h0, c0, lengths, reverse, ws_size,
                                      check_lengths);
    if (status == MG_OK) status = mg_rnn_check_backward_inputs(&p, y, ws, dy, ws_size);
    if (status != MG_OK) return status;

    struct mg_rnn_grads g;
    mg_rnn_set_grads(&g, &p, dy, dh_n, dc_n, dx, dw_ih, dw_hh, dw_hr, db_ih, db_hh, dh0, dc0);
    const unsigned fp_mode = rnn_flush_subnormals();
    if (dtype == MG_FLOAT32)
        status = backward_f32(&p, y, ws, &g);
    else
        status = backward_f64(&p, y, ws, &g);
    rnn_restore_fp_mode(fp_mode);
    return status;
}

int mg_rnn_forward(int dtype, int cell, int64_t T_, int64_t B, int64_t n_in, int64_t H,
                   const void *x, const void *w_ih, const void *w_hh, const void *b_ih,
                   const void *b_hh, const void *h0, const void *c0, const int64_t *lengths,
                   int reverse, void *y, void *h_n, void *c_n, void *ws) {
    return rnn_forward(dtype, cell, T_, B, n_in, H, 0, x, w_ih, w_hh, NULL, b_ih, b_hh, h0, c0,
                       lengths, reverse, y, h_n, c_n, ws);
}

int mg_rnn_backward(int dtype, int cell, int64_t T_, int64_t B, int64_t n_in, int64_t H,
                    const void *x, const void *w_ih, const void *w_hh, const void *b_ih,
                    const void *b_hh, const void *h0, const void *c0, const int64_t *lengths,
                    int reverse, const void *y, const void *ws, const void *dy,
                    const void *dh_n, const void *dc_n, void *dx, void *dw_ih, void *dw_hh,
                    void *db_ih, void *db_hh, void *dh0, void *dc0) {
    return rnn_backward(dtype, cell, T_, B, n_in, H, 0, x, w_ih, w_hh, NULL, b_ih, b_hh, h0, c0,
                        lengths, reverse, y, ws, dy, dh_n, dc_n, dx, dw_ih, dw_hh, NULL, db_ih,
                        db_hh, dh0, dc0);
}

int mg_lstm_proj_forward(int dtype, int64_t T_, int64_t B, int64_t n_in, int64_t H, int64_t P,
                         const void *x, const void *w_ih, const void *w_hh, const void *w_hr,
                         const void *b_ih, const void *b_hh, const void *h0, const void *c0,
                         const int64_t *lengths, int reverse, void *y, void *h_n, void *c_n,
                         void *ws) {
    return rnn_forward(dtype, MG_LSTM, T_, B, n_in, H, P, x, w_ih, w_hh, w_hr, b_ih, b_hh, h0,
                       c0, lengths, reverse, y, h_n, c_n, ws);
}

int mg_lstm_proj_backward(int dtype, int64_t T_, int64_t B, int64_t n_in, int64_t H, int64_t P,
                          const void *x, const void *w_ih, const void *w_hh, const void *w_hr,
                          const void *b_ih, const void *b_hh, const void *h0, const void *c0,
                          const int64_t *lengths, int reverse, const void *y, const void *ws,
                          const void *dy, const void *dh_n, const void *dc_n, void *dx,
                          void *dw_ih, void *dw_hh, void *dw_hr, void *db_ih, void *db_hh,
                          void *dh0, void *dc0) {
    return rnn_backward(dtype, MG_LSTM, T_, B, n_in, H, P, x, w_ih, w_hh, w_hr, b_ih, b_hh, h0,
                        c0, lengths, reverse, y, ws, dy, dh_n, dc_n, dx, dw_ih, dw_hh, dw_hr,
                        db_ih, db_hh, dh0, dc0);
}
