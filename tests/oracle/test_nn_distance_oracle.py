"""normalize, cosine_similarity, pairwise_distance, pdist and the distance layers against
torch (values and gradients in float64, broadcasting, dtypes, errors)."""

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.oracle.compare import check, check_module

RNG = np.random.default_rng(11)
A = RNG.standard_normal((4, 5))
B = RNG.standard_normal((4, 5))


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, float("inf")])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_normalize(p, dim):
    check(lambda lib, x: lib.nn.functional.normalize(x, p=p, dim=dim), A)


def test_normalize_zero_rows_and_out():
    x = np.vstack([A[:2], np.zeros((1, 5))])
    check(lambda lib, t: lib.nn.functional.normalize(t), x)
    for lib in (dt, torch):
        out = lib.empty(4, 5, dtype=lib.float64)
        res = lib.nn.functional.normalize(lib.tensor(A), out=out)
        assert res is out
        np.testing.assert_allclose(np.asarray(out), A / np.linalg.norm(A, axis=1, keepdims=True))


@pytest.mark.parametrize("shapes,dim", [
    (((4, 5), (4, 5)), 1), (((4, 5), (4, 5)), 0), (((4, 5), (5,)), -1), (((3, 1, 5), (4, 5)), 2),
    (((5,), (5,)), 0),
])
def test_cosine_similarity(shapes, dim):
    arrays = [RNG.standard_normal(s) for s in shapes]
    check(lambda lib, a, b: lib.nn.functional.cosine_similarity(a, b, dim=dim), *arrays)


def test_cosine_similarity_small_norms_and_eps():
    a = np.vstack([A[:2], np.full((1, 5), 1e-9)])
    check(lambda lib, x, y: lib.nn.functional.cosine_similarity(x, y), a, B[:3])
    check(lambda lib, x, y: lib.nn.functional.cosine_similarity(x, y, eps=0.5), A, B * 0.01)


def test_cosine_similarity_dtypes():
    for dtypes in (("float32", "float64"), ("int64", "float32")):
        ours = dt.nn.functional.cosine_similarity(dt.tensor(A).to(getattr(dt, dtypes[0])),
                                                  dt.tensor(B).to(getattr(dt, dtypes[1])))
        theirs = torch.nn.functional.cosine_similarity(
            torch.tensor(A).to(getattr(torch, dtypes[0])),
            torch.tensor(B).to(getattr(torch, dtypes[1])))
        assert str(ours.dtype) == str(theirs.dtype)
        np.testing.assert_allclose(np.asarray(ours), theirs.numpy(), rtol=1e-5)


@pytest.mark.parametrize("p", [1.0, 2.0, 0.5, float("inf")])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("shapes", [((4, 5), (4, 5)), ((4, 5), (5,)), ((5,), (5,)),
                                    ((2, 4, 5), (4, 5))])
def test_pairwise_distance(p, keepdim, shapes):
    arrays = [RNG.standard_normal(s) for s in shapes]
    check(lambda lib, a, b: lib.nn.functional.pairwise_distance(a, b, p=p, keepdim=keepdim),
          *arrays)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, float("inf")])
def test_pdist(p):
    check(lambda lib, x: lib.nn.functional.pdist(x, p), RNG.standard_normal((5, 3)))


def test_distance_modules():
    for args in ((), (1.0, 1e-3, True)):
        ours, theirs = dt.nn.PairwiseDistance(*args), torch.nn.PairwiseDistance(*args)
        assert repr(ours) == repr(theirs)
        check_module(ours, theirs, A, B)
    for args in ((), (0, 1e-6)):
        ours, theirs = dt.nn.CosineSimilarity(*args), torch.nn.CosineSimilarity(*args)
        assert repr(ours) == repr(theirs)
        check_module(ours, theirs, A, B)


@pytest.mark.parametrize("call", [
    lambda lib: lib.nn.functional.cosine_similarity(lib.tensor([[1, 2]]), lib.tensor([[1, 2]])),
    lambda lib: lib.nn.functional.pdist(lib.zeros(2, 2, 2)),
    lambda lib: lib.nn.functional.pdist(lib.zeros(2, 2), -1),
])
def test_errors(call):
    caught = []
    for lib in (dt, torch):
        with pytest.raises(Exception) as info:  # noqa: PT011 - compared below
            call(lib)
        caught.append(info.value)
    assert type(caught[0]) is type(caught[1])
    assert str(caught[0]) == str(caught[1])
