/*
 * line_reduce.cuh -- kernels over the middle axis of x viewed as (outer, n,
 * inner), shared by reduce.cu, softmax.cu, loss.cu and optim.cu (private).
 *
 * A "line" is the n elements x[o, :, j] (stride `inner`); a reduction makes
 * one value per line, softmax rewrites a line.  A Task says what to do with
 * one line; a geometry says how threads cover the lines:
 *
 *   ROW_WARP     inner == 1, n <= MG_WARP_LINE: one warp per row, 8 rows per
 *                256-thread block; lanes read neighbouring elements.
 *   ROW_BLOCK    inner == 1, longer rows: one 512-thread block per row.
 *   COLUMN_TILE  inner > 1: a (32, MG_TILE_H) block per tile of 32
 *                neighbouring columns of one outer index; threadIdx.x picks
 *                the column (reads coalesce along inner), threadIdx.y splits
 *                the walk along n, and the column's MG_TILE_H partial values
 *                meet in shared memory.
 *   PER_THREAD   one thread per line, walking all of n: short lines (n <=
 *                MG_TINY_LINE), or inner > 1 with enough lines to fill the
 *                GPU (MG_MANY_LINES); neighbouring threads take neighbouring
 *                columns, so reads coalesce along inner.
 *
 * Every kernel loops over its lines grid-stride, so any grid size is correct
 * (the grid is capped as mg_cuda_blocks does); the loop is uniform across
 * whatever group shares a barrier (a warp for ROW_WARP, the block otherwise).
 *
 * Long reductions with few lines are also cut along n into `chunks` pieces of
 * `chunk_len` elements (plan_lines with allow_split): a first launch leaves
 * one partial accumulator per (o, chunk, j) in device scratch, laid out
 * (outer, chunks, inner), and a second launch reduces those over the chunk
 * axis.  Chunking depends only on the sizes, so results are reproducible.
 *
 * Also here: the per-thread device scratch (each .cu including this file has
 * its own) and the standard reduction ops.
 */
#ifndef MINIGRAD_CUDA_LINE_REDUCE_CUH
#define MINIGRAD_CUDA_LINE_REDUCE_CUH

#include <math.h>

#include "block_reduce.cuh"
#include "common.cuh"

#define MG_WARP_ROWS_THREADS 256 /* ROW_WARP blocks: 8 warps, 8 rows */
#define MG_ROW_THREADS 512       /* ROW_BLOCK blocks */
#define MG_WARP_LINE 1024        /* longest row a warp takes (32 elements a lane) */
#define MG_TINY_LINE 8           /* lines this short go one per thread */
#define MG_MANY_LINES 65536      /* inner > 1 with this many lines: one per thread */
#define MG_SPLIT_UNITS 256       /* fewer blocks than this may split their lines... */
#define MG_SPLIT_TARGET 512      /* ...into about this many blocks in all */
#define MG_ROW_CHUNK_MIN 8192    /* smallest piece of a split row */
#define MG_COLUMN_CHUNK_MIN 512  /* smallest piece (rows) of a split column tile */

namespace {

/* ---- shapes, lines, geometries ---------------------------------------------- */

/* Sizes of one launch.  Line (o, c, j) covers elements [c * chunk_len,
 * min(n, (c + 1) * chunk_len)) of x[o, :, j]; without a split chunks == 1 and
 * chunk_len >= n. */
struct LineShape {
    int64_t outer, n, inner, chunks, chunk_len;
};

/* One thread's share of one line: it visits i = start + first, start + first
 * + step, ... below the chunk's end.  `active` is false for the threads of a
 * column tile past the last column (they still join the reductions);
 * `leader` marks the one thread that stores the line's result. */
struct Line {
    int64_t o, c, j, first, step;
    bool active, leader;
};

enum LineGeometry { ROW_WARP, ROW_BLOCK, COLUMN_TILE, PER_THREAD };

struct LinePlan {
    LineGeometry geometry;
    LineShape shape;
};

__host__ __device__ __forceinline__ int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
__host__ __device__ __forceinline__ int64_t ceil_div64(int64_t a, int64_t b) {
    return (a + b - 1) / b;
}

template <typename Task>
__global__ void __launch_bounds__(MG_WARP_ROWS_THREADS)
    rows_warp_kernel(LineShape s, Task task) {
    const int64_t per_block = blockDim.x / MG_WARP;
    const int64_t lines = s.outer * s.chunks;
    const int lane = threadIdx.x & (MG_WARP - 1);
    /* `line` depends on the warp only: the loop is uniform across each warp. */
    for (int64_t line = (int64_t)blockIdx.x * per_block + threadIdx.x / MG_WARP; line < lines;
         line += (int64_t)gridDim.x * per_block) {
        const Line l = {line / s.chunks, line % s.chunks, 0, lane, MG_WARP, true, lane == 0};
        task(l, WarpReducer());
    }
}

template <typename Task>
__global__ void __launch_bounds__(MG_ROW_THREADS) rows_block_kernel(LineShape s, Task task) {
    __shared__ __align__(16) unsigned char smem[MG_REDUCE_SMEM];
    const int64_t lines = s.outer * s.chunks;
    for (int64_t line = blockIdx.x; line < lines; line += gridDim.x) { /* uniform per block */
        const Line l = {line / s.chunks, line % s.chunks, 0, threadIdx.x, blockDim.x, true,
                        threadIdx.x == 0};
        task(l, BlockReducer{smem});
    }
}

template <typename Task>
__global__ void __launch_bounds__(MG_WARP * MG_TILE_H) columns_tile_kernel(LineShape s, Task task) {
    __shared__ __align__(16) unsigned char smem[MG_REDUCE_SMEM];
    const int64_t col_tiles = ceil_div64(s.inner, MG_WARP);
    const int64_t tiles = s.outer * s.chunks * col_tiles;
    for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) { /* uniform per block */
        const int64_t oc = t / col_tiles;
        const int64_t j = (t % col_tiles) * MG_WARP + threadIdx.x;
        const Line l = {oc / s.chunks, oc % s.chunks, j,  threadIdx.y, blockDim.y, j < s.inner,
                        threadIdx.y == 0};
        task(l, ColumnReducer{smem});
    }
}

