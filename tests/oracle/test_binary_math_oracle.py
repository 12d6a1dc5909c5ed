"""atan2, hypot, copysign, nextafter, heaviside, gcd, lcm, xlogy, ldexp, logaddexp and
logaddexp2 against torch: values, dtypes (promotion, integer inputs), broadcasting,
gradients, special values, in-place, out= and errors."""

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.oracle.compare import assert_same_error, check

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((4,))
POS = RNG.uniform(0.1, 3.0, (3, 4))
EDGE = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan])
EA, EB = [g.ravel() for g in np.meshgrid(EDGE, EDGE)]

FLOAT_OPS = ["atan2", "arctan2", "hypot", "copysign", "nextafter", "ldexp", "logaddexp",
             "logaddexp2", "xlogy"]
DIFFERENTIABLE = ["atan2", "arctan2", "hypot", "copysign", "nextafter", "ldexp", "logaddexp",
                  "logaddexp2"]


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_values_and_gradients_with_broadcasting(name):
    check(lambda lib, x, y: getattr(lib, name)(x, y), A, B)
    check(lambda lib, x, y: getattr(x, name)(y), B, A)
    check(lambda lib, x, y: getattr(lib, name)(x, y), np.array(0.7), A)


@pytest.mark.parametrize("name", FLOAT_OPS + ["heaviside"])
def test_special_values(name):
    check(lambda lib, x, y: getattr(lib, name)(x, y), EA, EB, grad=False)


def test_nextafter_steps_one_ulp():
    x = np.array([1.0, 0.0, -1.0, 1e300])
    y = np.array([2.0, -1.0, -2.0, np.inf])
    check(lambda lib, x, y: lib.nextafter(x, y), x, y)
    check(lambda lib, x, y: lib.nextafter(x, y), x.astype(np.float32), y.astype(np.float32),
          rtol=0, atol=0, grad=False)
    got = dt.nextafter(dt.tensor([1.0]), dt.tensor([2.0])).item() - 1
    assert got == 2.0 ** -23


def test_gradients_at_zero():
    zeros = np.array([0.0, 0.0, 1.0])
    other = np.array([0.0, 2.0, 0.0])
    for name in ("copysign", "ldexp", "logaddexp"):
        check(lambda lib, x, y, name=name: getattr(lib, name)(x, y), zeros, other)


def test_copysign_scalar_and_integer_inputs():
    check(lambda lib, x: lib.copysign(x, -2), A)
    check(lambda lib, x: lib.copysign(x, -0.0), A)
    check(lambda lib, x: x.copysign(1.5), A)
    check(lambda lib, x: lib.copysign(x, 2.5), np.array([-3, 0, 4]), grad=False)
    check(lambda lib, x: lib.copysign(x, -1), np.array(True), grad=False)
    x = dt.tensor([1.0, -2.0], requires_grad=True)
    assert dt.copysign(x, 2.0).grad_fn.name() == "CopysignBackward1"
    assert dt.copysign(x, x).grad_fn.name() == "CopysignBackward0"


def test_xlogy():
    x = np.array([[0.0, 0.0, 0.0, 1.5], [2.0, 0.0, -1.0, 3.0]])
    y = np.array([[0.0, -1.0, np.nan, 2.0], [0.5, 3.0, 4.0, -1.0]])
    check(lambda lib, x, y: lib.xlogy(x, y), x, y)
    check(lambda lib, x, y: lib.xlogy(x, y), A, POS)
    check(lambda lib, x: lib.xlogy(x, 2.5), x)
    check(lambda lib, x: lib.xlogy(x, 0), x)
    check(lambda lib, y: lib.xlogy(3, y), POS)
    check(lambda lib, y: lib.xlogy(0.0, y), POS)
    check(lambda lib, x, y: x.xlogy(y), A, POS)
    names = []
    for lib in (dt, torch):
        t = lib.tensor([1.0, 2.0], requires_grad=True)
        names.append([lib.xlogy(t, t).grad_fn.name(), lib.xlogy(2.0, t).grad_fn.name(),
                      lib.xlogy(t, 2.0).grad_fn.name()])
    assert names[0] == names[1]


