"""Cross-entropy kernels: a numpy float64 oracle (always), PyTorch's
F.cross_entropy (when installed), finite differences, and bad arguments."""
import numpy as np
import pytest

from minigrad._native import ffi, lib
from minigrad.backend.cpu import cross_entropy, cross_entropy_backward

IGNORE = -100


# ---- helpers ----------------------------------------------------------------

def oracle(logits, target, weight=None, ignore_index=IGNORE, ls=0.0):
    """Per-row loss, row weight, log-probs and d(sum loss)/d logits in float64."""
    x = np.asarray(logits, np.float64)
    n, c = x.shape
    w = np.ones(c) if weight is None else np.asarray(weight, np.float64)
    m = x.max(axis=1, keepdims=True) if c else np.zeros((n, 1))
    logp = x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))
    loss, row_w, grad = np.zeros(n), np.zeros(n), np.zeros((n, c))
    for i, t in enumerate(target):
        if t == ignore_index:
            continue
        loss[i] = -(1 - ls) * w[t] * logp[i, t] - ls / c * (w * logp[i]).sum()
        row_w[i] = w[t]
        p = np.exp(logp[i])
        grad[i] = p * ((1 - ls) * w[t] + ls / c * w.sum()) - ls / c * w
        grad[i, t] -= (1 - ls) * w[t]
    return loss, row_w, logp, grad


def make_case(rng, n, c, dtype, weighted, with_ignore, scale=3.0):
    logits = (rng.standard_normal((n, c)) * scale).astype(dtype)
    target = rng.integers(0, max(c, 1), n).astype(np.int64)
    if with_ignore and n:
        target[rng.integers(0, n)] = IGNORE
    if c == 0:
        target[:] = IGNORE
    weight = rng.uniform(0.2, 2.0, c).astype(dtype) if weighted else None
    return logits, target, weight


def tol(dtype):
    return dict(rtol=1e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)


GRID = [(n, c) for n in (0, 1, 5) for c in (1, 2, 65)]


# ---- numpy oracle (always runs) ----------------------------------------------

@pytest.mark.parametrize("n,c", GRID)
@pytest.mark.parametrize("weighted", [False, True], ids=["noweight", "weight"])
@pytest.mark.parametrize("ls", [0.0, 0.1])
@pytest.mark.parametrize("with_ignore", [False, True], ids=["all", "ignore"])
def test_matches_numpy_oracle(dtype, n, c, weighted, ls, with_ignore):
    rng = np.random.default_rng(n * 100 + c)
    logits, target, weight = make_case(rng, n, c, dtype, weighted, with_ignore)
    loss, row_w, logp = cross_entropy(logits, target, weight, label_smoothing=ls)
    ref_loss, ref_w, ref_logp, ref_grad = oracle(logits, target, weight, ls=ls)
    for got in (loss, row_w, logp):
        assert got.dtype == dtype
    assert loss.shape == (n,) and row_w.shape == (n,) and logp.shape == (n, c)
    np.testing.assert_allclose(loss, ref_loss, **tol(dtype))
    np.testing.assert_allclose(row_w, ref_w, **tol(dtype))
    np.testing.assert_allclose(logp, ref_logp, **tol(dtype))
    grad_loss = rng.standard_normal(n).astype(dtype)
    grad = cross_entropy_backward(logp, target, grad_loss, weight, label_smoothing=ls)
    assert grad.shape == (n, c) and grad.dtype == dtype
    np.testing.assert_allclose(grad, ref_grad * grad_loss[:, None].astype(np.float64),
                               **tol(dtype))


def test_default_ignore_value_is_out_of_range_under_another_ignore_index(dtype):
    logits = np.arange(12, dtype=dtype).reshape(3, 4)
    target = np.array([IGNORE, 2, 7], np.int64)
    with pytest.raises(IndexError, match=r"target\[0\] = -100"):
        cross_entropy(logits, target, ignore_index=7)


def test_custom_ignore_index_inside_range(dtype):
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((4, 5)).astype(dtype)
    target = np.array([1, 3, 3, 0], np.int64)
    loss, row_w, logp = cross_entropy(logits, target, ignore_index=3, label_smoothing=0.1)
    assert loss[1] == 0 and loss[2] == 0 and row_w[1] == 0 and row_w[2] == 0
    assert loss[0] > 0 and row_w[0] == 1
    grad = cross_entropy_backward(logp, target, np.ones(4, dtype), ignore_index=3,
                                  label_smoothing=0.1)
    assert not grad[1:3].any() and grad[0].any()


