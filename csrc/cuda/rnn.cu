/*
 * rnn.cu -- fused recurrent layers on the GPU (tanh/ReLU RNN, GRU, LSTM): one
 * layer, one direction, a whole time-major sequence per call, forward and
 * backward (mg_cuda_rnn_workspace_size, mg_cuda_rnn_forward,
 * mg_cuda_rnn_backward).  Same semantics, checks and status codes as
 * mg_rnn_forward / mg_rnn_backward (csrc/rnn.c, rnn_typed.inc); the gate
 * arithmetic is in rnn_cells.cuh.
 *
 * Shapes (S = T*B rows, G gates, GH = G*H; row (t, b) of an (S, ...) buffer
 * is row t*B + b; O = the width of y and h: H, or P for an LSTM whose outputs
 * are projected by w_hr (P, H), mg_cuda_lstm_proj_*):
 *   x (S, n_in), w_ih (GH, n_in), w_hh (GH, O), y (S, O), h0 (B, O), c0 (B, H).
 *
 * Forward:  one gemm for the input products of all steps, gates (S, GH) =
 *           x W_ih^T; then per step one gemm for the recurrent product
 *           h W_hh^T ((B, H) x (H, GH), added to the step's gates; GRU: into
 *           gh, because r multiplies its n part) and one fused gate kernel
 *           (activations, state update, y, what backward keeps), one thread
 *           per (b, j) hidden unit.  Projected: the gate kernel writes r =
 *           o * tanh c, one more gemm gives y_t = r W_hr^T, and the state
 *           takes y_t's rows of the sequences still running.
 * Backward: per step, in reverse, one fused gate-gradient kernel (one thread
 *           per unit) into da (S, GH), then one gemm dh += da_t W_hh; after
 *           the loop, the weight and input gradients as gemms over all
 *           steps: dx = da W_ih, dW_ih = da^T x, dW_hh = da^T h_prev (h_prev
 *           is y shifted by one step, h0 for each sequence's first step),
 *           and the bias gradients as column sums of da.  Projected: per step
 *           first dht = dy_t + dh (kept), dr = dht W_hr (the gate kernel's
 *           dy); after the loop dW_hr = dht^T r.
 * Everything is launched on the default stream; nothing waits inside the
 * step loops.  The one synchronisation, when lengths are given, reads them
 * (a device array) back to validate them as the CPU kernel does, before any
 * launch.
 *
 * Workspace (mg_cuda_rnn_workspace_size elements of the dtype):
 *   RNN  nothing: y holds the pre-activations, then h; tanh'/relu' are read
 *        from h.
 *   LSTM [gates (S, 4H): i, f, g, o after activation | c (S, H)]
 *        (tanh(c) is recomputed by backward rather than stored); projected,
 *        [... | r (S, H)], the outputs before the projection.
 *   GRU  [gates (S, 3H): r, z, n after activation | W_hn h + b_hn (S, H) |
 *        gh (B, 3H): the step's recurrent product, scratch of forward only].
 * Forward without a workspace (inference) takes its gates from device
 * scratch; backward takes its da buffers from device scratch (scratch.cuh).
 */
#include <stdlib.h>

#include "common.cuh"
#include "gemm.cuh"
#include "rnn_args.h"
#include "rnn_cells.cuh"
#include "scratch.cuh"

/* Everything but the entry points has internal linkage: kernel templates named
 * alike in another file must not merge with these. */