def test_heaviside():
    check(lambda lib, x, y: lib.heaviside(x, y), np.array([-1.5, 0.0, 2.0, np.nan]),
          np.array([0.5]), grad=False)
    check(lambda lib, x, y: lib.heaviside(x, y), np.array([[-2, 0, 3]]), np.array([[7], [8]]),
          grad=False)
    check(lambda lib, x, y: lib.heaviside(x, y), np.array([True, False]), np.array([False]),
          grad=False)
    x = dt.tensor([0.0, 1.0], requires_grad=True)
    out = dt.heaviside(x, dt.tensor([0.5]))
    with pytest.raises(RuntimeError, match="derivative for aten::heaviside is not implemented"):
        out.sum().backward()


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int16, np.int8, np.uint8])
def test_gcd_lcm(dtype):
    signed = np.dtype(dtype).kind == "i"
    x = np.array([4, 0, 0, 9, 12, 7, 100]) * (np.array([-1, 1, 1, 1, -1, 1, 1]) if signed else 1)
    y = np.array([6, 0, 5, 12, 18, 1, 75]) * (np.array([1, 1, -1, -1, 1, 1, 1]) if signed else 1)
    x, y = x.astype(dtype), y.astype(dtype)
    check(lambda lib, x, y: lib.gcd(x, y), x, y, grad=False)
    check(lambda lib, x, y: lib.lcm(x, y), x[:5], y[:5], grad=False)
    check(lambda lib, x, y: x.gcd(y), x.reshape(7, 1), y, grad=False)


@pytest.mark.parametrize("name", FLOAT_OPS)
@pytest.mark.parametrize("dtypes", [(np.int64, np.int64), (np.int32, np.float32),
                                    (np.float32, np.float64), (np.bool_, np.bool_),
                                    (np.float16, np.float16), (np.uint8, np.int8)])
def test_dtype_promotion(name, dtypes):
    x = np.array([[1, 0, 2], [3, 1, 0]]).astype(dtypes[0])
    y = np.array([2, 1, 1]).astype(dtypes[1])
    if name in ("hypot", "nextafter", "logaddexp", "logaddexp2") and \
            np.result_type(*dtypes).kind in "biu":   # floating inputs only, in torch
        assert_same_error(lambda lib: getattr(lib, name)(lib.tensor(x), lib.tensor(y)))
        return
    check(lambda lib, x, y: getattr(lib, name)(x, y), x, y, grad=False, rtol=1e-3, atol=1e-3)


def test_zero_dim_tensor_does_not_widen():
    for name in ("atan2", "ldexp", "hypot", "logaddexp"):
        check(lambda lib, x, y, name=name: getattr(lib, name)(x.half(), y), A, np.array(2.0),
              grad=False, rtol=1e-3, atol=1e-3)


def test_empty_and_zero_dim():
    for name in FLOAT_OPS:
        check(lambda lib, x, y, name=name: getattr(lib, name)(x, y), np.zeros((0, 3)),
              np.ones(3), grad=False)
        check(lambda lib, x, y, name=name: getattr(lib, name)(x, y), np.array(0.5),
              np.array(2.0))
    check(lambda lib, x, y: lib.gcd(x, y), np.zeros((2, 0), dtype=np.int64),
          np.zeros((1, 0), dtype=np.int64), grad=False)


def test_float32_gradients():
    for name in ("atan2", "hypot", "ldexp", "logaddexp2", "xlogy"):
        check(lambda lib, x, y, name=name: getattr(lib, name)(x, y), POS.astype(np.float32),
              B.astype(np.float32) + 2, rtol=1e-5, atol=1e-6)


def test_grad_fn_names():
    for name in DIFFERENTIABLE:
        got = []
        for lib in (dt, torch):
            a = lib.tensor([1.0, 2.0], requires_grad=True)
            got.append(getattr(lib, name)(a, a * 2).grad_fn.name())
        assert got[0] == got[1], name


# --------------------------------------------------------------------------- in-place, out=

@pytest.mark.parametrize("name", ["atan2_", "arctan2_", "hypot_", "copysign_", "nextafter_",
                                  "ldexp_", "xlogy_"])
def test_inplace_methods(name):
    check(lambda lib, x, y: getattr(x * 1, name)(y), POS, B)


