/*
 * vecmath.h -- exp, tanh and sigmoid that the compiler can vectorise.
 *
 * libm's exp/tanh are scalar calls, so a loop over them runs one element at
 * a time (numpy, by contrast, uses SIMD versions).  These are written for
 * gcc's auto-vectoriser: no branches but ?: selects, integer bit tricks
 * instead of float->int conversions (which are undefined for NaN), and Horner
 * polynomials.  Put the loop that calls them in a function with
 * MG_SIMD_CLONES to also get AVX2 and AVX-512 copies, picked at load time.
 * This header includes simd.h, whose no-trapping-math lets the ?: selects
 * vectorise: include it before the first function of the including file.
 * Names end in _f32/_f64 like for_each_float.h's TYPED(name), so a typed
 * file calls TYPED(mg_exp).
 *
 * Accuracy over the whole range, subnormals included, measured against a
 * higher-precision reference (tests/kernels/test_unary.py):
 *   float32: exp <= 1.1 ulp, tanh <= 2.6 ulp, sigmoid <= 2.3 ulp;
 *   float64: exp <= 1.1 ulp, tanh <= 2.4 ulp, sigmoid <= 2.4 ulp
 * (numpy's own float32 tanh is within 1.4 ulp; its float32 exp within 2.5).
 * Nothing overflows into NaN: tanh saturates to exactly +-1, sigmoid to 0
 * and 1; exp gives inf and 0 where the exact result is out of range; NaN in
 * gives NaN out.
 *
 * The method, for exp: y = k ln2 + r with |r| <= ln2/2 (Cody and Waite's
 * reduction, ln2 split in two parts), e^y = 2^k e^r, e^r from a polynomial.
 */
#ifndef MINIGRAD_VECMATH_H
#define MINIGRAD_VECMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "simd.h"

/* ---- bits ------------------------------------------------------------- */

MG_INLINE uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
MG_INLINE float f32_from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
MG_INLINE uint64_t f64_bits(double f) { uint64_t u; memcpy(&u, &f, 8); return u; }
MG_INLINE double f64_from_bits(uint64_t u) { double f; memcpy(&f, &u, 8); return f; }

/* ---- float32 ------------------------------------------------------------ */

/* y = k ln2 + r, k = round(y / ln2), |r| <= ln2/2.  Adding 1.5 * 2^23 rounds
 * y / ln2 to an integer and leaves k in the low mantissa bits (valid for
 * |y| < 2^22 ln2; NaN flows through).  kf * LN2_HI is exact for |k| < 256.
 * Returns r; *k gets k. */
MG_INLINE float reduce_ln2_f32(float y, int32_t *k) {
    const float shifter = 0x1.8p23f;
    float kf = y * 1.44269502f + shifter;
    *k = (int32_t)(f32_bits(kf) - f32_bits(shifter));
    kf -= shifter;
    const float r = y - kf * 0.693145752f;
    return r - kf * 1.42860677e-6f;
}

/* e^r - 1 for |r| <= ln2/2: r + r^2 q(r), q of degree 4 fitted (least squares
 * reweighted towards minimax) for the relative error of e^r, about 3e-9. */
MG_INLINE float expm1_reduced_f32(float r) {
    const float q = 0.49999994f + r * (0.16666521f + r * (0.041668389f
                  + r * (0.0083687110f + r * 0.0013814605f)));
    return r + r * r * q;
}

/* 2^k for -126 <= k <= 127. */
MG_INLINE float pow2i_f32(int32_t k) { return f32_from_bits((uint32_t)(k + 127) << 23); }

/* e^x.  x is clamped to [-104, 89] (beyond, e^x is 0 or inf in float32
 * anyway), which keeps k in [-150, 129]; 2^k is applied as two factors
 * 2^(k/2) 2^(k - k/2), each a normal float, so that subnormal results
 * (x < -87.3) come out right and x > 88.72 overflows to inf in the last
 * multiply. */
MG_INLINE float mg_exp_f32(float x) {
    x = x > 89.0f ? 89.0f : x; /* NaN fails both comparisons */
    x = x < -104.0f ? -104.0f : x;
    int32_t k;
    const float r = reduce_ln2_f32(x, &k);
    const float p = 1.0f + expm1_reduced_f32(r);
    const int32_t k1 = k >> 1;
    return p * pow2i_f32(k1) * pow2i_f32(k - k1);
}

/* tanh|x| = m / (m + 2) with m = e^(2|x|) - 1 = 2^k (e^r - 1) + (2^k - 1):
 * no cancellation for small |x| (k = 0 there, and m comes straight from the
 * polynomial), one exp-sized computation and one division.  |x| is clamped
 * at 10 (tanh rounds to 1 from 9.1 on), so m stays finite and large |x|
 * gives exactly +-1. */
MG_INLINE float mg_tanh_f32(float x) {
    const float z = fabsf(x);
    const float y = 2.0f * (z > 10.0f ? 10.0f : z);
    int32_t k; /* 0 <= k <= 29 */
    const float r = reduce_ln2_f32(y, &k);
    const float scale = pow2i_f32(k);
    const float m = scale * expm1_reduced_f32(r) + (scale - 1.0f);
    return copysignf(m / (m + 2.0f), x);
}