namespace {

/* ---- device helpers --------------------------------------------------------- */

/* b_ih[j] + b_hh[j] with missing biases as zeros (the CPU's folded bias). */
template <typename T>
__device__ __forceinline__ T rnn_bias(const T *b_ih, const T *b_hh, int64_t j) {
    return (b_ih != nullptr ? b_ih[j] : T(0)) + (b_hh != nullptr ? b_hh[j] : T(0));
}

/* ---- forward step kernels: one thread per (b, j) of the (B, H) state ------- */

template <typename T>
struct FwdStep {
    int64_t t, B, H;
    const int64_t *lengths;
    const T *b_ih, *b_hh; /* (GH) or NULL */
    T *gates_t;           /* (B, GH): this step's products, overwritten with the gates */
    const T *gh;          /* GRU: (B, 3H) recurrent product h W_hh^T */
    T *h, *c;             /* running state (B, H); c for LSTM; h NULL when projected */
    T *y_t;               /* (B, H); a projected LSTM's r_t */
    T *save_t;            /* LSTM c', GRU W_hn h + b_hn (B, H); NULL without workspace */
    bool relu;
};

/* RNN: gates_t is y_t (the products, overwritten with h'). */
template <typename T>
__global__ void rnn_forward_step_kernel(const FwdStep<T> s) {
    MG_CUDA_FOR(idx, s.B * s.H) {
        const int64_t b = idx / s.H, j = idx % s.H;
        if (!mg_rnn_active(s.lengths, s.t, b)) { /* past this sequence's end: state kept, y = 0 */
            s.y_t[idx] = T(0);
            continue;
        }
        const T v = mg_rnn_unit_forward(s.relu, s.y_t[idx], rnn_bias(s.b_ih, s.b_hh, j));
        s.y_t[idx] = v;
        s.h[idx] = v;
    }
}

template <typename T>
__global__ void lstm_forward_step_kernel(const FwdStep<T> s) {
    const int64_t H = s.H;
    MG_CUDA_FOR(idx, s.B * H) {
        const int64_t b = idx / H, j = idx % H;
        if (!mg_rnn_active(s.lengths, s.t, b)) {
            s.y_t[idx] = T(0);
            continue;
        }
        T *gates = s.gates_t + b * 4 * H + j; /* gate q of unit j at gates[q * H] */
        T a[4], act[4], c_new, tc;
#pragma unroll
        for (int q = 0; q < 4; q++) a[q] = gates[q * H] + rnn_bias(s.b_ih, s.b_hh, q * H + j);
        mg_lstm_unit_forward(a, s.c[idx], act, &c_new, &tc);
#pragma unroll
        for (int q = 0; q < 4; q++) gates[q * H] = act[q];
        const T h_new = act[3] * tc;
        s.c[idx] = c_new;
        if (s.h != nullptr) s.h[idx] = h_new; /* (projected: the state comes after W_hr) */
        s.y_t[idx] = h_new;
        if (s.save_t != nullptr) s.save_t[idx] = c_new;
    }
}

/* GRU: gates_t holds the input products x W_ih^T only; gh the recurrent ones. */
template <typename T>
__global__ void gru_forward_step_kernel(const FwdStep<T> s) {
    const int64_t H = s.H;
    MG_CUDA_FOR(idx, s.B * H) {
        const int64_t b = idx / H, j = idx % H;
        if (!mg_rnn_active(s.lengths, s.t, b)) {
            s.y_t[idx] = T(0);
            continue;
        }
        T *gates = s.gates_t + b * 3 * H + j;
        const T *gh = s.gh + b * 3 * H + j;
        /* r and z see both biases; n sees b_in outside and b_hn inside r (...) */
        const T a_r = gates[0] + gh[0] + rnn_bias(s.b_ih, s.b_hh, j);
        const T a_z = gates[H] + gh[H] + rnn_bias(s.b_ih, s.b_hh, H + j);
        const T hn = gh[2 * H] + (s.b_hh != nullptr ? s.b_hh[2 * H + j] : T(0));
        const T x_n = gates[2 * H] + (s.b_ih != nullptr ? s.b_ih[2 * H + j] : T(0));
        T r, z, n;
        const T h_new = mg_gru_unit_forward(a_r, a_z, x_n, hn, s.h[idx], &r, &z, &n);
        gates[0] = r;
        gates[H] = z;
        gates[2 * H] = n;
        s.h[idx] = h_new;
        s.y_t[idx] = h_new;
        if (s.save_t != nullptr) s.save_t[idx] = hn;
    }
}

/* ---- backward step kernels: one thread per (b, j) ------------------------- */
/* Each reads dy_t and the carried dh (dc), writes the pre-activation
 * gradients of step t into da_ih_t (and da_hh_t, GRU: the hidden side's n
 * part differs), and leaves in dh the part of dL/dh_prev that does not go
 * through W_hh (the gemm after the kernel adds da_hh_t W_hh).  Steps past a
 * sequence's end get zero gradients and pass dh, dc through unchanged. */

template <typename T>
struct BwdStep {
    int64_t t, steps, B, H;
    int reverse;
    const int64_t *lengths;
    const T *dy_t;            /* (B, H) */
    T *dh, *dc;               /* carried gradients (B, H) */
    T *da_ih_t, *da_hh_t;     /* (B, GH); the same buffer except for GRU */
    const T *y;               /* (S, H), whole sequence */
    const T *gates, *save;    /* workspace: gates (S, GH), c or W_hn h + b_hn (S, H) */
    const T *h0, *c0;         /* (B, H) */
    bool relu;
};

template <typename T>
__global__ void rnn_backward_step_kernel(const BwdStep<T> s) {
    MG_CUDA_FOR(idx, s.B * s.H) {
        const int64_t b = idx / s.H;
        if (!mg_rnn_active(s.lengths, s.t, b)) {
            s.da_ih_t[idx] = T(0);
            continue;
        }
        const T d_h = s.dy_t[idx] + s.dh[idx];
        s.da_ih_t[idx] = mg_rnn_unit_backward(s.relu, s.y[s.t * s.B * s.H + idx], d_h);
        s.dh[idx] = T(0);
    }
}

template <typename T>
__global__ void lstm_backward_step_kernel(const BwdStep<T> s) {
    const int64_t H = s.H;
    MG_CUDA_FOR(idx, s.B * H) {
        const int64_t b = idx / H, j = idx % H;
        T *da = s.da_ih_t + b * 4 * H + j;
        if (!mg_rnn_active(s.lengths, s.t, b)) {
#pragma unroll
            for (int q = 0; q < 4; q++) da[q * H] = T(0);
            continue;
        }
        const int64_t row = s.t * s.B + b;
        const int64_t prev = mg_rnn_prev_row(s.lengths, s.reverse, s.t, s.steps, s.B, b);
        const T *gates = s.gates + row * 4 * H + j;
        T act[4], g[4];
#pragma unroll
        for (int q = 0; q < 4; q++) act[q] = gates[q * H];
        const T tc = mg_rnn_tanh(s.save[row * H + j]);
        const T c_prev = prev >= 0 ? s.save[prev * H + j] : (s.c0 != nullptr ? s.c0[idx] : T(0));
        T dc = s.dc[idx];
        mg_lstm_unit_backward(act, tc, c_prev, s.dy_t[idx] + s.dh[idx], &dc, g);
#pragma unroll
        for (int q = 0; q < 4; q++) da[q * H] = g[q];
        s.dc[idx] = dc;
        s.dh[idx] = T(0);
    }
}

template <typename T>
__global__ void gru_backward_step_kernel(const BwdStep<T> s) {
    const int64_t H = s.H;
    MG_CUDA_FOR(idx, s.B * H) {
        const int64_t b = idx / H, j = idx % H;
        T *da_ih = s.da_ih_t + b * 3 * H + j, *da_hh = s.da_hh_t + b * 3 * H + j;
        if (!mg_rnn_active(s.lengths, s.t, b)) {
#pragma unroll
            for (int q = 0; q < 3; q++) {
                da_ih[q * H] = T(0);
                da_hh[q * H] = T(0);
            }
            continue;
        }
        const int64_t row = s.t * s.B + b;
        const int64_t prev = mg_rnn_prev_row(s.lengths, s.reverse, s.t, s.steps, s.B, b);
        const T *gates = s.gates + row * 3 * H + j;
        const T r = gates[0], z = gates[H], n = gates[2 * H];
        const T h_prev = prev >= 0 ? s.y[prev * H + j] : (s.h0 != nullptr ? s.h0[idx] : T(0));
        T g[3];
        const T dh_rest = mg_gru_unit_backward(r, z, n, s.save[row * H + j], h_prev,
                                               s.dy_t[idx] + s.dh[idx], g);
        da_ih[0] = g[0];
        da_ih[H] = g[1];
        da_ih[2 * H] = g[2];
        da_hh[0] = g[0];
        da_hh[H] = g[1];
        da_hh[2 * H] = g[2] * r;
        s.dh[idx] = dh_rest;
    }
}

/* ---- a projected LSTM's steps: one thread per (b, k) of the (B, P) state ---- */

/* Forward: the state h takes y_t's rows (y_t = r_t W_hr^T) of the sequences
 * still running; rows past a sequence's end (r = 0, so y = 0) keep theirs. */
template <typename T>
__global__ void keep_running_rows_kernel(int64_t t, int64_t B, int64_t P,
                                         const int64_t *lengths, const T *y_t, T *h) {
    MG_CUDA_FOR(idx, B * P) {
        if (mg_rnn_active(lengths, t, idx / P)) h[idx] = y_t[idx];
    }
}

/* Backward: dht_t = dy_t + dh, the gradient of the step's output (kept for
 * dW_hr), and dh = 0 (it then gathers what flows back through W_hh alone);
 * rows past a sequence's end get dht = 0 and keep dh. */
template <typename T>
__global__ void unproject_kernel(int64_t t, int64_t B, int64_t P, const int64_t *lengths,
                                 const T *dy_t, T *dh, T *dht_t) {
    MG_CUDA_FOR(idx, B * P) {
        if (mg_rnn_active(lengths, t, idx / P)) {
            dht_t[idx] = dy_t[idx] + dh[idx];
            dh[idx] = T(0);
        } else {
            dht_t[idx] = T(0);
        }
    }
}

/* ---- after the step loop -------------------------------------------------- */

/* out (cols) = sum over the rows of m (rows, cols), rows added in a fixed
 * order (deterministic).  Blocks of 32 x 16 threads: a warp reads 32
 * neighbouring columns of one row (coalesced), the 16 warps take every 16th
 * row, and shared memory adds up the 16 partial sums of each column. */
#define COLSUM_X 32
#define COLSUM_Y 16
template <typename T>
__global__ void column_sums_kernel(int64_t rows, int64_t cols, const T *__restrict__ m,
                                   T *__restrict__ out) {
    __shared__ T partial[COLSUM_Y][COLSUM_X + 1];
    for (int64_t col0 = (int64_t)blockIdx.x * COLSUM_X; col0 < cols;
         col0 += (int64_t)gridDim.x * COLSUM_X) {
        const int64_t col = col0 + threadIdx.x;
        T sum = T(0);
        if (col < cols)
            for (int64_t r = threadIdx.y; r < rows; r += COLSUM_Y) sum += m[r * cols + col];
        partial[threadIdx.y][threadIdx.x] = sum;
        __syncthreads();
        if (threadIdx.y == 0 && col < cols) {
            T total = T(0);
            for (int y = 0; y < COLSUM_Y; y++) total += partial[y][threadIdx.x];
            out[col] = total;
        }
        __syncthreads(); /* partial is reused by the next column group */
    }
}

/* first (B, GH) = da_hh's row of each sequence's first step when reversed
 * with lengths (t = lengths[b] - 1), zeros for empty sequences: the rows
 * whose previous state is h0, for dW_hh += first^T h0. */
template <typename T>
__global__ void gather_first_rows_kernel(int64_t B, int64_t GH, const int64_t *lengths,
                                         const T *da_hh, T *first) {
    MG_CUDA_FOR(idx, B * GH) {
        const int64_t b = idx / GH, q = idx % GH;
        const int64_t len = lengths[b];
        first[idx] = len > 0 ? da_hh[((len - 1) * B + b) * GH + q] : T(0);
    }
}

} /* namespace */

