/*
 * for_each_float.h -- compile a typed file once per float dtype.
 *
 *     #define MG_TYPED_FILE "gather_typed.inc"
 *     #include "for_each_float.h"
 *
 * includes MG_TYPED_FILE twice, first with T = float and TYPED(name) =
 * name##_f32, then with T = double and TYPED(name) = name##_f64, and #undefs
 * T, TYPED and MG_TYPED_FILE afterwards.  Any other parameter a typed file
 * reads is the includer's to define around this (binary.c and reduce.c show
 * how, with their int64 copy written out by hand).  vecmath.h names its
 * functions with the same suffixes, so TYPED(mg_exp) is the exp of T.
 *
 * No include guard: it is meant to be included once per typed file.
 */
#ifndef MG_TYPED_FILE
#error "define MG_TYPED_FILE (the typed file, as a string) before including for_each_float.h"
#endif

#define T float
#define TYPED(name) name##_f32
#include MG_TYPED_FILE
#undef T
#undef TYPED

#define T double
#define TYPED(name) name##_f64
#include MG_TYPED_FILE
#undef T
#undef TYPED

#undef MG_TYPED_FILE
