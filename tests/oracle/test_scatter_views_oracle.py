"""slice_scatter, select_scatter, diagonal_scatter and Tensor.fill_diagonal_ against torch
(values, dtypes, gradients to both inputs, errors); also unravel_index and the split/narrow
aliases (split_with_sizes, unsafe_split, unsafe_split_with_sizes, unsafe_chunk,
narrow_copy)."""

import numpy as np
import pytest

import dist_torch as dt
from tests.oracle.compare import assert_same_error, check

RNG = np.random.default_rng(0)
A = RNG.standard_normal((4, 5, 3))


def _src(*shape):
    return RNG.standard_normal(shape)


@pytest.mark.parametrize("args,src_shape", [
    ((1, 1, 5, 2), (4, 2, 3)), ((0,), (4, 5, 3)), ((0, 1, 3), (2, 5, 3)),
    ((-1, -2, None), (4, 5, 2)), ((1, 3, 1), (4, 0, 3)), ((2, None, 2, 2), (4, 5, 1)),
    ((1, -10, 10), (4, 5, 3)),
])
def test_slice_scatter(args, src_shape):
    src = _src(*src_shape)
    check(lambda lib, a, s: lib.slice_scatter(a, s, *args), A, src)
    check(lambda lib, a, s: a.slice_scatter(s, *args), A, src)


def test_slice_scatter_keywords_dtypes_and_grad_of_one_input():
    check(lambda lib, a, s: lib.slice_scatter(a, s, dim=2, start=1), A, _src(4, 5, 2))
    # src of another dtype is cast to the input's; its gradient keeps src's dtype
    check(lambda lib, a, s: lib.slice_scatter(a, s.float(), 0, 1, 3), A, _src(2, 5, 3))
    check(lambda lib, a, s: lib.slice_scatter(a.float(), s, 0, 1, 3), A, _src(2, 5, 3),
          rtol=1e-6)
    check(lambda lib, a: lib.slice_scatter(a, lib.ones(2, 5, 3, dtype=lib.long), 0, 2), A)
    check(lambda lib, s: lib.slice_scatter(lib.zeros(4, 5, 3, dtype=lib.float64), s, 1, 3),
          _src(4, 2, 3))
    ints = RNG.integers(0, 9, (3, 4))
    check(lambda lib, a, s: lib.slice_scatter(a, s, 1, 1, 3), ints, ints[:, :2] * 10,
          grad=False)


@pytest.mark.parametrize("dim,index", [(0, 0), (1, -2), (2, 2), (-1, 0)])
def test_select_scatter(dim, index):
    shape = list(A.shape)
    del shape[dim]
    src = _src(*shape)
    check(lambda lib, a, s: lib.select_scatter(a, s, dim, index), A, src)
    check(lambda lib, a, s: a.select_scatter(s, dim, index), A, src)
    check(lambda lib, a, s: lib.select_scatter(a, s, 0, 1), np.zeros(3), np.array(2.0))


@pytest.mark.parametrize("offset,dim1,dim2,size", [
    (0, 0, 1, (3, 4)), (1, 0, 2, (5, 2)), (-1, -1, 1, (4, 2)), (2, 1, 2, (4, 1)),
    (-3, 0, 1, (3, 1)), (0, 2, 0, (5, 3)), (7, 0, 1, (3, 0)),
])
def test_diagonal_scatter(offset, dim1, dim2, size):
    src = _src(*size)
    check(lambda lib, a, s: lib.diagonal_scatter(a, s, offset, dim1, dim2), A, src)
    check(lambda lib, a, s: a.diagonal_scatter(s, offset, dim1=dim1, dim2=dim2), A, src)
    check(lambda lib, a, s: lib.diagonal_scatter(a, s), A[0], _src(3))


@pytest.mark.parametrize("fn", [
    lambda lib: lib.slice_scatter(lib.zeros(4, 5), lib.ones(4, 3), dim=1, start=-2),
    lambda lib: lib.slice_scatter(lib.zeros(4, 5), lib.ones(4, 1), dim=1, start=10),
    lambda lib: lib.slice_scatter(lib.zeros(4, 5), lib.ones(5)),
    lambda lib: lib.slice_scatter(lib.zeros(4, 5), lib.ones(2, 5), step=0),
    lambda lib: lib.slice_scatter(lib.zeros(4, 5), lib.ones(2, 5), step=-1),
    lambda lib: lib.slice_scatter(lib.zeros(4, 5), lib.ones(2, 5), dim=3),
    lambda lib: lib.slice_scatter(lib.zeros(()), lib.ones(()), 0),
    lambda lib: lib.select_scatter(lib.zeros(4, 5), lib.ones(4), 1, 5),
    lambda lib: lib.select_scatter(lib.zeros(4, 5), lib.ones(3), 1, 1),
    lambda lib: lib.select_scatter(lib.zeros(4, 5), lib.ones(1, 4), 1, 1),
    lambda lib: lib.select_scatter(lib.zeros(()), lib.ones(()), 0, 0),
    lambda lib: lib.diagonal_scatter(lib.zeros(4, 5), lib.ones(4), 3),
    lambda lib: lib.diagonal_scatter(lib.zeros(4, 5), lib.ones(4), 0, -2, 0),
    lambda lib: lib.diagonal_scatter(lib.zeros(4, 5), lib.ones(4), 0, 3, 0),
    lambda lib: lib.diagonal_scatter(lib.zeros(2, 3, 3), lib.ones(3, 2), 0, 1, 2),
])
def test_scatter_errors(fn):
    assert_same_error(fn)


