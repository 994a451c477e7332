/*
 * simd.h -- the two switches that let gcc vectorise the core's float loops.
 * Include it before the first function of a file that has such loops
 * (vecmath.h includes it for its users).
 *
 * no-trapping-math.  Under gcc's default -ftrapping-math an ordered float
 * comparison "may raise an FP exception", so `a > b ? a : b` stays a branch:
 * max/min loops, clamps and vecmath.h's exp stay scalar.  Nothing in the core
 * reads FP exception flags, and the option changes no result, only what the
 * compiler may assume about those flags.  As a pragma it applies to every
 * function defined after this point in the including file.
 *
 * MG_SIMD_CLONES, put on a function, makes gcc build it three times -- for
 * AVX-512 (x86-64-v4), AVX2/FMA (x86-64-v3) and the SSE2 baseline -- and pick
 * one when the module loads (an ifunc, hence glibc on Linux).  One build is
 * then portable (-march=native would SIGILL on older CPUs) and fast where the
 * CPU allows: float32 exp and softmax about 2x with AVX2, more with AVX-512.
 * Put it on the function that holds the loop: an OpenMP region's body is
 * outlined into a new function that does not inherit the clones, so call a
 * cloned function from inside the region.  Define MG_NO_TARGET_CLONES to
 * build a single copy for the compiler's target (for instance to test the
 * SSE2 path on an AVX-512 machine).
 */
#ifndef MINIGRAD_SIMD_H
#define MINIGRAD_SIMD_H

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(MG_NO_TARGET_CLONES)
#define MG_SIMD_CLONES \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define MG_SIMD_CLONES
#endif

/* For the helpers of a multi-versioned function: always inlined, so that
 * each clone gets its own vector code for them (a plain call would run the
 * baseline build). */
#define MG_INLINE static inline __attribute__((always_inline))

#endif /* MINIGRAD_SIMD_H */
