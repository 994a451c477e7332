"""The CUDA matrix multiply and fused recurrent kernels (csrc/cuda/gemm.cu, rnn.cu)
against the CPU kernels of the same name.

gemm: both entry points (mg_cuda_gemm -- cuBLAS in a build with it -- and
mg_cuda_gemm_builtin, always minigrad's tiled kernel) over a grid of m, n, k
(0, 1, 17, 64, 129: empty, single, off-tile, one tile, just past two tiles),
every transpose combination, padded leading dimensions, batches with stride 0,
beta = 0 over NaN, alpha = 0 and k = 0 over NaN operands, the split-K path
(few tiles, long k) and the large-tile path, and the CPU's status codes for bad
arguments.  The whole C buffer, padding included, is compared, so a write
outside the matrix fails.

RNN: forward and backward of the four cells against mg_rnn_forward /
mg_rnn_backward (through minigrad.backend.cpu.rnn), forward and reversed,
with and without lengths, with both, one or no bias, inference without a
workspace, gradient outputs left NULL, sizes 0 and 1, and bad arguments.
The workspaces differ between devices (each side's layout is its own), so
only outputs and gradients are compared.

Runs only on a build with MINIGRAD_CUDA=1 and a visible GPU; skipped otherwise
(MINIGRAD_REQUIRE_CUDA=1 turns the skip into a failure, for the GPU machine).
"""
import itertools

import numpy as np
import pytest

import minigrad._native

from cuda_kernel_helpers import (CODE, F32, F64, FLOATS, I64, OK, cuda_ok, gpu,
                                 require_cuda, seed_of)  # noqa: F401  (gpu: a fixture)

ffi, lib = minigrad._native.ffi, minigrad._native.lib

pytestmark = pytest.mark.cuda

require_cuda()

# (imported after the skip: only a CUDA build needs the CPU oracle's wrappers here)
from minigrad.backend.cpu.rnn import rnn_backward, rnn_forward  # noqa: E402


def hptr(arr):
    return ffi.NULL if arr is None else ffi.from_buffer(arr)


# ---- gemm --------------------------------------------------------------------------------

GEMM_ENTRIES = ["mg_cuda_gemm", "mg_cuda_gemm_builtin"]
GEMM_SIZES = [0, 1, 17, 64, 129]


