"""Unary math, rounding, clamp and nan_to_num: gradcheck, hand values, dtypes, errors."""

import math

import numpy as np
import pytest

import dist_torch as torch
from tests.helpers import assert_close, gradcheck, rand

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

# name -> (low, high): inputs inside the domain and away from kinks
DIFFERENTIABLE = {
    "abs": (0.2, 2), "exp": (-2, 2), "exp2": (-2, 2), "expm1": (-2, 2), "log": (0.2, 3),
    "log2": (0.2, 3), "log10": (0.2, 3), "log1p": (-0.5, 3), "sqrt": (0.2, 3),
    "rsqrt": (0.2, 3), "reciprocal": (0.5, 3), "square": (-2, 2), "sin": (-3, 3),
    "cos": (-3, 3), "tan": (-1.2, 1.2), "asin": (-0.9, 0.9), "acos": (-0.9, 0.9),
    "atan": (-3, 3), "sinh": (-2, 2), "cosh": (-2, 2), "tanh": (-2, 2), "asinh": (-2, 2),
    "acosh": (1.2, 3), "atanh": (-0.9, 0.9), "sigmoid": (-4, 4), "relu": (0.1, 2),
    "erf": (-3, 3), "erfc": (-3, 3), "frac": (0.1, 0.9), "nan_to_num": (-2, 2),
    "neg": (-2, 2),
}


@pytest.mark.parametrize("name", list(DIFFERENTIABLE))
def test_gradcheck(name):
    low, high = DIFFERENTIABLE[name]
    gradcheck(getattr(torch, name), rand(2, 3, low=low, high=high))
    gradcheck(lambda x: getattr(x, name)(), rand(low=low, high=high))  # 0-dim, as a method


@pytest.mark.parametrize("name", ["sign", "sgn", "floor", "ceil", "round", "trunc"])
def test_piecewise_constant_ops_have_zero_gradient(name):
    x = rand(5, low=-3, high=3)
    getattr(torch, name)(x).sum().backward()
    assert_close(x.grad, np.zeros(5))


def test_values_by_hand():
    assert_close(torch.erf(torch.tensor([0.0, 0.5, -1.0, 3.0], dtype=torch.float64)),
                 [0.0, math.erf(0.5), math.erf(-1.0), math.erf(3.0)], rtol=1e-15)
    assert_close(torch.erfc(torch.tensor([10.0, -10.0], dtype=torch.float64)),
                 [math.erfc(10.0), 2.0], rtol=1e-14, atol=0)
    assert_close(torch.sigmoid(torch.tensor([0.0, -800.0, 800.0], dtype=torch.float64)),
                 [0.5, 0.0, 1.0])
    assert_close(torch.relu(torch.tensor([-1, 0, 3])), torch.tensor([0, 0, 3]))
    assert_close(torch.sign(torch.tensor([-2.0, -0.0, np.nan, 5.0])), [-1.0, 0.0, 0.0, 1.0])
    assert_close(torch.round(torch.tensor([0.5, 1.5, 2.5, -0.5])), [0.0, 2.0, 2.0, -0.0])
    assert_close(torch.round(torch.tensor([1.2345, 1234.5]), decimals=2), [1.23, 1234.5])
    assert_close(torch.round(torch.tensor([1234.5678]), decimals=-2), [1200.0])
    assert_close(torch.frac(torch.tensor([-1.5, 2.25])), [-0.5, 0.25])
    assert_close(torch.rsqrt(torch.tensor([4.0, 0.0])), [0.5, np.inf])
    assert_close(torch.exp2(torch.tensor([3.0])), [8.0])


def test_erf_without_scipy_is_accurate():
    x = np.linspace(-7, 7, 2001)
    expected = np.array([math.erf(v) for v in x])
    assert_close(torch.erf(torch.tensor(x, dtype=torch.float64)), expected, rtol=5e-16, atol=0)
    expected = np.array([math.erfc(v) for v in x])
    assert_close(torch.erfc(torch.tensor(x, dtype=torch.float64)), expected, rtol=1e-15, atol=0)


@pytest.mark.parametrize("dtype, expected", [
    (torch.bool, torch.float32), (torch.uint8, torch.float32), (torch.int32, torch.float32),
    (torch.int64, torch.float32), (torch.float16, torch.float16), (torch.float64, torch.float64),
])
def test_floating_functions_of_integers_give_default_float(dtype, expected):
    x = torch.tensor([1, 0, 1]).to(dtype)
    for fn in (torch.exp, torch.log, torch.sqrt, torch.sigmoid, torch.erf, torch.sin):
        assert fn(x).dtype == expected


def test_integer_preserving_functions():
    x = torch.tensor([-3, 0, 2], dtype=torch.int8)
    for fn in (torch.abs, torch.relu, torch.sign, torch.floor, torch.round, torch.square):
        assert fn(x).dtype == torch.int8
    assert torch.square(torch.tensor([True])).dtype == torch.int64
    assert torch.sign(torch.tensor([True, False])).dtype == torch.bool


