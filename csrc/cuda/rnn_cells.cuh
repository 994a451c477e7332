/*
 * rnn_cells.cuh -- the gate arithmetic of one hidden unit of one sequence at
 * one time step, forward and backward, for each cell (private to rnn.cu).
 * The same equations as the CPU kernels (csrc/rnn_cells_typed.inc), written
 * once for float and double.
 *
 * Notation (PyTorch's): pre-activations a_* = W_i* x + b_i* + W_h* h + b_h*.
 *   RNN : h' = act(a)
 *   LSTM: i = s(a_i), f = s(a_f), g = tanh(a_g), o = s(a_o)        (s = sigmoid)
 *         c' = f c + i g,  h' = o tanh(c')
 *   GRU : r = s(a_r), z = s(a_z),
 *         n = tanh(W_in x + b_in + r (W_hn h + b_hn)),  h' = (1 - z) n + z h
 * The backward functions take d_h = dy + the gradient carried from the later
 * step and return the gradients of the pre-activations; the caller adds the
 * part of dL/dh_prev that flows through W_hh with a gemm.
 */
#ifndef MINIGRAD_CUDA_RNN_CELLS_CUH
#define MINIGRAD_CUDA_RNN_CELLS_CUH

/* ---- activations ---------------------------------------------------------- */

/* Logistic function without overflow: exp is only taken of -|x|.  NaN stays
 * NaN (the comparison fails and e / (1 + e) is NaN). */
__device__ __forceinline__ float mg_rnn_sigmoid(float x) {
    const float e = expf(-fabsf(x));
    return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
}
__device__ __forceinline__ double mg_rnn_sigmoid(double x) {
    const double e = exp(-fabs(x));
    return x >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

/* CUDA's tanhf/tanh saturate at +-1 and do not overflow. */
__device__ __forceinline__ float mg_rnn_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ double mg_rnn_tanh(double x) { return tanh(x); }

/* ---- forward -------------------------------------------------------------- */

/* RNN: pre (the products, without bias) -> h'.  ReLU keeps NaN (as PyTorch). */
template <typename T>
__device__ __forceinline__ T mg_rnn_unit_forward(bool relu, T pre, T bias) {
    const T v = pre + bias;
    return relu ? (v < T(0) ? T(0) : v) : mg_rnn_tanh(v);
}

/* LSTM: a[4] = pre-activations i, f, g, o (bias included), c = cell state
 * before the step.  Returns the activated gates in act[4], c' and tanh(c'). */
template <typename T>
__device__ __forceinline__ void mg_lstm_unit_forward(const T a[4], T c, T act[4], T *c_new,
                                                     T *tanh_c_new) {
    const T i = mg_rnn_sigmoid(a[0]);
    const T f = mg_rnn_sigmoid(a[1]);
    const T g = mg_rnn_tanh(a[2]);
    const T o = mg_rnn_sigmoid(a[3]);
    const T cn = f * c + i * g;
    act[0] = i;
    act[1] = f;
    act[2] = g;
    act[3] = o;
    *c_new = cn;
    *tanh_c_new = mg_rnn_tanh(cn);
}

/* GRU: a_r, a_z = full pre-activations of r and z; x_n = W_in x + b_in;
 * hn = W_hn h + b_hn; h = state before the step.  Returns r, z, n and h'. */
template <typename T>
__device__ __forceinline__ T mg_gru_unit_forward(T a_r, T a_z, T x_n, T hn, T h, T *r, T *z,
                                                 T *n) {
    *r = mg_rnn_sigmoid(a_r);
    *z = mg_rnn_sigmoid(a_z);
    *n = mg_rnn_tanh(x_n + *r * hn);
    return (T(1) - *z) * *n + *z * h;
}

/* ---- backward ------------------------------------------------------------- */

/* RNN: h' is this step's output; tanh' = 1 - h'^2, relu' = [h' > 0] (1 at NaN, as PyTorch). */
template <typename T>
__device__ __forceinline__ T mg_rnn_unit_backward(bool relu, T h_new, T d_h) {
    return relu ? (h_new <= T(0) ? T(0) : d_h) : d_h * (T(1) - h_new * h_new);
}

/* LSTM: act[4] = i, f, g, o; tc = tanh(c'); c_prev = the cell state before
 * the step; *dc = carried cell gradient, replaced by the gradient of c_prev.
 * da[4] = gradients of a_i, a_f, a_g, a_o. */
template <typename T>
__device__ __forceinline__ void mg_lstm_unit_backward(const T act[4], T tc, T c_prev, T d_h,
                                                      T *dc, T da[4]) {
    const T i = act[0], f = act[1], g = act[2], o = act[3];
    const T d_c = *dc + d_h * o * (T(1) - tc * tc); /* h' = o tanh(c') */
    da[0] = d_c * g * i * (T(1) - i);                /* c' = f c + i g  */
    da[1] = d_c * c_prev * f * (T(1) - f);
    da[2] = d_c * i * (T(1) - g * g);
    da[3] = d_h * tc * o * (T(1) - o);
    *dc = d_c * f;
}

/* GRU: r, z, n activated; hn = W_hn h + b_hn; h_prev = state before the step.
 * da[3] = gradients of a_r, a_z and of n's tanh argument as the input side
 * sees it (W_in x + b_in); the hidden side's n-gradient is r * da[2].
 * Returns the part of dL/dh_prev that does not go through W_hh (z d_h). */
template <typename T>
__device__ __forceinline__ T mg_gru_unit_backward(T r, T z, T n, T hn, T h_prev, T d_h, T da[3]) {
    const T d_n = d_h * (T(1) - z) * (T(1) - n * n);
    da[0] = d_n * hn * r * (T(1) - r);
    da[1] = d_h * (h_prev - n) * z * (T(1) - z);
    da[2] = d_n;
    return d_h * z;
}

#endif /* MINIGRAD_CUDA_RNN_CELLS_CUH */