@pytest.mark.parametrize("scale", [1e4, 1e30])
def test_large_logits_stay_finite(dtype, scale):
    if dtype == np.float32 and scale > 3e38:
        pytest.skip("beyond float32")
    rng = np.random.default_rng(1)
    logits, target, weight = make_case(rng, 6, 65, dtype, True, True)
    logits = (logits.astype(np.float64) * (scale / 3)).astype(dtype)
    for ls in (0.0, 0.1):
        loss, row_w, logp = cross_entropy(logits, target, weight, label_smoothing=ls)
        assert np.isfinite(loss).all() and np.isfinite(logp).all()
        ref_loss, _, ref_logp, ref_grad = oracle(logits, target, weight, ls=ls)
        np.testing.assert_allclose(loss, ref_loss, rtol=1e-6 if dtype == np.float32 else 1e-12)
        grad = cross_entropy_backward(logp, target, np.ones(6, dtype), weight, label_smoothing=ls)
        assert np.isfinite(grad).all()
        np.testing.assert_allclose(grad, ref_grad, **tol(dtype))


def test_non_contiguous_inputs(dtype):
    rng = np.random.default_rng(5)
    base = rng.standard_normal((65, 12)).astype(dtype)
    logits = base.T[::-2]                      # (6, 65), transposed, negative stride
    target = rng.integers(0, 65, 12).astype(np.int64)[::2]
    weight = rng.uniform(0.5, 1.5, 130).astype(dtype)[::2]
    grad_loss = rng.standard_normal(12).astype(dtype)[::-2]
    assert not logits.flags.c_contiguous and not target.flags.c_contiguous
    loss, row_w, logp = cross_entropy(logits, target, weight, label_smoothing=0.1)
    ref_loss, ref_w, ref_logp, ref_grad = oracle(logits, target, weight, ls=0.1)
    np.testing.assert_allclose(loss, ref_loss, **tol(dtype))
    grad = cross_entropy_backward(logp[::-1][::-1], target, grad_loss, weight,
                                  label_smoothing=0.1)
    np.testing.assert_allclose(grad, ref_grad * grad_loss[:, None].astype(np.float64),
                               **tol(dtype))
    # a non-contiguous log_probs view
    grad2 = cross_entropy_backward(np.asfortranarray(logp), target, grad_loss, weight,
                                   label_smoothing=0.1)
    np.testing.assert_array_equal(grad, grad2)


def test_threads_agree(threads, dtype):
    """n * c above the OpenMP threshold: same answer at 1 and 2 threads."""
    rng = np.random.default_rng(7)
    logits, target, weight = make_case(rng, 700, 65, dtype, True, True)
    loss, row_w, logp = cross_entropy(logits, target, weight, label_smoothing=0.1)
    ref_loss, ref_w, ref_logp, ref_grad = oracle(logits, target, weight, ls=0.1)
    np.testing.assert_allclose(loss, ref_loss, **tol(dtype))
    grad = cross_entropy_backward(logp, target, np.ones(700, dtype), weight, label_smoothing=0.1)
    np.testing.assert_allclose(grad, ref_grad, **tol(dtype))


@pytest.mark.parametrize("c", [1, 3, 16, 17, 100, 1000])
@pytest.mark.parametrize("ls", [0.0, 0.25])
def test_class_counts_around_vector_widths_across_threads(threads, dtype, c, ls):
    """Rows of every length around the 16-wide vector steps, enough of them
    (about 40,000 logits) to be split across threads, with ignored rows."""
    rng = np.random.default_rng(c)
    n = max(4, 40_000 // c)
    logits, target, weight = make_case(rng, n, c, dtype, c % 2 == 1, True)
    target[::7] = IGNORE
    loss, row_w, logp = cross_entropy(logits, target, weight, label_smoothing=ls)
    ref_loss, ref_w, ref_logp, ref_grad = oracle(logits, target, weight, ls=ls)
    np.testing.assert_allclose(loss, ref_loss, **tol(dtype))
    np.testing.assert_array_equal(row_w, ref_w.astype(dtype))
    np.testing.assert_allclose(logp, ref_logp, **tol(dtype))
    grad_loss = rng.standard_normal(n).astype(dtype)
    grad = cross_entropy_backward(logp, target, grad_loss, weight, label_smoothing=ls)
    np.testing.assert_allclose(grad, ref_grad * grad_loss[:, None].astype(np.float64),
                               **tol(dtype))
    assert not grad[::7].any()


@pytest.mark.parametrize("weighted", [False, True], ids=["noweight", "weight"])
@pytest.mark.parametrize("ls", [0.0, 0.1])
def test_backward_finite_differences(weighted, ls):
    rng = np.random.default_rng(11)
    logits, target, weight = make_case(rng, 4, 6, np.float64, weighted, True)
    grad_loss = rng.standard_normal(4)
    _, _, logp = cross_entropy(logits, target, weight, label_smoothing=ls)
    grad = cross_entropy_backward(logp, target, grad_loss, weight, label_smoothing=ls)
    eps = 1e-6
    numeric = np.zeros_like(logits)
    for idx in np.ndindex(*logits.shape):
        plus, minus = logits.copy(), logits.copy()
        plus[idx] += eps
        minus[idx] -= eps
        f_plus = cross_entropy(plus, target, weight, label_smoothing=ls)[0] @ grad_loss
        f_minus = cross_entropy(minus, target, weight, label_smoothing=ls)[0] @ grad_loss
        numeric[idx] = (f_plus - f_minus) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)
    assert np.abs(grad).max() > 1e-3  # not a vacuous comparison of zeros


