"""softmax, log_softmax and logsumexp against torch, including extreme inputs."""

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.oracle.compare import check

X = np.random.default_rng(1).standard_normal((2, 3, 4)) * 3
EXTREME = np.array([[1000.0, 1000.0, -1000.0], [-1000.0, 0.0, -np.inf], [50.0, -50.0, 0.0]])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, -1, 2])
def test_softmax(name, dim):
    check(lambda lib, x: getattr(lib, name)(x, dim), X)
    check(lambda lib, x: getattr(x, name)(dim), X)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1])
def test_softmax_extreme(name, dim):
    check(lambda lib, x: getattr(lib, name)(x, dim), EXTREME)


@pytest.mark.parametrize("dim", [0, -1, (0, 2), (-1, 1), [0, 1, 2]])
@pytest.mark.parametrize("keepdim", [False, True])
def test_logsumexp(dim, keepdim):
    check(lambda lib, x: lib.logsumexp(x, dim, keepdim), X)
    check(lambda lib, x: x.logsumexp(dim, keepdim=keepdim), X)


@pytest.mark.parametrize("dim", [0, 1])
def test_logsumexp_extreme(dim):
    check(lambda lib, x: lib.logsumexp(x, dim), EXTREME)


def test_logsumexp_infinite_rows():
    rows = np.array([[-np.inf, -np.inf], [np.inf, 1.0], [1000.0, 1000.0]])
    check(lambda lib, x: lib.logsumexp(x, 1), rows, grad=False)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # -inf * weights
def test_zero_dim_and_empty():
    check(lambda lib, x: lib.softmax(x, 0), np.array(0.3))
    check(lambda lib, x: lib.logsumexp(x, 0), np.array(0.3))
    check(lambda lib, x: lib.log_softmax(x, 1), np.zeros((0, 3)))
    check(lambda lib, x: lib.logsumexp(x, 0), np.zeros((0, 3)))


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int64", "bool"])
@pytest.mark.parametrize("case", [
    lambda lib, x: lib.softmax(x, 0),
    lambda lib, x: lib.log_softmax(x, 0, dtype=lib.float64),
    lambda lib, x: lib.softmax(x, -1, lib.float32),
    lambda lib, x: lib.logsumexp(x, 0),
])
def test_result_dtypes(case, dtype):
    data = np.array([[1, 0, 3], [2, 5, 1]]).astype(dtype)
    results = []
    for lib in (dt, torch):
        try:
            results.append(case(lib, lib.tensor(data)))
        except Exception as err:  # noqa: BLE001 - compared below
            results.append(type(err))
    ours, theirs = results
    if isinstance(theirs, type):
        assert ours is theirs
        return
    assert str(ours.dtype) == str(theirs.dtype)
    np.testing.assert_allclose(np.asarray(ours, dtype=np.float64), theirs.double().numpy(),
                               rtol=2e-3)