/* ---- host side (the problem and its checks: rnn_args.h) ---------------------- */

/* Workspace elements for (cell, T, B, H) with a projection of P (0: none), or
 * -1 for an invalid argument or a size beyond MG_MAX_ELEMS. */
static int64_t workspace_size(int cell, int64_t T_, int64_t B, int64_t H, int64_t P) {
    const int64_t G = mg_rnn_gate_count(cell);
    if (G == 0 || T_ < 0 || B < 0 || H < 0 || P < 0 || (P > 0 && cell != MG_LSTM)) return -1;
    /* per (t, b) row: LSTM 4H gates + c (+ r, projected); GRU 3H gates +
     * W_hn h + b_hn; RNN nothing.  GRU also one step's recurrent product (B, 3H). */
    const int64_t per_unit = cell == MG_LSTM ? (P > 0 ? 6 : 5) : (cell == MG_GRU ? 4 : 0);
    int64_t rows, row_size, size, extra = 0;
    if (!mg_mul_fits(T_, B, &rows) || !mg_mul_fits(H, per_unit, &row_size) ||
        !mg_mul_fits(rows, row_size, &size))
        return -1;
    if (cell == MG_GRU && !mg_mul_fits(B, 3 * H, &extra)) return -1; /* 3H fits: H*4 did */
    return size + extra <= MG_MAX_ELEMS ? size + extra : -1;
}