class GemmCase:
    """One gemm call's arguments over flat host buffers (random contents, padding
    included), so that the same call runs on the CPU and on the GPU."""

    def __init__(self, dtype, trans_a, trans_b, m, n, k, batch=1, alpha=1.0, beta=0.0,
                 pad=(0, 0, 0), strides=None, c_fill=None, seed=0):
        rng = np.random.default_rng(seed)
        self.dtype, self.trans_a, self.trans_b = dtype, trans_a, trans_b
        self.batch, self.m, self.n, self.k, self.alpha, self.beta = batch, m, n, k, alpha, beta
        a_rows, a_cols = (k, m) if trans_a else (m, k)
        b_rows, b_cols = (n, k) if trans_b else (k, n)
        self.lda, self.ldb, self.ldc = a_cols + pad[0], b_cols + pad[1], n + pad[2]
        if strides is None:  # one problem after another, no overlap
            strides = (a_rows * self.lda, b_rows * self.ldb, m * self.ldc)
        self.stride_a, self.stride_b, self.stride_c = strides

        def flat(rows, ld, stride):
            size = max(batch - 1, 0) * stride + rows * ld
            return rng.standard_normal(max(size, 1)).astype(dtype)

        self.a = flat(a_rows, self.lda, self.stride_a)
        self.b = flat(b_rows, self.ldb, self.stride_b)
        self.c = flat(m, self.ldc, self.stride_c)
        if c_fill is not None:
            self.c[:] = c_fill
        self.scale = self._scale()

    def args(self, a, b, c):
        return (CODE[self.dtype], self.trans_a, self.trans_b, self.batch, self.m, self.n, self.k,
                self.alpha, a, self.lda, self.stride_a, b, self.ldb, self.stride_b, self.beta, c,
                self.ldc, self.stride_c)

    def run_cpu(self):
        c = self.c.copy()
        cuda_ok(lib.mg_gemm(*self.args(hptr(self.a), hptr(self.b), hptr(c))), "mg_gemm")
        return c

    def run_gpu(self, gpu, entry):
        dc = gpu.put(self.c)
        status = getattr(lib, entry)(*self.args(gpu.put(self.a), gpu.put(self.b), dc))
        cuda_ok(status, entry)
        return gpu.get(dc, self.c.shape, self.dtype)

    def _scale(self):
        """|alpha| |op(A)| |op(B)| + |beta C| per element of the flat C buffer (0 off the
        matrices): the magnitude that bounds the rounding error of either device."""
        scale = np.zeros(self.c.shape, np.float64)
        m, n, k = self.m, self.n, self.k
        for i in range(self.batch):
            if m == 0 or n == 0:
                break

            def view(buf, rows, cols, ld, start):
                return np.lib.stride_tricks.as_strided(
                    buf[start:], shape=(rows, cols), strides=(ld * buf.itemsize, buf.itemsize))

            a = view(self.a, *((k, m) if self.trans_a else (m, k)), self.lda, i * self.stride_a)
            b = view(self.b, *((n, k) if self.trans_b else (k, n)), self.ldb, i * self.stride_b)
            a = np.abs(a.T if self.trans_a else a).astype(np.float64)
            b = np.abs(b.T if self.trans_b else b).astype(np.float64)
            s = abs(self.alpha) * (a @ b) if k else np.zeros((m, n))
            c = view(self.c, m, n, self.ldc, i * self.stride_c).astype(np.float64)
            if self.beta != 0:
                s = s + np.abs(self.beta * np.nan_to_num(c))
            rows = i * self.stride_c + np.arange(m)[:, None] * self.ldc + np.arange(n)[None, :]
            scale[rows] = np.maximum(scale[rows], s)
        return scale

    def assert_matches(self, got, want):
        """Same NaN positions, values within both sides' rounding bound, padding untouched."""
        eps = np.finfo(self.dtype).eps
        bound = 8 * (self.k + 2) * eps * self.scale + np.finfo(self.dtype).tiny
        assert np.array_equal(np.isnan(got), np.isnan(want)), "NaN positions differ"
        ok = np.isnan(want) | (np.abs(got.astype(np.float64) - want) <= bound)
        assert ok.all(), (f"max error {np.nanmax(np.abs(got - want))} at "
                          f"{np.argwhere(~ok)[:5].ravel().tolist()} (m={self.m} n={self.n} "
                          f"k={self.k} ta={self.trans_a} tb={self.trans_b} batch={self.batch})")


@pytest.mark.parametrize("entry", GEMM_ENTRIES)
@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([0, 1], repeat=2)))
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
def test_gemm_size_grid(gpu, entry, dtype, trans_a, trans_b):
    for m, n, k in itertools.product(GEMM_SIZES, repeat=3):
        case = GemmCase(dtype, trans_a, trans_b, m, n, k,
                        seed=seed_of(m, n, k, trans_a, trans_b, str(dtype)))
        case.assert_matches(case.run_gpu(gpu, entry), case.run_cpu())


@pytest.mark.parametrize("entry", GEMM_ENTRIES)
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([0, 1], repeat=2)))
@pytest.mark.parametrize("pad", [(3, 0, 0), (0, 5, 0), (0, 0, 2), (7, 1, 9)])
def test_gemm_padded_leading_dims(gpu, entry, dtype, trans_a, trans_b, pad):
    case = GemmCase(dtype, trans_a, trans_b, 33, 70, 21, alpha=0.75, beta=0.5, pad=pad,
                    seed=seed_of(pad, trans_a, trans_b))
    case.assert_matches(case.run_gpu(gpu, entry), case.run_cpu())


# (batch, strides (a, b, c) or None for back to back, m, n, k, pad)
BATCHES = [
    (3, (0, 20 * 33, 17 * 33), 17, 33, 20, (0, 0, 0)),      # A reused
    (3, (17 * 20, 0, 17 * 33), 17, 33, 20, (0, 0, 0)),      # B reused
    (4, (0, 0, 17 * 33), 17, 33, 20, (0, 0, 0)),            # both reused
    (2, None, 17, 33, 20, (2, 3, 5)),                       # padded rows
    (3, (9 * 5, 5 * 7, 8 * 8 + 7), 9, 7, 5, (0, 0, 1)),     # tightest C stride: (m-1)*ldc+n
    (40, None, 129, 129, 8, (0, 0, 0)),                     # many tiles: the 128-wide tile
    (0, None, 5, 6, 7, (0, 0, 0)),                          # no problems at all
]


