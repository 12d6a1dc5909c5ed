"""Arithmetic ops against torch: values and gradients in float64 (with broadcasting and
reflected scalars), result dtypes over a grid of operand dtypes, and error classes."""

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.helpers import assert_close
from tests.oracle.compare import check

# NumPy warns where torch silently returns inf/nan (x / 0, 0 ** -1, ...)
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

DTYPES = ["bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64"]
SCALARS = [True, 3, -2, 2.5]

# broadcasting shape pairs: same, (3,1)x(1,4), trailing, 0-dim on either side
SHAPES = [((2, 3), (2, 3)), ((3, 1), (1, 4)), ((2, 3), (3,)), ((), (2, 3)), ((2, 3), ())]


def same_result(fn, ours_args, torch_args):
    """``fn(lib, *args)`` either raises the same exception class on both libraries, or gives
    tensors of equal dtype and values (or equal Python values)."""
    try:
        expected = fn(torch, *torch_args)
    except Exception as err:  # noqa: BLE001 - the class itself is what is compared
        with pytest.raises(type(err)):
            fn(dt, *ours_args)
        return None
    got = fn(dt, *ours_args)
    _assert_same(got, expected)
    return got


def _assert_same(got, expected):
    if isinstance(expected, torch.Tensor):
        assert isinstance(got, dt.Tensor), f"expected a Tensor, got {type(got).__name__}"
        assert str(got.dtype) == str(expected.dtype), f"dtype {got.dtype} vs {expected.dtype}"
        assert_close(got, expected, rtol=1e-3 if expected.dtype == torch.float16 else 1e-6,
                     check_dtype=False)
    elif isinstance(expected, tuple):
        assert isinstance(got, tuple) and len(got) == len(expected)
        for g, e in zip(got, expected):
            _assert_same(g, e)
    else:
        assert got == expected and type(got) is type(expected)


def operand(lib, kind, dtype_name, shape=(2, 3), seed=0):
    """A tensor of ``dtype_name`` ('tensor': dimensioned, 'zerodim': 0-dim) or a scalar."""
    if kind == "scalar":
        return dtype_name
    rng = np.random.default_rng(seed)
    values = rng.integers(1, 4, size=shape if kind == "tensor" else ())
    return lib.tensor(values).to(getattr(lib, dtype_name))


def _operand_cases():
    cases = [("tensor", d) for d in DTYPES] + [("zerodim", d) for d in DTYPES]
    return cases + [("scalar", s) for s in SCALARS]


BINARY_OPS = {
    "add": lambda lib, a, b: lib.add(a, b),
    "sub": lambda lib, a, b: a - b,
    "mul": lambda lib, a, b: lib.mul(a, b),
    "div": lambda lib, a, b: lib.div(a, b),
    "floor": lambda lib, a, b: lib.div(a, b, rounding_mode="floor"),
    "pow": lambda lib, a, b: a ** b,
    "remainder": lambda lib, a, b: a % b,
}


@pytest.mark.parametrize("op", list(BINARY_OPS))
@pytest.mark.parametrize("left", DTYPES)
def test_result_dtype_grid(op, left):
    """Every dtype pair, Python scalar and 0-dim operand, on either side: same dtype/values."""
    fn = BINARY_OPS[op]
    for kind, right in _operand_cases():
        for swap in (False, True):
            a = ("tensor", left)
            b = (kind, right)
            if swap:
                a, b = b, a
            same_result(fn, [operand(dt, *a, seed=1), operand(dt, *b, seed=2)],
                        [operand(torch, *a, seed=1), operand(torch, *b, seed=2)])


@pytest.mark.parametrize("left", ["zerodim"])
@pytest.mark.parametrize("op", ["add", "mul", "div"])
def test_result_dtype_zero_dim_pairs(op, left):
    fn = BINARY_OPS[op]
    for d1 in DTYPES:
        for d2 in DTYPES:
            same_result(fn, [operand(dt, left, d1), operand(dt, left, d2)],
                        [operand(torch, left, d1), operand(torch, left, d2)])


def _pair(shape_a, shape_b, low=0.5, high=2.0):
    rng = np.random.default_rng(0)
    return rng.uniform(low, high, shape_a), rng.uniform(low, high, shape_b)


