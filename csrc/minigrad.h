/*
 * minigrad.h -- the public API of minigrad's C core.
 *
 * This header is also the cffi cdef: csrc/build_ffi.py feeds cffi the text
 * between the "cdef-begin" and "cdef-end" markers, so that part holds plain C
 * declarations only (no preprocessor lines, no macros).
 *
 * Conventions shared by every entry point:
 *   - Buffers are contiguous, row-major, of the dtype named by the `dtype`
 *     argument (enum mg_dtype).  Python decides shapes, views and broadcasting
 *     and hands C flat buffers plus explicit sizes; strides, where a kernel
 *     takes them, count elements (not bytes) and may be 0 (broadcast) or
 *     negative.
 *   - Elementwise kernels allow `out` to alias an input of the same shape
 *     (in-place updates).
 *   - Every function validates its arguments and returns an mg_status code;
 *     it never aborts and never writes outside the sizes it was given.
 *   - No global mutable state: cffi releases the GIL around these calls.
 */
#ifndef MINIGRAD_H
#define MINIGRAD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* cdef-begin */

/* ---- status codes, dtypes, op codes ------------------------------------ */

enum mg_status {
    MG_OK = 0,
    MG_ERR_SIZE = 1,        /* a size, rank or stride is negative or inconsistent */
    MG_ERR_DTYPE = 2,       /* dtype not supported by this kernel */
    MG_ERR_INDEX = 3,       /* an index is out of range */
    MG_ERR_NOMEM = 4,       /* allocation failed */
    MG_ERR_OP = 5,          /* unknown op code or argument value */
    MG_ERR_NULL = 6,        /* a required pointer is NULL */
    MG_ERR_EMPTY = 7,       /* reduction with no identity over zero elements */
    MG_ERR_UNSUPPORTED = 8, /* not built into this variant (e.g. no CUDA) */
    MG_ERR_CUDA = 9         /* a CUDA runtime/cuBLAS call failed */
};

enum mg_dtype { MG_FLOAT32 = 0, MG_FLOAT64 = 1, MG_INT64 = 2 };

enum mg_unary_op {
    MG_NEG = 0, MG_ABS = 1, MG_EXP = 2, MG_LOG = 3, MG_SQRT = 4,
    MG_TANH = 5, MG_SIGMOID = 6, MG_RELU = 7, MG_SQUARE = 8,
    MG_RECIPROCAL = 9, MG_SIGN = 10
};

enum mg_binary_op {
    MG_ADD = 0, MG_SUB = 1, MG_MUL = 2, MG_DIV = 3, MG_POW = 4,
    MG_MAXIMUM = 5, MG_MINIMUM = 6,
    MG_EQ = 7, MG_NE = 8, MG_LT = 9, MG_LE = 10, MG_GT = 11, MG_GE = 12
};

enum mg_reduce_op { MG_SUM = 0, MG_MAX = 1, MG_MIN = 2, MG_ARGMAX = 3, MG_ARGMIN = 4 };

enum mg_rnn_cell { MG_RNN_TANH = 0, MG_RNN_RELU = 1, MG_GRU = 2, MG_LSTM = 3 };

/* Message for a status code (static text, never NULL). */
const char *mg_status_string(int status);

/* ---- build and threads (runtime.c) ------------------------------------- */

/* One knob for every thread the core runs; n < 1 is clamped to 1.  With OpenMP,
 * n OpenMP threads and BLAS kept to one (mg_gemm shares products among the
 * OpenMP threads itself); without, n BLAS threads. */
void mg_set_num_threads(int n);
int mg_get_num_threads(void);
/* BLAS's own thread count (0 in a build without BLAS). */
int mg_get_blas_num_threads(void);
/* Loops with less work than this (elements; default 2^16) run on one thread:
 * starting the team costs more.  Values < 1 are clamped to 1. */
