"""nanmean, quantile, nanquantile, mode, cov and corrcoef against torch: values, dtypes,
gradients (to the input and to q), NaN handling, tie rules, edge shapes and errors."""

import warnings

import numpy as np
import pytest

from tests.oracle.compare import assert_same_error, check

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4, 5))
NAN = X.copy()
NAN[0, 1, :] = np.nan          # an all-NaN row along dim 2
NAN[1, 2, 3] = np.nan
NAN[2, 0, 0] = np.nan
Q = np.array([0.0, 0.2, 0.5, 0.77, 1.0])
INTERPOLATIONS = ["linear", "lower", "higher", "midpoint", "nearest"]


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("dim", [None, 0, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_quantile(interpolation, dim, keepdim):
    check(lambda lib, x: lib.quantile(x, 0.37, dim, keepdim, interpolation=interpolation), X)
    check(lambda lib, x, q: x.quantile(q, dim=dim, keepdim=keepdim,
                                       interpolation=interpolation), X, Q)
    check(lambda lib, x, q: lib.nanquantile(x, q, dim, keepdim, interpolation=interpolation),
          X, np.array(0.3))


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_quantile_ranks_and_ties(interpolation):
    # ranks on exact halves (nearest rounds half to even) and repeated values
    data = np.array([3.0, 0.0, 5.0, 1.0, 4.0, 2.0])
    q = np.array([0.1, 0.3, 0.5, 0.7, 0.9, 0.25, 0.75])
    check(lambda lib, x, q: lib.quantile(x, q, interpolation=interpolation), data, q)
    ties = np.array([[1.0, 2.0, 2.0, 2.0, 0.5], [4.0, 4.0, 4.0, 4.0, 4.0]])
    check(lambda lib, x: lib.quantile(x, lib.tensor([0.3, 0.6], dtype=lib.float64), dim=1,
                                      interpolation=interpolation), ties)


@pytest.mark.parametrize("interpolation", ["linear", "lower", "nearest", "midpoint"])
def test_nan_handling(interpolation):
    check(lambda lib, x: lib.quantile(x, lib.tensor([0.1, 0.6], dtype=lib.float64), dim=2,
                                      interpolation=interpolation), NAN)
    check(lambda lib, x: lib.nanquantile(x, lib.tensor([0.1, 0.6], dtype=lib.float64), dim=2,
                                         interpolation=interpolation), NAN)
    check(lambda lib, x: lib.nanquantile(x, 0.4, interpolation=interpolation), NAN)
    # the gradient of a NaN result goes to one of the NaNs; which one depends on torch's
    # (unstable) sort: values only
    check(lambda lib, x: lib.quantile(x, 0.4), NAN, grad=False)


def test_quantile_float32_edges_and_q_gradient():
    check(lambda lib, x: lib.quantile(x, 0.3, dim=1), X.astype(np.float32), rtol=1e-6)
    check(lambda lib, x, q: lib.quantile(x, q.float(), dim=1), X.astype(np.float32),
          Q, grad=False, rtol=1e-6)
    check(lambda lib, x: lib.quantile(x, 0.5, dim=0, keepdim=True), np.array(3.0))
    check(lambda lib, x, q: lib.quantile(x, q, dim=0, keepdim=True), np.array(3.0), Q[:2])
    check(lambda lib, x, q: lib.quantile(x, q, keepdim=True), X[0], Q)
    check(lambda lib, x: lib.quantile(x, 1), X[0])
    # linear interpolation also differentiates with respect to q
    check(lambda lib, x, q: lib.quantile(x, q, dim=1), X[0], np.array([0.3, 0.61]))
    check(lambda lib, x, q: lib.nanquantile(x, q, dim=2), NAN, np.array([0.3, 0.61]))
    check(lambda lib, x, q: lib.quantile(x, q, dim=2), NAN, np.array(0.45))


@pytest.mark.parametrize("fn", [
    lambda lib: lib.quantile(lib.zeros(3), 1.3),
    lambda lib: lib.nanquantile(lib.zeros(3), -1e-20),
    lambda lib: lib.quantile(lib.zeros(3), float("nan")),
    lambda lib: lib.quantile(lib.zeros(3), lib.tensor([0.1, 1.3])),
    lambda lib: lib.quantile(lib.zeros(3), lib.tensor([[0.3]])),
    lambda lib: lib.quantile(lib.zeros(3), 0.5, interpolation="foo"),
    lambda lib: lib.quantile(lib.zeros(3, dtype=lib.long), 0.5),
    lambda lib: lib.nanquantile(lib.zeros(3, dtype=lib.float16), 0.5),
    lambda lib: lib.quantile(lib.zeros(3), lib.tensor([0.5], dtype=lib.float64)),
    lambda lib: lib.quantile(lib.zeros(0), 0.5),
    lambda lib: lib.quantile(lib.zeros(2, 0), 0.5, dim=0),
    lambda lib: lib.quantile(lib.zeros(2, 3), 0.5, dim=5),
    lambda lib: lib.quantile(lib.zeros(2 ** 24 + 1), 0.5),
])
def test_quantile_errors(fn):
    assert_same_error(fn)


def test_quantile_out():
    def fn(lib, x):
        out = lib.zeros(4, dtype=lib.float64)
        lib.quantile(x.detach(), 0.4, dim=1, out=out)
        return out
    check(fn, X[0], grad=False)


# --------------------------------------------------------------------------- nanmean

def test_nanmean():
    check(lambda lib, x: lib.nanmean(x), NAN)
    check(lambda lib, x: lib.nanmean(x, (0, 2)), NAN)
    check(lambda lib, x: x.nanmean(1, keepdim=True), NAN)
    check(lambda lib, x: lib.nanmean(x, dtype=lib.float64), NAN.astype(np.float32))
    check(lambda lib, x: lib.nanmean(x, 2), NAN.astype(np.float32), rtol=1e-6, grad=False)
    # an all-NaN slice is NaN (torch's gradient there is NaN too: compared without grad)
    check(lambda lib, x: lib.nanmean(x, 2, True), NAN, grad=False)
    check(lambda lib, x: lib.nanmean(x, 0), np.zeros((0, 3)), grad=False)


@pytest.mark.parametrize("fn", [
    lambda lib: lib.nanmean(lib.tensor([1, 2])),
    lambda lib: lib.nanmean(lib.tensor([1.0, 2.0]), dtype=lib.int64),
])
def test_nanmean_errors(fn):
    assert_same_error(fn)


# --------------------------------------------------------------------------- mode

ROUNDED = np.round(X * 1.5)     # many repeated values: ties between equally frequent ones


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_mode(dim, keepdim):
    check(lambda lib, x: lib.mode(x, dim, keepdim), ROUNDED)
    check(lambda lib, x: x.mode(dim), ROUNDED.astype(np.int64), grad=False)


def test_mode_tie_rule_nan_and_dtypes():
    # the smallest most frequent value, at the last index where it occurs
    check(lambda lib, x: lib.mode(x), np.array([5, 5, 1, 1, 7, 7, 7, 0, 0, 0]), grad=False)
    check(lambda lib, x: lib.mode(x, 1), np.array([[3.0, 1.0, 3.0, 1.0, 2.0],
                                                   [2.0, 2.0, 5.0, 5.0, 1.0]]))
    check(lambda lib, x: lib.mode(x), np.array([1.0, np.nan, np.nan, 2.0]), grad=False)
    check(lambda lib, x: lib.mode(x), np.array([np.nan, np.nan]), grad=False)
    check(lambda lib, x: lib.mode(x, 0), np.array([[True, False], [True, True], [False, False]]),
          grad=False)
    for dtype in (np.uint8, np.int8, np.int32, np.float32):
        check(lambda lib, x: lib.mode(x, 1), RNG.integers(0, 4, (3, 9)).astype(dtype),
              grad=False)


def test_mode_edges():
    check(lambda lib, x: lib.mode(x), np.array(4.0))
    check(lambda lib, x: lib.mode(x, 0, True), np.array(4.0))
    check(lambda lib, x: lib.mode(x, 0), np.zeros((2, 0)), grad=False)
    check(lambda lib, x: lib.mode(x), np.zeros(5))

    def out(lib, x):
        values, indices = lib.zeros(0, dtype=lib.float64), lib.zeros(0, dtype=lib.long)
        lib.mode(x.detach(), 1, out=(values, indices))
        return values, indices
    check(out, ROUNDED[0], grad=False)


@pytest.mark.parametrize("fn", [
    lambda lib: lib.mode(lib.zeros(2, 0), 1),
    lambda lib: lib.mode(lib.zeros(0)),
    lambda lib: lib.mode(lib.zeros(2, 3), 2),
])
def test_mode_errors(fn):
    assert_same_error(fn)


# --------------------------------------------------------------------------- cov / corrcoef

OBS = RNG.standard_normal((3, 6))
FW = np.array([1, 2, 0, 3, 1, 4])
AW = RNG.uniform(0.1, 2.0, 6)


@pytest.mark.parametrize("correction", [0, 1, 2])
def test_cov(correction):
    check(lambda lib, x: lib.cov(x, correction=correction), OBS)
    check(lambda lib, x: x.cov(correction=correction), OBS[0])
    check(lambda lib, x: lib.cov(x, correction=correction, fweights=lib.tensor(FW)), OBS)
    check(lambda lib, x, a: lib.cov(x, correction=correction, aweights=a), OBS, AW)
    check(lambda lib, x, a: lib.cov(x, correction=correction, fweights=lib.tensor(FW),
                                    aweights=a), OBS, AW)


def test_cov_dtypes_and_edges():
    ints = RNG.integers(-5, 5, (2, 7))
    check(lambda lib, x: lib.cov(x), ints, grad=False)
    check(lambda lib, x: lib.cov(x), ints.astype(np.int32), grad=False)
    check(lambda lib, x, a: lib.cov(x, aweights=a), ints, AW[:1].repeat(7), grad=False)
    check(lambda lib, x: lib.cov(x), OBS.astype(np.float32), rtol=1e-5)
    check(lambda lib, x, a: lib.cov(x, aweights=a), OBS.astype(np.float32), AW, rtol=1e-5)
    check(lambda lib, x: lib.cov(x), np.zeros((0, 3)), grad=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda lib, x: lib.cov(x), np.array(3.0), grad=False)
        check(lambda lib, x: lib.cov(x), np.zeros((2, 0)), grad=False)
        check(lambda lib, x: lib.cov(x, correction=6), OBS, grad=False)
        check(lambda lib, x: lib.cov(x, correction=2), np.array([[1.0, 2.0]]), grad=False)


def test_cov_warns_on_no_degrees_of_freedom():
    import dist_torch as dt
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        dt.cov(dt.tensor(OBS), correction=6)


@pytest.mark.parametrize("fn", [
    lambda lib: lib.cov(lib.zeros(2, 3, 4)),
    lambda lib: lib.cov(lib.zeros(2, 3, dtype=lib.bool)),
    lambda lib: lib.cov(lib.zeros(2, 4), fweights=lib.tensor([1.0, 2, 0, 3])),
    lambda lib: lib.cov(lib.zeros(2, 4), fweights=lib.tensor([1, -2, 0, 3])),
    lambda lib: lib.cov(lib.zeros(2, 4), aweights=lib.tensor([1.0, -2, 0, 3])),
    lambda lib: lib.cov(lib.zeros(2, 4), aweights=lib.tensor([1, 2, 0, 3])),
    lambda lib: lib.cov(lib.zeros(2, 4), fweights=lib.tensor([1, 2, 0])),
    lambda lib: lib.cov(lib.zeros(2, 4), fweights=lib.tensor([[1, 2, 0, 3]])),
    lambda lib: lib.cov(lib.zeros(2, 4), correction=1.5),
])
def test_cov_errors(fn):
    assert_same_error(fn)


def test_corrcoef():
    check(lambda lib, x: lib.corrcoef(x), OBS)
    check(lambda lib, x: x.corrcoef(), OBS[:2])
    check(lambda lib, x: lib.corrcoef(x), OBS[0])
    check(lambda lib, x: lib.corrcoef(x), RNG.integers(-5, 5, (3, 6)), grad=False, rtol=1e-6)
    check(lambda lib, x: lib.corrcoef(x), np.array([[1.0, 2.0], [4.0, -1.0]]), grad=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda lib, x: lib.corrcoef(x), np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]]),
              grad=False)