GRAD_OPS = {
    "add": lambda lib, a, b: a + b,
    "add_alpha": lambda lib, a, b: lib.add(a, b, alpha=2.5),
    "sub": lambda lib, a, b: a - b,
    "sub_alpha": lambda lib, a, b: lib.sub(a, b, alpha=-1.5),
    "mul": lambda lib, a, b: a * b,
    "div": lambda lib, a, b: a / b,
    "true_divide": lambda lib, a, b: lib.true_divide(a, b),
    "pow": lambda lib, a, b: a ** b,
    "remainder": lambda lib, a, b: lib.remainder(a * 3, b),
    "fmod": lambda lib, a, b: lib.fmod(a * 3, b),
    "div_trunc": lambda lib, a, b: lib.div(a * 3, b, rounding_mode="trunc"),
    "div_floor": lambda lib, a, b: lib.div(a * 3, b, rounding_mode="floor"),
    "maximum_of_sub": lambda lib, a, b: lib.rsub(a, b, alpha=2),
}


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("op", list(GRAD_OPS))
def test_binary_forward_backward(op, shapes):
    check(GRAD_OPS[op], *_pair(*shapes))


SCALAR_OPS = {
    "x+2": lambda lib, x: x + 2, "2+x": lambda lib, x: 2 + x, "x-2": lambda lib, x: x - 2,
    "2-x": lambda lib, x: 2 - x, "2.5*x": lambda lib, x: 2.5 * x, "x/2": lambda lib, x: x / 2,
    "2/x": lambda lib, x: 2 / x, "x**2": lambda lib, x: x ** 2, "x**3": lambda lib, x: x ** 3,
    "x**0.5": lambda lib, x: x ** 0.5, "x**0": lambda lib, x: x ** 0,
    "x**-1.5": lambda lib, x: x ** -1.5, "2**x": lambda lib, x: 2 ** x,
    "0.5**x": lambda lib, x: 0.5 ** x, "x%0.7": lambda lib, x: x % 0.7,
    "fmod": lambda lib, x: lib.fmod(x, -0.7), "-x": lambda lib, x: -x,
    "neg": lambda lib, x: lib.neg(x), "rsub": lambda lib, x: lib.rsub(x, 3, alpha=2),
    "float_power": lambda lib, x: lib.float_power(x, 2.5),
    "x**tensor0d": lambda lib, x: x ** lib.tensor(2.0, dtype=lib.float64),
    "square": lambda lib, x: lib.square(x),
}


@pytest.mark.parametrize("op", list(SCALAR_OPS))
def test_scalar_operand_forward_backward(op):
    check(SCALAR_OPS[op], np.random.default_rng(1).uniform(0.2, 2.0, (2, 3)))


def test_pow_at_zero_base_and_negative_base():
    # 0 ** y (y >= 0) has a zero gradient wrt y; (-x) ** y is nan in both libraries
    check(lambda lib, a, b: a ** b, np.array([0.0, 0.0, -1.5, 2.0]), np.array([0.0, 2.0, 2.0, 0.0]))
    check(lambda lib, b: 0.0 ** b, np.array([0.0, 1.0, 2.5]))


@pytest.mark.parametrize("weight", [0.3, 0.7, -0.2, 1.5])
def test_lerp_scalar_weight(weight):
    check(lambda lib, a, b: lib.lerp(a, b, weight), *_pair((3, 1), (1, 4), -1, 1))


def test_lerp_tensor_weight_broadcasts():
    rng = np.random.default_rng(2)
    check(lambda lib, a, b, w: lib.lerp(a, b, w), rng.normal(size=(2, 3)), rng.normal(size=(3,)),
          rng.uniform(-0.5, 1.5, size=(2, 1)))


@pytest.mark.parametrize("value", [1, 0.5, -2])
def test_addcmul_addcdiv(value):
    rng = np.random.default_rng(3)
    a, t1, t2 = rng.normal(size=(2, 3)), rng.normal(size=(3,)), rng.uniform(0.5, 2, (2, 1))
    check(lambda lib, x, y, z: lib.addcmul(x, y, z, value=value), a, t1, t2)
    check(lambda lib, x, y, z: lib.addcdiv(x, y, z, value=value), a, t1, t2)


INPLACE_OPS = {
    "add_": lambda y, o: y.add_(o, alpha=2), "sub_": lambda y, o: y.sub_(o),
    "mul_": lambda y, o: y.mul_(o), "div_": lambda y, o: y.div_(o), "pow_": lambda y, o: y.pow_(o),
    "iadd": lambda y, o: y.__iadd__(o), "isub": lambda y, o: y.__isub__(o),
    "imul": lambda y, o: y.__imul__(o), "itruediv": lambda y, o: y.__itruediv__(o),
    "ipow": lambda y, o: y.__ipow__(o), "remainder_": lambda y, o: y.remainder_(o),
    "fmod_": lambda y, o: y.fmod_(o),
    "lerp_": lambda y, o: y.lerp_(o * 2, 0.25), "addcmul_": lambda y, o: y.addcmul_(o, o),
    "addcdiv_": lambda y, o: y.addcdiv_(o, o + 1, value=2),
}