template <typename Task>
__global__ void per_thread_kernel(LineShape s, Task task) {
    const int64_t lines = s.outer * s.chunks * s.inner;
    MG_CUDA_FOR(k, lines) {
        const int64_t oc = k / s.inner;
        const Line l = {oc / s.chunks, oc % s.chunks, k % s.inner, 0, 1, true, true};
        task(l, ThreadReducer());
    }
}

/* The geometry for lines of n elements; with allow_split, a cut along n when
 * too few blocks would run otherwise (see the head of this file). */
inline LinePlan plan_lines(int64_t outer, int64_t n, int64_t inner, bool allow_split) {
    LinePlan p;
    p.shape = {outer, n, inner, 1, n > 0 ? n : 1};
    if (n <= MG_TINY_LINE || (inner > 1 && outer * inner >= MG_MANY_LINES))
        p.geometry = PER_THREAD;
    else if (inner == 1)
        p.geometry = n <= MG_WARP_LINE ? ROW_WARP : ROW_BLOCK;
    else
        p.geometry = COLUMN_TILE;
    if (!allow_split || (p.geometry != ROW_BLOCK && p.geometry != COLUMN_TILE)) return p;
    const int64_t units = p.geometry == ROW_BLOCK ? outer : outer * ceil_div64(inner, MG_WARP);
    const int64_t piece = p.geometry == ROW_BLOCK ? MG_ROW_CHUNK_MIN : MG_COLUMN_CHUNK_MIN;
    if (units >= MG_SPLIT_UNITS || n < 2 * piece) return p;
    const int64_t chunks = min64(ceil_div64(n, piece), ceil_div64(MG_SPLIT_TARGET, units));
    if (chunks < 2) return p;
    p.shape.chunk_len = ceil_div64(n, chunks);
    p.shape.chunks = ceil_div64(n, p.shape.chunk_len); /* every chunk non-empty */
    return p;
}

/* Run `task` over every line of the plan (one launch, no synchronisation). */
template <typename Task>
int launch_lines(const LinePlan &p, const Task &task, const char *name) {
    const LineShape &s = p.shape;
    switch (p.geometry) {
    case ROW_WARP:
        rows_warp_kernel<Task><<<mg_cuda_blocks(s.outer * s.chunks, MG_WARP_ROWS_THREADS / MG_WARP),
                                 MG_WARP_ROWS_THREADS>>>(s, task);
        break;
    case ROW_BLOCK:
        rows_block_kernel<Task><<<mg_cuda_blocks(s.outer * s.chunks, 1), MG_ROW_THREADS>>>(s, task);
        break;
    case COLUMN_TILE:
        columns_tile_kernel<Task>
            <<<mg_cuda_blocks(s.outer * s.chunks * ceil_div64(s.inner, MG_WARP), 1),
               dim3(MG_WARP, MG_TILE_H)>>>(s, task);
        break;
    default:
        per_thread_kernel<Task><<<mg_cuda_blocks(s.outer * s.chunks * s.inner, MG_CUDA_BLOCK),
                                  MG_CUDA_BLOCK>>>(s, task);
        break;
    }
    MG_CUDA_LAUNCHED(name);
    return MG_OK;
}

/* ---- per-thread device scratch -------------------------------------------------- */

