"""narrow/select/diagonal/unfold and split/chunk/tensor_split/unbind compared with torch:
values, gradients, grad_fn names, view semantics and errors."""

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.oracle.compare import check
from tests.oracle.test_shape_oracle import arr, both, same_error

X = arr(4, 3, 5)
M = arr(3, 4)

CASES = {
    "narrow": (lambda lib, x: x.narrow(1, 1, 2), X),
    "narrow_neg": (lambda lib, x: lib.narrow(x, -1, -3, 2), X),
    "narrow_empty": (lambda lib, x: x.narrow(0, 4, 0), X),
    "select": (lambda lib, x: x.select(1, 2), X),
    "select_neg": (lambda lib, x: lib.select(x, -1, -1), X),
    "select_1d": (lambda lib, x: x.select(0, 1), arr(3)),
    "diagonal": (lambda lib, x: x.diagonal(), M),
    "diagonal_offset": (lambda lib, x: lib.diagonal(x, 1), M),
    "diagonal_neg_offset": (lambda lib, x: x.diagonal(-2), M),
    "diagonal_far": (lambda lib, x: x.diagonal(7), M),
    "diagonal_dims": (lambda lib, x: x.diagonal(1, 2, 0), X),
    "diagonal_neg_dims": (lambda lib, x: x.diagonal(-1, -1, -3), X),
    "unfold": (lambda lib, x: x.unfold(2, 2, 1), X),
    "unfold_step": (lambda lib, x: x.unfold(0, 2, 2), X),
    "unfold_gap": (lambda lib, x: x.unfold(-1, 2, 3), X),
    "unfold_zero": (lambda lib, x: x.unfold(1, 0, 1), X),
    "unfold_0d": (lambda lib, x: x.unfold(0, 1, 1), arr()),
    "split": (lambda lib, x: x.split(2), X),
    "split_uneven": (lambda lib, x: lib.split(x, 2, 2), X),
    "split_big": (lambda lib, x: x.split(9, 1), X),
    "split_sizes": (lambda lib, x: x.split([1, 0, 4], -1), X),
    "split_sizes_tuple": (lambda lib, x: lib.split(x, (3, 1)), X),
    "chunk": (lambda lib, x: x.chunk(2), X),
    "chunk_uneven": (lambda lib, x: lib.chunk(x, 3, -1), X),
    "chunk_fewer": (lambda lib, x: x.chunk(4, 2), arr(2, 2, 6)),
    "chunk_empty": (lambda lib, x: x.chunk(3), np.zeros((0, 2))),
    "tensor_split": (lambda lib, x: x.tensor_split(3, 2), X),
    "tensor_split_idx": (lambda lib, x: lib.tensor_split(x, [1, 3], dim=-1), X),
    "tensor_split_unsorted": (lambda lib, x: x.tensor_split([4, 1, -1], 2), X),
    "tensor_split_tensor": (lambda lib, x: x.tensor_split(lib.tensor([1, 2]), 1), X),
    "tensor_split_0d_tensor": (lambda lib, x: x.tensor_split(lib.tensor(2)), X),
    "hsplit": (lambda lib, x: lib.hsplit(x, 3), X),
    "hsplit_1d": (lambda lib, x: x.hsplit([2]), arr(5)),
    "vsplit": (lambda lib, x: lib.vsplit(x, [1, 3]), X),
    "dsplit": (lambda lib, x: x.dsplit(5), X),
    "unbind": (lambda lib, x: x.unbind(), X),
    "unbind_dim": (lambda lib, x: lib.unbind(x, -1), X),
    "unbind_partial": (lambda lib, x: x.unbind(1)[1:], X),
    "split_partial": (lambda lib, x: x.split(2, -1)[1], X),
    "iterate": (lambda lib, x: tuple(x), M),
}


@pytest.mark.parametrize("name", list(CASES))
def test_forward_backward(name):
    fn, *arrays = CASES[name]
    check(fn, *arrays)


@pytest.mark.parametrize("name", list(CASES))
def test_grad_fn_names_and_layout(name):
    fn, *arrays = CASES[name]
    ours, theirs = both(fn, *arrays)
    ours = ours if isinstance(ours, tuple) else (ours,)
    theirs = theirs if isinstance(theirs, tuple) else (theirs,)
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        assert o.grad_fn.name() == t.grad_fn.name()
        assert o.stride() == t.stride() or 0 in t.shape
        assert o.is_contiguous() == t.is_contiguous()


def test_multi_output_share_one_node():
    a, b = dt.zeros(4, 2, requires_grad=True).split(2)
    assert a.grad_fn is b.grad_fn and b.grad_fn.name() == "SplitBackward0"
    p, q = dt.zeros(4, 2, requires_grad=True).tensor_split(2)
    assert p.grad_fn is not q.grad_fn


VIEWS = {
    "narrow": lambda lib, b: b.narrow(1, 1, 2),
    "select": lambda lib, b: b.select(0, 1),
    "diagonal": lambda lib, b: b.diagonal(1),
    "unfold": lambda lib, b: b.unfold(1, 1, 2),
    "split_last": lambda lib, b: b.split(1)[1],
    "chunk": lambda lib, b: b.chunk(3, 1)[2],
    "unbind": lambda lib, b: b.unbind(1)[1],
    "tensor_split": lambda lib, b: b.tensor_split([1], 1)[1],
    "select_of_narrow": lambda lib, b: b.narrow(1, 1, 2).select(1, 0),
}