void mg_set_parallel_min_work(int64_t work);
int64_t mg_get_parallel_min_work(void);
/* "blas=scipy-openblas openmp=1 cuda=0 simd=avx2" style description. */
const char *mg_build_info(void);

/* ---- elementwise (unary.c, binary.c) ----------------------------------- */

/* y[i] = op(x[i]) for i < n.  Float dtypes; tanh and sigmoid never overflow. */
int mg_unary(int dtype, int op, int64_t n, const void *x, void *y);

/* y (rows, cols), contiguous, = op(x) for x stored by rows with leading
 * dimension ldx >= cols (row r at x + r * ldx): a slice along the last dim,
 * such as one gate of a (B, 4H) matrix, read in place.  x must not overlap y
 * unless it is y (ldx == cols). */
int mg_unary_rows(int dtype, int op, int64_t rows, int64_t cols, const void *x, int64_t ldx,
                  void *y);

/* gx[i] = gy[i] * op'(x[i]), using x (the input) or y (the output), whichever
 * the derivative needs: tanh, sigmoid, exp, sqrt read y; log, abs, relu, sign,
 * square, reciprocal read x; neg reads neither.  Pointers not needed may be NULL. */
int mg_unary_backward(int dtype, int op, int64_t n, const void *x, const void *y,
                      const void *gy, void *gx);

/* out (contiguous, `shape`) = op(a, b) with numpy broadcasting expressed by the
 * element strides of a and b over the output's shape (0 on broadcast dims).
 * Comparisons write 1 or 0 in the same dtype.  int64 supports all ops but
 * DIV and POW. */
int mg_binary(int dtype, int op, int ndim, const int64_t *shape,
              const void *a, const int64_t *a_strides,
              const void *b, const int64_t *b_strides, void *out);

/* out[i] = op(a[i], s), or op(s, a[i]) when scalar_first != 0. */
int mg_binary_scalar(int dtype, int op, int64_t n, const void *a, double s,
                     int scalar_first, void *out);

/* out = cond != 0 ? a : b, all broadcast by strides over `shape`; cond has `dtype` too. */
int mg_where(int dtype, int ndim, const int64_t *shape,
             const void *cond, const int64_t *cond_strides,
             const void *a, const int64_t *a_strides,
             const void *b, const int64_t *b_strides, void *out);

/* out[i] = min(max(x[i], lo), hi); use +-inf for a missing bound. */
int mg_clamp(int dtype, int64_t n, const void *x, double lo, double hi, void *out);
/* gx[i] = gy[i] where lo <= x[i] <= hi, else 0. */
int mg_clamp_backward(int dtype, int64_t n, const void *x, double lo, double hi,
                      const void *gy, void *gx);

/* ---- memory (copy.c) --------------------------------------------------- */

/* out[i] = value for i < n (any dtype). */
int mg_fill(int dtype, int64_t n, double value, void *out);

/* dst[idx] = src[idx] over `shape`, both addressed by element strides;
 * elem_size is 4 or 8 bytes.  Makes a view contiguous, or writes into one. */
int mg_copy_strided(int elem_size, int ndim, const int64_t *shape,
                    const void *src, const int64_t *src_strides,
                    void *dst, const int64_t *dst_strides);

/* out (outer, out_inner) = the pieces joined along their last dim: piece k is
 * contiguous (outer, inners[k]) and the inners sum to out_inner (else
 * MG_ERR_SIZE); elem_size is 4 or 8 bytes; out overlaps no piece.  cat and
 * stack in one call. */
int mg_concat(int elem_size, int64_t outer, int npieces, const int64_t *inners,
              const void *const *pieces, int64_t out_inner, void *out);

/* dst[i] = (dst_dtype) src[i]: conversion between any two dtypes. */
int mg_cast(int src_dtype, int dst_dtype, int64_t n, const void *src, void *dst);

/* ---- reductions, softmax (reduce.c, softmax.c) -------------------------- */

