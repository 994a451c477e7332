/*
 * reduce.cu -- the CUDA sum / max / min and argmax / argmin over the middle
 * axis of x viewed as (outer, n, inner), into out (outer, inner).
 *
 * Same contract, validation (reduce_args.h) and status codes as the CPU's
 * reduce.c, for float32, float64 and int64:
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
#include "reduce_args.h"

namespace {

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
    int status = mg_reduce_check_args(dtype, op, outer, n, inner, x, out);
    if (status != MG_OK || outer == 0 || inner == 0) return status;
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
    int status = mg_arg_reduce_check_args(dtype, op, outer, n, inner, x, out);
    if (status != MG_OK || outer == 0 || inner == 0) return status;
    switch (dtype) {
    case MG_FLOAT32: return launch_arg_reduce<float>(op, outer, n, inner, x, out);
    case MG_FLOAT64: return launch_arg_reduce<double>(op, outer, n, inner, x, out);
    default: return launch_arg_reduce<int64_t>(op, outer, n, inner, x, out);
    }
}
