"""Comparisons, logical/bitwise ops, max/min, where and float tests against torch."""

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.oracle.compare import check
from tests.oracle.test_elementwise_oracle import (
    DTYPES,
    SHAPES,
    _operand_cases,
    operand,
    same_result,
)

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

COMPARISONS = {
    "eq": lambda lib, a, b: a == b, "ne": lambda lib, a, b: a != b,
    "lt": lambda lib, a, b: a < b, "le": lambda lib, a, b: a <= b,
    "gt": lambda lib, a, b: lib.gt(a, b) if isinstance(a, lib.Tensor) else a > b,
    "ge": lambda lib, a, b: a >= b,
    "bitwise_and": lambda lib, a, b: a & b, "bitwise_or": lambda lib, a, b: a | b,
    "bitwise_xor": lambda lib, a, b: a ^ b,
    "maximum": lambda lib, a, b: lib.maximum(a, b), "fmin": lambda lib, a, b: lib.fmin(a, b),
    "logical_and": lambda lib, a, b: lib.logical_and(a, b),
    "logical_xor": lambda lib, a, b: lib.logical_xor(a, b),
    "where": lambda lib, a, b: lib.where(lib.tensor([[True, False, True]] * 2), a, b),
}


@pytest.mark.parametrize("op", list(COMPARISONS))
@pytest.mark.parametrize("left", DTYPES)
def test_dtype_grid(op, left):
    fn = COMPARISONS[op]
    for kind, right in _operand_cases():
        for swap in (False, True):
            a, b = ("tensor", left), (kind, right)
            if swap:
                a, b = b, a
            same_result(fn, [operand(dt, *a, seed=1), operand(dt, *b, seed=2)],
                        [operand(torch, *a, seed=1), operand(torch, *b, seed=2)])


@pytest.mark.parametrize("op", ["eq", "lt", "ge", "ne"])
@pytest.mark.parametrize("d1", ["float32", "float64", "int64", "uint8", "int8"])
@pytest.mark.parametrize("d2", ["float16", "float64", "int32"])
def test_comparisons_with_mixed_values(op, d1, d2):
    values = [-1.5, 0.0, 2.0, np.nan, np.inf, -np.inf, 3.0, 255.0]
    other = [-1.5, 0.5, 2.0, np.nan, np.inf, 1.0, -3.0, -1.0]

    def fn(lib):
        a = lib.tensor(np.nan_to_num(values) if d1[0] != "f" else values).to(getattr(lib, d1))
        b = lib.tensor(np.nan_to_num(other) if d2[0] != "f" else other).to(getattr(lib, d2))
        return getattr(lib, op)(a, b), getattr(lib, op)(a, 2.5), getattr(lib, op)(a, -1)
    for ours, theirs in zip(fn(dt), fn(torch)):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("op", ["maximum", "minimum", "fmax", "fmin"])
def test_max_min_forward_backward(op, shapes):
    rng = np.random.default_rng(4)
    # small integers make ties (where the gradient is shared) likely
    a = rng.integers(0, 3, shapes[0]).astype(np.float64)
    b = rng.integers(0, 3, shapes[1]).astype(np.float64)
    check(lambda lib, x, y: getattr(lib, op)(x, y), a, b)


@pytest.mark.parametrize("op", ["maximum", "minimum", "fmax", "fmin"])
def test_max_min_with_nan(op):
    a = np.array([np.nan, 2.0, 3.0, np.nan, 1.0])
    b = np.array([1.0, np.nan, 4.0, np.nan, 1.0])
    check(lambda lib, x, y: getattr(lib, op)(x, y), a, b)


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_where_forward_backward(shapes):
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=shapes[0]), rng.normal(size=shapes[1])
    cond = rng.random(np.broadcast_shapes(*shapes)) > 0.5

    def fn(lib, x, y):
        c = lib.tensor(cond)
        return lib.where(c, x, y), lib.where(c, x, 2.5), lib.where(c, -1, y), x.where(c, y)
    check(fn, x, y)


