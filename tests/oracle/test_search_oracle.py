"""searchsorted, bucketize, isin, unique, unique_consecutive, bincount, histc and histogram
against torch: values, dtypes (int64 / out_int32), NaN placement, batch dims and errors."""

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.oracle.compare import assert_same_error, check, errors

RNG = np.random.default_rng(0)
SEQ = np.array([-2.0, -1.0, 0.5, 0.5, 0.5, 3.0, 7.0])
QUERIES = np.array([[-5.0, -2.0, 0.5, 0.6], [3.0, 7.0, 8.0, np.nan]])
BATCH_SEQ = np.sort(RNG.integers(-5, 6, (2, 3, 6)), axis=-1).astype(np.float64)
BATCH_Q = RNG.integers(-6, 7, (2, 3, 4)).astype(np.float64)


@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_1d_sequence(right):
    check(lambda lib, s, v: lib.searchsorted(s, v, right=right), SEQ, QUERIES, grad=False)
    side = "right" if right else "left"
    check(lambda lib, s, v: lib.searchsorted(s, v, side=side, out_int32=True), SEQ, QUERIES,
          grad=False)


@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_batched_and_sorter(right):
    check(lambda lib, s, v: lib.searchsorted(s, v, right=right), BATCH_SEQ, BATCH_Q,
          grad=False)
    unsorted = RNG.permutation(SEQ)
    order = np.argsort(unsorted, kind="stable")
    check(lambda lib, s, v, o: lib.searchsorted(s, v, right=right, sorter=o), unsorted,
          QUERIES, order, grad=False)
    bu = RNG.standard_normal((3, 5))
    bo = np.argsort(bu, axis=-1)
    check(lambda lib, s, v, o: lib.searchsorted(s, v, right=right, sorter=o), bu,
          RNG.standard_normal((3, 2)), bo, grad=False)


def test_searchsorted_scalars_dtypes_and_empty():
    ints = np.array([1, 3, 3, 5], dtype=np.int32)
    check(lambda lib, s: lib.searchsorted(s, 3), ints, grad=False)
    check(lambda lib, s: lib.searchsorted(s, 2.5, right=True), ints, grad=False)
    check(lambda lib, s, v: lib.searchsorted(s, v), ints, np.array([2.5, 3.0]), grad=False)
    check(lambda lib, s, v: lib.searchsorted(s, v), np.zeros(0), np.array([1.0, 2.0]),
          grad=False)
    check(lambda lib, s, v: lib.searchsorted(s, v), SEQ, np.zeros((0, 3)), grad=False)
    check(lambda lib, s, v: lib.searchsorted(s, v), SEQ.astype(np.float32),
          np.array(0.5, dtype=np.float32), grad=False)


@pytest.mark.parametrize("right", [False, True])
def test_bucketize(right):
    check(lambda lib, v, b: lib.bucketize(v, b, right=right), QUERIES, SEQ, grad=False)
    check(lambda lib, v, b: lib.bucketize(v, b, out_int32=True), BATCH_Q, np.array([-1, 0, 2]),
          grad=False)


def test_search_errors():
    seq2 = np.zeros((1, 2))
    assert_same_error(lambda lib: lib.searchsorted(lib.tensor(seq2), lib.tensor([1.0])))
    assert_same_error(lambda lib: lib.searchsorted(lib.tensor(seq2), 1.0))
    assert_same_error(lambda lib: lib.searchsorted(lib.tensor([1, 2]), lib.tensor([1]),
                                                   side="x"))
    assert_same_error(lambda lib: lib.searchsorted(lib.tensor([1, 2]), lib.tensor([1]),
                                                   side="left", right=True))
    assert_same_error(lambda lib: lib.searchsorted(
        lib.tensor([1, 2]), lib.tensor([1]), sorter=lib.tensor([0, 1], dtype=lib.int32)))
    assert_same_error(lambda lib: lib.searchsorted(lib.tensor([1, 2]), lib.tensor([1]),
                                                   sorter=lib.tensor([0])))
    assert_same_error(lambda lib: lib.searchsorted(lib.tensor(1), lib.tensor([1])))
    assert_same_error(lambda lib: lib.bucketize(lib.tensor([1]), lib.tensor([[1]])))


@pytest.mark.parametrize("invert", [False, True])
def test_isin(invert):
    elems = RNG.integers(0, 8, (3, 4))
    test = np.array([1, 5, 5, 7])
    check(lambda lib, e, t: lib.isin(e, t, invert=invert), elems, test, grad=False)
    check(lambda lib, e, t: lib.isin(e, t, invert=invert, assume_unique=True), elems,
          np.array([2.0, 3.0]), grad=False)
    check(lambda lib, t: lib.isin(5, t, invert=invert), test, grad=False)
    check(lambda lib, e: lib.isin(e, 5, invert=invert), elems, grad=False)
    check(lambda lib, e, t: lib.isin(e, t), np.array([np.nan, 1.0]), np.array([np.nan, 1.0]),
          grad=False)
    check(lambda lib, e, t: lib.isin(e, t), elems, np.zeros(0, dtype=np.int64), grad=False)


def test_isin_needs_a_tensor():
    ours, theirs = (type(e).__name__ for e in _raised(lambda lib: lib.isin(1, 2)))
    assert ours == theirs == "TypeError"


def _raised(fn):
    out = []
    for lib in (dt, torch):
        try:
            fn(lib)
        except Exception as err:  # noqa: BLE001
            out.append(err)
    return out


