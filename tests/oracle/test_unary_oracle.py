"""Unary math, rounding and clamp against torch: float64 values and gradients, output dtypes
for every input dtype, special values, in-place variants and error classes."""

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.oracle.compare import check
from tests.oracle.test_elementwise_oracle import DTYPES, same_result

# NumPy warns where torch silently returns inf/nan (log(0), sqrt(-1), ...)
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

# name -> (low, high) of the test inputs: inside each function's domain
FLOAT_FUNCTIONS = {
    "abs": (-2, 2), "exp": (-2, 2), "exp2": (-2, 2), "expm1": (-2, 2), "log": (0.1, 3),
    "log2": (0.1, 3), "log10": (0.1, 3), "log1p": (-0.5, 3), "sqrt": (0.1, 3),
    "rsqrt": (0.1, 3), "reciprocal": (0.5, 3), "square": (-2, 2), "sin": (-3, 3),
    "cos": (-3, 3), "tan": (-1.2, 1.2), "asin": (-0.9, 0.9), "acos": (-0.9, 0.9),
    "atan": (-3, 3), "sinh": (-2, 2), "cosh": (-2, 2), "tanh": (-2, 2), "asinh": (-2, 2),
    "acosh": (1.1, 3), "atanh": (-0.9, 0.9), "sigmoid": (-4, 4), "relu": (-2, 2),
    "erf": (-3, 3), "erfc": (-3, 3), "sign": (-2, 2), "sgn": (-2, 2), "floor": (-3, 3),
    "ceil": (-3, 3), "round": (-3, 3), "trunc": (-3, 3), "fix": (-3, 3), "frac": (-3, 3),
    "neg": (-2, 2), "nan_to_num": (-2, 2), "arcsin": (-0.9, 0.9), "absolute": (-2, 2),
}


@pytest.mark.parametrize("name", list(FLOAT_FUNCTIONS))
def test_function_forward_backward(name):
    low, high = FLOAT_FUNCTIONS[name]
    x = np.random.default_rng(0).uniform(low, high, (3, 4))
    grad = name != "sgn"  # torch's sgn gradient is a ZeroTensor that cannot be compared
    check(lambda lib, t: getattr(lib, name)(t), x, grad=grad)
    check(lambda lib, t: getattr(t, name)(), np.array(x[0, 0]), grad=grad)  # 0-dim, as method


# torch has no derivative for asinh_/acosh_/atanh_ and a broken one for sgn_ (ours work)
@pytest.mark.parametrize("name", [n for n in FLOAT_FUNCTIONS
                                  if n not in ("nan_to_num", "asinh", "acosh", "atanh", "sgn")])
def test_inplace_variant(name):
    low, high = FLOAT_FUNCTIONS[name]
    x = np.random.default_rng(1).uniform(low, high, (2, 3))

    def fn(lib, t):
        y = t * 1.0
        out = getattr(y, name + "_")()
        assert out is y
        return y
    check(fn, x)