def test_inplace_variants():
    x = torch.tensor([0.25, 4.0])
    assert x.sqrt_() is x
    assert_close(x, [0.5, 2.0])
    torch.exp_(x.log_())
    assert_close(x, [0.5, 2.0], rtol=1e-6)
    assert_close(x.neg_().relu_().clamp_(0, 1), [0.0, 0.0])
    y = rand(3) * 1
    y.sigmoid_()
    y.sum().backward()


def test_abs_operator():
    assert_close(abs(torch.tensor([-1.5, 2.0])), [1.5, 2.0])


# --------------------------------------------------------------------------- clamp

@pytest.mark.parametrize("bounds", [(-0.5, 0.5), (None, 0.2), (-0.2, None), (0.5, -0.5)])
def test_clamp_gradcheck(bounds):
    gradcheck(lambda x: torch.clamp(x, *bounds), rand(3, 4, seed=3, low=-1, high=1))


def test_clamp_tensor_bounds_gradcheck():
    x = rand(3, 4, seed=4, low=-1, high=1)
    lo = rand(4, seed=5, low=-0.8, high=-0.2)
    hi = rand(3, 1, seed=6, low=0.2, high=0.8)
    gradcheck(torch.clamp, x, lo, hi)
    gradcheck(lambda x, lo: torch.clamp(x, min=lo), x, lo)
    gradcheck(lambda x, hi: x.clamp(max=hi), x, hi)


def test_clamp_gradient_is_one_at_the_bounds():
    x = torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0], dtype=torch.float64, requires_grad=True)
    torch.clamp(x, -1, 1).sum().backward()
    assert_close(x.grad, [0.0, 1.0, 1.0, 1.0, 0.0])


def test_crossed_bounds_give_max():
    assert_close(torch.clamp(torch.tensor([-1.0, 0.0, 3.0]), 1, 0), [0.0, 0.0, 0.0])


def test_clamp_dtypes():
    assert torch.tensor([1, 2]).clamp(0.5).dtype == torch.float32
    assert torch.tensor([1, 2]).clamp(0, 1).dtype == torch.int64
    assert torch.tensor([True, False]).clamp(0, 1).dtype == torch.int64
    assert torch.ones(2, dtype=torch.float16).clamp(np.float64(0.5)).dtype == torch.float16
    assert torch.clip(torch.tensor([1.0, 5.0]), 2, 3).tolist() == [2.0, 3.0]
    assert torch.clamp_min(torch.tensor([1.0, 5.0]), 2).tolist() == [2.0, 5.0]
    assert torch.clamp_max(torch.tensor([1.0, 5.0]), 2).tolist() == [1.0, 2.0]


def test_nan_to_num():
    x = torch.tensor([np.nan, np.inf, -np.inf, 1.0])
    big = float(np.finfo(np.float32).max)
    assert_close(torch.nan_to_num(x), [0.0, big, -big, 1.0])
    assert_close(x.nan_to_num(nan=1.0, posinf=2.0, neginf=-3.0), [1.0, 2.0, -3.0, 1.0])
    assert torch.nan_to_num(torch.tensor([1, 2])).tolist() == [1, 2]
    y = torch.tensor([np.nan, 2.0], dtype=torch.float64, requires_grad=True)
    torch.nan_to_num(y).sum().backward()
    assert_close(y.grad, [0.0, 1.0])


# --------------------------------------------------------------------------- bad inputs

@pytest.mark.parametrize("expr, error, message", [
    (lambda: torch.clamp(torch.ones(2)), RuntimeError,
     "torch.clamp: At least one of 'min' or 'max' must not be None"),
    (lambda: torch.abs(torch.tensor([True])), NotImplementedError,
     "\"abs_cpu\" not implemented for 'Bool'"),
    (lambda: torch.relu(torch.tensor([True])), RuntimeError,
     "Boolean inputs not supported for relu"),
    (lambda: torch.frac(torch.tensor([1])), NotImplementedError,
     "\"frac_cpu\" not implemented for 'Long'"),
    (lambda: torch.round(torch.tensor([1]), decimals=1), NotImplementedError,
     "\"round_cpu\" not implemented for 'Long'"),
    (lambda: torch.floor(torch.tensor([True])), NotImplementedError,
     "\"floor_vml_cpu\" not implemented for 'Bool'"),
    (lambda: torch.tensor([True]).clamp(False, True), NotImplementedError,
     "\"clamp_scalar_cpu\" not implemented for 'Bool'"),
    (lambda: torch.tensor([1, 2]).exp_(), RuntimeError,
     "result type Float can't be cast to the desired output type Long"),
    (lambda: torch.tensor([True]).square_(), RuntimeError,
     "result type Long can't be cast to the desired output type Bool"),
    (lambda: torch.ones(2).clamp_(torch.ones(2, 2)), RuntimeError,
     r"output with shape \[2\] doesn't match the broadcast shape \[2, 2\]"),
    (lambda: torch.ones(2).clamp(torch.ones(3), torch.ones(2)), RuntimeError,
     r"The size of tensor a \(2\) must match the size of tensor b \(3\)"),
])
def test_errors(expr, error, message):
    with pytest.raises(error, match=message):
        expr()
