"""Reductions and cumulative ops against torch: values, dtypes, gradients, errors."""

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.oracle.compare import check

RNG = np.random.default_rng(0)
X = RNG.standard_normal((2, 3, 4))
TIES = np.array([[1.0, 3.0, 3.0, -2.0], [2.0, 2.0, 0.0, 2.0], [5.0, -1.0, -1.0, 5.0]])
ZEROS = np.array([[1.5, 0.0, 2.0, -1.0], [0.0, 0.0, 3.0, 0.5], [2.0, -0.5, 1.5, 0.0]])
DIMS = [None, 0, -1, 2, (0, 2), (-1, 0), ()]


def _kw(dim, keepdim):
    return {"dim": dim, "keepdim": keepdim}


@pytest.mark.parametrize("name", ["sum", "mean", "nansum", "amax", "amin"])
@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_multi_dim_reductions(name, dim, keepdim):
    check(lambda lib, x: getattr(lib, name)(x, **_kw(dim, keepdim)), X)
    check(lambda lib, x: getattr(x, name)(**_kw(dim, keepdim)), X)


@pytest.mark.parametrize("name", ["amax", "amin", "max", "min"])
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_ties(name, dim):
    if dim is None:
        check(lambda lib, x: getattr(lib, name)(x), TIES)
    else:
        check(lambda lib, x: getattr(lib, name)(x, dim), TIES)