@pytest.mark.parametrize("name", list(FLOAT_FUNCTIONS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_output_dtype_for_every_input_dtype(name, dtype):
    values = [[-2, 0, 1], [3, 1, 2]] if dtype not in ("bool", "uint8") else [[1, 0, 1], [3, 1, 2]]
    same_result(lambda lib, t: getattr(lib, name)(t), [dt.tensor(values).to(getattr(dt, dtype))],
                [torch.tensor(values).to(getattr(torch, dtype))])


@pytest.mark.parametrize("name", ["exp_", "relu_", "abs_", "sigmoid_", "sign_", "square_",
                                  "floor_", "clamp_", "sqrt_", "neg_"])
@pytest.mark.parametrize("dtype", ["bool", "int64", "int8", "float32"])
def test_inplace_dtype_errors(name, dtype):
    def fn(lib, t):
        return getattr(t, name)(0, 1) if name == "clamp_" else getattr(t, name)()
    same_result(fn, [dt.tensor([1, 0, 2]).to(getattr(dt, dtype))],
                [torch.tensor([1, 0, 2]).to(getattr(torch, dtype))])


SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-300, -1e-300, 1e300, 0.5, 1.5, 2.5, -0.5, -2.5]


@pytest.mark.parametrize("name", list(FLOAT_FUNCTIONS))
@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
def test_special_values(name, dtype):
    values = np.array(SPECIAL)
    same_result(lambda lib, t: getattr(lib, name)(t), [dt.tensor(values).to(getattr(dt, dtype))],
                [torch.tensor(values).to(getattr(torch, dtype))])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_erf_accuracy_over_range(dtype):
    x = np.linspace(-8, 8, 4001)
    ours = dt.erf(dt.tensor(x).to(getattr(dt, dtype))).numpy()
    ref = torch.erf(torch.tensor(x).to(getattr(torch, dtype))).numpy()
    np.testing.assert_allclose(ours, ref, rtol=4 * np.finfo(dtype).eps, atol=0)
    ours = dt.erfc(dt.tensor(x).to(getattr(dt, dtype))).numpy()
    ref = torch.erfc(torch.tensor(x).to(getattr(torch, dtype))).numpy()
    np.testing.assert_allclose(ours, ref, rtol=8 * np.finfo(dtype).eps, atol=1e-300)


@pytest.mark.parametrize("decimals", [0, 1, 2, -1, -2])
def test_round_decimals(decimals):
    x = np.array([0.5, 1.5, 2.5, -0.5, 1.2345, 1234.5678, -987.654, 0.125])
    check(lambda lib, t: lib.round(t, decimals=decimals), x)
    same_result(lambda lib, t: lib.round(t, decimals=decimals), [dt.tensor(x, dtype=dt.float32)],
                [torch.tensor(x, dtype=torch.float32)])


CLAMPS = {
    "both": lambda lib, x: lib.clamp(x, -0.5, 0.5),
    "min": lambda lib, x: lib.clamp(x, min=-0.5),
    "max": lambda lib, x: lib.clamp(x, max=0.5),
    "crossed": lambda lib, x: lib.clamp(x, 0.5, -0.5),
    "clip": lambda lib, x: x.clip(-1, 0.25),
    "clamp_min": lambda lib, x: lib.clamp_min(x, 0.1),
    "clamp_max": lambda lib, x: x.clamp_max(0.1),
    "at_bounds": lambda lib, x: lib.clamp(x.round(), -1, 1),
}


@pytest.mark.parametrize("case", list(CLAMPS))
def test_clamp_numbers(case):
    check(CLAMPS[case], np.random.default_rng(2).uniform(-2, 2, (3, 4)))


def test_clamp_gradient_at_the_bounds_is_one():
    check(lambda lib, x: lib.clamp(x, -1.0, 1.0), np.array([-2.0, -1.0, 0.0, 1.0, 2.0]))


@pytest.mark.parametrize("bounds", ["both", "min", "max", "crossed"])
def test_clamp_tensor_bounds_with_broadcasting(bounds):
    rng = np.random.default_rng(3)
    x = rng.uniform(-2, 2, (3, 4))
    lo = rng.uniform(-1, 0, (4,))
    hi = rng.uniform(0, 1, (3, 1))

    def fn(lib, x, lo, hi):
        if bounds == "both":
            return lib.clamp(x, lo, hi)
        if bounds == "min":
            return lib.clamp(x, min=lo)
        if bounds == "max":
            return lib.clamp(x, max=hi)
        return lib.clamp(x, hi, lo)  # crossed
    check(fn, x, lo, hi)


@pytest.mark.parametrize("expr", [
    lambda lib: lib.tensor([1, 2]).clamp(0.5),
    lambda lib: lib.tensor([1, 2]).clamp(0.5, 1.5),
    lambda lib: lib.tensor([1, 2]).clamp(lib.tensor([0.5])),
    lambda lib: lib.tensor([1, 2], dtype=lib.uint8).clamp(-1),
    lambda lib: lib.tensor([1, 2]).clamp(1, lib.tensor(2)),
    lambda lib: lib.tensor([1.0, 2]).clamp(lib.tensor(1.0, dtype=lib.float64)),
    lambda lib: lib.tensor([True, False]).clamp(0, 1),
    lambda lib: lib.tensor([True, False]).clamp(False, True),
    lambda lib: lib.tensor([1.0, float("nan")]).clamp(0, 0.5),
    lambda lib: lib.tensor([1.0, 2]).clamp(float("nan"), 0.5),
    lambda lib: lib.tensor([1.0, 2]).clamp(),
    lambda lib: lib.tensor([1, 2]).clamp_(0.5),
    lambda lib: lib.tensor([1.0, 2]).clamp_(lib.ones(2, 2)),
    lambda lib: lib.ones(2).clamp(lib.ones(3), lib.ones(2)),
    lambda lib: lib.ones(2, dtype=lib.float16).clamp(np.float64(0.5), 2.0),
    lambda lib: lib.nan_to_num(lib.tensor([float("nan"), float("inf"), -float("inf")])),
    lambda lib: lib.nan_to_num(lib.tensor([float("nan"), float("inf")], dtype=lib.float16)),
    lambda lib: lib.nan_to_num(lib.tensor([float("nan"), float("inf"), -float("inf")]), 1.0, 2, -3),
    lambda lib: lib.nan_to_num(lib.tensor([1, 2])),
    lambda lib: lib.round(lib.tensor([15, 25]), decimals=-1),
    lambda lib: lib.round(lib.tensor([15, 25])),
    lambda lib: lib.relu(lib.tensor([True])),
    lambda lib: lib.abs(lib.tensor([-128], dtype=lib.int8)),
    lambda lib: lib.sign(lib.tensor([-2, 0, 3], dtype=lib.uint8)),
    lambda lib: lib.exp(lib.tensor(2)),
    lambda lib: lib.ones(2).exp_().log_().sqrt_(),
    lambda lib: abs(lib.tensor([-1.5, 2.0])),
])
def test_values_dtypes_and_errors_match_torch(expr):
    same_result(lambda lib: expr(lib), [], [])


def test_nan_to_num_gradient_is_zero_at_non_finite():
    check(lambda lib, x: lib.nan_to_num(x, nan=1.0), np.array([np.nan, np.inf, -np.inf, 1.5]))


def test_relu_and_abs_gradient_at_zero():
    check(lambda lib, x: lib.relu(x) + lib.abs(x), np.array([-1.0, 0.0, 0.0, 2.0]))