/* x viewed as (outer, n, inner); out (outer, inner) = op over the middle axis.
 * SUM of n == 0 gives 0; MAX/MIN of n == 0 is MG_ERR_EMPTY.  NaN propagates. */
int mg_reduce(int dtype, int op, int64_t outer, int64_t n, int64_t inner,
              const void *x, void *out);
/* ARGMAX/ARGMIN over the middle axis into int64 indices (first occurrence). */
int mg_arg_reduce(int dtype, int op, int64_t outer, int64_t n, int64_t inner,
                  const void *x, int64_t *out);

/* y = softmax(x) (or log_softmax when log != 0) over the middle axis of
 * (outer, n, inner); stable for large inputs. */
int mg_softmax(int dtype, int log, int64_t outer, int64_t n, int64_t inner,
               const void *x, void *y);
/* gx from y (the forward output) and gy:
 *   softmax:     gx = y * (gy - sum(gy * y))
 *   log_softmax: gx = gy - exp(y) * sum(gy)                                  */
int mg_softmax_backward(int dtype, int log, int64_t outer, int64_t n, int64_t inner,
                        const void *y, const void *gy, void *gx);
/* out (outer, inner) = log(sum(exp(x))) over the middle axis, stable. */
int mg_logsumexp(int dtype, int64_t outer, int64_t n, int64_t inner,
                 const void *x, void *out);

/* ---- indexing (gather.c) ----------------------------------------------- */

/* out (outer, idx_n, inner)  = src (outer, src_n, inner) [:, idx[j], :].
 * Indices may be negative (counted from the end); out of range is MG_ERR_INDEX.
 * Any dtype. */
int mg_gather(int dtype, int64_t outer, int64_t src_n, int64_t inner,
              const int64_t *idx, int64_t idx_n, const void *src, void *out);
/* dst (outer, dst_n, inner) [:, idx[j], :] += src (outer, idx_n, inner)[:, j, :];
 * repeated indices accumulate.  Float dtypes. */
int mg_scatter_add(int dtype, int64_t outer, int64_t dst_n, int64_t inner,
                   const int64_t *idx, int64_t idx_n, const void *src, void *dst);

/* ---- random numbers (random.c) ----------------------------------------- */

/* Counter-based (Philox4x32-10): element i of a draw is a pure function of
 * (seed, offset + i), so the caller owns the state and advances `offset` by
 * the value mg_random_advance returns.  Float dtypes. */
int mg_random_uniform(int dtype, int64_t n, uint64_t seed, uint64_t offset,
                      double low, double high, void *out);
int mg_random_normal(int dtype, int64_t n, uint64_t seed, uint64_t offset,
                     double mean, double std, void *out);
/* out[i] = 1 with probability p, else 0. */
int mg_random_bernoulli(int dtype, int64_t n, uint64_t seed, uint64_t offset,
                        double p, void *out);
/* How far a draw of n elements moves the counter. */
uint64_t mg_random_advance(int64_t n);

/* ---- matrix multiply (gemm.c) ------------------------------------------ */

/* For each of `batch` problems (row-major):
 *   C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b]
 * op(A) is (m, k) -- A is stored (m, k) with leading dim lda, or (k, m) when
 * trans_a; op(B) is (k, n) likewise.  A[b] starts at a + b*stride_a (stride 0
 * reuses one matrix for every problem).  beta == 0 ignores C's old contents
 * (NaN included); k == 0 or alpha == 0 gives C = beta * C without reading A
 * or B.  Needs lda >= (trans_a ? m : k), ldb >= (trans_b ? k : n), ldc >= n,
 * strides >= 0, and with batch > 1 stride_c >= (m-1)*ldc + n (problems never
 * share an element of C).  Uses BLAS when built with it. Float dtypes. */
int mg_gemm(int dtype, int trans_a, int trans_b, int64_t batch,
            int64_t m, int64_t n, int64_t k, double alpha,
            const void *a, int64_t lda, int64_t stride_a,
            const void *b, int64_t ldb, int64_t stride_b,
            double beta, void *c, int64_t ldc, int64_t stride_c);