@pytest.mark.parametrize("data", [X[0], ZEROS, np.array([[0.0, 0.0], [0.0, 1.0]])])
@pytest.mark.parametrize("dim", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_prod(data, dim, keepdim):
    if dim is None:  # torch.prod takes keepdim only with a dim
        check(lambda lib, x: lib.prod(x), data)
    else:
        check(lambda lib, x: lib.prod(x, dim, keepdim), data)


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_dim(name, dim, keepdim):
    check(lambda lib, x: getattr(lib, name)(x, dim, keepdim), X)
    check(lambda lib, x: getattr(x, name)(dim=dim, keepdim=keepdim).values, X)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("dim", [None, 0, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_argmax_argmin(name, dim, keepdim):
    check(lambda lib, x: getattr(lib, name)(x, dim, keepdim), TIES, grad=False)
    check(lambda lib, x: getattr(lib, name)(x, dim, keepdim), X, grad=False)


@pytest.mark.parametrize("dim", [None, 0, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_aminmax(dim, keepdim):
    check(lambda lib, x: lib.aminmax(x, dim=dim, keepdim=keepdim), TIES)


@pytest.mark.parametrize("name", ["all", "any"])
@pytest.mark.parametrize("dim", [None, 0, -1, (0, 1), ()])
@pytest.mark.parametrize("keepdim", [False, True])
def test_all_any(name, dim, keepdim):
    check(lambda lib, x: getattr(lib, name)(x, **_kw(dim, keepdim)), ZEROS, grad=False)


@pytest.mark.parametrize("dim", [None, 0, -1, (0, 1), ()])
def test_count_nonzero(dim):
    check(lambda lib, x: lib.count_nonzero(x, dim), ZEROS, grad=False)


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
@pytest.mark.parametrize("data", [X, ZEROS[None]])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumulative(name, data, dim):
    check(lambda lib, x: getattr(lib, name)(x, dim), data)


def test_zero_dim_inputs():
    s = np.array(1.5)
    for fn in (lambda lib, x: lib.sum(x, 0), lambda lib, x: lib.max(x, 0),
               lambda lib, x: lib.prod(x, 0, True), lambda lib, x: lib.amax(x, -1),
               lambda lib, x: lib.cumsum(x, 0), lambda lib, x: lib.cumprod(x, 0),
               lambda lib, x: lib.argmax(x, 0), lambda lib, x: lib.mean(x, 0, True)):
        check(fn, s)


def test_empty_inputs():
    e = np.zeros((0, 3))
    for fn in (lambda lib, x: lib.sum(x), lambda lib, x: lib.sum(x, 0),
               lambda lib, x: lib.mean(x, 1), lambda lib, x: lib.prod(x, 0),
               lambda lib, x: lib.amax(x, 1), lambda lib, x: lib.max(x, 1),
               lambda lib, x: lib.all(x), lambda lib, x: lib.any(x, 1),
               lambda lib, x: lib.cumsum(x, 0)):
        check(fn, e)


def test_nan_handling():
    data = np.array([[1.0, np.nan, 2.0], [np.nan, np.nan, 0.5], [0.0, 1.0, 3.0]])
    for fn in (lambda lib, x: lib.max(x, 1), lambda lib, x: lib.argmin(x, 0),
               lambda lib, x: lib.nansum(x, 1), lambda lib, x: lib.sum(x, 1),
               lambda lib, x: lib.max(x)):
        check(fn, data)


# --------------------------------------------------------------------------- result dtypes

DTYPES = ["bool", "uint8", "int32", "int64", "float16", "float32", "float64"]
DTYPE_CASES = {
    "sum": lambda lib, x: lib.sum(x),
    "sum_dim": lambda lib, x: x.sum(0),
    "sum_dtype": lambda lib, x: lib.sum(x, dtype=lib.float64),
    "nansum": lambda lib, x: lib.nansum(x, 0),
    "mean": lambda lib, x: lib.mean(x),
    "mean_dtype": lambda lib, x: lib.mean(x, dtype=lib.float32),
    "prod": lambda lib, x: lib.prod(x, 1),
    "max": lambda lib, x: lib.max(x),
    "max_dim": lambda lib, x: lib.max(x, 1),
    "amin": lambda lib, x: lib.amin(x, 0),
    "argmax": lambda lib, x: lib.argmax(x, 1),
    "aminmax": lambda lib, x: lib.aminmax(x),
    "all": lambda lib, x: lib.all(x, 1),
    "any": lambda lib, x: lib.any(x),
    "count_nonzero": lambda lib, x: lib.count_nonzero(x, 0),
    "cumsum": lambda lib, x: lib.cumsum(x, 1),
    "cumprod": lambda lib, x: lib.cumprod(x, 0),
    "cumsum_dtype": lambda lib, x: lib.cumsum(x, 0, dtype=lib.float32),
}


def run_both(fn, data):
    """(ours, torch's) result of ``fn``, or the exception class each raised."""
    results = []
    for lib in (dt, torch):
        try:
            results.append(fn(lib, lib.tensor(data)))
        except Exception as err:  # noqa: BLE001 - compared below
            results.append(type(err))
    return results


def _dtypes(result):
    if isinstance(result, type):
        return result.__name__
    if isinstance(result, tuple):
        return tuple(str(r.dtype) for r in result)
    return str(result.dtype)


@pytest.mark.parametrize("case", sorted(DTYPE_CASES))
@pytest.mark.parametrize("dtype", DTYPES)
def test_result_dtypes(case, dtype):
    data = np.array([[1, 0, 3], [2, 5, 1]]).astype(dtype)
    ours, theirs = run_both(DTYPE_CASES[case], data)
    assert _dtypes(ours) == _dtypes(theirs)
    if not isinstance(theirs, type):
        for o, t in zip(ours if isinstance(ours, tuple) else (ours,),
                        theirs if isinstance(theirs, tuple) else (theirs,)):
            np.testing.assert_allclose(np.asarray(o, dtype=np.float64),
                                       t.double().numpy(), rtol=1e-3)


def test_return_type_structure():
    ours, theirs = run_both(lambda lib, x: lib.max(x, 1), X[0])
    assert type(ours).__name__ == type(theirs).__name__ == "max"
    assert repr(ours).split("(")[0] == repr(theirs).split("(")[0] == "torch.return_types.max"
    np.testing.assert_array_equal(np.asarray(ours.indices), theirs.indices.numpy())
    ours, theirs = run_both(lambda lib, x: lib.aminmax(x, dim=0), X[0])
    assert type(ours).__name__ == type(theirs).__name__
    np.testing.assert_allclose(np.asarray(ours.max), theirs.max.numpy())


# --------------------------------------------------------------------------- errors

ERROR_CASES = [
    lambda lib, x: lib.sum(x, 2),
    lambda lib, x: lib.sum(x, -3),
    lambda lib, x: lib.mean(x, (0, 0)),
    lambda lib, x: lib.amax(x, (1, -1)),
    lambda lib, x: lib.max(x, 5),
    lambda lib, x: lib.argmax(x, 2),
    lambda lib, x: lib.cumsum(x, 2),
    lambda lib, x: lib.mean(x.long()),
    lambda lib, x: lib.mean(x, dtype=lib.int32),
    lambda lib, x: lib.argmax(x.bool()),
    lambda lib, x: lib.max(x[:0]),
    lambda lib, x: lib.max(x[:0], 0),
    lambda lib, x: lib.amin(x[:0]),
    lambda lib, x: lib.amax(x[:0], 0),
    lambda lib, x: lib.argmax(x[:0]),
    lambda lib, x: lib.argmin(x[:0], 0),
    lambda lib, x: lib.aminmax(x[:0]),
    lambda lib, x: lib.aminmax(x[:0], dim=0),
    lambda lib, x: lib.count_nonzero(x, (1, 1)),
]


@pytest.mark.parametrize("index", range(len(ERROR_CASES)))
def test_errors_match_torch(index):
    fn = ERROR_CASES[index]
    errors = []
    for lib in (dt, torch):
        with pytest.raises(Exception) as info:
            fn(lib, lib.tensor(X[0]))
        errors.append(info.value)
    ours, theirs = errors
    assert type(ours) is type(theirs)
    assert str(ours) == str(theirs).split("\n")[0]
