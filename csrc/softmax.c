/*
 * softmax.c -- softmax, log_softmax, their backward, and logsumexp over the
 * middle axis of x viewed as (outer, n, inner).
 *
 * Stability: every row is shifted by its max m before exp, so exp never sees a
 * positive argument and the sum is at least 1.  The special rows follow from
 * plain IEEE arithmetic and match PyTorch: a NaN anywhere, or an all -inf row
 * (-inf - -inf = NaN), or a +inf entry (inf - inf = NaN) gives NaN for softmax
 * and log_softmax; logsumexp shifts by 0 instead when m is infinite, so an
 * all -inf row gives log(0) = -inf and a +inf entry gives +inf.
 *
 * float32 exp is our own short polynomial (below) rather than libm's expf:
 * written without branches, the compiler vectorises it, which makes the
 * forward several times faster.  float64 (what gradcheck uses) keeps libm.
 * Sums accumulate in T within short blocks and in double across them.
 *
 * Layouts as in reduce.c: inner == 1 works on contiguous rows; inner > 1 on
 * tiles of COL_TILE neighbouring columns, all rows of a tile at once.
 * x and y (gy and gx) may be the same buffer.
 */

/* We never read floating-point exception flags; this lets gcc turn float
 * compare-and-select into vector blends (see reduce.c). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core.h"

/* Hot loops also get an AVX2/FMA build picked once at load time (gcc function
 * multi-versioning): faster where the CPU has it (float32 softmax about 2x),
 * the baseline SSE2 build everywhere else. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define SIMD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SIMD_CLONES
#endif

#define LANES 16    /* independent accumulators of a contiguous row */
#define BLOCK 256   /* contiguous elements a set of lanes sums before double takes over */
#define COL_TILE 64 /* columns handled together when inner > 1 */
#define ROW_BLOCK 64 /* rows a column tile sums in T before double takes over */

static inline int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

/*
 * exp for float32, within 2 ulp over the normal range, vectorisable.
 * exp(x) = 2^k * exp(r) with k = round(x / ln 2) and |r| <= ln(2)/2; exp(r)
 * by its degree-6 Taylor polynomial (truncation error < 2e-8 relative there);
 * 2^k built directly in the exponent bits.  ln 2 is split in two parts
 * (Cody-Waite) so that r = x - k ln 2 stays exact to float precision.
 * Results below FLT_MIN flush to 0 (never seen next to the row max, which
 * contributes 1 to the sum); NaN stays NaN; x > 88.3 gives +inf (a little
 * early: exp overflows at 88.72; softmax only takes exp of x <= 0).
 */
static inline float exp_f32(float x) {
    const float lo = -87.0f, hi = 88.3f; /* keep 2^k finite and normal */
    float xc = x > lo ? x : lo; /* NaN -> lo here; restored at the end */
    xc = xc < hi ? xc : hi;
    /* round to nearest: adding 1.5 * 2^23 pushes the fraction bits out */
    const float k = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = xc - k * 0.693145751953125f; /* ln 2, high part (exact product) */
    r = r - k * 1.428606765330187045e-06f; /* ln 2, low part */
    float p = 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    /* k in [-126, 127]: 2^k is a normal float with biased exponent k + 127 */
    const int32_t bits = ((int32_t)k + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    float e = p * scale;
    e = x < lo ? 0.0f : e;
    e = x > hi ? INFINITY : e;
    return x != x ? x : e;
}

#define T float
#define TYPED(name) name##_f32
#define EXP(v) exp_f32(v)
#include "softmax_typed.inc"
#undef T
#undef TYPED
#undef EXP

#define T double
#define TYPED(name) name##_f64
#define EXP(v) exp(v)
#include "softmax_typed.inc"
#undef T
#undef TYPED
#undef EXP

static int check_softmax(int dtype, int64_t outer, int64_t n, int64_t inner) {
    MG_CHECK(mg_is_float_dtype(dtype), MG_ERR_DTYPE);
    MG_CHECK(outer >= 0 && n >= 0 && inner >= 0, MG_ERR_SIZE);
    return MG_OK;
}

int mg_softmax(int dtype, int log, int64_t outer, int64_t n, int64_t inner,
               const void *x, void *y) {
    int status = check_softmax(dtype, outer, n, inner);
    if (status != MG_OK) return status;
    if (outer == 0 || n == 0 || inner == 0) return MG_OK;
    MG_CHECK(x != NULL && y != NULL, MG_ERR_NULL);
    if (dtype == MG_FLOAT32)
        softmax_f32(log != 0, outer, n, inner, x, y);
    else
        softmax_f64(log != 0, outer, n, inner, x, y);
    return MG_OK;
}

int mg_softmax_backward(int dtype, int log, int64_t outer, int64_t n, int64_t inner,
                        const void *y, const void *gy, void *gx) {
    int status = check_softmax(dtype, outer, n, inner);
    if (status != MG_OK) return status;
    if (outer == 0 || n == 0 || inner == 0) return MG_OK;
    MG_CHECK(y != NULL && gy != NULL && gx != NULL, MG_ERR_NULL);
    if (dtype == MG_FLOAT32)
        softmax_backward_f32(log != 0, outer, n, inner, y, gy, gx);
    else
        softmax_backward_f64(log != 0, outer, n, inner, y, gy, gx);
    return MG_OK;
}

int mg_logsumexp(int dtype, int64_t outer, int64_t n, int64_t inner,
                 const void *x, void *out) {
    int status = check_softmax(dtype, outer, n, inner);
    if (status != MG_OK) return status;
    if (outer == 0 || inner == 0) return MG_OK;
    MG_CHECK(out != NULL && (n == 0 || x != NULL), MG_ERR_NULL);
    if (dtype == MG_FLOAT32)
        logsumexp_f32(outer, n, inner, x, out);
    else
        logsumexp_f64(outer, n, inner, x, out);
    return MG_OK;
}
