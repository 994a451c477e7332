/*
 * loss.cu -- the CUDA fused cross-entropy: log-softmax and negative
 * log-likelihood over each row of logits (n, c), with PyTorch's class
 * weights, ignore_index and label smoothing (reduction 'none').
 *
 * Same contract, validation (loss_args.h) and status codes as the CPU's
 * loss.c.  Per row i, target t, weights w (all ones when NULL), W = sum_j w_j,
 * smoothing ls:
 *   logp_j     = x_j - max(x) - log(sum_k exp(x_k - max(x)))
 *   loss       = -(1 - ls) w_t logp_t - (ls / c) sum_j w_j logp_j
 *                (the smoothing term is skipped when ls == 0, as PyTorch does)
 *   row_weight = w_t
 *   dloss/dx_j = p_j ((1 - ls) w_t + (ls / c) W) - (1 - ls) w_t [j == t] - (ls / c) w_j
 * A row whose target is ignore_index gets loss 0, weight 0 and a zero
 * gradient; its log_probs are still written.
 *
 * The targets live on the device, so a validation kernel first raises a flag
 * on any target outside [0, c) other than ignore_index, and the host reads it
 * back (the one synchronisation here): an out-of-range target returns
 * MG_ERR_INDEX before anything is written, as on the CPU.
 *
 * Forward: one warp or block per row (line_reduce.cuh), three passes over the
 * row: max, sum of exp (double), then log_probs written while the target's
 * log-probability and the smoothing sum (double) are gathered, reduced, and
 * stored by the row's leader.  Each element is read and written by one
 * thread, so logits may be log_probs.  Backward: one thread per element, the
 * CPU's per-row coefficients recomputed by each (they are a few multiplies);
 * W comes from a reduction of the weights into device scratch first.
 */
#include <math.h>
#include <stdint.h>

#include "common.cuh"
#include "line_reduce.cuh"
#include "loss_args.h"

namespace {

/* Offsets in this thread's scratch (get_line_scratch): the validation flag,
 * the weights' sum W, then the partial sums of W's reduction. */
#define FLAG_OFFSET 0
#define WSUM_OFFSET 8
#define PARTIAL_OFFSET 16

/* *bad = 1 if a target is neither ignore_index nor in [0, c).  Threads only
 * ever write 1, so racing writes agree. */
__global__ void check_targets_kernel(int64_t n, int64_t c, const int64_t *target,
                                     int64_t ignore_index, int *bad) {
    MG_CUDA_FOR(i, n) {
        const int64_t t = target[i];
        if (t != ignore_index && (t < 0 || t >= c)) *bad = 1;
    }
}

/* MG_ERR_INDEX unless every target (device memory) is valid; n > 0.  Reads
 * the flag back synchronously.  `scratch` is this call's scratch. */
int check_targets(int64_t n, int64_t c, const int64_t *target, int64_t ignore_index,
                  unsigned char *scratch) {
    int *flag = reinterpret_cast<int *>(scratch + FLAG_OFFSET);
    MG_CUDA_TRY(cudaMemsetAsync(flag, 0, sizeof(int), 0));
    check_targets_kernel<<<mg_cuda_blocks(n, MG_CUDA_BLOCK), MG_CUDA_BLOCK>>>(n, c, target,
                                                                              ignore_index, flag);
    MG_CUDA_LAUNCHED("cross_entropy_check_targets");
    int bad = 0;
    /* a copy to pageable host memory waits for the kernel before it */
    MG_CUDA_TRY(cudaMemcpy(&bad, flag, sizeof(int), cudaMemcpyDeviceToHost));
    return bad ? MG_ERR_INDEX : MG_OK;
}

/* ---- forward ------------------------------------------------------------------ */

template <typename T>
struct CrossEntropyTask {
    const T *logits;
    const int64_t *target;
    const T *w;
    int64_t ignore_index;
    double ls;
    T *loss, *row_weight, *log_probs;
    LineShape s; /* outer = n rows, n = c classes, inner = 1 */