@pytest.mark.parametrize("op", list(INPLACE_OPS))
@pytest.mark.parametrize("other_kind", ["tensor", "broadcast", "scalar"])
def test_inplace_forward_backward(op, other_kind):
    def fn(lib, x, o):
        y = x * 1.0  # a non-leaf, so in-place is allowed
        other = {"tensor": o, "broadcast": o[0], "scalar": 1.5}[other_kind]
        if op in ("lerp_", "addcmul_", "addcdiv_") and other_kind == "scalar":
            other = o
        return INPLACE_OPS[op](y, other)
    check(fn, *_pair((2, 3), (2, 3)))


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool", "float32"])
@pytest.mark.parametrize("op", ["add_", "sub_", "mul_", "div_", "floor_divide_", "remainder_",
                                "pow_"])
@pytest.mark.parametrize("other", [2, 1.5, "int_tensor", "float_tensor", "wide"])
def test_inplace_result_type_and_shape_errors(op, dtype, other):
    def fn(lib, x):
        o = {"int_tensor": lib.tensor([2, 3]), "float_tensor": lib.tensor([1.5, 2.0]),
             "wide": lib.ones(3, 2)}.get(other, other)
        return getattr(x, op)(o)
    same_result(fn, [dt.tensor([4, 7]).to(getattr(dt, dtype))],
                [torch.tensor([4, 7]).to(getattr(torch, dtype))])


INT_DIVISIONS = {
    "floordiv": lambda a, b: a // b, "mod": lambda a, b: a % b,
    "fmod": lambda a, b: a.fmod(b) if not isinstance(a, int) else None,
    "trunc": lambda a, b: a.div(b, rounding_mode="trunc"),
    "floor": lambda a, b: a.div(b, rounding_mode="floor"), "true": lambda a, b: a / b,
}


@pytest.mark.parametrize("op", list(INT_DIVISIONS))
@pytest.mark.parametrize("dtype", ["int64", "int8", "uint8", "float32"])
@pytest.mark.parametrize("divisor", [[2, -3, 4, 5], [0, 2, 1, 1], 0, -3, 2.5])
def test_integer_division_semantics_and_zero(op, dtype, divisor):
    def fn(lib, a):
        b = lib.tensor(divisor).to(a.dtype) if isinstance(divisor, list) else divisor
        return INT_DIVISIONS[op](a, b)
    values = [7, -7, 0, 9]
    same_result(fn, [dt.tensor(values).to(getattr(dt, dtype))],
                [torch.tensor(values).to(getattr(torch, dtype))])


@pytest.mark.parametrize("expr", [
    lambda lib: lib.tensor([True, False]) - lib.tensor([True, True]),
    lambda lib: lib.tensor([True]) - True,
    lambda lib: True - lib.tensor([True]),
    lambda lib: -lib.tensor([True]),
    lambda lib: +lib.tensor([True]),
    lambda lib: lib.ones(2, 3) + lib.ones(2, 4),
    lambda lib: lib.ones(3) * lib.ones(4),
    lambda lib: lib.ones(2, 4) / lib.ones(3),
    lambda lib: lib.tensor([1, 2]) ** -1,
    lambda lib: lib.tensor([True]) ** lib.tensor([True]),
    lambda lib: lib.tensor([True]) // lib.tensor([True]),
    lambda lib: lib.tensor([True]) % lib.tensor([True]),
    lambda lib: lib.fmod(lib.tensor([True]), lib.tensor([True])),
    lambda lib: lib.div(lib.ones(2), 2, rounding_mode="round"),
    lambda lib: lib.add(lib.tensor([1]), 2, alpha=0.5),
    lambda lib: lib.add(lib.ones(2), 2, alpha=True),
    lambda lib: lib.lerp(lib.ones(2), lib.ones(2, dtype=lib.float64), 0.5),
    lambda lib: lib.lerp(lib.ones(2), lib.ones(2), lib.ones(2, dtype=lib.float64)),
    lambda lib: lib.lerp(lib.tensor([1, 2]), lib.tensor([3, 4]), 0.5),
    lambda lib: lib.lerp(lib.ones(2), lib.ones(3), 0.5),
    lambda lib: lib.addcdiv(lib.ones(2), lib.tensor([1, 2]), lib.tensor([1, 2])),
    lambda lib: lib.addcmul(lib.tensor([True]), lib.tensor([True]), lib.tensor([True])),
    lambda lib: lib.addcmul(lib.ones(2), lib.ones(3), lib.ones(2)),
    lambda lib: lib.ones(2) + "a",
    lambda lib: lib.ones(2) + None,
])
def test_errors_match_torch(expr):
    try:
        expr(torch)
    except Exception as err:  # noqa: BLE001
        with pytest.raises(type(err)) as ours:
            expr(dt)
        if isinstance(err, RuntimeError):
            assert str(ours.value) == str(err)
    else:
        pytest.fail("torch accepted the expression")