extern "C" int64_t mg_cuda_rnn_workspace_size(int cell, int64_t T_, int64_t B, int64_t H) {
    return workspace_size(cell, T_, B, H, 0);
}

extern "C" int64_t mg_cuda_lstm_proj_workspace_size(int64_t T_, int64_t B, int64_t H, int64_t P) {
    return workspace_size(MG_LSTM, T_, B, H, P);
}

namespace {

/* rnn_args.h's lengths check: lengths (a device array of B values) must lie
 * in [0, T]: read back and checked on the host, as the CPU kernel checks it
 * (this synchronises). */
static int check_lengths(const int64_t *lengths, int64_t B, int64_t T_) {
    if (lengths == nullptr || B == 0) return MG_OK;
    int64_t *host = (int64_t *)malloc((size_t)B * sizeof(int64_t));
    MG_CHECK(host != nullptr, MG_ERR_NOMEM);
    const cudaError_t err =
        cudaMemcpy(host, lengths, (size_t)B * sizeof(int64_t), cudaMemcpyDeviceToHost);
    int status = MG_OK;
    if (err != cudaSuccess) {
        status = mg_cuda_fail("cudaMemcpy(lengths)", err);
    } else {
        for (int64_t b = 0; b < B && status == MG_OK; b++)
            if (host[b] < 0 || host[b] > T_) status = MG_ERR_SIZE;
    }
    free(host);
    return status;
}

/* dst (n elements) = src, or zeros when src is NULL; in stream order. */
template <typename T>
static int copy_or_zero(T *dst, const void *src, int64_t n) {
    if (n == 0) return MG_OK; /* the pointers may be NULL then */
    if (src == nullptr)
        MG_CUDA_TRY(cudaMemsetAsync(dst, 0, (size_t)n * sizeof(T), 0)); /* all-zero bits: +0.0 */
    else if (src != dst)
        MG_CUDA_TRY(cudaMemcpyAsync(dst, src, (size_t)n * sizeof(T), cudaMemcpyDeviceToDevice, 0));
    return MG_OK;
}

/* The product every step and every weight gradient uses: C (m, n) (ldc = n)
 * = alpha op(A) op(B) + beta C, one problem, through mg_cuda_gemm_device. */
static int rnn_gemm(int dtype, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                    const void *a, int64_t lda, const void *b, int64_t ldb, double beta, void *c) {
    return mg_cuda_gemm_device(dtype, trans_a, trans_b, 1, m, n, k, 1.0, a, lda, 0, b, ldb, 0,
                               beta, c, n, 0);
}

/* ---- forward ---------------------------------------------------------------- */

template <typename T>
static int forward_impl(const mg_rnn_problem &p, T *y, T *h_n, T *c_n, T *ws) {
    const int64_t steps = p.steps, B = p.B, H = p.H, GH = p.G * p.H, S = steps * B;
    const int64_t P = p.P, O = p.O;
    const bool lstm = p.cell == MG_LSTM, gru = p.cell == MG_GRU;
    const bool rnn = !lstm && !gru;

    int status = copy_or_zero(h_n, p.h0, B * O); /* the running state */
    if (status == MG_OK && lstm) status = copy_or_zero(c_n, p.c0, B * H);
    if (status != MG_OK || S == 0 || H == 0) return status;

    /* gates (S, GH), per-step extras (S, H), GRU's gh (B, GH), a projected LSTM's
     * unprojected outputs r (S, H) (inference: one step's (B, H), reused) */
    T *gates, *save = nullptr, *gh = nullptr, *r = nullptr;
    int64_t r_step = 0;
    MgDeviceScratch scratch;
    if (rnn) {
        gates = y;
    } else if (ws != nullptr) {
        gates = ws;
        save = ws + S * GH;
        gh = gru ? save + S * H : nullptr;
        r = P > 0 ? save + S * H : nullptr;
        r_step = B * H;
    } else { /* inference: nothing kept for backward */
        const int64_t extra = gru ? B * GH : (P > 0 ? B * H : 0);
        const cudaError_t err = scratch.allocate((size_t)(S * GH + extra) * sizeof(T));
        if (err != cudaSuccess) return mg_cuda_fail("cudaMallocAsync (rnn forward scratch)", err);
        gates = scratch.as<T>();
        gh = gru ? gates + S * GH : nullptr;
        r = P > 0 ? gates + S * GH : nullptr;
    }

    /* the input products of every step at once: gates = x W_ih^T */
    status = rnn_gemm(p.dtype, 0, 1, S, GH, p.n_in, p.x, p.n_in, p.w_ih, p.n_in, 0.0, gates);

    FwdStep<T> s;
    s.B = B;
    s.H = H;
    s.lengths = p.lengths;
    s.b_ih = (const T *)p.b_ih;
    s.b_hh = (const T *)p.b_hh;
    s.gh = gh;
    s.h = P > 0 ? nullptr : h_n; /* projected: the state is y's rows, after W_hr */
    s.c = c_n;
    s.relu = p.cell == MG_RNN_RELU;
    const unsigned grid = mg_cuda_blocks(B * H, MG_CUDA_BLOCK);
    for (int64_t i = 0; i < steps && status == MG_OK; i++) {
        const int64_t t = p.reverse ? steps - 1 - i : i;
        T *y_t = y + t * B * O;
        s.t = t;
        s.gates_t = gates + t * B * GH;
        s.y_t = P > 0 ? r + t * r_step : y_t;
        s.save_t = save != nullptr ? save + t * B * H : nullptr;
        /* the recurrent product, from the running state h_n */
        if (gru)
            status = rnn_gemm(p.dtype, 0, 1, B, GH, H, h_n, H, p.w_hh, H, 0.0, gh);
        else
            status = rnn_gemm(p.dtype, 0, 1, B, GH, O, h_n, O, p.w_hh, O, 1.0, s.gates_t);
        if (status != MG_OK) break;
        if (lstm)
            lstm_forward_step_kernel<T><<<grid, MG_CUDA_BLOCK>>>(s);
        else if (gru)
            gru_forward_step_kernel<T><<<grid, MG_CUDA_BLOCK>>>(s);
        else
            rnn_forward_step_kernel<T><<<grid, MG_CUDA_BLOCK>>>(s);
        MG_CUDA_LAUNCHED("rnn forward step kernel");
        if (P > 0) { /* y_t = r_t W_hr^T, then the state */
            status = rnn_gemm(p.dtype, 0, 1, B, P, H, s.y_t, H, p.w_hr, H, 0.0, y_t);
            if (status != MG_OK) break;
            keep_running_rows_kernel<T><<<mg_cuda_blocks(B * P, MG_CUDA_BLOCK), MG_CUDA_BLOCK>>>(
                t, B, P, p.lengths, y_t, h_n);
            MG_CUDA_LAUNCHED("keep_running_rows_kernel");
        }
    }
    return status;
}

/* ---- backward --------------------------------------------------------------- */

/* dW_hh = sum over steps of da_hh_t^T h_prev_t.  The previous state of step t
 * is row t-1 (reversed: t+1) of y, except at each sequence's first step,
 * where it is h0: one gemm pairs da_hh's rows with y shifted by one step
 * (a reversed ragged sequence's first step meets a zero row of y, past its
 * end; steps past the end have zero gradients), a second adds first^T h0,
 * first = the first steps' rows of da_hh. */
template <typename T>
static int weight_hh_gradient(const mg_rnn_problem &p, const T *y, const T *da_hh, T *first,
                              T *dw_hh) {
    const int64_t steps = p.steps, B = p.B, O = p.O, GH = p.G * p.H, S = steps * B;
    if (S == 0) /* no steps: zeros */
        return rnn_gemm(p.dtype, 1, 0, GH, O, 0, nullptr, GH, nullptr, O, 0.0, dw_hh);
    const T *da_shifted = p.reverse ? da_hh : da_hh + B * GH;
    const T *y_shifted = p.reverse ? y + B * O : y;
    int status = rnn_gemm(p.dtype, 1, 0, GH, O, (steps - 1) * B, da_shifted, GH, y_shifted, O,
                          0.0, dw_hh);
    if (status != MG_OK) return status;
    const T *da_first = da_hh; /* forward: every sequence starts at t = 0 */
    if (p.reverse && p.lengths == nullptr) {
        da_first = da_hh + (steps - 1) * B * GH;
    } else if (p.reverse) {
        gather_first_rows_kernel<T><<<mg_cuda_blocks(B * GH, MG_CUDA_BLOCK), MG_CUDA_BLOCK>>>(
            B, GH, p.lengths, da_hh, first);
        MG_CUDA_LAUNCHED("gather_first_rows_kernel");
        da_first = first;
    }
    return rnn_gemm(p.dtype, 1, 0, GH, O, B, da_first, GH, p.h0, O, 1.0, dw_hh);
}

/* out (cols) = column sums of m (rows, cols). */
template <typename T>
static int column_sums(int64_t rows, int64_t cols, const T *m, T *out) {
    if (cols == 0) return MG_OK;
    const int64_t groups = (cols + COLSUM_X - 1) / COLSUM_X;
    const unsigned grid = (unsigned)(groups < 65535 ? groups : 65535);
    column_sums_kernel<T><<<grid, dim3(COLSUM_X, COLSUM_Y)>>>(rows, cols, m, out);
    MG_CUDA_LAUNCHED("column_sums_kernel");
    return MG_OK;
}

template <typename T>
static int backward_impl(const mg_rnn_problem &p, const T *y, const T *ws, const mg_rnn_grads &g) {
    const int64_t steps = p.steps, B = p.B, n_in = p.n_in, H = p.H, GH = p.G * p.H;
    const int64_t S = steps * B, P = p.P, O = p.O;
    const bool lstm = p.cell == MG_LSTM, gru = p.cell == MG_GRU;
    const bool gather_first = p.reverse && p.lengths != nullptr && S > 0 && g.dw_hh != nullptr;

    /* scratch: da (S, GH) [, GRU da_hh (S, GH)], dh (B, O) [, LSTM dc (B, H)]
     * [, first (B, GH)] [, projected: dht (S, P), dr and zeros (B, H)] */
    const int64_t da_size = S * GH, state = B * H;
    const int64_t total = da_size * (gru ? 2 : 1) + B * O + (lstm ? state : 0) +
                          (gather_first ? B * GH : 0) + (P > 0 ? S * P + 2 * state : 0);
    MgDeviceScratch scratch;
    const cudaError_t err = scratch.allocate((size_t)total * sizeof(T));
    if (err != cudaSuccess) return mg_cuda_fail("cudaMallocAsync (rnn backward scratch)", err);
    T *da = scratch.as<T>(); /* (NULL when total == 0; then nothing is addressed) */
    T *da_hh = gru ? da + da_size : da;
    T *dh = da_hh + da_size;
    T *dc = lstm ? dh + B * O : nullptr;
    T *first = dh + B * O + (lstm ? state : 0);
    T *dht = first + (gather_first ? B * GH : 0), *dr = dht + S * P, *zeros = dr + state;

    int status = copy_or_zero(dh, g.dh_n, B * O);
    if (status == MG_OK && lstm) status = copy_or_zero(dc, g.dc_n, state);
    if (status == MG_OK && P > 0) status = copy_or_zero<T>(zeros, nullptr, state);
    if (status != MG_OK) return status;

    /* the steps, last processed first */
    if (S > 0 && H > 0) {
        BwdStep<T> s;
        s.steps = steps;
        s.B = B;
        s.H = H;
        s.reverse = p.reverse;
        s.lengths = p.lengths;
        s.dh = P > 0 ? zeros : dh; /* projected: the cell's gradient comes as dy (dr) alone */
        s.dc = dc;
        s.y = y;
        s.gates = ws;
        s.save = ws != nullptr ? ws + S * GH : nullptr;
        s.h0 = (const T *)p.h0;
        s.c0 = (const T *)p.c0;
        s.relu = p.cell == MG_RNN_RELU;
        const unsigned grid = mg_cuda_blocks(B * H, MG_CUDA_BLOCK);
        for (int64_t i = steps - 1; i >= 0; i--) {
            const int64_t t = p.reverse ? steps - 1 - i : i;
            s.t = t;
            s.dy_t = (const T *)g.dy + t * B * O;
            if (P > 0) { /* dht = dy_t + dh, dr = dht W_hr: the gradient of r = o * tanh c */
                T *dht_t = dht + t * B * P;
                unproject_kernel<T><<<mg_cuda_blocks(B * P, MG_CUDA_BLOCK), MG_CUDA_BLOCK>>>(
                    t, B, P, p.lengths, s.dy_t, dh, dht_t);
                MG_CUDA_LAUNCHED("unproject_kernel");
                status = rnn_gemm(p.dtype, 0, 0, B, H, P, dht_t, P, p.w_hr, H, 0.0, dr);
                if (status != MG_OK) return status;
                s.dy_t = dr;
            }
            s.da_ih_t = da + t * B * GH;
            s.da_hh_t = da_hh + t * B * GH;
            if (lstm)
                lstm_backward_step_kernel<T><<<grid, MG_CUDA_BLOCK>>>(s);
            else if (gru)
                gru_backward_step_kernel<T><<<grid, MG_CUDA_BLOCK>>>(s);
            else
                rnn_backward_step_kernel<T><<<grid, MG_CUDA_BLOCK>>>(s);
            MG_CUDA_LAUNCHED("rnn backward step kernel");
            /* dh += da_hh_t W_hh (not needed after the last step without dh0) */
            if (i > 0 || g.dh0 != nullptr) {
                status = rnn_gemm(p.dtype, 0, 0, B, O, GH, s.da_hh_t, GH, p.w_hh, O, 1.0, dh);
                if (status != MG_OK) return status;
            }
        }
    }

    /* the gradients over all steps at once */
    if (g.dx != nullptr)
        status = rnn_gemm(p.dtype, 0, 0, S, n_in, GH, da, GH, p.w_ih, n_in, 0.0, g.dx);
    if (status == MG_OK && g.dw_ih != nullptr)
        status = rnn_gemm(p.dtype, 1, 0, GH, n_in, S, da, GH, p.x, n_in, 0.0, g.dw_ih);
    if (status == MG_OK && g.dw_hh != nullptr)
        status = weight_hh_gradient<T>(p, y, da_hh, first, (T *)g.dw_hh);
    if (status == MG_OK && g.dw_hr != nullptr) /* dW_hr = dht^T r, r after gates and c */
        status = rnn_gemm(p.dtype, 1, 0, P, H, S, dht, P, S > 0 ? ws + S * GH + S * H : nullptr,
                          H, 0.0, g.dw_hr);
    /* b_ih and b_hh enter the pre-activations alike, except GRU's n gate */
    if (status == MG_OK && g.db_ih != nullptr) status = column_sums<T>(S, GH, da, (T *)g.db_ih);
    if (status == MG_OK && g.db_hh != nullptr) {
        if (gru)
            status = column_sums<T>(S, GH, da_hh, (T *)g.db_hh);
        else if (g.db_ih != nullptr)
            status = copy_or_zero((T *)g.db_hh, g.db_ih, GH);
        else
            status = column_sums<T>(S, GH, da, (T *)g.db_hh);
    }
    if (status == MG_OK && g.dh0 != nullptr) status = copy_or_zero((T *)g.dh0, dh, B * O);
    if (status == MG_OK && lstm && g.dc0 != nullptr) status = copy_or_zero((T *)g.dc0, dc, state);
    return status; /* the scratch is freed in stream order, after its last use */
}

} /* namespace */

