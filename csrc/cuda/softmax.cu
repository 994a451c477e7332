/*
 * softmax.cu -- the CUDA softmax, log_softmax, their backward, and logsumexp
 * over the middle axis of x viewed as (outer, n, inner).
 *
 * Same contract, validation (softmax_args.h) and status codes as the CPU's
 * softmax.c, and the same arithmetic per line:
 *   softmax      m = max(x); s = sum exp(x - m) (exp in T, summed in double);
 *                y = exp(x - m) * (T)(1 / s)
 *   log_softmax  y = (x - m) - (T)log(s)
 *   backward     softmax:     gx = y * (gy - (T)sum(gy * y))   (products in T)
 *                log_softmax: gx = gy - exp(y) * (T)sum(gy)
 *   logsumexp    shift = m unless m is infinite (then 0);
 *                out = shift + (T)log(sum exp(x - shift)); n == 0 gives -inf
 * so the special rows match the CPU (and PyTorch): a NaN, a +inf, or an all
 * -inf row gives NaN from softmax/log_softmax; logsumexp of an all -inf row is
 * -inf and of a row holding +inf is +inf.  The sums accumulate in double
 * (the CPU: T within blocks of 256, double across), so results agree with the
 * CPU to a few roundings of T.
 *
 * Each line is read two or three times by the same group of threads
 * (line_reduce.cuh's geometries: a warp or a block per row when inner == 1,
 * column tiles or one thread per line when inner > 1); the reductions
 * between the passes are barriers, and every element is written by the
 * thread that read it in the last pass, so x may be y (gy may be gx).
 * Nothing synchronises.
 */
#include <math.h>

#include "common.cuh"
#include "line_reduce.cuh"
#include "softmax_args.h"

namespace {

/* The visiting order of line_reduce.cuh, over a whole line (no chunks):
 * element i of line l is at base[i * inner]. */
#define FOR_LINE(l, s, i) for (int64_t i = (l).first; (l).active && i < (s).n; i += (l).step)

template <typename T>
struct SoftmaxTask {
    const T *x;
    T *y;
    LineShape s;
    bool take_log;

    template <typename Reducer>
    __device__ __forceinline__ void operator()(const Line &l, const Reducer &red) const {
        const int64_t base = l.o * s.n * s.inner + l.j;
        const T *xl = x + base;
        T *yl = y + base;
        T m = Num<T>::lowest();
        FOR_LINE(l, s, i) {
            const T v = xl[i * s.inner];
            m = v > m ? v : m;
        }
        m = red.reduce(m, PlainMaxOp());
        double sum = 0;
        FOR_LINE(l, s, i) sum += (double)mg_exp(xl[i * s.inner] - m);
        sum = red.reduce(sum, AddOp());
        if (take_log) {
            const T log_sum = (T)log(sum);
            FOR_LINE(l, s, i) yl[i * s.inner] = (xl[i * s.inner] - m) - log_sum;
        } else {
            const T inv_sum = (T)(1.0 / sum);
            FOR_LINE(l, s, i) yl[i * s.inner] = mg_exp(xl[i * s.inner] - m) * inv_sum;
        }
    }
};

template <typename T>
struct SoftmaxBackwardTask {
    const T *y;
    const T *gy;
    T *gx;
    LineShape s;
    bool take_log;

    template <typename Reducer>
    __device__ __forceinline__ void operator()(const Line &l, const Reducer &red) const {
        const int64_t base = l.o * s.n * s.inner + l.j;
        const T *yl = y + base;
        const T *gyl = gy + base;
        T *gxl = gx + base;
        double acc = 0;
        if (take_log) {
            FOR_LINE(l, s, i) acc += (double)gyl[i * s.inner];
        } else {
            FOR_LINE(l, s, i) {
                const T prod = gyl[i * s.inner] * yl[i * s.inner]; /* rounded to T, as the CPU */
                acc += (double)prod;
            }
        }
        const T total = (T)red.reduce(acc, AddOp());
        if (take_log) {
            FOR_LINE(l, s, i) {
                const int64_t k = i * s.inner;
                gxl[k] = gyl[k] - mg_exp(yl[k]) * total;
            }
        } else {
            FOR_LINE(l, s, i) {
                const int64_t k = i * s.inner;
                gxl[k] = yl[k] * (gyl[k] - total);
            }
        }
    }
};

template <typename T>
struct LogsumexpTask {
    const T *x;
    T *out;
    LineShape s;

