"""nn.init: PyTorch's gains, fans and bounds; distributions checked by their moments."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import init


def values(t):
    return t.detach().numpy()


def test_calculate_gain():
    assert init.calculate_gain("linear") == 1.0
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="Unsupported"):
        init.calculate_gain("swish")


def test_fans():
    assert init._calculate_fan_in_and_fan_out(mg.empty(6, 4)) == (4, 6)
    assert init._calculate_fan_in_and_fan_out(mg.empty(6, 4, 3, 2)) == (24, 36)
    with pytest.raises(ValueError, match="fewer than 2"):
        init.xavier_uniform_(mg.empty(5))


@pytest.mark.parametrize("dtype", [mg.float32, mg.float64])
def test_uniform_normal_constant(dtype):
    mg.manual_seed(0)
    t = mg.empty(400, 100, dtype=dtype)
    init.uniform_(t, -2.0, 3.0)
    v = values(t)
    assert v.min() >= -2 and v.max() <= 3 and abs(v.mean() - 0.5) < 0.05
    init.normal_(t, 1.0, 0.5)
    assert abs(values(t).mean() - 1.0) < 0.01 and abs(values(t).std() - 0.5) < 0.01
    init.constant_(t, 0.25)
    assert np.all(values(t) == 0.25)
    init.zeros_(t)
    assert not np.any(values(t))
    init.ones_(t)
    assert np.all(values(t) == 1)
    e = init.eye_(mg.empty(3, 4, dtype=dtype))
    np.testing.assert_array_equal(values(e), np.eye(3, 4))


def test_init_works_on_parameters_that_require_grad():
    p = nn.Parameter(mg.empty(300, 200))
    init.xavier_uniform_(p)
    bound = math.sqrt(6 / 500)
    v = values(p)
    assert np.abs(v).max() <= bound and np.abs(v).max() > 0.99 * bound
    assert abs(v.std() - bound / math.sqrt(3)) < 0.01 * bound * 3
    assert p.requires_grad and p.grad_fn is None


@pytest.mark.parametrize("fn,kwargs,expected_std", [
    (init.xavier_uniform_, dict(gain=2.0), 2.0 * math.sqrt(2 / (300 + 500))),
    (init.xavier_normal_, dict(), math.sqrt(2 / (300 + 500))),
    (init.kaiming_uniform_, dict(), math.sqrt(2 / (1 + 0.0)) / math.sqrt(300)),
    (init.kaiming_uniform_, dict(a=math.sqrt(5)), math.sqrt(2 / 6) / math.sqrt(300)),
    (init.kaiming_normal_, dict(mode="fan_out", nonlinearity="relu"), math.sqrt(2 / 500)),
    (init.kaiming_normal_, dict(nonlinearity="tanh"), (5 / 3) / math.sqrt(300)),
])
def test_scaled_initialisations_have_pytorchs_std(fn, kwargs, expected_std):
    mg.manual_seed(2)
    t = fn(mg.empty(500, 300), **kwargs)
    assert abs(values(t).std() - expected_std) < 0.02 * expected_std
    assert abs(values(t).mean()) < 0.02 * expected_std * 3


def test_kaiming_bad_mode_and_empty_tensor():
    with pytest.raises(ValueError, match="Mode"):
        init.kaiming_uniform_(mg.empty(3, 3), mode="fan_avg")
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(mg.empty(0, 3))


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 2, 3), (5, 5)])
@pytest.mark.parametrize("dtype", [mg.float32, mg.float64])
def test_orthogonal(shape, dtype):
    mg.manual_seed(3)
    t = init.orthogonal_(mg.empty(*shape, dtype=dtype), gain=1.5)
    flat = values(t).reshape(shape[0], -1).astype(np.float64)
    rows, cols = flat.shape
    gram = flat @ flat.T if rows <= cols else flat.T @ flat
    np.testing.assert_allclose(gram, 2.25 * np.eye(min(rows, cols)), atol=1e-5)
    assert t.dtype == dtype
    other = init.orthogonal_(mg.empty(*shape, dtype=dtype))
    assert not np.allclose(values(other).reshape(flat.shape), flat / 1.5)  # random draws
    with pytest.raises(ValueError, match="2 or more"):
        init.orthogonal_(mg.empty(4))


def test_init_is_reproducible_with_a_seed():
    mg.manual_seed(11)
    a = values(nn.Linear(5, 4).weight).copy()
    mg.manual_seed(11)
    b = values(nn.Linear(5, 4).weight)
    np.testing.assert_array_equal(a, b)