    template <typename Reducer>
    __device__ __forceinline__ void operator()(const Line &l, const Reducer &red) const {
        const int64_t c = s.n;
        const T *x = logits + l.o * c;
        T *lp = log_probs + l.o * c;
        T m = Num<T>::lowest();
        for (int64_t j = l.first; j < c; j += l.step) m = x[j] > m ? x[j] : m;
        m = red.reduce(m, PlainMaxOp());
        double sum = 0;
        for (int64_t j = l.first; j < c; j += l.step) sum += (double)mg_exp(x[j] - m);
        sum = red.reduce(sum, AddOp());
        const T log_sum = (T)log(sum);

        const int64_t t = target[l.o];
        const bool kept = t != ignore_index && t >= 0 && t < c; /* validated: the last two hold */
        const bool smooth = kept && ls > 0;
        PairAcc acc; /* a: logp[t] (from its one thread), b: sum_j w_j logp_j */
        acc.a = 0;
        acc.b = 0;
        for (int64_t j = l.first; j < c; j += l.step) {
            const T v = (x[j] - m) - log_sum;
            lp[j] = v;
            if (j == t) acc.a = (double)v;
            if (smooth) acc.b += w != nullptr ? (double)w[j] * (double)v : (double)v;
        }
        acc = red.reduce(acc, AddOp());
        if (!l.leader) return;
        if (!kept) {
            loss[l.o] = 0;
            row_weight[l.o] = 0;
            return;
        }
        const double wt = w != nullptr ? (double)w[t] : 1.0;
        double value = -(1.0 - ls) * wt * acc.a;
        if (smooth) value -= ls / (double)c * acc.b;
        loss[l.o] = (T)value;
        row_weight[l.o] = (T)wt;
    }
};

template <typename T>
int launch_cross_entropy(int64_t n, int64_t c, const void *logits, const int64_t *target,
                         const void *weight, int64_t ignore_index, double ls, void *loss,
                         void *row_weight, void *log_probs) {
    const LinePlan p = plan_lines(n, c, 1, false);
    const CrossEntropyTask<T> task = {static_cast<const T *>(logits), target,
                                      static_cast<const T *>(weight), ignore_index, ls,
                                      static_cast<T *>(loss), static_cast<T *>(row_weight),
                                      static_cast<T *>(log_probs), p.shape};
    return launch_lines(p, task, "cross_entropy");
}

/* ---- backward ----------------------------------------------------------------- */

/* One thread per element k = i * c + j, with loss_typed.inc's arithmetic: the
 * other classes get a exp(logp_j) - b w_j with a = (T)(g p_coeff), b = (T)(g
 * ls / c); the target's entry is computed in double.  w_sum (device) is W, or
 * NULL for W = c (no weights, or no smoothing where W is unused). */
template <typename T>
__global__ void cross_entropy_backward_kernel(int64_t n, int64_t c, const T *log_probs,
                                              const int64_t *target, const T *w,
                                              int64_t ignore_index, double ls,
                                              const double *w_sum, const T *grad_loss,
                                              T *grad) {
    const double ls_c = ls / (double)c;
    const double big_w = w_sum != nullptr ? *w_sum : (double)c;
    MG_CUDA_FOR(k, n * c) {
        const int64_t i = k / c, j = k - i * c;
        const int64_t t = target[i];
        if (t == ignore_index || t < 0 || t >= c) { /* validated: only ignore_index gets here */
            grad[k] = 0;
            continue;
        }
        const double g = (double)grad_loss[i];
        const double wt = w != nullptr ? (double)w[t] : 1.0;
        const double nll_coeff = (1.0 - ls) * wt;
        const double p_coeff = ls > 0 ? nll_coeff + ls_c * big_w : nll_coeff;
        if (j == t) {
            const double wt_smooth = ls > 0 ? ls_c * wt : 0.0;
            grad[k] = (T)(g * (p_coeff * exp((double)log_probs[k]) - wt_smooth - nll_coeff));
            continue;
        }
        const T a = (T)(g * p_coeff), b = (T)(g * ls_c);
        const T p = mg_exp(log_probs[k]);
        if (ls > 0 && w != nullptr)
            grad[k] = a * p - b * w[j];
        else if (ls > 0)
            grad[k] = a * p - b;
        else
            grad[k] = a * p;
    }
}

template <typename T>
int launch_cross_entropy_backward(int64_t n, int64_t c, const void *log_probs,
                                  const int64_t *target, const void *weight, int64_t ignore_index,
                                  double ls, const void *grad_loss, void *grad_logits,
                                  unsigned char *scratch, const LinePlan &w_plan) {
    const T *w = static_cast<const T *>(weight);
    double *w_sum = nullptr;
    if (w != nullptr && ls > 0) { /* W = sum_j w_j, in double as the CPU */
        w_sum = reinterpret_cast<double *>(scratch + WSUM_OFFSET);
        int status = run_reduce(SumOp<T, double>(), w_plan, w, w_sum, scratch + PARTIAL_OFFSET,
                                "cross_entropy_weight_sum");
        if (status != MG_OK) return status;
    }
    const int64_t total = n * c;
    cross_entropy_backward_kernel<T><<<mg_cuda_blocks(total, MG_CUDA_BLOCK), MG_CUDA_BLOCK>>>(
        n, c, static_cast<const T *>(log_probs), target, w, ignore_index, ls, w_sum,
        static_cast<const T *>(grad_loss), static_cast<T *>(grad_logits));
    MG_CUDA_LAUNCHED("cross_entropy_backward");
    return MG_OK;
}

}  // namespace