/* ---- entry points ----------------------------------------------------------- */

/* mg_cuda_rnn_forward and mg_cuda_lstm_proj_forward (P > 0). */
static int cuda_rnn_forward(int dtype, int cell, int64_t T_, int64_t B, int64_t n_in, int64_t H,
                            int64_t P, const void *x, const void *w_ih, const void *w_hh,
                            const void *w_hr, const void *b_ih, const void *b_hh, const void *h0,
                            const void *c0, const int64_t *lengths, int reverse, void *y,
                            void *h_n, void *c_n, void *ws) {
    mg_rnn_problem p;
    int status = mg_rnn_check_problem(&p, dtype, cell, T_, B, n_in, H, P, x, w_ih, w_hh, w_hr,
                                      b_ih, b_hh, h0, c0, lengths, reverse,
                                      workspace_size(cell, T_, B, H, P), check_lengths);
    if (status == MG_OK) status = mg_rnn_check_forward_outputs(&p, y, h_n, c_n);
    if (status != MG_OK) return status;
    /* (ws may be NULL: inference) */
    if (dtype == MG_FLOAT32)
        return forward_impl<float>(p, (float *)y, (float *)h_n, (float *)c_n, (float *)ws);
    return forward_impl<double>(p, (double *)y, (double *)h_n, (double *)c_n, (double *)ws);
}