/* The calling host thread's scratch buffer for partial results, flags and
 * values read back: grown on demand (never shrunk), reallocated if the
 * thread's current device changed, freed when the thread exits.  One per host
 * thread (cffi releases the GIL: threads must not share it) and per .cu file
 * that includes this header.  Uses are stream-ordered on the default stream,
 * so a call may reuse what an earlier call's kernels still read; growing
 * frees the old buffer with cudaFree, which waits for those kernels. */
struct LineScratch {
    void *ptr = nullptr;
    size_t bytes = 0;
    int device = -1;
    ~LineScratch() {
        if (ptr != nullptr) cudaFree(ptr); /* errors at process exit are harmless */
    }
};

/* *out = at least `bytes` (> 0) of device scratch for this call. */
inline int get_line_scratch(size_t bytes, void **out) {
    static thread_local LineScratch scratch;
    int device;
    MG_CUDA_TRY(cudaGetDevice(&device));
    if (scratch.ptr == nullptr || scratch.bytes < bytes || scratch.device != device) {
        void *old = scratch.ptr;
        scratch.ptr = nullptr; /* forgotten even if freeing fails: never freed twice */
        scratch.bytes = 0;
        if (old != nullptr) MG_CUDA_TRY(cudaFree(old));
        size_t want = 4096;
        while (want < bytes) want *= 2;
        void *p = nullptr;
        MG_CUDA_TRY(cudaMalloc(&p, want));
        scratch.ptr = p;
        scratch.bytes = want;
        scratch.device = device;
    }
    *out = scratch.ptr;
    return MG_OK;
}

/* ---- numeric helpers --------------------------------------------------------------- */

template <typename T>
struct Num;
template <>
struct Num<float> {
    __device__ __forceinline__ static float lowest() { return -INFINITY; }
    __device__ __forceinline__ static float highest() { return INFINITY; }
    __device__ __forceinline__ static bool is_nan(float v) { return v != v; }
};
template <>
struct Num<double> {
    __device__ __forceinline__ static double lowest() { return -INFINITY; }
    __device__ __forceinline__ static double highest() { return INFINITY; }
    __device__ __forceinline__ static bool is_nan(double v) { return v != v; }
};
template <>
struct Num<int64_t> {
    __device__ __forceinline__ static int64_t lowest() { return INT64_MIN; }
    __device__ __forceinline__ static int64_t highest() { return INT64_MAX; }
    __device__ __forceinline__ static bool is_nan(int64_t) { return false; }
};

/* exp and log of the element type (expf/logf for float: the accurate ones,
 * not the __expf intrinsics). */
__device__ __forceinline__ float mg_exp(float v) { return expf(v); }
__device__ __forceinline__ double mg_exp(double v) { return exp(v); }

/* ---- reduction ops ---------------------------------------------------------------- *
 * An op turns elements (In) into accumulators (Acc) with load(v, i) (i: the
 * index along n), combines two accumulators with op(earlier, later), starts
 * from identity() and ends with finish(acc) -> Out. */

/* Sum; float dtypes accumulate in double (the GPU has double throughput to
 * spare in a memory-bound loop, and the sum then barely depends on how the
 * threads split it); int64 in uint64, so overflow wraps as on the CPU. */
template <typename T>
struct SumAccOf {
    typedef double type;
};
template <>
struct SumAccOf<int64_t> {
    typedef uint64_t type;
};

template <typename T, typename OutT = T>
struct SumOp {
    typedef T In;
    typedef typename SumAccOf<T>::type Acc;
    typedef OutT Out;
    __device__ __forceinline__ Acc identity() const { return 0; }
    __device__ __forceinline__ Acc load(T v, int64_t) const { return (Acc)v; }
    __device__ __forceinline__ Acc operator()(Acc a, Acc b) const { return a + b; }
    __device__ __forceinline__ Out finish(Acc a) const { return (Out)a; }
};

/* max (or min, kMin) where a NaN on either side wins, as on the CPU. */
template <typename T, bool kMin>
struct ExtremumOp {
    typedef T In;
    typedef T Acc;
    typedef T Out;
    __device__ __forceinline__ Acc identity() const {
        return kMin ? Num<T>::highest() : Num<T>::lowest();
    }
    __device__ __forceinline__ Acc load(T v, int64_t) const { return v; }
    __device__ __forceinline__ Acc operator()(Acc a, Acc b) const {
        const bool take_b = kMin ? b < a : b > a;
        return (take_b || Num<T>::is_nan(b)) ? b : a;
    }
    __device__ __forceinline__ Out finish(Acc a) const { return a; }
};

/* argmax (argmin, kMin): the first NaN if there is one, else the first
 * occurrence of the max.  Symmetric in its arguments (ties go to the smaller
 * index), since threads' partial results cover interleaved indices. */