/* ---- entry points ------------------------------------------------------------ */

extern "C" int mg_cuda_cross_entropy(int dtype, int64_t n, int64_t c, const void *logits,
                                     const int64_t *target, const void *weight,
                                     int64_t ignore_index, double label_smoothing, void *loss,
                                     void *row_weight, void *log_probs) {
    int status = mg_cross_entropy_forward_check_args(dtype, n, c, label_smoothing, logits, target,
                                                     loss, row_weight, log_probs);
    if (status != MG_OK || n == 0) return status;
    void *scratch = nullptr;
    status = get_line_scratch(PARTIAL_OFFSET, &scratch);
    if (status != MG_OK) return status;
    status = check_targets(n, c, target, ignore_index, static_cast<unsigned char *>(scratch));
    if (status != MG_OK) return status;
    MG_CUDA_FLOAT_DISPATCH(dtype, return launch_cross_entropy<T>(n, c, logits, target, weight,
                                                                 ignore_index, label_smoothing,
                                                                 loss, row_weight, log_probs));
}

extern "C" int mg_cuda_cross_entropy_backward(int dtype, int64_t n, int64_t c,
                                              const void *log_probs, const int64_t *target,
                                              const void *weight, int64_t ignore_index,
                                              double label_smoothing, const void *grad_loss,
                                              void *grad_logits) {
    int status = mg_cross_entropy_backward_check_args(dtype, n, c, label_smoothing, log_probs,
                                                      target, grad_loss, grad_logits);
    if (status != MG_OK || n == 0) return status;
    /* One scratch request for the whole call (a second could move the buffer):
     * flag, W, and the partial sums W's reduction may need. */
    const LinePlan w_plan = plan_lines(1, c, 1, true);
    const size_t partial = dtype == MG_FLOAT32 ? partial_bytes<SumOp<float, double> >(w_plan)
                                               : partial_bytes<SumOp<double, double> >(w_plan);
    void *scratch = nullptr;
    status = get_line_scratch(PARTIAL_OFFSET + partial, &scratch);
    if (status != MG_OK) return status;
    unsigned char *bytes = static_cast<unsigned char *>(scratch);
    status = check_targets(n, c, target, ignore_index, bytes);
    if (status != MG_OK) return status;
    if (c == 0) return MG_OK; /* nothing to write */
    MG_CUDA_FLOAT_DISPATCH(dtype, return launch_cross_entropy_backward<T>(
                                      n, c, log_probs, target, weight, ignore_index,
                                      label_smoothing, grad_loss, grad_logits, bytes, w_plan));
}
