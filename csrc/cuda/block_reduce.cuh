/*
 * block_reduce.cuh -- how a group of threads combines one value per thread
 * into one value for the group (private to reduce.cu, softmax.cu, loss.cu and
 * optim.cu; line_reduce.cuh builds the kernels on top).
 *
 * Four groups, one per way of laying threads over a reduced "line" of n
 * elements (see line_reduce.cuh):
 *   WarpReducer    a warp: xor shuffles, then lane 0's value for everyone
 *   BlockReducer   a 1-D block (blockDim.x a multiple of 32): warps shuffle,
 *                  lane 0 of each warp leaves its value in shared memory, and
 *                  every thread folds those values in warp order
 *   ColumnReducer  a (32, MG_TILE_H) block whose column threadIdx.x owns one
 *                  line: the MG_TILE_H values of a column meet in shared
 *                  memory and every thread of the column folds them in order
 *   ThreadReducer  one thread owns the whole line: nothing to combine
 * Every thread of the group gets the same bits back (one fixed fold order), so
 * threads may go on using the result (a row max, a row sum) independently.
 *
 * Op is a functor Acc op(Acc earlier, Acc later); it need not be associative
 * in floating point, but the fold order is fixed for a launch shape, so a
 * result never changes from run to run.  Acc is a scalar, ArgAcc or PairAcc.
 *
 * Block and column reducers start with __syncthreads(), so one shared buffer
 * serves several reductions in a row; every thread of the block must call
 * them (they hold block barriers).
 */
#ifndef MINIGRAD_CUDA_BLOCK_REDUCE_CUH
#define MINIGRAD_CUDA_BLOCK_REDUCE_CUH

#include "common.cuh"

#define MG_WARP 32
#define MG_FULL_MASK 0xffffffffu
/* Column tiles: MG_WARP neighbouring columns x MG_TILE_H threads along n. */
#define MG_TILE_H 8
/* Shared bytes a reducing kernel declares: MG_WARP * MG_TILE_H accumulators
 * of up to 16 bytes (ArgAcc<double>, PairAcc). */
#define MG_REDUCE_SMEM (MG_WARP * MG_TILE_H * 16)

namespace {

/* argmax/argmin accumulator: the best value so far and its index along n. */
template <typename T>
struct ArgAcc {
    T value;
    int64_t index;
};

/* Two double sums reduced together (cross-entropy's target and smoothing terms). */
struct PairAcc {
    double a, b;
};

/* ---- shuffles, member-wise for the structs ---------------------------------- */

/* The two full-warp shuffles the reducers use, over one scalar: from lane
 * (this lane ^ mask), and from a given lane. */
struct ShflXor {
    int mask;
    template <typename V>
    __device__ __forceinline__ V operator()(V v) const {
        return __shfl_xor_sync(MG_FULL_MASK, v, mask);
    }
};
struct ShflFrom {
    int lane;
    template <typename V>
    __device__ __forceinline__ V operator()(V v) const {
        return __shfl_sync(MG_FULL_MASK, v, lane);
    }
};

/* A shuffle of an accumulator: of the value itself for a scalar, of each
 * member for the structs (a new accumulator type needs one overload here). */
template <typename A, typename Shfl>
__device__ __forceinline__ A shfl(A v, const Shfl &s) {
    return s(v);
}
template <typename T, typename Shfl>
__device__ __forceinline__ ArgAcc<T> shfl(ArgAcc<T> v, const Shfl &s) {
    ArgAcc<T> r;
    r.value = s(v.value);
    r.index = s(v.index);
    return r;
}
template <typename Shfl>
__device__ __forceinline__ PairAcc shfl(PairAcc v, const Shfl &s) {
    PairAcc r;
    r.a = s(v.a);
    r.b = s(v.b);
    return r;
}

/* ---- the four groups ---------------------------------------------------------- */

/* All 32 lanes of the warp must call it together (full-mask shuffles). */
struct WarpReducer {
    template <typename Acc, typename Op>
    __device__ __forceinline__ Acc reduce(Acc v, const Op &op) const {
        for (int mask = MG_WARP / 2; mask > 0; mask >>= 1) v = op(v, shfl(v, ShflXor{mask}));
        /* Lanes combined their pairs in opposite orders; an op that is not
         * commutative bit for bit (max of -0 and +0) could leave them
         * different, so everyone takes lane 0's. */
        return shfl(v, ShflFrom{0});
    }
};

/* A 1-D block of blockDim.x (a multiple of 32, at most 1024) threads. */
struct BlockReducer {
    unsigned char *smem; /* >= 32 accumulators */

    template <typename Acc, typename Op>
    __device__ __forceinline__ Acc reduce(Acc v, const Op &op) const {
        static_assert(sizeof(Acc) <= 16, "MG_REDUCE_SMEM holds accumulators of 16 bytes");
        Acc *slot = reinterpret_cast<Acc *>(smem);
        v = WarpReducer().reduce(v, op);
        __syncthreads(); /* the previous reduction's readers are done with smem */
        if ((threadIdx.x & (MG_WARP - 1)) == 0) slot[threadIdx.x / MG_WARP] = v;
        __syncthreads();
        Acc r = slot[0];
        const int warps = (int)(blockDim.x / MG_WARP);
        for (int w = 1; w < warps; w++) r = op(r, slot[w]);
        return r;
    }
};

/* A (MG_WARP, MG_TILE_H) block; the threads sharing threadIdx.x reduce together. */
struct ColumnReducer {
    unsigned char *smem; /* >= MG_WARP * MG_TILE_H accumulators */

    template <typename Acc, typename Op>
    __device__ __forceinline__ Acc reduce(Acc v, const Op &op) const {
        static_assert(sizeof(Acc) <= 16, "MG_REDUCE_SMEM holds accumulators of 16 bytes");
        Acc *slot = reinterpret_cast<Acc *>(smem);
        __syncthreads(); /* the previous reduction's readers are done with smem */
        slot[threadIdx.y * MG_WARP + threadIdx.x] = v;
        __syncthreads();
        Acc r = slot[threadIdx.x];
        for (int y = 1; y < (int)blockDim.y; y++) r = op(r, slot[y * MG_WARP + threadIdx.x]);
        return r;
    }
};

struct ThreadReducer {
    template <typename Acc, typename Op>
    __device__ __forceinline__ Acc reduce(Acc v, const Op &) const {
        return v;
    }
};

/* ---- common combining ops ------------------------------------------------------ */

struct AddOp {
    template <typename A>
    __device__ __forceinline__ A operator()(A a, A b) const {
        return a + b;
    }
    __device__ __forceinline__ PairAcc operator()(PairAcc a, PairAcc b) const {
        PairAcc r;
        r.a = a.a + b.a;
        r.b = a.b + b.b;
        return r;
    }
};

/* Plain max: which NaN wins does not matter where it is used (softmax rows
 * turn any NaN into NaN through the sum of exponentials). */
struct PlainMaxOp {
    template <typename T>
    __device__ __forceinline__ T operator()(T a, T b) const {
        return b > a ? b : a;
    }
};

}  // namespace

#endif /* MINIGRAD_CUDA_BLOCK_REDUCE_CUH */