@pytest.mark.parametrize("name", list(VIEWS))
def test_views_share_storage(name):
    results = []
    for lib in (dt, torch):
        base = lib.arange(6.).view(2, 3)
        v = VIEWS[name](lib, base)
        base.mul_(2)
        seen = v.tolist()
        v.add_(1)
        results.append((seen, base.tolist(), v._version))
    assert results[0] == results[1]


INPLACE_GRAPHS = {
    "narrow": lambda y: y.narrow(1, 1, 2).mul_(3),
    "select": lambda y: y.select(0, 1).add_(y[0] * 2),
    "diagonal": lambda y: y.diagonal().mul_(5),
    "diagonal_offset": lambda y: y.diagonal(-1).mul_(2),
    "unfold_disjoint": lambda y: y.unfold(1, 1, 2).mul_(4),
}


@pytest.mark.parametrize("name", list(INPLACE_GRAPHS))
def test_inplace_through_views_gradients(name):
    def fn(lib, x):
        y = x * 1
        INPLACE_GRAPHS[name](y)
        return y * y
    check(fn, arr(3, 3))


@pytest.mark.parametrize("ours,theirs", [
    (lambda y: y.diagonal(), lambda y: y.diagonal()),
    (lambda y: y.unfold(0, 2, 1), lambda y: y.unfold(0, 2, 1)),
    # torch refuses to regenerate multi-output views; we compare with the single-output views
    (lambda y: y.unbind(1)[0], lambda y: y.select(1, 0)),
    (lambda y: y.split(1)[1], lambda y: y.narrow(0, 1, 1)),
])
def test_view_after_base_written(ours, theirs):
    def fn(lib, x):
        y = x * 1
        v = (ours if lib is dt else theirs)(y)
        y.mul_(3)
        return v * v
    check(fn, arr(3, 3))


def test_overlapping_unfold_is_read_only():
    # torch writes overlapping windows element by element; we refuse, as for expand
    x = dt.zeros(5)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        x.unfold(0, 2, 1).add_(1)
    x.unfold(0, 2, 2).add_(1)  # disjoint windows are writable
    assert x.tolist() == [1.0, 1.0, 1.0, 1.0, 0.0]


ERRORS = {
    "narrow_end": (lambda lib, x: x.narrow(1, 3, 2), M),
    "narrow_len": (lambda lib, x: x.narrow(1, 0, -1), M),
    "narrow_start": (lambda lib, x: x.narrow(1, 5, 0), M),
    "narrow_start_neg": (lambda lib, x: x.narrow(1, -5, 1), M),
    "narrow_0d": (lambda lib, x: x.narrow(0, 0, 1), arr()),
    "narrow_dim": (lambda lib, x: x.narrow(2, 0, 1), M),
    "select_index": (lambda lib, x: x.select(1, 4), M),
    "select_index_neg": (lambda lib, x: x.select(-1, -5), M),
    "select_0d": (lambda lib, x: x.select(0, 0), arr()),
    "diagonal_same": (lambda lib, x: x.diagonal(0, 1, -1), M),
    "diagonal_1d": (lambda lib, x: x.diagonal(), arr(3)),
    "unfold_size": (lambda lib, x: x.unfold(0, 4, 1), M),
    "unfold_step": (lambda lib, x: x.unfold(0, 2, 0), M),
    "unfold_neg": (lambda lib, x: x.unfold(0, -1, 1), M),
    "split_sum": (lambda lib, x: x.split([1, 1], 1), M),
    "split_neg": (lambda lib, x: x.split(-1), M),
    "split_zero": (lambda lib, x: x.split(0), M),
    "split_sizes_neg": (lambda lib, x: x.split([5, -1], 1), M),
    "split_dim": (lambda lib, x: x.split(1, 2), M),
    "chunk_zero": (lambda lib, x: x.chunk(0), M),
    "chunk_0d": (lambda lib, x: x.chunk(2), arr()),
    "tensor_split_zero": (lambda lib, x: x.tensor_split(0), M),
    "tensor_split_0d": (lambda lib, x: x.tensor_split(2), arr()),
    "tensor_split_2d_idx": (lambda lib, x: x.tensor_split(lib.tensor([[1]])), M),
    "tensor_split_float_idx": (lambda lib, x: x.tensor_split(lib.tensor([1.0])), M),
    "hsplit_div": (lambda lib, x: x.hsplit(3), M),
    "hsplit_0d": (lambda lib, x: lib.hsplit(x, 1), arr()),
    "vsplit_1d": (lambda lib, x: lib.vsplit(x, 1), arr(3)),
    "dsplit_2d": (lambda lib, x: lib.dsplit(x, 1), M),
    "unbind_0d": (lambda lib, x: x.unbind(), arr()),
    "unbind_dim": (lambda lib, x: x.unbind(2), M),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors(name):
    fn, *arrays = ERRORS[name]
    same_error(fn, *arrays)


@pytest.mark.parametrize("fn", [lambda lib, x: x.select(0, 1.0), lambda lib, x: x.narrow(0, 0.5, 1),
                                lambda lib, x: x.tensor_split(1.5)])
def test_type_errors(fn):
    same_error(fn, M, exact=False)
