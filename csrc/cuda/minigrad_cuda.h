/*
 * minigrad's CUDA API: the same kernel table as minigrad.h, on the GPU.
 *
 * Built and linked into minigrad._C only with MINIGRAD_CUDA=1; csrc/build_ffi.py
 * then appends the declarations between the cdef markers below to the cffi
 * cdef, and Python finds them as lib.mg_cuda_*.  Without the flag none of
 * this exists and minigrad.cuda.is_available() is False.
 *
 * Conventions (every entry point):
 *   - mg_cuda_X has exactly the signature and the semantics of mg_X in
 *     minigrad.h, so one Python wrapper shape serves both tables.
 *   - Data pointers (inputs, outputs, index arrays such as idx, target and
 *     lengths, workspaces) are DEVICE pointers.  Small descriptor arrays
 *     (shape, strides) are HOST pointers: the entry point copies them into
 *     the kernel's arguments.  mg_cuda_norm_pow writes its double to HOST
 *     memory (it synchronises).
 *   - Kernels run on the legacy default stream, in order; an entry point
 *     returns after launching (no synchronisation) unless it must read a
 *     result back (norm_pow, index validation, memcpy to the host).
 *   - Arguments are validated on the host exactly as the CPU kernels do, with
 *     the same status codes.  A failing CUDA call returns MG_ERR_CUDA and
 *     records, for the calling thread, a message naming the call:
 *     mg_cuda_last_error() returns it ("cudaMalloc: out of memory").
 */
#ifndef MINIGRAD_CUDA_H
#define MINIGRAD_CUDA_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* cdef-begin */

/* ---- runtime (cuda/runtime.cu) ------------------------------------------- */

enum mg_memcpy_kind { MG_HOST_TO_DEVICE = 1, MG_DEVICE_TO_HOST = 2, MG_DEVICE_TO_DEVICE = 3 };

/* *count = the number of visible CUDA devices.  No driver, no GPU, or a
 * driver too old for this build is 0 devices and MG_OK, never an error. */
int mg_cuda_device_count(int *count);
/* Make `device` current for the calling thread. */
int mg_cuda_set_device(int device);
/* The device's name ("NVIDIA H100 80GB HBM3") into buf (NUL-terminated, at most len bytes). */
int mg_cuda_device_name(int device, char *buf, int len);
/* Free and total memory of the current device, in bytes. */
int mg_cuda_memory_info(int64_t *free_bytes, int64_t *total_bytes);
/* *ptr = nbytes of device memory (NULL for nbytes == 0). */
int mg_cuda_malloc(int64_t nbytes, void **ptr);
/* Release memory from mg_cuda_malloc (NULL is allowed). */
int mg_cuda_free(void *ptr);
/* Copy nbytes between host and device or within the device; copies that
 * touch the host are synchronous. */
int mg_cuda_memcpy(void *dst, const void *src, int64_t nbytes, int kind);
/* Wait for all work on the current device; reports errors of earlier launches. */
int mg_cuda_synchronize(void);
/* The message of the calling thread's last failed CUDA call ("" if none). */
const char *mg_cuda_last_error(void);

/* Every function below has the contract of its namesake in minigrad.h (mg_cuda_X
 * is mg_X on the GPU: same arguments, same checks, same status codes), with the
 * pointer conventions of this file's header.  Only what differs is said here. */

/* ---- elementwise (cuda/elementwise.cu) ----------------------------------- */

int mg_cuda_unary(int dtype, int op, int64_t n, const void *x, void *y);

int mg_cuda_unary_backward(int dtype, int op, int64_t n, const void *x, const void *y,
                           const void *gy, void *gx);

int mg_cuda_binary(int dtype, int op, int ndim, const int64_t *shape,
                   const void *a, const int64_t *a_strides,
                   const void *b, const int64_t *b_strides, void *out);

int mg_cuda_binary_scalar(int dtype, int op, int64_t n, const void *a, double s,
                          int scalar_first, void *out);