# ---- PyTorch parity ----------------------------------------------------------

@pytest.mark.parametrize("n,c", GRID)
@pytest.mark.parametrize("weighted", [False, True], ids=["noweight", "weight"])
@pytest.mark.parametrize("ls", [0.0, 0.1])
def test_matches_torch(dtype, n, c, weighted, ls):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(n * 7 + c)
    logits, target, weight = make_case(rng, n, c, dtype, weighted, with_ignore=True)
    # float32 against torch float64 on the same (exactly widened) values: our
    # float32 kernel is compared with the exact answer, not with torch's rounding.
    tw = None if weight is None else torch.from_numpy(weight.astype(np.float64))
    tt = torch.from_numpy(target)

    def torch_run(reduction, grad_out):
        x = torch.from_numpy(logits.astype(np.float64)).requires_grad_(True)
        out = F.cross_entropy(x, tt, weight=tw, ignore_index=IGNORE, reduction=reduction,
                              label_smoothing=ls)
        out.backward(grad_out if grad_out is not None else torch.ones_like(out))
        return out.detach().numpy(), x.grad.numpy()

    loss, row_w, logp = cross_entropy(logits, target, weight, label_smoothing=ls)
    grad_loss = rng.standard_normal(n).astype(dtype)
    ref_loss, ref_grad = torch_run("none", torch.from_numpy(grad_loss.astype(np.float64)))
    np.testing.assert_allclose(loss, ref_loss, **tol(dtype))
    grad = cross_entropy_backward(logp, target, grad_loss, weight, label_smoothing=ls)
    np.testing.assert_allclose(grad, ref_grad, **tol(dtype))

    # reduction='sum': grad_loss of ones
    ref_sum, ref_grad_sum = torch_run("sum", None)
    np.testing.assert_allclose(loss.astype(np.float64).sum(), ref_sum, **tol(dtype))
    grad = cross_entropy_backward(logp, target, np.ones(n, dtype), weight, label_smoothing=ls)
    np.testing.assert_allclose(grad, ref_grad_sum, **tol(dtype))

    # reduction='mean': PyTorch divides by the summed row weights
    denom = row_w.astype(np.float64).sum()
    if denom > 0:
        ref_mean, ref_grad_mean = torch_run("mean", None)
        np.testing.assert_allclose(loss.astype(np.float64).sum() / denom, ref_mean, **tol(dtype))
        grad = cross_entropy_backward(logp, target, np.full(n, 1 / denom, dtype), weight,
                                      label_smoothing=ls)
        np.testing.assert_allclose(grad, ref_grad_mean, **tol(dtype))


def test_matches_torch_float32_large_logits():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    logits, target, weight = make_case(rng, 5, 65, np.float32, True, True, scale=1e4)
    for ls in (0.0, 0.1):
        ref = torch.nn.functional.cross_entropy(
            torch.from_numpy(logits), torch.from_numpy(target), torch.from_numpy(weight),
            reduction="none", label_smoothing=ls).numpy()
        loss = cross_entropy(logits, target, weight, label_smoothing=ls)[0]
        # torch forms x - (max + log sum): at |x| ~ 1e4 its float32 rounding is ~1e-3
        np.testing.assert_allclose(loss, ref, rtol=1e-4, atol=4e-3)


# ---- bad arguments -----------------------------------------------------------