/* The same contract, always through minigrad's own blocked kernel. */
int mg_gemm_builtin(int dtype, int trans_a, int trans_b, int64_t batch,
                    int64_t m, int64_t n, int64_t k, double alpha,
                    const void *a, int64_t lda, int64_t stride_a,
                    const void *b, int64_t ldb, int64_t stride_b,
                    double beta, void *c, int64_t ldc, int64_t stride_c);

/* ---- losses (loss.c) --------------------------------------------------- */

/* Fused log-softmax + negative log-likelihood over logits (n, c):
 *   loss[i] = -(1-ls) * w[t_i] * logp[i, t_i] - ls/c * sum_j w[j] * logp[i, j]
 * (PyTorch's label_smoothing formula: w per class j inside the smoothing sum;
 * w = 1 without weights).  Rows whose target == ignore_index get loss 0 and
 * weight 0.  weight may be NULL (all ones).  Writes per-row losses, the per-row
 * weight w[t_i] (for the mean's denominator), and log_probs (n, c) for backward.
 * Targets outside [0, c) (other than ignore_index) are MG_ERR_INDEX. */
int mg_cross_entropy(int dtype, int64_t n, int64_t c, const void *logits,
                     const int64_t *target, const void *weight,
                     int64_t ignore_index, double label_smoothing,
                     void *loss, void *row_weight, void *log_probs);
/* grad_logits (n, c) from log_probs and grad_loss (n) (the gradient of each row's loss). */
int mg_cross_entropy_backward(int dtype, int64_t n, int64_t c, const void *log_probs,
                              const int64_t *target, const void *weight,
                              int64_t ignore_index, double label_smoothing,
                              const void *grad_loss, void *grad_logits);

/* ---- optimizer updates (optim.c), in place over n parameters ------------ */

/* SGD (PyTorch semantics).  buf may be NULL when momentum == 0; first_step != 0
 * initialises buf = grad (+ weight decay) as PyTorch does. */
int mg_sgd_step(int dtype, int64_t n, void *param, const void *grad, void *buf,
                double lr, double momentum, double dampening, double weight_decay,
                int nesterov, int maximize, int first_step);
/* Adam, or AdamW when decoupled_wd != 0.  step is the 1-based step count
 * after this update.  max_exp_avg_sq non-NULL enables amsgrad. */
int mg_adam_step(int dtype, int64_t n, void *param, const void *grad,
                 void *exp_avg, void *exp_avg_sq, void *max_exp_avg_sq,
                 double lr, double beta1, double beta2, double eps,
                 double weight_decay, int decoupled_wd, int64_t step, int maximize);
/* Adagrad; step as for Adam (the learning rate is lr / (1 + (step-1) * lr_decay)). */
int mg_adagrad_step(int dtype, int64_t n, void *param, const void *grad, void *state_sum,
                    double lr, double lr_decay, double weight_decay, double eps,
                    int64_t step, int maximize);
/* momentum_buf may be NULL when momentum == 0; grad_avg non-NULL means centered. */
int mg_rmsprop_step(int dtype, int64_t n, void *param, const void *grad, void *square_avg,
                    void *momentum_buf, void *grad_avg, double lr, double alpha, double eps,
                    double weight_decay, double momentum, int maximize);
/* out[0] = sum |x|^p over n elements (p = +inf gives max |x|, 0 when n == 0;
 * -inf gives min |x|, MG_ERR_EMPTY when n == 0; p = 0 counts the non-zeros),
 * accumulated in double. */
int mg_norm_pow(int dtype, int64_t n, const void *x, double p, double *out);

/* ---- fused recurrent layers (rnn.c) ------------------------------------ */