int mg_cuda_where(int dtype, int ndim, const int64_t *shape,
                  const void *cond, const int64_t *cond_strides,
                  const void *a, const int64_t *a_strides,
                  const void *b, const int64_t *b_strides, void *out);

int mg_cuda_clamp(int dtype, int64_t n, const void *x, double lo, double hi, void *out);
int mg_cuda_clamp_backward(int dtype, int64_t n, const void *x, double lo, double hi,
                           const void *gy, void *gx);

/* ---- memory (cuda/copy.cu) ----------------------------------------------- */

int mg_cuda_fill(int dtype, int64_t n, double value, void *out);

int mg_cuda_copy_strided(int elem_size, int ndim, const int64_t *shape,
                         const void *src, const int64_t *src_strides,
                         void *dst, const int64_t *dst_strides);

int mg_cuda_cast(int src_dtype, int dst_dtype, int64_t n, const void *src, void *dst);

/* ---- reductions, softmax (cuda/reduce.cu, cuda/softmax.cu) --------------- */

int mg_cuda_reduce(int dtype, int op, int64_t outer, int64_t n, int64_t inner,
                   const void *x, void *out);
int mg_cuda_arg_reduce(int dtype, int op, int64_t outer, int64_t n, int64_t inner,
                       const void *x, int64_t *out);

int mg_cuda_softmax(int dtype, int log, int64_t outer, int64_t n, int64_t inner,
                    const void *x, void *y);
int mg_cuda_softmax_backward(int dtype, int log, int64_t outer, int64_t n, int64_t inner,
                             const void *y, const void *gy, void *gx);
int mg_cuda_logsumexp(int dtype, int64_t outer, int64_t n, int64_t inner,
                      const void *x, void *out);

/* ---- indexing (cuda/gather.cu) ------------------------------------------- */

int mg_cuda_gather(int dtype, int64_t outer, int64_t src_n, int64_t inner,
                   const int64_t *idx, int64_t idx_n, const void *src, void *out);
int mg_cuda_scatter_add(int dtype, int64_t outer, int64_t dst_n, int64_t inner,
                        const int64_t *idx, int64_t idx_n, const void *src, void *dst);

/* ---- random numbers (cuda/random.cu) ------------------------------------- */

/* The same Philox stream as the CPU: the counter advances by mg_random_advance(n), and a
 * seeded program draws the same numbers on both devices (up to the rounding of the
 * transforms). */
int mg_cuda_random_uniform(int dtype, int64_t n, uint64_t seed, uint64_t offset,
                           double low, double high, void *out);
int mg_cuda_random_normal(int dtype, int64_t n, uint64_t seed, uint64_t offset,
                          double mean, double std, void *out);
int mg_cuda_random_bernoulli(int dtype, int64_t n, uint64_t seed, uint64_t offset,
                             double p, void *out);

/* ---- matrix multiply (cuda/gemm.cu) -------------------------------------- */

int mg_cuda_gemm(int dtype, int trans_a, int trans_b, int64_t batch,
                 int64_t m, int64_t n, int64_t k, double alpha,
                 const void *a, int64_t lda, int64_t stride_a,
                 const void *b, int64_t ldb, int64_t stride_b,
                 double beta, void *c, int64_t ldc, int64_t stride_c);
int mg_cuda_gemm_builtin(int dtype, int trans_a, int trans_b, int64_t batch,
                         int64_t m, int64_t n, int64_t k, double alpha,
                         const void *a, int64_t lda, int64_t stride_a,
                         const void *b, int64_t ldb, int64_t stride_b,
                         double beta, void *c, int64_t ldc, int64_t stride_c);

/* ---- losses (cuda/loss.cu) ----------------------------------------------- */

int mg_cuda_cross_entropy(int dtype, int64_t n, int64_t c, const void *logits,
                          const int64_t *target, const void *weight,
                          int64_t ignore_index, double label_smoothing,
                          void *loss, void *row_weight, void *log_probs);
int mg_cuda_cross_entropy_backward(int dtype, int64_t n, int64_t c, const void *log_probs,
                                   const int64_t *target, const void *weight,
                                   int64_t ignore_index, double label_smoothing,
                                   const void *grad_loss, void *grad_logits);

