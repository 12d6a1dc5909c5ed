"""cummax, cummin and logcumsumexp against torch: values, indices (last position of ties, NaN
propagation), dtypes, gradients, scalars, empty tensors and errors."""

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.oracle.compare import assert_same_error, check

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4, 9))
TIES = np.array([[1.0, 3.0, 3.0, -2.0, 3.0, 4.0], [2.0, 2.0, 0.0, 2.0, 0.0, 0.0]])
NAN = np.array([[1.0, 3.0, 3.0, np.nan, 2.0, np.nan, 5.0], [np.nan, 1.0, 0.0, 1.0, 2.0, 0.0,
                                                            1.0]])


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cummax_cummin(name, dim):
    check(lambda lib, x: getattr(lib, name)(x, dim), X)
    check(lambda lib, x: getattr(x, name)(dim=dim), X)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_cummin_ties_and_nan(name):
    # ties: torch routes the gradient to the last equal element (the reported index)
    check(lambda lib, x: getattr(lib, name)(x, 1), TIES)
    check(lambda lib, x: getattr(lib, name)(x, 0), TIES)
    check(lambda lib, x: getattr(lib, name)(x, 1), NAN)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_, np.float32])
def test_cummax_cummin_dtypes(name, dtype):
    data = RNG.integers(0, 4, (3, 8)).astype(dtype)
    check(lambda lib, x: getattr(lib, name)(x, 1), data, grad=False)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_cummin_scalar_empty_and_out(name):
    check(lambda lib, x: getattr(lib, name)(x, 0), np.array(2.5))
    check(lambda lib, x: getattr(lib, name)(x, -1), np.array(2.5))
    check(lambda lib, x: getattr(lib, name)(x, 1), np.zeros((2, 0)), grad=False)
    check(lambda lib, x: getattr(lib, name)(x, 0), np.zeros((0, 3)), grad=False)

    def with_out(lib, x):
        values, indices = lib.empty(0, dtype=lib.float64), lib.empty(0, dtype=lib.int64)
        result = getattr(lib, name)(x, 1, out=(values, indices))
        assert result.values is values and result.indices is indices
        return values, indices
    check(with_out, X[0], grad=False)
    assert_same_error(lambda lib: getattr(lib, name)(lib.ones(2), 2))


def test_return_type_fields():
    ours = dt.cummax(dt.tensor([1, 3, 2]), 0)
    assert type(ours).__name__ == "cummax" and ours.indices.tolist() == [0, 1, 1]
    assert ours.values.tolist() == [1, 3, 3]
    assert dt.cummax(dt.tensor([1.0], requires_grad=True), 0).values.grad_fn.name() == \
        "CummaxBackward0"


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_logcumsumexp(dim):
    check(lambda lib, x: lib.logcumsumexp(x, dim), X)
    check(lambda lib, x: x.logcumsumexp(dim), X * 50)


def test_logcumsumexp_is_stable():
    # huge and tiny magnitudes: a naive log(cumsum(exp(x))) gives inf or -inf here
    data = np.array([[-1000.0, 0.0, 1000.0, 999.0, -5.0], [800.0, 800.0, -800.0, 0.0, 1.0]])
    check(lambda lib, x: lib.logcumsumexp(x, 1), data)
    inf = np.array([-np.inf, -np.inf, 1.0, np.inf, 2.0])
    check(lambda lib, x: lib.logcumsumexp(x, 0), inf, grad=False)


def test_logcumsumexp_dtypes_scalar_empty_errors():
    check(lambda lib, x: lib.logcumsumexp(x, 1), X[0].astype(np.float32), grad=False,
          rtol=1e-6)
    check(lambda lib, x: lib.logcumsumexp(x, 0), np.array(1.5))
    check(lambda lib, x: lib.logcumsumexp(x, 1), np.zeros((2, 0)))
    assert_same_error(lambda lib: lib.logcumsumexp(lib.tensor([1, 2]), 0))
    assert_same_error(lambda lib: lib.logcumsumexp(lib.ones(2), 1))


def test_logcumsumexp_gradient_with_zero_and_mixed_upstream():
    x = RNG.standard_normal(6)
    for upstream in (np.zeros(6), np.array([1.0, -2.0, 0.0, 3.0, -1.0, 0.5])):
        ours = dt.tensor(x, requires_grad=True)
        theirs = torch.tensor(x, requires_grad=True)
        dt.logcumsumexp(ours, 0).backward(dt.tensor(upstream))
        torch.logcumsumexp(theirs, 0).backward(torch.tensor(upstream))
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10,
                                   atol=1e-12)