/* One layer, one direction, a whole sequence, time-major:
 *   x (T, B, n_in), w_ih (G*H, n_in), w_hh (G*H, H), b_ih/b_hh (G*H) or NULL,
 *   h0 (B, H), c0 (B, H) (LSTM only; else NULL), lengths (B) or NULL.
 * G = 1 (RNN), 3 (GRU, gates r,z,n), 4 (LSTM, gates i,f,g,o) -- PyTorch's
 * equations and gate order.  reverse != 0 runs t = T-1 .. 0.  With lengths,
 * steps t >= lengths[b] leave sequence b's state unchanged and write zeros to
 * y, in both directions (so a reversed sequence starts at its own last step).
 * Writes y (T, B, H), h_n (B, H), c_n (B, H) (LSTM).  ws (workspace) holds
 * what backward needs, mg_rnn_workspace_size(...) elements of `dtype` (-1 for
 * an invalid cell or size); it may be NULL for inference. */
int64_t mg_rnn_workspace_size(int cell, int64_t T, int64_t B, int64_t H);
int mg_rnn_forward(int dtype, int cell, int64_t T, int64_t B, int64_t n_in, int64_t H,
                   const void *x, const void *w_ih, const void *w_hh,
                   const void *b_ih, const void *b_hh,
                   const void *h0, const void *c0, const int64_t *lengths, int reverse,
                   void *y, void *h_n, void *c_n, void *ws);
/* Gradients of a forward call made with the same arguments (ws filled by it).
 * dy (T, B, H), dh_n/dc_n (B, H) or NULL (zero).  Writes (overwrites) dx, dw_ih,
 * dw_hh, db_ih/db_hh (NULL when there is no bias), dh0, dc0 (LSTM); any output
 * pointer may be NULL when that gradient is not needed. */
int mg_rnn_backward(int dtype, int cell, int64_t T, int64_t B, int64_t n_in, int64_t H,
                    const void *x, const void *w_ih, const void *w_hh,
                    const void *b_ih, const void *b_hh,
                    const void *h0, const void *c0, const int64_t *lengths, int reverse,
                    const void *y, const void *ws,
                    const void *dy, const void *dh_n, const void *dc_n,
                    void *dx, void *dw_ih, void *dw_hh, void *db_ih, void *db_hh,
                    void *dh0, void *dc0);
/* LSTM with projected outputs (PyTorch's proj_size): h_t = (o * tanh(c_t)) w_hr^T,
 * w_hr (P, H), P > 0 (PyTorch asks P < H; the kernel does not; P = 0 is a
 * plain LSTM).  As
 * mg_rnn_forward / mg_rnn_backward for MG_LSTM, with w_hh (4H, P), h0 (B, P),
 * y (T, B, P), h_n (B, P), dy (T, B, P), dh_n (B, P); c0, c_n, dc_n stay (B, H).
 * dw_hr (P, H) may be NULL when not needed.  ws: mg_lstm_proj_workspace_size
 * elements (-1 for an invalid size). */
int64_t mg_lstm_proj_workspace_size(int64_t T, int64_t B, int64_t H, int64_t P);
int mg_lstm_proj_forward(int dtype, int64_t T, int64_t B, int64_t n_in, int64_t H, int64_t P,
                         const void *x, const void *w_ih, const void *w_hh, const void *w_hr,
                         const void *b_ih, const void *b_hh, const void *h0, const void *c0,
                         const int64_t *lengths, int reverse, void *y, void *h_n, void *c_n,
                         void *ws);
int mg_lstm_proj_backward(int dtype, int64_t T, int64_t B, int64_t n_in, int64_t H, int64_t P,
                          const void *x, const void *w_ih, const void *w_hh, const void *w_hr,
                          const void *b_ih, const void *b_hh, const void *h0, const void *c0,
                          const int64_t *lengths, int reverse, const void *y, const void *ws,
                          const void *dy, const void *dh_n, const void *dc_n, void *dx,
                          void *dw_ih, void *dw_hh, void *dw_hr, void *db_ih, void *db_hh,
                          void *dh0, void *dc0);
