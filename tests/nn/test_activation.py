"""Activation functions and layers: finite-difference gradients, hand-computed values, in-place
behaviour, reprs and errors (always run; the comparison with torch is in tests/oracle)."""

import math
import warnings

import numpy as np
import pytest

import dist_torch as torch
import dist_torch.nn as nn
import dist_torch.nn.functional as F
from dist_torch.ops import activation as act
from tests.helpers import assert_close, gradcheck, rand

# keep finite differences away from the kinks (0, +-lambd, +-3, thresholds)
X = rand(3, 4, seed=1, low=-4, high=4)
SAFE = torch.tensor(np.array([-3.7, -2.2, -1.3, -0.6, -0.2, 0.15, 0.7, 1.2, 2.4, 3.6]),
                    dtype=torch.float64, requires_grad=True)

SMOOTH = [
    lambda t: F.gelu(t), lambda t: F.gelu(t, approximate="tanh"), F.silu, F.mish, F.elu,
    lambda t: F.elu(t, 0.3), F.selu, lambda t: F.celu(t, 2.0), F.softplus,
    lambda t: F.softplus(t, beta=2.0, threshold=3.0), F.logsigmoid, F.sigmoid, F.tanh,
    F.softsign, F.tanhshrink, lambda t: F.softmax(t, 0), lambda t: F.log_softmax(t, -1),
    lambda t: F.softmin(t, 0),
]
PIECEWISE = [
    F.relu, F.relu6, F.leaky_relu, lambda t: F.leaky_relu(t, 0.3), F.hardtanh,
    lambda t: F.hardtanh(t, -2.0, 2.5), F.hardsigmoid, F.hardswish, F.hardshrink,
    lambda t: F.softshrink(t, 1.0), lambda t: F.threshold(t, 0.5, -1.0), F.rrelu,
]


@pytest.mark.parametrize("fn", SMOOTH)
def test_gradcheck_smooth(fn):
    gradcheck(fn, X)


@pytest.mark.parametrize("fn", PIECEWISE)
def test_gradcheck_piecewise(fn):
    gradcheck(fn, SAFE)


def test_gradcheck_prelu_and_glu():
    x = rand(2, 3, 4, seed=3, low=-2, high=2)
    gradcheck(lambda t, w: F.prelu(t, w), x, rand(3, seed=4))
    gradcheck(lambda t, w: F.prelu(t, w), x, rand(1, seed=5))
    gradcheck(lambda t: F.glu(t, 1), rand(2, 4, 3, seed=6))
    gradcheck(lambda t: F.glu(t), rand(2, 3, 4, seed=7))


def test_rrelu_training_gradcheck():
    torch.manual_seed(0)
    x = rand(50, seed=8, low=-2, high=2)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    slopes = (y / x).detach().numpy()
    neg = x.detach().numpy() < 0
    assert np.all((slopes[neg] >= 0.1) & (slopes[neg] <= 0.3))
    assert np.allclose(slopes[~neg], 1)
    y.sum().backward()
    assert_close(x.grad, torch.tensor(slopes))


def test_values():
    x = torch.tensor([-2.0, -0.5, 0.0, 1.0, 4.0, 7.0], dtype=torch.float64)
    e = np.exp(x.numpy())
    assert_close(F.relu6(x), torch.tensor([0.0, 0.0, 0.0, 1.0, 4.0, 6.0], dtype=torch.float64))
    assert_close(F.leaky_relu(x, 0.1), torch.tensor([-0.2, -0.05, 0, 1, 4, 7.0],
                                                    dtype=torch.float64))
    assert_close(F.elu(x), torch.tensor(np.where(x.numpy() > 0, x.numpy(), e - 1)))
    assert_close(F.hardsigmoid(x), torch.tensor([1 / 6, 5 / 12, 0.5, 2 / 3, 1.0, 1.0],
                                                dtype=torch.float64))
    assert_close(F.hardswish(x), torch.tensor([-1 / 3, -5 / 24, 0, 2 / 3, 4.0, 7.0],
                                              dtype=torch.float64))
    assert_close(F.silu(x), x * torch.sigmoid(x))
    assert_close(F.softplus(x), torch.tensor(np.log1p(e)))
    assert_close(F.logsigmoid(x), torch.tensor(-np.log1p(1 / e)))
    cdf = np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x.tolist()])
    assert_close(F.gelu(x), torch.tensor(x.numpy() * cdf))
    assert_close(F.hardshrink(x, 0.5), torch.tensor([-2.0, 0, 0, 1, 4, 7.0],
                                                    dtype=torch.float64))
    assert_close(F.softshrink(x, 0.5), torch.tensor([-1.5, 0, 0, 0.5, 3.5, 6.5],
                                                    dtype=torch.float64))
    assert_close(F.threshold(x, 0.5, 9.0), torch.tensor([9.0, 9, 9, 1, 4, 7],
                                                        dtype=torch.float64))
    selu = 1.0507009873554804934193349852946 * np.where(
        x.numpy() > 0, x.numpy(), 1.6732632423543772848170429916717 * (e - 1))
    assert_close(F.selu(x), torch.tensor(selu))


def test_extreme_inputs_stay_finite():
    x = torch.tensor([-1000.0, -50.0, 50.0, 1000.0], requires_grad=True)
    for fn in (F.softplus, F.logsigmoid, F.silu, F.mish, F.gelu, F.elu):
        y = fn(x)
        y.sum().backward()
        assert np.isfinite(y.detach().numpy()).all(), fn
        assert np.isfinite(x.grad.numpy()).all(), fn
        x.grad = None
    assert_close(F.logsigmoid(x), torch.tensor([-1000.0, -50.0, 0.0, 0.0]), atol=1e-6)