@pytest.mark.parametrize("entry", GEMM_ENTRIES)
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("trans_a,trans_b", [(0, 0), (1, 1), (0, 1)])
@pytest.mark.parametrize("batch,strides,m,n,k,pad", BATCHES)
def test_gemm_batches(gpu, entry, dtype, trans_a, trans_b, batch, strides, m, n, k, pad):
    if strides is not None and (trans_a or trans_b):
        # the strides above are written for untransposed operands; keep reuse (0) and
        # recompute the others for the stored shapes
        sa = 0 if strides[0] == 0 else m * k + pad[0] * (k if trans_a else m)
        sb = 0 if strides[1] == 0 else k * n + pad[1] * (n if trans_b else k)
        strides = (sa, sb, strides[2])
    case = GemmCase(dtype, trans_a, trans_b, m, n, k, batch=batch, beta=0.25, pad=pad,
                    strides=strides, seed=seed_of(batch, m, n, k, trans_a))
    case.assert_matches(case.run_gpu(gpu, entry), case.run_cpu())


@pytest.mark.parametrize("entry", GEMM_ENTRIES)
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
def test_gemm_beta_alpha_and_k_zero(gpu, entry, dtype):
    nan = np.nan
    # beta == 0 ignores C's contents, NaN included
    case = GemmCase(dtype, 0, 1, 19, 23, 11, alpha=1.5, beta=0.0, c_fill=nan, seed=1)
    got = case.run_gpu(gpu, entry)
    assert not np.isnan(got).any()
    case.assert_matches(got, case.run_cpu())
    # beta != 0 reads C
    case = GemmCase(dtype, 1, 0, 19, 23, 11, alpha=-2.0, beta=0.5, seed=2)
    case.assert_matches(case.run_gpu(gpu, entry), case.run_cpu())
    # alpha == 0 and k == 0: C = beta * C without reading A or B (NaN there must not leak)
    for k, alpha, beta in [(11, 0.0, 0.5), (11, 0.0, 0.0), (0, 1.0, 3.0), (0, 1.0, 0.0),
                           (11, 0.0, 1.0)]:
        case = GemmCase(dtype, 0, 0, 7, 9, k, batch=2, alpha=alpha, beta=beta, seed=3)
        case.a[:] = nan
        case.b[:] = nan
        if beta == 0:
            case.c[:] = nan
        got = case.run_gpu(gpu, entry)
        assert not np.isnan(got).any()
        case.assert_matches(got, case.run_cpu())


@pytest.mark.parametrize("entry", GEMM_ENTRIES)
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([0, 1], repeat=2)))
@pytest.mark.parametrize("m,n,k", [(17, 33, 1100), (128, 96, 4096), (1, 1, 777),
                                   (1300, 1700, 20)])
def test_gemm_split_k_and_large_tiles(gpu, entry, dtype, trans_a, trans_b, m, n, k):
    """Few tiles and a long k take the split-K path (partial sums added by a second
    kernel); many tiles take the 128-wide float tile."""
    case = GemmCase(dtype, trans_a, trans_b, m, n, k, alpha=0.5, beta=-1.0,
                    seed=seed_of(m, n, k, trans_a, trans_b))
    case.assert_matches(case.run_gpu(gpu, entry), case.run_cpu())


def _gemm_status(fn, dtype=F32, ta=0, tb=0, batch=1, m=3, n=4, k=5, alpha=1.0, a=None,
                 lda=5, sa=0, b=None, ldb=4, sb=0, beta=0.0, c=None, ldc=4, sc=0):
    return fn(CODE[dtype], ta, tb, batch, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc)