/* C (m, n) = op(A) (m, k) op(B) + beta C with op(B) (k, n) packed first --
 * B stored (k, n), or (n, k) when trans_b -- by the micro-kernel `kernel`
 * (-1 the fastest this CPU runs, 0 portable, 1 AVX2, 2 AVX-512;
 * MG_ERR_UNSUPPORTED when the CPU lacks it), A stored (m, k), or (k, m) when
 * trans_a; C not read when beta == 0.  The step loops' packed product
 * (gemm_packed.c) with a pack of its own, freed after: the path mg_gemm takes
 * for tall products (mg_gemm_packed_suits), and the tests' way in to each
 * micro-kernel.  Needs lda >= (trans_a ? m : k), ldb >= (trans_b ? k : n),
 * ldc >= n.  Float dtypes; runs on the calling thread. */
int mg_gemm_packed_once(int dtype, int kernel, int trans_a, int trans_b, int64_t m, int64_t n,
                        int64_t k, const void *a, int64_t lda, const void *b, int64_t ldb,
                        double beta, void *c, int64_t ldc);

/* C (m, n) = op(A) (m, k) op(B) (k, n) + beta C without packing B ahead --
 * slices of its panels are copied (transposed when trans_b) into an L1 buffer
 * as the product goes -- by the micro-kernel `kernel` (as above): the path
 * mg_gemm takes for products too small to repay BLAS's copies of A and B (see
 * gemm.c), callable alone for tests.  op(A), op(B), lda and ldb as above; C
 * not read when beta == 0.  Float dtypes; runs on the calling thread. */
int mg_gemm_inplace(int dtype, int kernel, int trans_a, int trans_b, int64_t m, int64_t n,
                    int64_t k, const void *a, int64_t lda, const void *b, int64_t ldb,
                    double beta, void *c, int64_t ldc);

/* Whether mg_gemm sends C = op(A) op(B) (dtype, trans_b, m, n, k; alpha = 1)
 * to mg_gemm_inplace instead of BLAS: small products, where BLAS's copies of
 * A and B cost as much as the arithmetic, on CPUs with AVX-512 (gemm_packed.c
 * has the measured limits).  With several threads mg_gemm asks for each
 * thread's part of a product.  MINIGRAD_SMALL_GEMM=0 in the environment turns
 * it off. */
int mg_gemm_inplace_suits(int dtype, int trans_b, int64_t m, int64_t n, int64_t k);

/* Whether mg_gemm sends C = op(A) op(B) (alpha = 1) to mg_gemm_packed_once
 * instead of BLAS: tall products (m >= 256) with A as stored and a B of up to
 * 2 MB, on CPUs with AVX-512 (gemm_packed.c has the measured limits).
 * mg_gemm asks mg_gemm_inplace_suits first, and with several threads asks for
 * each thread's band.  MINIGRAD_SMALL_GEMM=0 turns it off as well. */
int mg_gemm_packed_suits(int dtype, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k);

/* The number of op(B)'s last columns that mg_gemm multiplies apart, through
 * BLAS, so that the others -- whole panels of the packed kernels -- take
 * mg_gemm_inplace or mg_gemm_packed_once: a few columns past a multiple of
 * the panel width (n = 65); 0 when the product is not split. */
int64_t mg_gemm_ragged_columns(int dtype, int trans_a, int trans_b, int64_t m, int64_t n,
                               int64_t k);

/* ---- measuring the CPU (fma_peak.c) ------------------------------------- */

/* `rounds` steps of independent float32 multiply-add chains in the widest
 * vectors this CPU runs, on each of `threads` threads (1 without OpenMP);
 * *flops = the flops done.  Timed by the caller: this core's FMA peak. */
int mg_fma_peak_probe(int64_t rounds, int threads, double *flops);

/* cdef-end */

#ifdef __cplusplus
}
#endif

#endif /* MINIGRAD_H */
