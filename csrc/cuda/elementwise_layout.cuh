/*
 * elementwise_layout.cuh -- strided walks for the elementwise CUDA kernels
 * (binary, where: elementwise.cu; copy_strided: copy.cu).  Private to those
 * files.
 *
 * The API describes an operand by element strides over the output's shape
 * (0 on a broadcast dim, negative for a reversed view).  On the host we first
 * check the call and simplify that description with the CPU's own code
 * (layout.h): size-1 dims are dropped and neighbouring dims that every
 * operand walks contiguously are merged, so (N, C) + (N, C) becomes one flat
 * run and (N, C) + (C,) becomes (N, C) with strides (C, 1) and (0, 1).  The
 * result travels to the kernel by value in a struct mg_cuda_layout; each
 * thread turns its flat output index into per-operand element offsets
 * (mg_layout_offsets, also callable on the host for checks).  Fewer dims
 * means fewer 64-bit divisions per element.
 * The layout is a kernel parameter (constant bank): reading it costs no
 * local memory (ptxas reports 0-byte stack frames).
 */
#ifndef MINIGRAD_CUDA_ELEMENTWISE_LAYOUT_CUH
#define MINIGRAD_CUDA_ELEMENTWISE_LAYOUT_CUH

#include "common.cuh"
#include "layout.h"

/* Fill `L` for a non-empty walk of `nops` operands (at most 3), simplified
 * by mg_layout_merge_dims.  Always leaves ndim >= 1 (a single element becomes
 * one dim of size 1 with stride 0). */
static inline void mg_layout_simplify(mg_cuda_layout *L, int ndim, const int64_t *shape,
                                      int nops, const int64_t *const strides[]) {
    const int nd = mg_layout_merge_dims(ndim, shape, nops, strides, L->shape, L->strides);
    /* unused operand rows stay defined (the struct is copied whole to the GPU) */
    for (int k = nops; k < 3; k++)
        for (int d = 0; d < nd; d++) L->strides[k][d] = 0;
    L->ndim = nd;
}

/* Whether the simplified walk is one flat run every operand reads with
 * stride 1: the kernels then index all operands by the flat index. */
static inline int mg_layout_is_flat(const mg_cuda_layout *L, int nops) {
    if (L->ndim != 1) return 0;
    for (int k = 0; k < nops; k++)
        if (L->strides[k][0] != 1) return 0;
    return 1;
}

/* Element offsets of flat (row-major) index i in each of NOPS operands.
 * The outermost dim needs no division: what is left of i is already below
 * shape[0], so a 1-dim walk (the common broadcast of a scalar or a row)
 * costs no division at all. */
template <int NOPS>
static __host__ __device__ __forceinline__ void mg_layout_offsets(const mg_cuda_layout &L, int64_t i,
                                                  int64_t off[NOPS]) {
    for (int k = 0; k < NOPS; k++) off[k] = 0;
    for (int d = L.ndim - 1; d > 0; d--) {
        const int64_t extent = L.shape[d];
        const int64_t q = i / extent;
        const int64_t index = i - q * extent;
        i = q;
        for (int k = 0; k < NOPS; k++) off[k] += index * L.strides[k][d];
    }
    for (int k = 0; k < NOPS; k++) off[k] += i * L.strides[k][0];
}

#endif /* MINIGRAD_CUDA_ELEMENTWISE_LAYOUT_CUH */
