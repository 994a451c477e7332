/*
 * blas.h -- the BLAS we were built against, if any.
 *
 * build_ffi.py defines MG_USE_BLAS and BLAS_SYMBOL_PREFIX when a BLAS was
 * found.  The scipy-openblas32 wheel prefixes every symbol with "scipy_"
 * (scipy_cblas_sgemm); Debian's OpenBLAS does not (cblas_sgemm).  MG_BLAS(name)
 * pastes the prefix on, so one source builds against either.
 */
#ifndef MINIGRAD_BLAS_H
#define MINIGRAD_BLAS_H

#ifdef MG_USE_BLAS
#include <cblas.h>

#define MG_PASTE2(a, b) a##b
#define MG_PASTE(a, b) MG_PASTE2(a, b)
#define MG_BLAS(name) MG_PASTE(BLAS_SYMBOL_PREFIX, name)
#endif

#endif /* MINIGRAD_BLAS_H */
