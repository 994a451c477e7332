/*
 * rnn_activations.h -- sigmoid and tanh for the fused recurrent kernels.
 *
 * The gate kernels evaluate five transcendental functions per hidden unit and
 * step of an LSTM; glibc's scalar expf/tanhf are not vectorised without
 * -ffast-math, and they dominated the step time.  The float32 versions here
 * are written so that gcc vectorises them: branch-free (selects, not jumps),
 * integer bit tricks instead of float->int casts, and polynomials evaluated
 * with Horner's rule.  They are accurate to a few units in the last place.
 * float64 (the dtype for gradient checks) keeps libm.
 *
 * Neither overflows: arguments are clamped before exponentiation, NaN
 * propagates (the clamps are written as comparisons that NaN fails).
 * gcc 12 vectorises the clamps only when it may assume that floating-point
 * operations do not trap: rnn.c compiles its kernels with no-trapping-math.
 */
#ifndef MINIGRAD_RNN_ACTIVATIONS_H
#define MINIGRAD_RNN_ACTIVATIONS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* 2^k for the integer k held in the low mantissa bits of `shifted`, which is
 * k + 1.5 * 2^23 as a float (see exp_reduce_f32).  Pure integer work on the bit
 * pattern, so no float->int conversion (undefined for NaN) is involved. */
static inline float pow2_from_shifted_f32(float shifted) {
    uint32_t bits;
    memcpy(&bits, &shifted, sizeof bits);
    bits = (bits - 0x4B400000u + 127u) << 23; /* 0x4B400000 = bits of 1.5 * 2^23 */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return scale;
}

/* Cody-Waite reduction x = k ln2 + r, |r| <= ln2/2 (about): returns r and
 * stores k + 1.5 * 2^23 in *shifted.  Adding and subtracting 1.5 * 2^23 rounds
 * to the nearest integer in the default rounding mode. */
static inline float exp_reduce_f32(float x, float *shifted) {
    const float magic = 12582912.0f; /* 1.5 * 2^23 */
    float s = x * 1.44269504088896341f + magic;
    float k = s - magic;
    *shifted = s;
    /* ln2 split into a part with few mantissa bits (k * hi is exact) and the rest */
    return (x - k * 0.693145751953125f) - k * 1.42860682030941723212e-6f;
}

/* exp(x) for float32.  Taylor series of exp to degree 7 on |r| <= 0.347:
 * the remainder is below 1e-8 relative.  x is clamped to [-87, 88], where
 * 2^k stays a normal float. */
static inline float exp_f32(float x) {
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    float shifted;
    float r = exp_reduce_f32(x, &shifted);
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    return p * pow2_from_shifted_f32(shifted);
}

/* exp(x) - 1 for x <= 0 without cancellation near 0: expm1(r) comes from its
 * own series (r + r^2/2 + ... to degree 8), then
 *   expm1(x) = 2^k expm1(r) + (2^k - 1),
 * which is exact arithmetic on the second term for the k <= 0 we see. */
static inline float expm1_nonpositive_f32(float x) {
    x = x < -40.0f ? -40.0f : x; /* expm1(-40) is -1 in float32 */
    float shifted;
    float r = exp_reduce_f32(x, &shifted);
    float p = 1.0f / 40320.0f;
    p = p * r + 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    float em1_r = r + r * r * p;
    float scale = pow2_from_shifted_f32(shifted);
    return scale * em1_r + (scale - 1.0f);
}

/* Logistic function 1 / (1 + e^-x); e^-x is clamped, so the result saturates
 * at 0 and 1 instead of overflowing. */
static inline float sigmoid_f32(float x) {
    return 1.0f / (1.0f + exp_f32(-x));
}

/* tanh(x) = -expm1(-2|x|) / (2 + expm1(-2|x|)), with the sign of x: accurate
 * in relative terms near 0 and saturating at +-1. */
static inline float tanh_f32(float x) {
    float e = expm1_nonpositive_f32(-2.0f * fabsf(x));
    return copysignf(-e / (2.0f + e), x);
}

/* float64: libm, with exp only ever taken of -|x| in the sigmoid. */
static inline double sigmoid_f64(double x) {
    double e = exp(-fabs(x));
    return x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

static inline double tanh_f64(double x) {
    return tanh(x);
}

#endif /* MINIGRAD_RNN_ACTIVATIONS_H */
