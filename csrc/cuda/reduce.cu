/*
 * reduce.cu -- the CUDA sum / max / min and argmax / argmin over the middle
 * axis of x viewed as (outer, n, inner), into out (outer, inner).
 *
 * Same contract, validation and status codes as the CPU's reduce.c, for
 * float32, float64 and int64:
 *   - SUM of n == 0 gives 0; MAX/MIN/ARGMAX/ARGMIN of n == 0 is MG_ERR_EMPTY.
 *   - A NaN in a line makes its max/min NaN and its argmax/argmin the index of
 *     the first NaN; otherwise argmax/argmin is the first occurrence.
 *   - int64 sums wrap around (two's complement).
 * Float sums accumulate in double (the CPU's pairwise float sums are as
 * accurate as that to within a few float roundings); everything else is
 * exact, so max/min/argmax/argmin agree with the CPU bit for bit.
 *
 * The kernels are line_reduce.cuh's: a warp or a block per row when inner ==
 * 1, column tiles or one thread per output when inner > 1, and long lines
 * with few outputs cut into chunks whose partial results a second launch
 * combines (per-thread scratch).  Nothing synchronises.
 */
#include "common.cuh"
#include "line_reduce.cuh"

namespace {

/* Validation shared by both entry points (reduce.c's check_reduce). */
int check_reduce(int dtype, int64_t outer, int64_t n, int64_t inner) {
    MG_CHECK(mg_cuda_dtype_size(dtype) != 0, MG_ERR_DTYPE);
    MG_CHECK(outer >= 0 && n >= 0 && inner >= 0, MG_ERR_SIZE);
    return MG_OK;
}

template <typename T>
int launch_reduce(int op, int64_t outer, int64_t n, int64_t inner, const void *x, void *out) {
    const T *xs = static_cast<const T *>(x);
    T *os = static_cast<T *>(out);
    if (op == MG_SUM) return run_reduce_scratch(SumOp<T>(), outer, n, inner, xs, os, "reduce_sum");
    if (op == MG_MAX)
        return run_reduce_scratch(ExtremumOp<T, false>(), outer, n, inner, xs, os, "reduce_max");
    return run_reduce_scratch(ExtremumOp<T, true>(), outer, n, inner, xs, os, "reduce_min");
}

template <typename T>
int launch_arg_reduce(int op, int64_t outer, int64_t n, int64_t inner, const void *x,
                      int64_t *out) {
    const T *xs = static_cast<const T *>(x);
    if (op == MG_ARGMAX)
        return run_reduce_scratch(ArgOp<T, false>(), outer, n, inner, xs, out, "reduce_argmax");
    return run_reduce_scratch(ArgOp<T, true>(), outer, n, inner, xs, out, "reduce_argmin");
}

}  // namespace

/* ---- entry points ------------------------------------------------------------ */

extern "C" int mg_cuda_reduce(int dtype, int op, int64_t outer, int64_t n, int64_t inner,
                              const void *x, void *out) {
    int status = check_reduce(dtype, outer, n, inner);
    if (status != MG_OK) return status;
    MG_CHECK(op == MG_SUM || op == MG_MAX || op == MG_MIN, MG_ERR_OP);
    if (op != MG_SUM) MG_CHECK(n > 0, MG_ERR_EMPTY);
    if (outer == 0 || inner == 0) return MG_OK;
    MG_CHECK(out != NULL && (n == 0 || x != NULL), MG_ERR_NULL);
    if (n == 0) { /* an empty sum: all-zero bits are 0 in every dtype */
        const size_t bytes = (size_t)(outer * inner) * mg_cuda_dtype_size(dtype);
        MG_CUDA_TRY(cudaMemsetAsync(out, 0, bytes, 0));
        return MG_OK;
    }
    switch (dtype) {
    case MG_FLOAT32: return launch_reduce<float>(op, outer, n, inner, x, out);
    case MG_FLOAT64: return launch_reduce<double>(op, outer, n, inner, x, out);
    default: return launch_reduce<int64_t>(op, outer, n, inner, x, out);
    }
}

extern "C" int mg_cuda_arg_reduce(int dtype, int op, int64_t outer, int64_t n, int64_t inner,
                                  const void *x, int64_t *out) {
    int status = check_reduce(dtype, outer, n, inner);
    if (status != MG_OK) return status;
    MG_CHECK(op == MG_ARGMAX || op == MG_ARGMIN, MG_ERR_OP);
    MG_CHECK(n > 0, MG_ERR_EMPTY);
    if (outer == 0 || inner == 0) return MG_OK;
    MG_CHECK(x != NULL && out != NULL, MG_ERR_NULL);
    switch (dtype) {
    case MG_FLOAT32: return launch_arg_reduce<float>(op, outer, n, inner, x, out);
    case MG_FLOAT64: return launch_arg_reduce<double>(op, outer, n, inner, x, out);
    default: return launch_arg_reduce<int64_t>(op, outer, n, inner, x, out);
    }
}