# --------------------------------------------------------------------------- fill_diagonal_

def _filled(lib, a, value, wrap=False):
    b = a * 1
    out = b.fill_diagonal_(value, wrap)
    assert out is b
    return b


@pytest.mark.parametrize("shape", [(3, 3), (5, 3), (7, 3), (3, 5), (4, 4, 4), (1, 1), (2, 9)])
@pytest.mark.parametrize("wrap", [False, True])
def test_fill_diagonal(shape, wrap):
    check(lambda lib, a: _filled(lib, a, 2.5, wrap), RNG.standard_normal(shape))


def test_fill_diagonal_dtypes_and_views():
    check(lambda lib, a: _filled(lib, a, 2.7), np.zeros((3, 3), dtype=np.int64), grad=False)
    check(lambda lib, a: _filled(lib, a, True, True), np.zeros((5, 2), dtype=np.bool_),
          grad=False)

    def through_view(lib, a):
        b = a * 1
        b[1:].fill_diagonal_(-1.0)       # writes into b through a view
        return b
    check(through_view, RNG.standard_normal((4, 3)))
    t = dt.zeros(3, 3)
    t.fill_diagonal_(1)
    assert t._version == 1 and t.tolist() == dt.eye(3).tolist()


@pytest.mark.parametrize("fn", [
    lambda lib: lib.zeros(3).fill_diagonal_(1),
    lambda lib: lib.zeros(2, 3, 2).fill_diagonal_(1),
    lambda lib: lib.zeros(2, 3, requires_grad=True).fill_diagonal_(1),
])
def test_fill_diagonal_errors(fn):
    assert_same_error(fn)


# --------------------------------------------------------------------------- unravel_index

@pytest.mark.parametrize("indices,shape", [
    (np.array([4, 1, -1, 6, -7]), (2, 3)), (np.arange(-30, 30).reshape(6, 10), (2, 3, 4)),
    (np.array(3), 5), (np.array([0]), ()), (np.array([], dtype=np.int64), (2, 3)),
    (np.array([[5], [7]], dtype=np.int32), [4, 3]), (np.array([5, 7], dtype=np.uint8), (4, 3)),
    (np.array([2 ** 40 + 5]), (2 ** 20, 2 ** 20, 3)),
])
def test_unravel_index(indices, shape):
    check(lambda lib, i: lib.unravel_index(i, shape), indices, grad=False)
    check(lambda lib, i: lib.unravel_index(i, lib.Size([4, 3])), np.arange(12), grad=False)


@pytest.mark.parametrize("fn", [
    lambda lib: lib.unravel_index(lib.tensor([1.0]), (2, 3)),
    lambda lib: lib.unravel_index(lib.tensor([True]), (2, 3)),
    lambda lib: lib.unravel_index(lib.tensor([1]), (2, -3)),
    lambda lib: lib.unravel_index(lib.tensor([0]), (2, 0)),
    lambda lib: lib.unravel_index(lib.tensor([1]), [2, 3.0]),
    lambda lib: lib.unravel_index(lib.tensor([1]), 2.0),
])
def test_unravel_index_errors(fn):
    assert_same_error(fn)


# --------------------------------------------------------------------------- split aliases

X = RNG.standard_normal((6, 4))


def test_split_aliases():
    check(lambda lib, x: lib.split_with_sizes(x, [2, 4]), X)
    check(lambda lib, x: x.split_with_sizes((1, 3), dim=1), X)
    check(lambda lib, x: x.split_with_sizes([0, 6]), X)
    check(lambda lib, x: lib.unsafe_split(x, 4), X)
    check(lambda lib, x: x.unsafe_split(3, 1), X)
    check(lambda lib, x: lib.unsafe_chunk(x, 4), X)
    check(lambda lib, x: x.unsafe_chunk(3, -1), X)
    check(lambda lib, x: lib.unsafe_split_with_sizes(x, [5, 1]), X)
    check(lambda lib, x: x.unsafe_split_with_sizes([1, 3], 1), X)
    check(lambda lib, x: lib.narrow_copy(x, 0, 1, 3), X)
    check(lambda lib, x: x.narrow_copy(1, 2, 2), X)
    # torch's narrow_copy backward fails for a negative start: values only
    check(lambda lib, x: x.narrow_copy(1, -2, 2), X, grad=False)
    check(lambda lib, x: lib.narrow_copy(x, 0, lib.tensor(1), 3), np.arange(6), grad=False)


def test_narrow_copy_owns_its_storage():
    x = dt.arange(6.0)
    y = dt.narrow_copy(x, 0, 1, 3)
    y.add_(10)
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0] and y.tolist() == [11.0, 12.0, 13.0]


@pytest.mark.parametrize("fn", [
    lambda lib: lib.split_with_sizes(lib.arange(6), [2, 3]),
    lambda lib: lib.arange(6).split_with_sizes([2, -1, 5]),
    lambda lib: lib.unsafe_split(lib.arange(6), [2, 4]),
    lambda lib: lib.unsafe_chunk(lib.arange(6), 0),
    lambda lib: lib.narrow_copy(lib.arange(6), 0, 5, 3),
])
def test_split_alias_errors(fn):
    assert_same_error(fn)