@pytest.mark.parametrize("entry", GEMM_ENTRIES)
def test_gemm_bad_arguments_give_cpu_status(gpu, entry):
    dev = {name: gpu.filled((64,), F32, 0.0) for name in "abc"}
    host = {name: np.zeros(64, F32) for name in "abc"}
    cases = [
        (dict(dtype=I64), lib.MG_ERR_DTYPE),
        (dict(ta=2), lib.MG_ERR_OP),
        (dict(tb=-1), lib.MG_ERR_OP),
        (dict(m=-1), lib.MG_ERR_SIZE),
        (dict(batch=-1), lib.MG_ERR_SIZE),
        (dict(lda=4), lib.MG_ERR_SIZE),              # < k
        (dict(ta=1, lda=2), lib.MG_ERR_SIZE),       # < m
        (dict(ldb=3), lib.MG_ERR_SIZE),              # < n
        (dict(ldc=3), lib.MG_ERR_SIZE),
        (dict(sa=-1), lib.MG_ERR_SIZE),
        (dict(batch=2, sc=10), lib.MG_ERR_SIZE),     # problems would share C: (m-1)*4+4 = 12
        (dict(c=False), lib.MG_ERR_NULL),
        (dict(a=False), lib.MG_ERR_NULL),
        (dict(b=False), lib.MG_ERR_NULL),
        (dict(a=False, b=False, k=0), OK),           # k == 0 reads neither
        (dict(a=False, b=False, alpha=0.0), OK),     # nor does alpha == 0
        (dict(c=False, m=0), OK),                    # nothing to write
        (dict(batch=2, sc=12), OK),
    ]
    for kwargs, want in cases:
        for name in "abc":
            if kwargs.get(name) is False:
                kwargs[name] = None
        gpu_kw = {k: (ffi.NULL if v is None else v) if k in ("a", "b", "c") else v
                  for k, v in kwargs.items()}
        cpu_kw = dict(gpu_kw)
        for name in "abc":
            if name not in kwargs:
                gpu_kw[name] = dev[name]
                cpu_kw[name] = ffi.from_buffer(host[name])
        got = _gemm_status(getattr(lib, entry), **gpu_kw)
        cpu = _gemm_status(lib.mg_gemm, **cpu_kw)
        assert got == cpu == want, f"{kwargs}: cuda {got}, cpu {cpu}, expected {want}"


# ---- recurrent layers ----------------------------------------------------------------------

CELLS = {"rnn_tanh": (lib.MG_RNN_TANH, 1), "rnn_relu": (lib.MG_RNN_RELU, 1),
         "gru": (lib.MG_GRU, 3), "lstm": (lib.MG_LSTM, 4)}


def rnn_tolerance(dtype):
    """CPU and GPU use different activations (vectorised polynomials vs CUDA's libm)
    and summation orders: a few float32 ulp per step, compounded over the sequence."""
    return dict(rtol=2e-4, atol=2e-5) if dtype == F32 else dict(rtol=1e-10, atol=1e-11)