@pytest.mark.parametrize("expr", [
    lambda lib: lib.tensor([1, 200], dtype=lib.uint8) + (-1),
    lambda lib: lib.tensor([1, 2], dtype=lib.int8) * 1000,
    lambda lib: 1000 - lib.tensor([100], dtype=lib.int8),
    lambda lib: lib.tensor([100], dtype=lib.int8) / 1000,
    lambda lib: lib.tensor([0, 2, -1, 1]) ** lib.tensor([-1, -1, -3, -2]),
    lambda lib: 2 ** lib.tensor([-1, 2]),
    lambda lib: -1 ** lib.tensor([3]),
    lambda lib: lib.tensor([2, 3]) ** 0.5,
    lambda lib: lib.tensor([True, False]) ** 2,
    lambda lib: lib.tensor([True, False]) ** True,
    lambda lib: lib.tensor([True, False]) ** False,
    lambda lib: lib.tensor([True]) + lib.tensor([True]),
    lambda lib: lib.add(lib.tensor([True]), lib.tensor([False]), alpha=2),
    lambda lib: lib.tensor([True]) / 2,
    lambda lib: lib.ones(2) + np.float64(1),
    lambda lib: np.float64(2) * lib.ones(2),
    lambda lib: lib.ones(2, dtype=lib.int32) + np.int64(3),
    lambda lib: lib.addcmul(lib.tensor([1, 2]), lib.tensor([3, 4]), lib.tensor([3, 4]), value=1.5),
    lambda lib: lib.addcmul(lib.tensor([1.0]), lib.tensor([2]), lib.tensor([2])),
    lambda lib: lib.tensor(1.0, dtype=lib.float64) // 0.1,
    lambda lib: lib.tensor([5.0, -5.0, 0.0]) // 0.0,
    lambda lib: lib.tensor([5.0, -5.0]) % 0.0,
    lambda lib: lib.tensor([-7.0, 7.0]) % -3,
    lambda lib: 7 % lib.tensor([-3, 3]),
    lambda lib: lib.remainder(-2, lib.tensor([3])),
    lambda lib: lib.float_power(lib.tensor([2]), 2),
    lambda lib: lib.positive(lib.tensor([1, -2])),
])
def test_values_and_dtypes_match_torch(expr):
    same_result(lambda lib: expr(lib), [], [])


@pytest.mark.parametrize("expr", [
    lambda lib, x: x // 2, lambda lib, x: 2 // x, lambda lib, x: 2 % x,
])
def test_ops_without_derivative_fail_in_backward(expr):
    for lib in (torch, dt):
        x = lib.tensor([1.5, 2.5], dtype=lib.float64, requires_grad=True)
        y = expr(lib, x)
        assert y.requires_grad
        with pytest.raises(RuntimeError, match="derivative for aten::.* is not implemented"):
            y.sum().backward()


@pytest.mark.parametrize("expr", [
    lambda lib, x, y: x + y, lambda lib, x, y: x - 2, lambda lib, x, y: 2 - x,
    lambda lib, x, y: x * 2, lambda lib, x, y: x / y, lambda lib, x, y: 2 / x,
    lambda lib, x, y: x ** 2, lambda lib, x, y: x ** y, lambda lib, x, y: 2 ** x,
    lambda lib, x, y: x % y, lambda lib, x, y: x % 2, lambda lib, x, y: lib.fmod(x, y),
    lambda lib, x, y: lib.fmod(x, 2), lambda lib, x, y: lib.div(x, y, rounding_mode="floor"),
    lambda lib, x, y: x // y, lambda lib, x, y: -x, lambda lib, x, y: lib.lerp(x, y, 0.5),
    lambda lib, x, y: lib.lerp(x, y, y), lambda lib, x, y: lib.addcmul(x, x, y),
    lambda lib, x, y: lib.addcdiv(x, x, y), lambda lib, x, y: lib.square(x),
])
def test_grad_fn_names(expr):
    nodes = []
    for lib in (torch, dt):
        x = lib.tensor([1.5, 2.5], dtype=lib.float64, requires_grad=True)
        y = lib.tensor([0.5, 3.0], dtype=lib.float64, requires_grad=True)
        nodes.append(expr(lib, x, y).grad_fn)
    assert nodes[1].name() == type(nodes[0]).__name__