@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("counts", [False, True])
def test_unique(inverse, counts):
    data = RNG.integers(-3, 4, (4, 5))
    check(lambda lib, x: lib.unique(x, return_inverse=inverse, return_counts=counts), data,
          grad=False)
    check(lambda lib, x: x.unique(sorted=True, return_inverse=inverse, return_counts=counts),
          data.astype(np.float32), grad=False)
    check(lambda lib, x: lib.unique_consecutive(x, return_inverse=inverse,
                                                return_counts=counts),
          np.array([1, 1, 2, 2, 3, 1, 1, 2]), grad=False)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_unique_dim(dim):
    data = np.array([[1, 2, 1, 2], [0, 5, 0, 5], [1, 2, 1, 2]])
    check(lambda lib, x: lib.unique(x, dim=dim, return_inverse=True, return_counts=True),
          data, grad=False)
    check(lambda lib, x: lib.unique_consecutive(x, dim=dim, return_inverse=True,
                                                return_counts=True), data, grad=False)
    cube = RNG.integers(0, 2, (3, 2, 2)).astype(np.bool_)
    check(lambda lib, x: lib.unique(x, dim=dim, return_counts=True), cube, grad=False)


def test_unique_nan_bool_empty_and_scalar():
    check(lambda lib, x: lib.unique(x, return_counts=True), np.array([np.nan, 1.0, np.nan]),
          grad=False)
    check(lambda lib, x: lib.unique(x, return_inverse=True), np.array([True, False, True]),
          grad=False)
    check(lambda lib, x: lib.unique(x, return_inverse=True, return_counts=True), np.zeros(0),
          grad=False)
    check(lambda lib, x: lib.unique(x, return_inverse=True), np.array(3.0), grad=False)
    assert_same_error(lambda lib: lib.unique(lib.tensor([1]), dim=2))


def test_bincount():
    data = np.array([0, 1, 1, 4, 1, 0])
    check(lambda lib, x: lib.bincount(x), data, grad=False)
    check(lambda lib, x: x.bincount(minlength=8), data.astype(np.uint8), grad=False)
    check(lambda lib, x: lib.bincount(x), np.zeros(0, dtype=np.int64), grad=False)
    for w in (RNG.standard_normal(6), RNG.standard_normal(6).astype(np.float32),
              np.arange(6)):
        # float32 weights: torch adds in float32, we add in float64 and round once
        check(lambda lib, x, w: lib.bincount(x, w), data, w, grad=False, rtol=1e-6)
    check(lambda lib, x, w: lib.bincount(x, w, 3), np.zeros(0, dtype=np.int64),
          np.zeros(0, dtype=np.float32), grad=False)


def test_bincount_errors():
    assert_same_error(lambda lib: lib.bincount(lib.tensor([-1, 2])))
    assert_same_error(lambda lib: lib.bincount(lib.tensor([[1]])))
    assert_same_error(lambda lib: lib.bincount(lib.tensor([1.0])))
    assert_same_error(lambda lib: lib.bincount(lib.tensor([True])))
    assert_same_error(lambda lib: lib.bincount(lib.tensor([1]), minlength=-1))
    assert_same_error(lambda lib: lib.bincount(lib.tensor([1, 2]), lib.tensor([1.0])))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_histc(dtype):
    data = (RNG.standard_normal((5, 7)) * 3).astype(dtype)
    check(lambda lib, x: lib.histc(x, bins=10), data, grad=False)
    check(lambda lib, x: x.histc(6, -2, 2), data, grad=False)
    # values on the bin edges, the top edge included in the last bin
    check(lambda lib, x: lib.histc(x, bins=4, min=0, max=4),
          np.array([0.0, 1.0, 2.0, 3.0, 4.0, 4.5, -0.5]).astype(dtype), grad=False)
    check(lambda lib, x: lib.histc(x, bins=2), np.array([2.0, 2.0], dtype=dtype), grad=False)
    check(lambda lib, x: lib.histc(x, bins=3), np.zeros(0, dtype=dtype), grad=False)


def test_histc_errors():
    assert_same_error(lambda lib: lib.histc(lib.tensor([1.0, float("inf")]), bins=2))
    ours, theirs = errors(lambda lib: lib.histc(lib.tensor([1.0, float("nan")]), bins=2))
    assert ours == (theirs[0], theirs[1].replace("-nan", "nan"))  # C prints NaN's sign bit
    assert_same_error(lambda lib: lib.histc(lib.tensor([1.0]), bins=0))
    assert_same_error(lambda lib: lib.histc(lib.tensor([1.0]), bins=2, min=3, max=1))
    assert_same_error(lambda lib: lib.histc(lib.tensor([1, 2])))
    assert_same_error(lambda lib: lib.histogram(lib.tensor([1]), 2))


def test_histogram():
    data = RNG.standard_normal(40)
    weight = RNG.random(40)
    check(lambda lib, x: lib.histogram(x, 5), data, grad=False)
    check(lambda lib, x: lib.histogram(x, 4, range=(-1.0, 1.0), density=True), data,
          grad=False)
    check(lambda lib, x, w: lib.histogram(x, 6, weight=w), data, weight, grad=False)
    check(lambda lib, x, b: lib.histogram(x, b), data, np.array([-3.0, -1.0, 0.0, 0.5, 3.0]),
          grad=False)
    check(lambda lib, x, b, w: x.histogram(b, weight=w, density=True), data,
          np.array([-1.0, 0.0, 2.0]), weight, grad=False)
    check(lambda lib, x: lib.histogram(x, bins=2), np.array([2.0, 2.0]), grad=False)
    check(lambda lib, x: lib.histogram(x, bins=3), data.astype(np.float32), grad=False)


def test_outputs_carry_no_graph():
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    assert not dt.bucketize(x, dt.tensor([1.5])).requires_grad
    assert dt.unique(x).grad_fn is None
