"""Comparisons, logical/bitwise ops, max/min, where and float tests: values, gradients,
operator protocol and errors."""

import numpy as np
import pytest

import dist_torch as torch
from tests.helpers import assert_close, gradcheck, rand

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf - inf in isclose


@pytest.mark.parametrize("name, op, expected", [
    ("eq", lambda a, b: a == b, [False, True, False]),
    ("ne", lambda a, b: a != b, [True, False, True]),
    ("lt", lambda a, b: a < b, [True, False, False]),
    ("le", lambda a, b: a <= b, [True, True, False]),
    ("gt", lambda a, b: a > b, [False, False, True]),
    ("ge", lambda a, b: a >= b, [False, True, True]),
])
def test_comparisons(name, op, expected):
    a, b = torch.tensor([1, 2, 3]), torch.tensor([2.0, 2.0, 2.5])
    for result in (op(a, b), getattr(torch, name)(a, b), getattr(a, name)(b)):
        assert result.dtype == torch.bool and result.tolist() == expected
    aliases = {"gt": "greater", "ge": "greater_equal", "lt": "less", "le": "less_equal",
               "ne": "not_equal"}
    if name in aliases:
        assert getattr(torch, aliases[name])(a, b).tolist() == expected


def test_comparison_promotes_like_arithmetic():
    assert (torch.tensor([1, 2]) < 1.5).tolist() == [True, False]
    assert (torch.tensor([16777217]) == torch.tensor([16777216.0])).tolist() == [True]
    assert (2 < torch.tensor([1, 2, 3])).tolist() == [False, False, True]
    assert (torch.tensor([1, 200], dtype=torch.uint8) > -1).tolist() == [False, False]


def test_comparison_broadcasts():
    assert (torch.ones(3, 1) == torch.ones(1, 4)).shape == (3, 4)
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of "
                                           r"tensor b \(4\) at non-singleton dimension 0"):
        torch.lt(torch.ones(3), torch.ones(4))


def test_operators_with_non_numbers():
    x = torch.tensor([1, 2, 3])
    assert (x == None) is False  # noqa: E711 - the operator protocol is what is tested
    assert (x != "a") is True
    assert (x == [1, 2, 3]) is False
    with pytest.raises(TypeError, match="'<' not supported between instances of 'Tensor' and"):
        x < "a"  # noqa: B015


def test_comparison_results_are_outside_the_graph():
    x = rand(3)
    assert not (x > 0).requires_grad and (x > 0).grad_fn is None


def test_inplace_comparison_keeps_dtype():
    x = torch.tensor([1.0, 2.0, 3.0])
    assert x.gt_(1.5) is x
    assert x.tolist() == [0.0, 1.0, 1.0]
    y = torch.tensor([1, 2])
    y.eq_(2)
    assert y.dtype == torch.int64 and y.tolist() == [0, 1]


def test_equal_allclose_isclose():
    a = torch.tensor([1.0, 2.0, np.nan])
    assert torch.equal(torch.tensor([1, 2]), torch.tensor([1.0, 2.0])) is True
    assert torch.equal(a, a) is False
    assert torch.equal(torch.ones(2, 1), torch.ones(2)) is False
    assert torch.allclose(a[:2], a[:2] + 1e-7) is True
    assert torch.allclose(a[:2], a[:2] + 1e-3) is False
    assert torch.allclose(a, a, equal_nan=True) is True
    assert torch.isclose(a, a).tolist() == [True, True, False]
    inf = torch.tensor([np.inf, -np.inf])
    assert torch.isclose(inf, torch.tensor([np.inf, np.inf])).tolist() == [True, False]
    assert torch.isclose(torch.tensor([1, 2, 3]), torch.tensor([2, 2, 5]), atol=1).tolist() == \
        [True, True, False]


@pytest.mark.parametrize("expr, error, message", [
    (lambda: torch.isclose(torch.ones(2), torch.ones(2, dtype=torch.float64)), RuntimeError,
     "Float did not match Double"),
    (lambda: torch.allclose(torch.tensor([1]), torch.ones(1)), RuntimeError,
     "Long did not match Float"),
    (lambda: torch.isclose(torch.ones(2), torch.ones(2), rtol=-1), RuntimeError,
     "rtol must be greater than or equal to zero, but got -1"),
    (lambda: torch.equal(torch.ones(2), 1), TypeError,
     "equal\\(\\): argument 'other' \\(position 2\\) must be Tensor, not int"),
    (lambda: torch.maximum(torch.ones(2), 1.5), TypeError,
     "maximum\\(\\): argument 'other' \\(position 2\\) must be Tensor, not float"),
    (lambda: torch.logical_and(torch.ones(2), 1), TypeError, "must be Tensor, not int"),
    (lambda: torch.ones(2) & 1, NotImplementedError,
     "\"bitwise_and_cpu\" not implemented for 'Float'"),
    (lambda: torch.bitwise_not(torch.ones(2)), NotImplementedError,
     "\"bitwise_not_cpu\" not implemented for 'Float'"),
    (lambda: ~torch.ones(2), TypeError,
     "~ \\(operator.invert\\) is only implemented on integer and Boolean-type tensors"),
    (lambda: torch.where(torch.tensor([1, 0]), 1.0, 2.0), RuntimeError,
     "where expected condition to be a boolean tensor, but got a tensor with dtype Long"),
    (lambda: torch.where(torch.tensor([True, False]), torch.ones(3), 0.0), RuntimeError,
     r"The size of tensor a \(2\) must match the size of tensor b \(3\) at non-singleton "
     r"dimension 0"),
    (lambda: torch.tensor([True]).__iand__(torch.tensor([1])), RuntimeError,
     "result type Long can't be cast to the desired output type Bool"),
])
def test_errors(expr, error, message):
    with pytest.raises(error, match=message):
        expr()