/* ---- optimizer updates (cuda/optim.cu), in place over n parameters ------- */

int mg_cuda_sgd_step(int dtype, int64_t n, void *param, const void *grad, void *buf,
                     double lr, double momentum, double dampening, double weight_decay,
                     int nesterov, int maximize, int first_step);
int mg_cuda_adam_step(int dtype, int64_t n, void *param, const void *grad,
                      void *exp_avg, void *exp_avg_sq, void *max_exp_avg_sq,
                      double lr, double beta1, double beta2, double eps,
                      double weight_decay, int decoupled_wd, int64_t step, int maximize);
int mg_cuda_adagrad_step(int dtype, int64_t n, void *param, const void *grad, void *state_sum,
                         double lr, double lr_decay, double weight_decay, double eps,
                         int64_t step, int maximize);
int mg_cuda_rmsprop_step(int dtype, int64_t n, void *param, const void *grad, void *square_avg,
                         void *momentum_buf, void *grad_avg, double lr, double alpha, double eps,
                         double weight_decay, double momentum, int maximize);
int mg_cuda_norm_pow(int dtype, int64_t n, const void *x, double p, double *out);

/* ---- fused recurrent layers (cuda/rnn.cu) -------------------------------- */

/* The workspace of a training forward call holds mg_cuda_rnn_workspace_size(...)
 * elements of `dtype` (its own layout, not the CPU's; -1 for an invalid cell or size). */
int64_t mg_cuda_rnn_workspace_size(int cell, int64_t T, int64_t B, int64_t H);
int mg_cuda_rnn_forward(int dtype, int cell, int64_t T, int64_t B, int64_t n_in, int64_t H,
                        const void *x, const void *w_ih, const void *w_hh,
                        const void *b_ih, const void *b_hh,
                        const void *h0, const void *c0, const int64_t *lengths, int reverse,
                        void *y, void *h_n, void *c_n, void *ws);
int mg_cuda_rnn_backward(int dtype, int cell, int64_t T, int64_t B, int64_t n_in, int64_t H,
                         const void *x, const void *w_ih, const void *w_hh,
                         const void *b_ih, const void *b_hh,
                         const void *h0, const void *c0, const int64_t *lengths, int reverse,
                         const void *y, const void *ws,
                         const void *dy, const void *dh_n, const void *dc_n,
                         void *dx, void *dw_ih, void *dw_hh, void *db_ih, void *db_hh,
                         void *dh0, void *dc0);
/* A projected LSTM (PyTorch's proj_size; as mg_lstm_proj_* on the CPU): w_hr (P, H),
 * w_hh (4H, P), h0/h_n (B, P), y/dy (T, B, P); the workspace has its own layout. */
int64_t mg_cuda_lstm_proj_workspace_size(int64_t T, int64_t B, int64_t H, int64_t P);
int mg_cuda_lstm_proj_forward(int dtype, int64_t T, int64_t B, int64_t n_in, int64_t H,
                              int64_t P, const void *x, const void *w_ih, const void *w_hh,
                              const void *w_hr, const void *b_ih, const void *b_hh,
                              const void *h0, const void *c0, const int64_t *lengths,
                              int reverse, void *y, void *h_n, void *c_n, void *ws);
int mg_cuda_lstm_proj_backward(int dtype, int64_t T, int64_t B, int64_t n_in, int64_t H,
                               int64_t P, const void *x, const void *w_ih, const void *w_hh,
                               const void *w_hr, const void *b_ih, const void *b_hh,
                               const void *h0, const void *c0, const int64_t *lengths,
                               int reverse, const void *y, const void *ws, const void *dy,
                               const void *dh_n, const void *dc_n, void *dx, void *dw_ih,
                               void *dw_hh, void *dw_hr, void *db_ih, void *db_hh, void *dh0,
                               void *dc0);

/* cdef-end */

#ifdef __cplusplus
}
#endif

#endif /* MINIGRAD_CUDA_H */