/* 1 / (1 + e^-x) from e = e^-|x| <= 1 only: 1/(1+e) for x >= 0 and
 * e/(1+e) = e^x / (1 + e^x) for x < 0, so nothing overflows and tiny results
 * keep their relative accuracy. */
MG_INLINE float mg_sigmoid_f32(float x) {
    const float e = mg_exp_f32(-fabsf(x));
    return (x >= 0.0f ? 1.0f : e) / (1.0f + e); /* NaN: x >= 0 fails, e is NaN */
}

/* The logistic function the quick way, for the recurrent gate kernels (rnn.c),
 * which evaluate five transcendental functions per hidden unit and step:
 * 1 / (1 + e^-x) with e^-x from one scale factor, x clamped to [-88, 87].
 * About 15% faster in the LSTM gate kernel than mg_sigmoid_f32; the price is
 * the far negative tail: below x = -87 the result stays at about 1.6e-38
 * instead of falling through the subnormals to 0 (the gate kernels flush
 * subnormals anyway).  Within 2 ulp elsewhere; NaN gives NaN. */
MG_INLINE float mg_gate_sigmoid_f32(float x) {
    float y = -x;
    y = y > 87.0f ? 87.0f : y; /* NaN fails both comparisons */
    y = y < -88.0f ? -88.0f : y;
    int32_t k; /* -127 < k < 126: 2^k is a normal float */
    const float r = reduce_ln2_f32(y, &k);
    const float e = (1.0f + expm1_reduced_f32(r)) * pow2i_f32(k);
    return 1.0f / (1.0f + e);
}

/* ---- float64 ------------------------------------------------------------ */

/* As reduce_ln2_f32 with 1.5 * 2^52 (|y| < 2^51 ln2); LN2_HI has 21 trailing
 * zero bits, so kf * LN2_HI is exact for |k| < 2^21.  *k gets k as the
 * unsigned 64-bit pattern of the signed value: every later use is unsigned
 * arithmetic, which the vectoriser handles on every x86-64 level. */
MG_INLINE double reduce_ln2_f64(double y, uint64_t *k) {
    const double shifter = 0x1.8p52;
    double kf = y * 1.4426950408889634 + shifter;
    *k = f64_bits(kf) - f64_bits(shifter);
    kf -= shifter;
    const double r = y - kf * 0x1.62e42fee00000p-1;
    return r - kf * 0x1.a39ef35793c76p-33;
}

/* e^r - 1 for |r| <= ln2/2: r + r^2 q(r), q of degree 9 (a Chebyshev fit
 * computed in 40-digit arithmetic): relative error of e^r below 2e-17. */
MG_INLINE double expm1_reduced_f64(double r) {
    const double q = 0.50000000000000010211 + r * (0.16666666666666667452
                   + r * (0.041666666666624161903 + r * (0.0083333333333300644495
                   + r * (0.0013888888917196719077 + r * (0.00019841269863040545271
                   + r * (0.000024801521322368693266 + r * (2.7557268480310025526e-6
                   + r * (2.7620075879983366586e-7 + r * 2.5100375832561233664e-8))))))));
    return r + r * r * q;
}

/* 2^k for -1022 <= k <= 1023, k given as in reduce_ln2_f64. */
MG_INLINE double pow2i_f64(uint64_t k) { return f64_from_bits((k + 1023) << 52); }

/* e^x.  x is clamped to [-746, 710] (beyond, e^x is 0 or inf), keeping k in
 * [-1077, 1025]; 2^k is applied as two normal factors, as in float32.  The
 * halving is done on k + 1100 >= 0 with a logical shift (64-bit arithmetic
 * shifts do not vectorise before AVX-512). */
MG_INLINE double mg_exp_f64(double x) {
    x = x > 710.0 ? 710.0 : x;
    x = x < -746.0 ? -746.0 : x;
    uint64_t k;
    const double r = reduce_ln2_f64(x, &k);
    const double p = 1.0 + expm1_reduced_f64(r);
    const uint64_t k1 = ((k + 1100) >> 1) - 550; /* floor(k / 2), as a bit pattern */
    return p * pow2i_f64(k1) * pow2i_f64(k - k1);
}

/* As mg_tanh_f32; tanh rounds to 1 in float64 from 19.1 on, clamp at 20. */
MG_INLINE double mg_tanh_f64(double x) {
    const double z = fabs(x);
    const double y = 2.0 * (z > 20.0 ? 20.0 : z);
    uint64_t k; /* 0 <= k <= 58 */
    const double r = reduce_ln2_f64(y, &k);
    const double scale = pow2i_f64(k);
    const double m = scale * expm1_reduced_f64(r) + (scale - 1.0);
    return copysign(m / (m + 2.0), x);
}

MG_INLINE double mg_sigmoid_f64(double x) {
    const double e = mg_exp_f64(-fabs(x));
    return (x >= 0.0 ? 1.0 : e) / (1.0 + e);
}

/* float64 gates (gradient checks) use the accurate function. */
MG_INLINE double mg_gate_sigmoid_f64(double x) { return mg_sigmoid_f64(x); }

#endif /* MINIGRAD_VECMATH_H */