# --------------------------------------------------------------------------- max / min

@pytest.mark.parametrize("name", ["maximum", "minimum", "fmax", "fmin"])
def test_max_min_gradcheck(name):
    # distinct values: the function is smooth there
    a = rand(3, 4, seed=1)
    b = rand(4, seed=2)
    gradcheck(getattr(torch, name), a, b)


@pytest.mark.parametrize("name, grad_a, grad_b", [
    ("maximum", [0.5, 1.0, 0.0, 1.0], [0.5, 0.0, 1.0, 1.0]),
    ("minimum", [0.5, 0.0, 1.0, 1.0], [0.5, 1.0, 0.0, 1.0]),
    ("fmax", [1.0, 1.0, 0.0, 1.0], [0.0, 0.0, 1.0, 0.0]),
    ("fmin", [1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 0.0]),
])
def test_max_min_gradient_at_ties_and_nan(name, grad_a, grad_b):
    a = torch.tensor([1.0, 2.0, 3.0, np.nan], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([1.0, 1.0, 4.0, np.nan], dtype=torch.float64, requires_grad=True)
    getattr(torch, name)(a, b).sum().backward()
    assert_close(a.grad, grad_a)
    assert_close(b.grad, grad_b)


def test_nan_handling_of_max_min():
    a, b = torch.tensor([np.nan, 1.0]), torch.tensor([2.0, np.nan])
    assert_close(torch.maximum(a, b), [np.nan, np.nan])
    assert_close(torch.fmax(a, b), [2.0, 1.0])
    assert_close(torch.fmin(a, b), [2.0, 1.0])


# --------------------------------------------------------------------------- where

def test_where_gradcheck_with_broadcasting():
    cond = torch.tensor([[True], [False]])
    gradcheck(lambda x, y: torch.where(cond, x, y), rand(2, 3, seed=1), rand(3, seed=2))
    gradcheck(lambda x: torch.where(cond, x, 0.5), rand(1, 3, seed=3))
    gradcheck(lambda y: y.where(cond, 2), rand(2, 3, seed=3))


def test_where_dtypes():
    c = torch.tensor([True, False])
    assert torch.where(c, 1, 2.0).dtype == torch.float32
    assert torch.where(c, 1, 2).dtype == torch.int64
    assert torch.where(c, torch.tensor([1, 2], dtype=torch.int8), 3).dtype == torch.int8
    assert torch.where(c, torch.tensor([1, 2], dtype=torch.int8), 3.5).dtype == torch.float32
    assert torch.where(c, torch.ones(2), torch.ones(2, dtype=torch.float64)).dtype == \
        torch.float64
    assert_close(torch.where(c, torch.tensor([1.0, 2.0]), 0.0), [1.0, 0.0])


def test_where_with_condition_only_is_nonzero():
    rows, cols = torch.where(torch.tensor([[1, 0], [2, 3]]))
    assert rows.tolist() == [0, 1, 1] and cols.tolist() == [0, 0, 1]
    assert rows.dtype == torch.int64
    (only,) = torch.where(torch.tensor(5))
    assert only.tolist() == [0]


# --------------------------------------------------------------------------- logical / bitwise

def test_logical_ops():
    a, b = torch.tensor([0, 1, 2, 0]), torch.tensor([0.0, 0.0, 1.5, 2.0])
    assert torch.logical_and(a, b).tolist() == [False, False, True, False]
    assert torch.logical_or(a, b).tolist() == [False, True, True, True]
    assert torch.logical_xor(a, b).tolist() == [False, True, False, True]
    assert torch.logical_not(b).tolist() == [True, True, False, False]
    assert a.logical_and_(b).tolist() == [0, 0, 1, 0] and a.dtype == torch.int64


def test_bitwise_ops_and_operators():
    a = torch.tensor([12, 10, -1])
    assert (a & 6).tolist() == [4, 2, 6] and (6 & a).tolist() == [4, 2, 6]
    assert (a | 1).tolist() == [13, 11, -1] and (a ^ 3).tolist() == [15, 9, -4]
    assert (~a).tolist() == [-13, -11, 0]
    b = torch.tensor([True, False])
    assert (b & True).dtype == torch.bool and (~b).tolist() == [False, True]
    assert (b | 2).tolist() == [3, 2]
    c = torch.tensor([True, False])
    c |= torch.tensor([False, True])
    c &= torch.tensor([True, False])
    c ^= torch.tensor([True, True])
    assert c.tolist() == [False, True]
    assert (torch.tensor([1], dtype=torch.uint8) ^ torch.tensor([3], dtype=torch.int8)).dtype == \
        torch.int16


@pytest.mark.parametrize("name, expected", [
    ("isnan", [True, False, False, False, False]),
    ("isinf", [False, True, True, False, False]),
    ("isfinite", [False, False, False, True, True]),
    ("isposinf", [False, True, False, False, False]),
    ("isneginf", [False, False, True, False, False]),
    ("signbit", [False, False, True, True, False]),
])
def test_float_tests(name, expected):
    x = torch.tensor([np.nan, np.inf, -np.inf, -0.0, 1.0])
    assert getattr(torch, name)(x).tolist() == expected
    assert getattr(x, name)().tolist() == expected
    ints = getattr(torch, name)(torch.tensor([-1, 2]))
    assert ints.dtype == torch.bool
    assert ints.tolist() == {"isfinite": [True, True], "signbit": [True, False]}.get(
        name, [False, False])