class RnnCase:
    """Inputs of one layer (host arrays) and the CPU oracle's outputs and gradients."""

    def __init__(self, cell, dtype, T, B, n_in, H, reverse=False, lengths=None,
                 bias=("ih", "hh"), seed=0):
        rng = np.random.default_rng(seed)
        self.cell, self.dtype, self.reverse = cell, dtype, reverse
        self.code, G = CELLS[cell]
        self.T, self.B, self.n_in, self.H = T, B, n_in, H
        GH = G * H
        bound = 1.0 / np.sqrt(max(H, 1))

        def uniform(*shape):
            return rng.uniform(-bound, bound, shape).astype(dtype)

        self.x = rng.standard_normal((T, B, n_in)).astype(dtype)
        self.w_ih, self.w_hh = uniform(GH, n_in), uniform(GH, H)
        self.b_ih = uniform(GH) if "ih" in bias else None
        self.b_hh = uniform(GH) if "hh" in bias else None
        self.h0 = (0.5 * rng.standard_normal((B, H))).astype(dtype)
        self.c0 = (0.5 * rng.standard_normal((B, H))).astype(dtype) if cell == "lstm" else None
        self.lengths = None if lengths is None else np.asarray(lengths, np.int64)
        self.dy = rng.standard_normal((T, B, H)).astype(dtype)
        self.dh_n = rng.standard_normal((B, H)).astype(dtype)
        self.dc_n = rng.standard_normal((B, H)).astype(dtype) if cell == "lstm" else None

    def inputs(self):
        return (self.x, self.w_ih, self.w_hh, self.b_ih, self.b_hh, self.h0, self.c0)

    def cpu_forward(self):
        y, h_n, c_n, ws = rnn_forward(self.cell, *self.inputs(), lengths=self.lengths,
                                      reverse=self.reverse)
        return y, h_n, c_n, ws

    def cpu_backward(self, y, ws, dh_n=True, dc_n=True):
        return rnn_backward(self.cell, *self.inputs(), self.lengths, self.reverse, y, ws,
                            self.dy, self.dh_n if dh_n else None,
                            self.dc_n if dc_n else None)

    # -- GPU side: raw calls on device pointers --

    def upload(self, gpu):
        self.d = {name: gpu.put(arr) for name, arr in
                  [("x", self.x), ("w_ih", self.w_ih), ("w_hh", self.w_hh), ("b_ih", self.b_ih),
                   ("b_hh", self.b_hh), ("h0", self.h0), ("c0", self.c0),
                   ("lengths", self.lengths), ("dy", self.dy), ("dh_n", self.dh_n),
                   ("dc_n", self.dc_n)]}
        return self.d

    def common_args(self):
        d = self.d
        return (CODE[self.dtype], self.code, self.T, self.B, self.n_in, self.H, d["x"],
                d["w_ih"], d["w_hh"], d["b_ih"], d["b_hh"], d["h0"], d["c0"],
                ffi.cast("int64_t *", d["lengths"]), int(self.reverse))

    def ws_size(self):
        size = lib.mg_cuda_rnn_workspace_size(self.code, self.T, self.B, self.H)
        assert size >= 0
        return size

    def gpu_forward(self, gpu, workspace=True):
        """Returns (y, h_n, c_n) as host arrays and the device y and ws pointers."""
        T, B, H, dt = self.T, self.B, self.H, self.dtype
        dy_ptr = gpu.filled((T, B, H), dt)
        dh = gpu.filled((B, H), dt)
        dcn = gpu.filled((B, H), dt) if self.cell == "lstm" else ffi.NULL
        dws = gpu.filled((self.ws_size(),), dt) if workspace else ffi.NULL
        cuda_ok(lib.mg_cuda_rnn_forward(*self.common_args(), dy_ptr, dh, dcn, dws),
                "mg_cuda_rnn_forward")
        c_n = gpu.get(dcn, (B, H), dt) if self.cell == "lstm" else None
        return (gpu.get(dy_ptr, (T, B, H), dt), gpu.get(dh, (B, H), dt), c_n), dy_ptr, dws

    def gpu_backward(self, gpu, y_ptr, ws_ptr, want=None, dh_n=True, dc_n=True):
        """Gradients as a dict of host arrays (None where not requested or not existing)."""
        T, B, H, G, dt = self.T, self.B, self.H, CELLS[self.cell][1], self.dtype
        shapes = {"x": (T, B, self.n_in), "w_ih": (G * H, self.n_in), "w_hh": (G * H, H),
                  "b_ih": (G * H,), "b_hh": (G * H,), "h0": (B, H), "c0": (B, H)}
        if want is None:
            want = set(shapes)
        exists = {"b_ih": self.b_ih is not None, "b_hh": self.b_hh is not None,
                  "c0": self.cell == "lstm"}
        wanted = {name for name in shapes if name in want and exists.get(name, True)}
        ptrs = {name: gpu.filled(shapes[name], dt) if name in wanted else ffi.NULL
                for name in shapes}
        d = self.d
        cuda_ok(lib.mg_cuda_rnn_backward(
            *self.common_args(), y_ptr, ws_ptr, d["dy"], d["dh_n"] if dh_n else ffi.NULL,
            d["dc_n"] if dc_n else ffi.NULL, ptrs["x"], ptrs["w_ih"], ptrs["w_hh"],
            ptrs["b_ih"], ptrs["b_hh"], ptrs["h0"], ptrs["c0"]), "mg_cuda_rnn_backward")
        return {name: gpu.get(ptrs[name], shapes[name], dt) if name in wanted else None
                for name in shapes}


def assert_close(got, want, dtype, what):
    if want is None:
        assert got is None, what
        return
    assert got is not None, what
    np.testing.assert_allclose(got, want, err_msg=what, **rnn_tolerance(dtype))


def check_layer(gpu, case):
    """Forward and backward of `case` on the GPU against the CPU kernels."""
    case.upload(gpu)
    y, h_n, c_n, ws = case.cpu_forward()
    (gy, gh_n, gc_n), y_ptr, ws_ptr = case.gpu_forward(gpu)
    assert_close(gy, y, case.dtype, "y")
    assert_close(gh_n, h_n, case.dtype, "h_n")
    assert_close(gc_n, c_n, case.dtype, "c_n")
    want = case.cpu_backward(y, ws)
    got = case.gpu_backward(gpu, y_ptr, ws_ptr)
    for name in want:
        assert_close(got[name], want[name], case.dtype, f"d{name}")