def test_bad_arguments_raise():
    x = np.zeros((3, 4), np.float32)
    t = np.array([0, 1, 2], np.int64)
    with pytest.raises(TypeError, match="cross_entropy"):
        cross_entropy(x.astype(np.int64), t)
    with pytest.raises(TypeError, match="int64"):
        cross_entropy(x, t.astype(np.int32))
    with pytest.raises(TypeError, match="one dtype"):
        cross_entropy(x, t, weight=np.ones(4, np.float64))
    with pytest.raises(ValueError, match=r"\(3,\)"):
        cross_entropy(x, t[:2])
    with pytest.raises(ValueError, match="weight"):
        cross_entropy(x, t, weight=np.ones(5, np.float32))
    with pytest.raises(ValueError, match="2-D"):
        cross_entropy(x.ravel(), t)
    with pytest.raises(ValueError, match="label_smoothing"):
        cross_entropy(x, t, label_smoothing=1.5)
    with pytest.raises(ValueError, match="label_smoothing"):
        cross_entropy(x, t, label_smoothing=float("nan"))
    with pytest.raises(TypeError):
        cross_entropy(x.tolist(), t)
    logp = cross_entropy(x, t)[2]
    with pytest.raises(TypeError, match="one dtype"):
        cross_entropy_backward(logp, t, np.ones(3, np.float64))
    with pytest.raises(ValueError, match="grad_loss"):
        cross_entropy_backward(logp, t, np.ones(4, np.float32))


@pytest.mark.parametrize("bad", [4, -1, 10**12, IGNORE + 1])
def test_target_out_of_range_raises_index_error(bad):
    x = np.zeros((3, 4), np.float64)
    t = np.array([0, bad, 2], np.int64)
    with pytest.raises(IndexError, match=r"target\[1\] = .*\[0, 4\)"):
        cross_entropy(x, t)
    with pytest.raises(IndexError, match="cross_entropy_backward"):
        cross_entropy_backward(x, t, np.ones(3))


def test_ignore_index_equal_to_bad_value_is_accepted():
    x = np.zeros((2, 4))
    loss, row_w, _ = cross_entropy(x, np.array([9, 1], np.int64), ignore_index=9)
    assert loss[0] == 0 and row_w.tolist() == [0.0, 1.0]


def test_c_rejects_bad_target_before_writing():
    """The C contract: MG_ERR_INDEX and every output untouched."""
    x = np.zeros((3, 4))
    t = np.array([0, 1, 9], np.int64)   # the bad target is the last row
    loss, row_w, logp = np.full(3, 7.0), np.full(3, 7.0), np.full((3, 4), 7.0)
    tp = ffi.from_buffer("int64_t[]", t)
    status = lib.mg_cross_entropy(lib.MG_FLOAT64, 3, 4, ffi.from_buffer(x), tp, ffi.NULL,
                                  IGNORE, 0.0, ffi.from_buffer(loss), ffi.from_buffer(row_w),
                                  ffi.from_buffer(logp))
    assert status == lib.MG_ERR_INDEX
    assert (loss == 7).all() and (row_w == 7).all() and (logp == 7).all()
    grad = np.full((3, 4), 7.0)
    status = lib.mg_cross_entropy_backward(lib.MG_FLOAT64, 3, 4, ffi.from_buffer(logp), tp,
                                           ffi.NULL, IGNORE, 0.0, ffi.from_buffer(loss),
                                           ffi.from_buffer(grad))
    assert status == lib.MG_ERR_INDEX and (grad == 7).all()


def test_c_validates_sizes_dtypes_pointers():
    x = np.zeros(8)
    out = np.zeros(8)
    t = ffi.new("int64_t[]", [0, 1])
    p = ffi.from_buffer
    call = lib.mg_cross_entropy
    assert call(lib.MG_FLOAT64, -1, 4, p(x), t, ffi.NULL, IGNORE, 0.0, p(out), p(out),
                p(out)) == lib.MG_ERR_SIZE
    assert call(lib.MG_FLOAT64, 2, -4, p(x), t, ffi.NULL, IGNORE, 0.0, p(out), p(out),
                p(out)) == lib.MG_ERR_SIZE
    assert call(lib.MG_INT64, 2, 4, p(x), t, ffi.NULL, IGNORE, 0.0, p(out), p(out),
                p(out)) == lib.MG_ERR_DTYPE
    assert call(lib.MG_FLOAT64, 2, 4, ffi.NULL, t, ffi.NULL, IGNORE, 0.0, p(out), p(out),
                p(out)) == lib.MG_ERR_NULL
    assert call(lib.MG_FLOAT64, 2, 4, p(x), ffi.NULL, ffi.NULL, IGNORE, 0.0, p(out), p(out),
                p(out)) == lib.MG_ERR_NULL
    assert call(lib.MG_FLOAT64, 2, 4, p(x), t, ffi.NULL, IGNORE, -0.1, p(out), p(out),
                p(out)) == lib.MG_ERR_OP
    assert call(lib.MG_FLOAT64, 2, 1 << 62, p(x), t, ffi.NULL, IGNORE, 0.0, p(out), p(out),
                p(out)) == lib.MG_ERR_SIZE
    assert lib.mg_cross_entropy_backward(lib.MG_FLOAT64, 2, 4, p(x), t, ffi.NULL, IGNORE, 0.0,
                                         ffi.NULL, p(out)) == lib.MG_ERR_NULL