/* mg_cuda_rnn_backward and mg_cuda_lstm_proj_backward (P > 0). */
static int cuda_rnn_backward(int dtype, int cell, int64_t T_, int64_t B, int64_t n_in, int64_t H,
                             int64_t P, const void *x, const void *w_ih, const void *w_hh,
                             const void *w_hr, const void *b_ih, const void *b_hh,
                             const void *h0, const void *c0, const int64_t *lengths, int reverse,
                             const void *y, const void *ws, const void *dy, const void *dh_n,
                             const void *dc_n, void *dx, void *dw_ih, void *dw_hh, void *dw_hr,
                             void *db_ih, void *db_hh, void *dh0, void *dc0) {
    mg_rnn_problem p;
    const int64_t ws_size = workspace_size(cell, T_, B, H, P);
    int status = mg_rnn_check_problem(&p, dtype, cell, T_, B, n_in, H, P, x, w_ih, w_hh, w_hr,
                                      b_ih, b_hh, h0, c0, lengths, reverse, ws_size,
                                      check_lengths);
    if (status == MG_OK) status = mg_rnn_check_backward_inputs(&p, y, ws, dy, ws_size);
    if (status != MG_OK) return status;

    mg_rnn_grads g;
    mg_rnn_set_grads(&g, &p, dy, dh_n, dc_n, dx, dw_ih, dw_hh, dw_hr, db_ih, db_hh, dh0, dc0);
    if (dtype == MG_FLOAT32)
        return backward_impl<float>(p, (const float *)y, (const float *)ws, g);
    return backward_impl<double>(p, (const double *)y, (const double *)ws, g);
}