def ragged(B, T, seed):
    """Lengths in [0, T] with the extremes present (when B allows)."""
    lengths = np.random.default_rng(seed).integers(0, T + 1, B)
    lengths[0] = T
    if B > 1:
        lengths[1] = 0
    if B > 2:
        lengths[2] = min(1, T)
    return lengths


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("bias", [("ih", "hh"), (), ("hh",)], ids=["bias", "nobias", "b_hh"])
def test_rnn_matches_cpu(gpu, dtype, cell, reverse, with_lengths, bias):
    T, B, n_in, H = 6, 5, 7, 9
    lengths = ragged(B, T, seed_of(cell, reverse)) if with_lengths else None
    case = RnnCase(cell, dtype, T, B, n_in, H, reverse=reverse, lengths=lengths, bias=bias,
                   seed=seed_of(cell, str(dtype), reverse, with_lengths, bias))
    check_layer(gpu, case)


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_rnn_larger_than_a_tile(gpu, dtype, cell, reverse):
    """Sizes past the gemm tiles (G*H > 128, n_in and H not multiples of 4 or 16)."""
    T, B, n_in, H = 7, 19, 70, 45
    case = RnnCase(cell, dtype, T, B, n_in, H, reverse=reverse,
                   lengths=ragged(B, T, 3), seed=seed_of(cell, reverse, "large"))
    check_layer(gpu, case)


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("T,B,n_in,H", [(0, 3, 4, 5), (4, 0, 4, 5), (4, 3, 0, 5), (1, 1, 1, 1),
                                        (3, 2, 4, 0)])
def test_rnn_empty_and_unit_sizes(gpu, cell, T, B, n_in, H):
    case = RnnCase(cell, F64, T, B, n_in, H, lengths=ragged(B, T, 1) if B else None,
                   seed=seed_of(cell, T, B, n_in, H))
    check_layer(gpu, case)


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_rnn_inference_without_workspace(gpu, cell, reverse):
    case = RnnCase(cell, F32, 5, 4, 3, 6, reverse=reverse, lengths=[5, 2, 0, 4], seed=7)
    case.upload(gpu)
    (y, h_n, c_n), _, _ = case.gpu_forward(gpu, workspace=True)
    (y2, h_n2, c_n2), _, _ = case.gpu_forward(gpu, workspace=False)
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(h_n2, h_n)
    if cell == "lstm":
        np.testing.assert_array_equal(c_n2, c_n)
    cy, ch_n, cc_n, _ = case.cpu_forward()
    assert_close(y2, cy, F32, "y")
    assert_close(h_n2, ch_n, F32, "h_n")


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_rnn_backward_optional_outputs(gpu, cell, reverse):
    """Gradient outputs left NULL are skipped, the others unchanged; dh_n/dc_n NULL is zero;
    a second backward from the same workspace gives the same gradients."""
    case = RnnCase(cell, F64, 5, 4, 3, 6, reverse=reverse, lengths=[5, 3, 0, 1], seed=11)
    case.upload(gpu)
    y, _, _, ws = case.cpu_forward()
    _, y_ptr, ws_ptr = case.gpu_forward(gpu)
    full = case.gpu_backward(gpu, y_ptr, ws_ptr)
    for want in [{"x"}, {"w_hh"}, {"w_ih", "b_hh"}, {"h0", "c0"}, set()]:
        got = case.gpu_backward(gpu, y_ptr, ws_ptr, want=want)
        for name, value in got.items():
            if name in want and full[name] is not None:
                np.testing.assert_array_equal(value, full[name], err_msg=name)
            else:
                assert value is None, name
    cpu = case.cpu_backward(y, ws, dh_n=False, dc_n=False)
    got = case.gpu_backward(gpu, y_ptr, ws_ptr, dh_n=False, dc_n=False)
    for name in cpu:
        assert_close(got[name], cpu[name], F64, f"d{name} without dh_n/dc_n")


def test_rnn_workspace_size():
    for cell, (code, _) in CELLS.items():
        assert lib.mg_cuda_rnn_workspace_size(code, -1, 2, 3) == -1
        assert lib.mg_cuda_rnn_workspace_size(code, 2, 2**62, 2**10) == -1
        size = lib.mg_cuda_rnn_workspace_size(code, 5, 4, 3)
        expected = {"lstm": 5 * 5 * 4 * 3, "gru": 4 * 5 * 4 * 3 + 3 * 4 * 3}.get(cell, 0)
        assert size == expected, cell
    assert lib.mg_cuda_rnn_workspace_size(9, 5, 4, 3) == -1


