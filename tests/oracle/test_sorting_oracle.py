"""sort, argsort, msort, topk, kthvalue, median and nanmedian against torch: values, indices,
dtypes, gradients, NaN placement, ties (stable order) and errors."""

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.oracle.compare import check

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4, 5))           # distinct values: indices are unambiguous
TIES = np.array([[1.0, 3.0, 3.0, -2.0, 1.0], [2.0, 2.0, 0.0, 2.0, 0.0]])
NAN = np.array([[1.0, np.nan, 3.0, 0.5], [4.0, np.nan, np.nan, 2.0], [np.nan] * 4,
                [2.0, 1.0, 0.0, 3.0]])
INTS = np.array([[5, -1, 3, 3, 0], [2, 7, -4, 1, 1]], dtype=np.int64)


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_and_argsort(dim, descending):
    check(lambda lib, x: lib.sort(x, dim, descending), X)
    check(lambda lib, x: x.sort(dim=dim, descending=descending), X)
    check(lambda lib, x: lib.argsort(x, dim=dim, descending=descending), X, grad=False)


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("data", [TIES, INTS, NAN], ids=["ties", "ints", "nan"])
def test_stable_sort_keeps_equal_elements_in_order(data, descending):
    check(lambda lib, x: lib.sort(x, descending=descending, stable=True), data,
          grad=data.dtype.kind == "f" and not np.isnan(data).any())
    check(lambda lib, x: lib.argsort(x, dim=0, descending=descending, stable=True), data,
          grad=False)


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.uint8, np.int8, np.bool_])
def test_sort_dtypes(dtype):
    data = RNG.integers(0, 3, (4, 6)).astype(dtype)
    check(lambda lib, x: lib.sort(x, dim=1, descending=True, stable=True), data, grad=False)


def test_sort_scalars_and_empty():
    check(lambda lib, x: lib.sort(x), np.array(3.0))
    check(lambda lib, x: lib.sort(x, dim=1), np.zeros((2, 0)), grad=False)
    check(lambda lib, x: lib.msort(x), X)


@pytest.mark.parametrize("k, dim", [(0, -1), (1, -1), (3, -1), (5, -1), (0, 1), (1, 1),
                                    (4, 1)])
@pytest.mark.parametrize("largest", [True, False])
def test_topk(k, largest, dim):
    check(lambda lib, x: lib.topk(x, k, dim=dim, largest=largest), X)
    check(lambda lib, x: x.topk(k, dim, largest), X)


def test_topk_nan_is_largest_and_ints():
    data = np.array([1.0, np.nan, 3.0, -1.0])
    check(lambda lib, x: lib.topk(x, 2), data, grad=False)
    check(lambda lib, x: lib.topk(x, 2, largest=False), data)
    check(lambda lib, x: lib.topk(x, 2), np.array([1, 5, 3], dtype=np.uint8), grad=False)


@pytest.mark.parametrize("k, dim", [(1, 0), (3, 0), (1, -1), (2, -1), (5, -1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_kthvalue(k, dim, keepdim):
    check(lambda lib, x: lib.kthvalue(x, k, dim, keepdim), X)


def test_median_of_all_elements():
    check(lambda lib, x: lib.median(x), X)
    check(lambda lib, x: lib.median(x), X[0, :, :4])  # even count: the lower middle
    check(lambda lib, x: lib.median(x), TIES)           # gradient shared among the ties


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_median_along_dim(dim, keepdim):
    check(lambda lib, x: lib.median(x, dim, keepdim), X)
    check(lambda lib, x: x.median(dim=dim, keepdim=keepdim), X[:, :, :4])


def test_median_and_nanmedian_with_nan():
    check(lambda lib, x: lib.median(x, 1), NAN, grad=False)
    check(lambda lib, x: lib.nanmedian(x, 1), NAN[[0, 1, 3]], grad=False)
    assert np.isnan(dt.nanmedian(dt.tensor(NAN), 1).values[2].item())  # torch's index varies
    check(lambda lib, x: lib.median(x), NAN, grad=False)
    check(lambda lib, x: lib.nanmedian(x), NAN, grad=False)
    check(lambda lib, x: lib.nanmedian(x, 0, True), NAN[[0, 1, 3]], grad=False)
    check(lambda lib, x: lib.median(x), INTS, grad=False)
    check(lambda lib, x: lib.median(x, 1), INTS, grad=False)


def test_gradient_of_median_with_dim_reaches_the_median_element():
    x = dt.tensor([[4.0, 1.0, 3.0, 2.0]], requires_grad=True)
    values, indices = dt.median(x, 1)
    values.backward(dt.tensor([10.0]))
    assert values.item() == 2.0 and indices.item() == 3
    assert x.grad.tolist() == [[0.0, 0.0, 0.0, 10.0]]


@pytest.mark.parametrize("call, exc, message", [
    (lambda lib, x: lib.topk(x, 6), RuntimeError, "selected index k out of range"),
    (lambda lib, x: lib.topk(x, -1), RuntimeError, "selected index k out of range"),
    (lambda lib, x: lib.kthvalue(x, 0), RuntimeError,
     "kthvalue(): selected number k out of range for dimension 2"),
    (lambda lib, x: lib.kthvalue(x, 6), RuntimeError,
     "kthvalue(): selected number k out of range for dimension 2"),
    (lambda lib, x: lib.sort(x, 3), IndexError,
     "Dimension out of range (expected to be in range of [-3, 2], but got 3)"),
    (lambda lib, x: lib.topk(x > 0, 1), RuntimeError, "topk does not support bool dtypes"),
    (lambda lib, x: lib.median(x > 0, 0), NotImplementedError, "not implemented for 'Bool'"),
    (lambda lib, x: lib.median(x[:, :0], 1), IndexError,
     "median(): Expected reduction dim 1 to have non-zero size."),
])
def test_errors_match_torch(call, exc, message):
    for lib in (dt, torch):
        with pytest.raises(exc) as info:
            call(lib, lib.tensor(X))
        assert message in str(info.value), (lib.__name__, str(info.value))