extern "C" int mg_cuda_rnn_forward(int dtype, int cell, int64_t T_, int64_t B, int64_t n_in,
                                   int64_t H, const void *x, const void *w_ih, const void *w_hh,
                                   const void *b_ih, const void *b_hh, const void *h0,
                                   const void *c0, const int64_t *lengths, int reverse, void *y,
                                   void *h_n, void *c_n, void *ws) {
    return cuda_rnn_forward(dtype, cell, T_, B, n_in, H, 0, x, w_ih, w_hh, nullptr, b_ih, b_hh,
                            h0, c0, lengths, reverse, y, h_n, c_n, ws);
}

extern "C" int mg_cuda_rnn_backward(int dtype, int cell, int64_t T_, int64_t B, int64_t n_in,
                                    int64_t H, const void *x, const void *w_ih, const void *w_hh,
                                    const void *b_ih, const void *b_hh, const void *h0,
                                    const void *c0, const int64_t *lengths, int reverse,
                                    const void *y, const void *ws, const void *dy,
                                    const void *dh_n, const void *dc_n, void *dx, void *dw_ih,
                                    void *dw_hh, void *db_ih, void *db_hh, void *dh0, void *dc0) {
    return cuda_rnn_backward(dtype, cell, T_, B, n_in, H, 0, x, w_ih, w_hh, nullptr, b_ih, b_hh,
                             h0, c0, lengths, reverse, y, ws, dy, dh_n, dc_n, dx, dw_ih, dw_hh,
                             nullptr, db_ih, db_hh, dh0, dc0);
}