def _rnn_status(fn, case, ptrs, **over):
    """Status of a forward call of `case` with some arguments replaced."""
    args = dict(dtype=CODE[case.dtype], cell=case.code, T=case.T, B=case.B, n_in=case.n_in,
                H=case.H, reverse=0)
    args.update({k: v for k, v in over.items() if k in args})
    p = dict(ptrs)
    p.update({k: v for k, v in over.items() if k in p})
    return fn(args["dtype"], args["cell"], args["T"], args["B"], args["n_in"], args["H"],
              p["x"], p["w_ih"], p["w_hh"], p["b_ih"], p["b_hh"], p["h0"], p["c0"],
              ffi.cast("int64_t *", p["lengths"]), args["reverse"], p["y"], p["h_n"], p["c_n"],
              p["ws"])


def test_rnn_bad_arguments_give_cpu_status(gpu):
    case = RnnCase("lstm", F32, 3, 2, 4, 5, seed=5)
    names = ["x", "w_ih", "w_hh", "b_ih", "b_hh", "h0", "c0"]
    cpu_ws = lib.mg_rnn_workspace_size(case.code, 3, 2, 5)
    host_arrays = dict(zip(names, case.inputs()))
    host_arrays.update(y=np.zeros((3, 2, 5), F32), h_n=np.zeros((2, 5), F32),
                       c_n=np.zeros((2, 5), F32),
                       ws=np.zeros(max(case.ws_size(), cpu_ws), F32),
                       lengths=None)
    dev = {k: gpu.put(v) for k, v in host_arrays.items()}
    hst = {k: hptr(v) for k, v in host_arrays.items()}
    bad_lengths = np.array([4, 1], np.int64)  # 4 > T
    neg_lengths = np.array([1, -1], np.int64)
    cases = [
        (dict(dtype=CODE[I64]), lib.MG_ERR_DTYPE),
        (dict(cell=7), lib.MG_ERR_OP),
        (dict(T=-1), lib.MG_ERR_SIZE),
        (dict(H=-2), lib.MG_ERR_SIZE),
        (dict(x=None), lib.MG_ERR_NULL),
        (dict(w_hh=None), lib.MG_ERR_NULL),
        (dict(h0=None), lib.MG_ERR_NULL),
        (dict(c0=None), lib.MG_ERR_NULL),
        (dict(y=None), lib.MG_ERR_NULL),
        (dict(h_n=None), lib.MG_ERR_NULL),
        (dict(c_n=None), lib.MG_ERR_NULL),
        (dict(lengths=bad_lengths), lib.MG_ERR_SIZE),
        (dict(lengths=neg_lengths), lib.MG_ERR_SIZE),
        (dict(ws=None), OK),                      # inference
        (dict(b_ih=None, b_hh=None), OK),
    ]
    for over, want in cases:
        g_over, c_over = {}, {}
        for k, v in over.items():
            if isinstance(v, np.ndarray):
                g_over[k], c_over[k] = gpu.put(v), hptr(v)
            elif v is None:
                g_over[k] = c_over[k] = ffi.NULL
            else:
                g_over[k] = c_over[k] = v
        got = _rnn_status(lib.mg_cuda_rnn_forward, case, dev, **g_over)
        cpu = _rnn_status(lib.mg_rnn_forward, case, hst, **c_over)
        assert got == cpu == want, f"{list(over)}: cuda {got}, cpu {cpu}, expected {want}"


def test_rnn_backward_needs_workspace(gpu):
    for cell in ["lstm", "gru"]:
        case = RnnCase(cell, F32, 3, 2, 4, 5, seed=6)
        case.upload(gpu)
        _, y_ptr, _ = case.gpu_forward(gpu)
        status = lib.mg_cuda_rnn_backward(*case.common_args(), y_ptr, ffi.NULL, case.d["dy"],
                                          ffi.NULL, ffi.NULL, *([ffi.NULL] * 7))
        assert status == lib.MG_ERR_NULL, cell
    # a plain RNN keeps nothing: no workspace needed
    case = RnnCase("rnn_tanh", F32, 3, 2, 4, 5, seed=6)
    case.upload(gpu)
    _, y_ptr, _ = case.gpu_forward(gpu)
    status = lib.mg_cuda_rnn_backward(*case.common_args(), y_ptr, ffi.NULL, case.d["dy"],
                                      ffi.NULL, ffi.NULL, *([ffi.NULL] * 7))
    assert status == OK
