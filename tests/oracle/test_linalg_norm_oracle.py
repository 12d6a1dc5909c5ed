"""torch.norm and torch.linalg norms against torch."""

import math

import numpy as np
import pytest
import torch

import dist_torch as dt
import dist_torch.linalg  # noqa: F401 - makes dt.linalg available
from tests.oracle.compare import check

INF = math.inf
X = np.random.default_rng(3).standard_normal((2, 3, 4))


@pytest.mark.parametrize("ord", [2, 1, INF, -INF, 0, 3, 0.5, -1, -2.5])
@pytest.mark.parametrize("dim", [None, 0, -1, (0, 2), (2, 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_vector_norm(ord, dim, keepdim):
    check(lambda lib, x: lib.linalg.vector_norm(x, ord, dim, keepdim), X)


@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, -2, INF, -INF])
@pytest.mark.parametrize("dim", [(-2, -1), (0, 2), (2, 0)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_matrix_norm(ord, dim, keepdim):
    check(lambda lib, x: lib.linalg.matrix_norm(x, ord, dim, keepdim), X)


@pytest.mark.parametrize("args", [(), (None,), (1,), (INF,), (None, 1), (None, (0, 1)),
                                  (1, (0, 2)), ("fro", (1, 2)), (-INF, -1)])
def test_linalg_norm(args):
    check(lambda lib, x: lib.linalg.norm(x, *args), X if len(args) > 1 or not args else X[0])


@pytest.mark.parametrize("p", ["fro", 1, 2, INF, -INF, 0, 3.5, -1])
@pytest.mark.parametrize("dim", [None, 1, (0, 1), (-1, 0)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_torch_norm(p, dim, keepdim):
    check(lambda lib, x: lib.norm(x, p, dim, keepdim), X)
    check(lambda lib, x: x.norm(p, dim, keepdim), X)


def test_gradients_at_zero():
    zeros = np.zeros((2, 3))
    for p in (2, 1, 3, 0.5, INF):
        check(lambda lib, x, p=p: lib.linalg.vector_norm(x, p), zeros)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int64"])
@pytest.mark.parametrize("case", [
    lambda lib, x: lib.norm(x),
    lambda lib, x: lib.linalg.vector_norm(x, 1, dtype=lib.float64),
    lambda lib, x: lib.linalg.vector_norm(x, dtype=lib.float16),
    lambda lib, x: lib.linalg.matrix_norm(x, INF),
])
def test_result_dtypes_and_errors(case, dtype):
    data = np.array([[1, 0, 3], [2, 5, 1]]).astype(dtype)
    results = []
    for lib in (dt, torch):
        try:
            results.append(case(lib, lib.tensor(data)))
        except Exception as err:  # noqa: BLE001 - compared below
            results.append(err)
    ours, theirs = results
    if isinstance(theirs, Exception):
        assert type(ours) is type(theirs) and str(ours) == str(theirs)
        return
    assert str(ours.dtype) == str(theirs.dtype)
    np.testing.assert_allclose(np.asarray(ours, dtype=np.float64), theirs.double().numpy(),
                               rtol=2e-3)


@pytest.mark.parametrize("case", [
    lambda lib, x: lib.linalg.vector_norm(x[:0], INF),
    lambda lib, x: lib.linalg.vector_norm(x[:0], -1, 0),
    lambda lib, x: lib.linalg.matrix_norm(x, 3),
    lambda lib, x: lib.linalg.matrix_norm(x, dim=(1, 1)),
    lambda lib, x: lib.linalg.matrix_norm(x[0][0]),
    lambda lib, x: lib.linalg.norm(x, 1),
    lambda lib, x: lib.linalg.norm(x, dim=(0, 1, 2)),
    lambda lib, x: lib.norm(x, "fro", (0, 1, 2)),
    lambda lib, x: lib.norm(x, "abc"),
])
def test_errors_match_torch(case):
    errors = []
    for lib in (dt, torch):
        with pytest.raises(Exception) as info:
            case(lib, lib.tensor(X))
        errors.append(info.value)
    assert type(errors[0]) is type(errors[1])
    assert str(errors[0]) == str(errors[1])