    template <typename Reducer>
    __device__ __forceinline__ void operator()(const Line &l, const Reducer &red) const {
        const T *xl = x + l.o * s.n * s.inner + l.j;
        T m = Num<T>::lowest(); /* also the answer's shift for n == 0: log(0) = -inf */
        FOR_LINE(l, s, i) {
            const T v = xl[i * s.inner];
            m = v > m ? v : m;
        }
        m = red.reduce(m, PlainMaxOp());
        const T shift = isinf(m) ? (T)0 : m;
        double sum = 0;
        FOR_LINE(l, s, i) sum += (double)mg_exp(xl[i * s.inner] - shift);
        sum = red.reduce(sum, AddOp());
        if (l.active && l.leader) out[l.o * s.inner + l.j] = shift + (T)log(sum);
    }
};

#undef FOR_LINE

template <typename T>
int launch_softmax(int take_log, int64_t outer, int64_t n, int64_t inner, const void *x, void *y) {
    const LinePlan p = plan_lines(outer, n, inner, false);
    const SoftmaxTask<T> task = {static_cast<const T *>(x), static_cast<T *>(y), p.shape,
                                 take_log != 0};
    return launch_lines(p, task, take_log ? "log_softmax" : "softmax");
}

template <typename T>
int launch_softmax_backward(int take_log, int64_t outer, int64_t n, int64_t inner, const void *y,
                            const void *gy, void *gx) {
    const LinePlan p = plan_lines(outer, n, inner, false);
    const SoftmaxBackwardTask<T> task = {static_cast<const T *>(y), static_cast<const T *>(gy),
                                         static_cast<T *>(gx), p.shape, take_log != 0};
    return launch_lines(p, task, take_log ? "log_softmax_backward" : "softmax_backward");
}

template <typename T>
int launch_logsumexp(int64_t outer, int64_t n, int64_t inner, const void *x, void *out) {
    const LinePlan p = plan_lines(outer, n, inner, false);
    const LogsumexpTask<T> task = {static_cast<const T *>(x), static_cast<T *>(out), p.shape};
    return launch_lines(p, task, "logsumexp");
}

}  // namespace

/* ---- entry points ------------------------------------------------------------ */

extern "C" int mg_cuda_softmax(int dtype, int log, int64_t outer, int64_t n, int64_t inner,
                               const void *x, void *y) {
    int status = mg_softmax_check_args(dtype, outer, n, inner, x, y);
    if (status != MG_OK || outer == 0 || n == 0 || inner == 0) return status;
    MG_CUDA_FLOAT_DISPATCH(dtype, return launch_softmax<T>(log, outer, n, inner, x, y));
}

extern "C" int mg_cuda_softmax_backward(int dtype, int log, int64_t outer, int64_t n,
                                        int64_t inner, const void *y, const void *gy, void *gx) {
    int status = mg_softmax_backward_check_args(dtype, outer, n, inner, y, gy, gx);
    if (status != MG_OK || outer == 0 || n == 0 || inner == 0) return status;
    MG_CUDA_FLOAT_DISPATCH(dtype,
                           return launch_softmax_backward<T>(log, outer, n, inner, y, gy, gx));
}

extern "C" int mg_cuda_logsumexp(int dtype, int64_t outer, int64_t n, int64_t inner,
                                 const void *x, void *out) {
    int status = mg_logsumexp_check_args(dtype, outer, n, inner, x, out);
    if (status != MG_OK || outer == 0 || inner == 0) return status;
    MG_CUDA_FLOAT_DISPATCH(dtype, return launch_logsumexp<T>(outer, n, inner, x, out));
}