extern "C" int mg_cuda_lstm_proj_forward(int dtype, int64_t T_, int64_t B, int64_t n_in,
                                         int64_t H, int64_t P, const void *x, const void *w_ih,
                                         const void *w_hh, const void *w_hr, const void *b_ih,
                                         const void *b_hh, const void *h0, const void *c0,
                                         const int64_t *lengths, int reverse, void *y,
                                         void *h_n, void *c_n, void *ws) {
    return cuda_rnn_forward(dtype, MG_LSTM, T_, B, n_in, H, P, x, w_ih, w_hh, w_hr, b_ih, b_hh,
                            h0, c0, lengths, reverse, y, h_n, c_n, ws);
}

extern "C" int mg_cuda_lstm_proj_backward(int dtype, int64_t T_, int64_t B, int64_t n_in,
                                          int64_t H, int64_t P, const void *x, const void *w_ih,
                                          const void *w_hh, const void *w_hr, const void *b_ih,
                                          const void *b_hh, const void *h0, const void *c0,
                                          const int64_t *lengths, int reverse, const void *y,
                                          const void *ws, const void *dy, const void *dh_n,
                                          const void *dc_n, void *dx, void *dw_ih, void *dw_hh,
                                          void *dw_hr, void *db_ih, void *db_hh, void *dh0,
                                          void *dc0) {
    return cuda_rnn_backward(dtype, MG_LSTM, T_, B, n_in, H, P, x, w_ih, w_hh, w_hr, b_ih, b_hh,
                             h0, c0, lengths, reverse, y, ws, dy, dh_n, dc_n, dx, dw_ih, dw_hh,
                             dw_hr, db_ih, db_hh, dh0, dc0);
}