@pytest.mark.parametrize("expr", [
    lambda lib: lib.where(lib.tensor([True, False]), 1, 2.0),
    lambda lib: lib.where(lib.tensor([True, False]), 1, 2),
    lambda lib: lib.where(lib.tensor([True, False]), True, 0),
    lambda lib: lib.where(lib.tensor(True), True, False),
    lambda lib: lib.where(lib.tensor([True, False]), lib.tensor([1, 2], dtype=lib.uint8),
                          lib.tensor(-1)),
    lambda lib: lib.where(lib.tensor([True]), lib.tensor([1.0], dtype=lib.float16),
                          lib.tensor(2.0, dtype=lib.float64)),
    lambda lib: lib.where(lib.tensor([True, False]), lib.ones(3), 0.0),
    lambda lib: lib.where(lib.ones(2, 1) > 0, lib.ones(3), lib.ones(4)),
    lambda lib: lib.where(lib.tensor([1, 0, 2]), 1.0, 2.0),
    lambda lib: lib.where(lib.tensor([1, 0, 2])),
    lambda lib: lib.where(lib.tensor([[1, 0], [2, 0]])),
    lambda lib: lib.where(lib.tensor(3)),
    lambda lib: lib.where(lib.tensor(0)),
    lambda lib: lib.equal(lib.tensor([1, 2]), lib.tensor([1.0, 2.0])),
    lambda lib: lib.equal(lib.tensor([1, 2]), lib.tensor([1, 3])),
    lambda lib: lib.equal(lib.ones(2, 1), lib.ones(2)),
    lambda lib: lib.equal(lib.tensor([float("nan")]), lib.tensor([float("nan")])),
    lambda lib: lib.equal(lib.ones(2), 1),
    lambda lib: lib.allclose(lib.tensor([1, 2]), lib.tensor([1.0, 2.0])),
    lambda lib: lib.allclose(lib.ones(2), lib.ones(2) + 1e-6),
    lambda lib: lib.allclose(lib.ones(2), lib.ones(2) + 1e-3),
    lambda lib: lib.allclose(lib.ones(2), 1.0),
    lambda lib: lib.isclose(lib.tensor([float("nan"), float("inf"), -float("inf"), 1.0]),
                            lib.tensor([float("nan"), float("inf"), float("inf"), 1.0 + 1e-9])),
    lambda lib: lib.isclose(lib.tensor([float("nan"), 1.0]), lib.tensor([float("nan"), 2.0]),
                            equal_nan=True, rtol=0.6),
    lambda lib: lib.isclose(lib.tensor([1, 2, 3]), lib.tensor([2, 2, 5]), atol=1),
    lambda lib: lib.isclose(lib.tensor([1, 2, 3]), lib.tensor([2, 2, 5]), rtol=0.4),
    lambda lib: lib.isclose(lib.tensor([-1], dtype=lib.int8), lib.tensor([127], dtype=lib.int8),
                            atol=200),
    lambda lib: lib.isclose(lib.tensor([True, False]), lib.tensor([True, True])),
    lambda lib: lib.isclose(lib.ones(2), lib.ones(2), rtol=-1),
    lambda lib: lib.isclose(lib.ones(2), lib.ones(2), atol=-1),
    lambda lib: lib.isclose(lib.ones(2), lib.ones(3)),
    lambda lib: lib.isclose(lib.ones(2, 1), lib.ones(3)),
    lambda lib: lib.maximum(lib.tensor([1]), 1.5),
    lambda lib: lib.maximum(lib.tensor([1]), lib.tensor([1.5])),
    lambda lib: lib.maximum(lib.tensor([True]), lib.tensor([False])),
    lambda lib: lib.fmax(lib.tensor([1]), lib.tensor([2], dtype=lib.uint8)),
    lambda lib: lib.ones(3) < lib.ones(4),
    lambda lib: lib.tensor([1, 2, 3]) == None,  # noqa: E711
    lambda lib: lib.tensor([1, 2, 3]) != "x",
    lambda lib: lib.tensor([1, 2, 3]) < "x",
    lambda lib: lib.tensor([1, 2, 3]) == [1, 2, 3],
    lambda lib: 2 < lib.tensor([1, 2, 3]),
    lambda lib: lib.tensor([1, 200], dtype=lib.uint8) > -1,
    lambda lib: lib.tensor([1, 2], dtype=lib.int8) == 257,
    lambda lib: lib.logical_and(lib.tensor([1, 0, 2]), lib.tensor([1.0, 1.0, 0.0])),
    lambda lib: lib.logical_and(lib.tensor([1, 0]), 1),
    lambda lib: lib.logical_or(lib.tensor([0, 0, 2]), lib.tensor([0.0, 1.0, 0.0])),
    lambda lib: lib.logical_not(lib.tensor([0.0, 1.5, float("nan")])),
    lambda lib: lib.logical_not(lib.tensor([0, 3], dtype=lib.int8)),
    lambda lib: lib.tensor([1, 0, 3]).logical_and_(lib.tensor([0, 1, 1])),
    lambda lib: lib.tensor([1.0, 0.0]).logical_not_(),
    lambda lib: lib.tensor([1.0, 2.0]) & 1,
    lambda lib: lib.tensor([1, 2]) & 1.5,
    lambda lib: ~lib.tensor([1.0]),
    lambda lib: lib.bitwise_not(lib.tensor([1.0])),
    lambda lib: ~lib.tensor([1, -2]),
    lambda lib: ~lib.tensor([True, False]),
    lambda lib: ~lib.tensor([1, 254], dtype=lib.uint8),
    lambda lib: 3 & lib.tensor([1, 2, 3]),
    lambda lib: True | lib.tensor([False, False]),
    lambda lib: 6 ^ lib.tensor([True, False]),
    lambda lib: lib.tensor([1, 2], dtype=lib.uint8) & -1,
    lambda lib: lib.tensor([1], dtype=lib.uint8) ^ lib.tensor([3], dtype=lib.int8),
    lambda lib: lib.tensor([True, False]).__iand__(lib.tensor([True, True])),
    lambda lib: lib.tensor([True, False]).__iand__(lib.tensor([1, 1])),
    lambda lib: lib.tensor([6, 5]).__ior__(1),
    lambda lib: lib.tensor([6, 5]).__ixor__(lib.tensor([True, False])),
    lambda lib: lib.tensor([1.0, 2.0]).gt_(1),
    lambda lib: lib.tensor([1, 2]).eq_(1.5),
    lambda lib: lib.tensor([1, 2]).le_(lib.tensor([[1], [2]])),
    lambda lib: lib.signbit(lib.tensor([-0.0, 0.0, float("nan"), -3.0, -float("inf")])),
    lambda lib: lib.signbit(lib.tensor([-2, 0, 3])),
    lambda lib: lib.signbit(lib.tensor([200], dtype=lib.uint8)),
    lambda lib: lib.signbit(lib.tensor([True])),
])
def test_values_dtypes_and_errors_match_torch(expr):
    same_result(lambda lib: expr(lib), [], [])


FLOAT_TESTS = ["isnan", "isinf", "isfinite", "isposinf", "isneginf", "signbit"]


@pytest.mark.parametrize("name", FLOAT_TESTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_float_tests(name, dtype):
    values = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -2.0, 65504.0, 1e10]
    if dtype[0] != "f":
        values = [1, 0, 2, 1]
    same_result(lambda lib, t: getattr(lib, name)(t),
                [dt.tensor(values, dtype=dt.float64).to(getattr(dt, dtype))],
                [torch.tensor(values, dtype=torch.float64).to(getattr(torch, dtype))])


def test_comparison_results_do_not_require_grad():
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    for result in (x > 1, x == x, dt.isnan(x), dt.isclose(x, x), x.eq(1.0)):
        assert result.dtype == dt.bool and not result.requires_grad and result.grad_fn is None
