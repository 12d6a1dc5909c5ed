"""var, std, var_mean, std_mean against torch across both signatures."""

import warnings

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.oracle.compare import check

X = np.random.default_rng(2).standard_normal((2, 3, 4))

# correction=2 over a dim of size 2 leaves no degrees of freedom: both libraries warn, and the
# infinite results make the comparison's weighted loss NaN.
pytestmark = [pytest.mark.filterwarnings("ignore:.*degrees of freedom:UserWarning"),
              pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")]


@pytest.mark.parametrize("name", ["var", "std", "var_mean", "std_mean"])
@pytest.mark.parametrize("dim", [None, 0, -1, (0, 2), (-1, 1)])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("correction", [0, 1, 2, 0.5])
def test_correction_signature(name, dim, keepdim, correction):
    check(lambda lib, x: getattr(lib, name)(x, dim, keepdim=keepdim, correction=correction), X)


@pytest.mark.parametrize("name", ["var", "std", "var_mean", "std_mean"])
@pytest.mark.parametrize("unbiased", [False, True])
def test_unbiased_signature(name, unbiased):
    check(lambda lib, x: getattr(lib, name)(x, 1, unbiased, True), X)
    check(lambda lib, x: getattr(lib, name)(x, unbiased), X)
    check(lambda lib, x: getattr(lib, name)(x, dim=(0, 1), unbiased=unbiased), X)


@pytest.mark.parametrize("name", ["var", "std"])
def test_methods(name):
    check(lambda lib, x: getattr(x, name)(), X)
    check(lambda lib, x: getattr(x, name)(1, keepdim=True), X)
    check(lambda lib, x: getattr(x, name)(dim=[0, 2], correction=0), X)


def test_degenerate():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda lib, x: lib.var(x), np.array([1.5]))
        check(lambda lib, x: lib.std(x, 0, correction=2), X)
        check(lambda lib, x: lib.var(x, 0, correction=2), X)
        check(lambda lib, x: lib.std(x), np.full((3,), 2.0))
        check(lambda lib, x: lib.var_mean(x, 1), np.zeros((2, 0)), grad=False)


@pytest.mark.parametrize("dtype", ["float16", "float32", "int64", "bool"])
@pytest.mark.parametrize("name", ["var", "std", "var_mean", "std_mean"])
def test_result_dtypes_and_errors(name, dtype):
    data = np.array([[1, 0, 3], [2, 5, 1]]).astype(dtype)
    results = []
    for lib in (dt, torch):
        try:
            results.append(getattr(lib, name)(lib.tensor(data), 1))
        except Exception as err:  # noqa: BLE001 - compared below
            results.append(err)
    ours, theirs = results
    if isinstance(theirs, Exception):
        assert type(ours) is type(theirs) and str(ours) == str(theirs)
        return
    for o, t in zip(ours if isinstance(ours, tuple) else (ours,),
                    theirs if isinstance(theirs, tuple) else (theirs,)):
        assert str(o.dtype) == str(t.dtype)
        np.testing.assert_allclose(np.asarray(o, dtype=np.float64), t.double().numpy(),
                                   rtol=2e-3)