template <typename T, bool kMin>
struct ArgOp {
    typedef T In;
    typedef ArgAcc<T> Acc;
    typedef int64_t Out;
    __device__ __forceinline__ Acc identity() const {
        Acc a;
        a.value = kMin ? Num<T>::highest() : Num<T>::lowest();
        a.index = INT64_MAX; /* loses every tie against a real element */
        return a;
    }
    __device__ __forceinline__ Acc load(T v, int64_t i) const {
        Acc a;
        a.value = v;
        a.index = i;
        return a;
    }
    __device__ __forceinline__ Acc operator()(Acc a, Acc b) const {
        const bool a_nan = Num<T>::is_nan(a.value), b_nan = Num<T>::is_nan(b.value);
        if (a_nan || b_nan) {
            if (a_nan && b_nan) return b.index < a.index ? b : a;
            return a_nan ? a : b;
        }
        if (kMin ? b.value < a.value : b.value > a.value) return b;
        if (b.value == a.value && b.index < a.index) return b;
        return a;
    }
    __device__ __forceinline__ Out finish(Acc a) const { return a.index; }
};

/* Reduces the partial accumulators of Op (the second launch of a split). */
template <typename Op>
struct PartialOp {
    typedef typename Op::Acc In;
    typedef typename Op::Acc Acc;
    typedef typename Op::Out Out;
    Op op;
    __device__ __forceinline__ Acc identity() const { return op.identity(); }
    __device__ __forceinline__ Acc load(Acc v, int64_t) const { return v; }
    __device__ __forceinline__ Acc operator()(Acc a, Acc b) const { return op(a, b); }
    __device__ __forceinline__ Out finish(Acc a) const { return op.finish(a); }
};

/* Reduce each line with Op: out[o * inner + j], or, when `partial` is
 * non-NULL (a split), partial[(o * chunks + c) * inner + j]. */
template <typename Op>
struct ReduceTask {
    Op op;
    const typename Op::In *x;
    typename Op::Out *out;
    typename Op::Acc *partial;
    LineShape s;

    template <typename Reducer>
    __device__ __forceinline__ void operator()(const Line &l, const Reducer &red) const {
        typename Op::Acc acc = op.identity();
        if (l.active) {
            const int64_t start = l.c * s.chunk_len, end = min64(s.n, start + s.chunk_len);
            const typename Op::In *xl = x + l.o * s.n * s.inner + l.j;
            for (int64_t i = start + l.first; i < end; i += l.step)
                acc = op(acc, op.load(xl[i * s.inner], i));
        }
        acc = red.reduce(acc, op);
        if (l.active && l.leader) {
            if (partial != nullptr)
                partial[(l.o * s.chunks + l.c) * s.inner + l.j] = acc;
            else
                out[l.o * s.inner + l.j] = op.finish(acc);
        }
    }
};

/* Bytes of partial accumulators a plan needs (0 without a split). */
template <typename Op>
size_t partial_bytes(const LinePlan &p) {
    const LineShape &s = p.shape;
    return s.chunks > 1 ? (size_t)(s.outer * s.chunks * s.inner) * sizeof(typename Op::Acc) : 0;
}

/* out (outer, inner) = Op over the middle axis of x (outer, n, inner) by plan
 * p (from plan_lines with allow_split); `partial` holds partial_bytes<Op>(p)
 * bytes of device memory (NULL if none are needed).  Launches only. */
template <typename Op>
int run_reduce(const Op &op, const LinePlan &p, const typename Op::In *x,
               typename Op::Out *out, void *partial, const char *name) {
    if (p.shape.chunks == 1) {
        const ReduceTask<Op> task = {op, x, out, nullptr, p.shape};
        return launch_lines(p, task, name);
    }
    typedef typename Op::Acc Acc;
    Acc *part = static_cast<Acc *>(partial);
    const ReduceTask<Op> first = {op, x, nullptr, part, p.shape};
    int status = launch_lines(p, first, name);
    if (status != MG_OK) return status;
    const LinePlan q = plan_lines(p.shape.outer, p.shape.chunks, p.shape.inner, false);
    const PartialOp<Op> pop = {op};
    const ReduceTask<PartialOp<Op> > second = {pop, part, out, nullptr, q.shape};
    return launch_lines(q, second, name);
}

/* run_reduce with its partial results in this thread's scratch. */
template <typename Op>
int run_reduce_scratch(const Op &op, int64_t outer, int64_t n, int64_t inner,
                       const typename Op::In *x, typename Op::Out *out, const char *name) {
    const LinePlan p = plan_lines(outer, n, inner, true);
    void *partial = nullptr;
    const size_t bytes = partial_bytes<Op>(p);
    if (bytes > 0) {
        int status = get_line_scratch(bytes, &partial);
        if (status != MG_OK) return status;
    }
    return run_reduce(op, p, x, out, partial, name);
}

}  // namespace

#endif /* MINIGRAD_CUDA_LINE_REDUCE_CUH */
