"""nn.init distributions and nn.utils (clipping, vector conversion)."""

import math

import numpy as np
import pytest

import dist_torch as torch
from dist_torch import nn
from tests.helpers import assert_close


def _values(t):
    return np.asarray(t.detach(), dtype=np.float64)


def test_calculate_gain_table():
    assert nn.init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert nn.init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert nn.init.calculate_gain("conv2d") == 1
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        nn.init.calculate_gain("swish")


@pytest.mark.parametrize("shape", [(200, 300), (64, 32, 3, 3)])
def test_kaiming_and_xavier_spread(shape):
    torch.manual_seed(1)
    w = torch.empty(*shape)
    fan_in = shape[1] * int(np.prod(shape[2:]))
    fan_out = shape[0] * int(np.prod(shape[2:]))
    nn.init.kaiming_uniform_(w, a=0, nonlinearity="relu")
    bound = math.sqrt(2) * math.sqrt(3 / fan_in)
    assert _values(w).max() <= bound and _values(w).min() >= -bound
    assert _values(w).std() == pytest.approx(bound / math.sqrt(3), rel=0.03)
    nn.init.kaiming_normal_(w, mode="fan_out")
    assert _values(w).std() == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)) /
                                             math.sqrt(fan_out), rel=0.03)
    nn.init.xavier_uniform_(w, gain=2.0)
    assert _values(w).std() == pytest.approx(
        2 * math.sqrt(6 / (fan_in + fan_out)) / math.sqrt(3), rel=0.03)
    nn.init.xavier_normal_(w)
    assert _values(w).std() == pytest.approx(math.sqrt(2 / (fan_in + fan_out)), rel=0.03)


def test_trunc_normal_stays_in_bounds_with_right_spread():
    torch.manual_seed(2)
    w = nn.init.trunc_normal_(torch.empty(100_000), mean=1.0, std=2.0, a=-1.0, b=3.0)
    v = _values(w)
    assert v.min() >= -1.0 and v.max() <= 3.0
    # N(1, 4) truncated to mean +- 1 std: variance factor 1 - 2*phi(1)/(2*Phi(1) - 1)
    phi = math.exp(-0.5) / math.sqrt(2 * math.pi)
    factor = 1 - 2 * phi / (math.erf(1 / math.sqrt(2)))
    assert v.mean() == pytest.approx(1.0, abs=0.02)
    assert v.std() == pytest.approx(2.0 * math.sqrt(factor), rel=0.02)


def test_constant_eye_dirac_orthogonal():
    w = torch.empty(3, 4)
    assert_close(nn.init.constant_(w, 0.5), np.full((3, 4), 0.5, np.float32))
    assert_close(nn.init.eye_(w), np.eye(3, 4, dtype=np.float32))
    conv = nn.init.dirac_(torch.empty(2, 2, 3, 3))
    expected = np.zeros((2, 2, 3, 3), np.float32)
    expected[0, 0, 1, 1] = expected[1, 1, 1, 1] = 1
    assert_close(conv, expected)
    q = _values(nn.init.orthogonal_(torch.empty(5, 8)))
    assert_close(q @ q.T, np.eye(5), atol=1e-5)


def test_init_on_parameter_requiring_grad_is_allowed():
    p = nn.Parameter(torch.zeros(3))
    nn.init.uniform_(p, -1, 1)
    assert p.requires_grad and p.is_leaf


def test_fan_of_vector_is_an_error():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(torch.empty(3))


def test_clip_grad_norm_scales_to_max_norm():
    a = nn.Parameter(torch.zeros(2))
    b = nn.Parameter(torch.zeros(2))
    a.grad = torch.tensor([3.0, 0.0])
    b.grad = torch.tensor([0.0, 4.0])
    total = nn.utils.clip_grad_norm_([a, b], max_norm=1.0)
    assert float(total) == pytest.approx(5.0)
    assert_close(a.grad, [0.6, 0.0], rtol=1e-5)
    assert_close(b.grad, [0.0, 0.8], rtol=1e-5)
    total_inf = nn.utils.clip_grad_norm_([a, b], max_norm=10.0, norm_type="inf")
    assert float(total_inf) == pytest.approx(0.8, rel=1e-5)
    assert_close(b.grad, [0.0, 0.8], rtol=1e-5)  # under the limit: unchanged


def test_clip_grad_norm_nonfinite():
    a = nn.Parameter(torch.zeros(1))
    a.grad = torch.tensor([float("inf")])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([a], 1.0, error_if_nonfinite=True)


def test_clip_grad_value():
    a = nn.Parameter(torch.zeros(3))
    a.grad = torch.tensor([-5.0, 0.5, 2.0])
    nn.utils.clip_grad_value_([a], 1.0)
    assert_close(a.grad, [-1.0, 0.5, 1.0])


def test_parameters_vector_round_trip():
    lin = nn.Linear(3, 2)
    vec = nn.utils.parameters_to_vector(lin.parameters())
    assert vec.shape == (8,)
    nn.utils.vector_to_parameters(torch.arange(8.0), lin.parameters())
    assert_close(lin.weight, np.arange(6.0, dtype=np.float32).reshape(2, 3))
    assert_close(lin.bias, [6.0, 7.0])