def test_inplace_integer_ops_and_torch_level():
    check(lambda lib, x, y: x.clone().gcd_(y), np.array([4, 9, 0]), np.array([6, 12, 5]),
          grad=False)
    check(lambda lib, x, y: x.clone().lcm_(y), np.array([4, 9, 0]), np.array([6, 12, 5]),
          grad=False)
    check(lambda lib, x, y: x.clone().heaviside_(y), A, B, grad=False)
    check(lambda lib, x, y: lib.gcd_(x.clone(), y), np.array([4, 9]), np.array([6, 12]),
          grad=False)
    check(lambda lib, x, y: lib.lcm_(x.clone(), y), np.array([4, 9]), np.array([6, 12]),
          grad=False)
    check(lambda lib, x, y: lib.xlogy_(x * 1, y), A, POS)
    check(lambda lib, x, y: lib.ldexp_(x * 1, y), A, B)
    check(lambda lib, x: (x * 1).xlogy_(2.0), A)
    # float results cannot be written into integer tensors; broadcasting cannot grow self
    assert_same_error(lambda lib: lib.tensor([1, 2]).atan2_(lib.tensor([1, 1])))
    assert_same_error(lambda lib: lib.tensor([1.0]).hypot_(lib.tensor([1.0, 2.0])))


def test_out():
    for lib in (dt, torch):
        x = lib.tensor([1.0, -2.0], dtype=lib.float64)
        y = lib.tensor([3.0, 0.5], dtype=lib.float64)
        out = lib.empty(2, dtype=lib.float64)
        assert lib.atan2(x, y, out=out) is out
        np.testing.assert_allclose(out.numpy(), np.arctan2([1.0, -2.0], [3.0, 0.5]),
                                   rtol=1e-15)
        lib.xlogy(x, y, out=out)
        np.testing.assert_allclose(out.numpy(), [np.log(3.0), -2.0 * np.log(0.5)], rtol=1e-15)
        iout = lib.empty(2, dtype=lib.int64)
        lib.gcd(lib.tensor([4, 9]), lib.tensor([6, 12]), out=iout)
        assert iout.tolist() == [2, 3]
    assert_same_error(lambda lib: lib.hypot(lib.tensor([1.0]), lib.tensor([2.0]),
                                            out=lib.empty(1, dtype=lib.int64)))


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("fn", [
    lambda lib: lib.atan2(lib.tensor([1.0]), 2.0),
    lambda lib: lib.hypot(2.0, lib.tensor([1.0])),
    lambda lib: lib.ldexp(lib.tensor([1.0]), 2),
    lambda lib: lib.nextafter(lib.tensor([1.0]), 2.0),
    lambda lib: lib.logaddexp(lib.tensor([1.0]), 1),
    lambda lib: lib.gcd(lib.tensor([4]), 2),
    lambda lib: lib.heaviside(lib.tensor([1.0]), 0.5),
    lambda lib: lib.hypot(lib.tensor([1, 2]), lib.tensor([1, 2])),
    lambda lib: lib.nextafter(lib.tensor([True]), lib.tensor([False])),
    lambda lib: lib.logaddexp(lib.tensor([1]), lib.tensor([2])),
    lambda lib: lib.logaddexp2(lib.tensor([1]), lib.tensor([2])),
    lambda lib: lib.gcd(lib.tensor([1.0]), lib.tensor([2.0])),
    lambda lib: lib.lcm(lib.tensor([True]), lib.tensor([True])),
    lambda lib: lib.heaviside(lib.tensor([1.0]), lib.tensor([1.0], dtype=lib.float64)),
    lambda lib: lib.heaviside(lib.tensor([1]), lib.tensor([1.0])),
    lambda lib: lib.atan2(lib.ones(2), lib.ones(3)),
])
def test_errors(fn):
    assert_same_error(fn)


def test_type_errors_for_numbers_only():
    for fn in (lambda lib: lib.xlogy(2, 3), lambda lib: lib.copysign(2.0, lib.tensor([1.0]))):
        kinds = []
        for lib in (dt, torch):
            with pytest.raises(TypeError) as info:
                fn(lib)
            kinds.append(str(info.value).split(" received")[0])
        assert kinds[0] == kinds[1]


def test_existing_functions_are_kept():
    # float_power, fmod and remainder come from their own modules, not from this one
    from dist_torch.ops import binary_math, elementwise, power
    assert dt.float_power is power.float_power
    assert dt.fmod is elementwise.fmod and dt.remainder is elementwise.remainder
    assert not {"float_power", "fmod", "remainder"} & set(binary_math.__all__)
    for name in ("atan2", "arctan2", "hypot", "copysign", "nextafter", "heaviside", "gcd",
                 "lcm", "xlogy", "ldexp", "logaddexp", "logaddexp2"):
        assert hasattr(dt, name) and hasattr(dt.Tensor, name), name