@pytest.mark.parametrize("name", ["relu", "relu6", "elu", "selu", "celu", "leaky_relu", "silu",
                                  "mish", "hardtanh", "hardswish", "hardsigmoid"])
def test_inplace_writes_input(name):
    x = torch.tensor([-1.5, 0.5, 2.0])
    expected = getattr(F, name)(x.clone())
    y = getattr(F, name)(x, inplace=True)
    assert y is x
    assert_close(x, expected)
    assert x._version == 1


def test_inplace_backward_through_computed_tensor():
    w = torch.tensor([-1.5, 0.5, 2.0], requires_grad=True)
    y = w * 2
    F.elu(y, inplace=True)
    y.sum().backward()
    assert_close(w.grad, torch.tensor([2 * math.exp(-3.0), 2.0, 2.0]), rtol=1e-6)


def test_half_precision_keeps_dtype():
    for dtype in (torch.float16, torch.bfloat16):
        x = torch.tensor([-1.0, 0.5, 2.0], dtype=dtype, requires_grad=True)
        for fn in (F.gelu, F.silu, F.elu, F.softplus, F.hardswish, F.mish, F.leaky_relu):
            y = fn(x)
            assert y.dtype == dtype
            y.sum().backward()
            assert x.grad.dtype == dtype
            x.grad = None


def test_prelu_module():
    m = nn.PReLU(3, init=0.2)
    assert_close(m.weight, torch.full((3,), 0.2))
    x = torch.tensor([[[-1.0], [2.0], [-3.0]]])
    y = m(x)
    assert_close(y, torch.tensor([[[-0.2], [2.0], [-0.6]]]))
    y.sum().backward()
    assert_close(m.weight.grad, torch.tensor([-1.0, 0.0, -3.0]))


REPRS = [
    (nn.ReLU(), "ReLU()"), (nn.ReLU(True), "ReLU(inplace=True)"),
    (nn.LeakyReLU(0.2, True), "LeakyReLU(negative_slope=0.2, inplace=True)"),
    (nn.ELU(), "ELU(alpha=1.0)"), (nn.GELU("tanh"), "GELU(approximate='tanh')"),
    (nn.Softplus(), "Softplus(beta=1.0, threshold=20.0)"), (nn.Hardshrink(0.3), "Hardshrink(0.3)"),
    (nn.Hardtanh(-2, 2, True), "Hardtanh(min_val=-2, max_val=2, inplace=True)"),
    (nn.ReLU6(), "ReLU6()"), (nn.Hardswish(True), "Hardswish()"), (nn.SiLU(True),
                                                                      "SiLU(inplace=True)"),
    (nn.PReLU(), "PReLU(num_parameters=1)"), (nn.Softmax(), "Softmax(dim=None)"),
    (nn.LogSoftmax(1), "LogSoftmax(dim=1)"), (nn.GLU(), "GLU(dim=-1)"),
    (nn.Threshold(0.1, 20), "Threshold(threshold=0.1, value=20)"),
    (nn.RReLU(), "RReLU(lower=0.125, upper=0.3333333333333333)"), (nn.Softmax2d(), "Softmax2d()"),
]


@pytest.mark.parametrize("module,text", REPRS)
def test_reprs(module, text):
    assert repr(module) == text


def test_softmax_implicit_dim_warns():
    x = torch.zeros(2, 3)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        y = F.softmax(x)
    assert_close(y, torch.full((2, 3), 1 / 3))
    with pytest.warns(UserWarning, match="Implicit dimension choice for log_softmax"):
        nn.LogSoftmax()(torch.zeros(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.Softmax(dim=1)(x)


def test_gumbel_softmax():
    torch.manual_seed(0)
    logits = torch.tensor([[0.0, 5.0, 0.0]] * 200, requires_grad=True)
    soft = F.gumbel_softmax(logits, tau=0.5)
    assert_close(soft.sum(1), torch.ones(200), rtol=1e-5)
    hard = F.gumbel_softmax(logits, hard=True)
    values = hard.detach().numpy()
    assert set(np.unique(values)) <= {0.0, 1.0} and np.all(values.sum(1) == 1)
    assert values[:, 1].mean() > 0.9
    hard.sum().backward()
    assert logits.grad is not None


@pytest.mark.parametrize("call,exc,match", [
    (lambda: F.gelu(torch.tensor([1, 2])), NotImplementedError, "GeluKernelImpl"),
    (lambda: F.gelu(torch.zeros(2), approximate="x"), RuntimeError, "approximate argument"),
    (lambda: F.hardtanh(torch.zeros(2), 2.0, 1.0), ValueError, "min_val cannot be greater"),
    (lambda: F.glu(torch.zeros(2, 3)), RuntimeError, "dimension 1 is size 3"),
    (lambda: F.prelu(torch.zeros(2, 3), torch.ones(2)), RuntimeError,
     "parameter numbers = 2 and channel size = 3"),
    (lambda: F.elu(torch.zeros(2, requires_grad=True), inplace=True), RuntimeError,
     "leaf Variable that requires grad"),
    (lambda: F.relu(torch.tensor([True])), RuntimeError, "Boolean inputs not supported"),
    (lambda: F.softshrink(torch.zeros(2), -1.0), RuntimeError, "lambda must be greater"),
    (lambda: act.celu(torch.zeros(2), 0.0), RuntimeError, "ZeroDivisionError"),
])
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
