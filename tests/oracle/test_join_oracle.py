"""cat/stack (and h/v/d/column/row variants), repeat and tile compared with torch: values,
gradients, dtype promotion, grad_fn names and errors."""

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.oracle.compare import check
from tests.oracle.test_shape_oracle import arr, both, same_error

A, B, C = arr(2, 3), arr(2, 4, seed=1), arr(1, 3, seed=2)

CASES = {
    "cat": (lambda lib, a, c: lib.cat([a, c]), A, C),
    "cat_dim1": (lambda lib, a, b: lib.cat((a, b), 1), A, B),
    "cat_neg": (lambda lib, a, b: lib.cat([a, b, a], dim=-1), A, B),
    "cat_single": (lambda lib, a: lib.cat([a]), A),
    "concat": (lambda lib, a, c: lib.concat([c, a]), A, C),
    "concatenate": (lambda lib, a, b: lib.concatenate([a, b], axis=1), A, B),
    "cat_legacy_empty": (lambda lib, e, a: lib.cat([e, a, e], 1), np.zeros(0), A),
    "cat_all_empty": (lambda lib, e: lib.cat([e, e]), np.zeros(0)),
    "cat_empty_rows": (lambda lib, e, a: lib.cat([e, a]), np.zeros((0, 3)), A),
    "cat_1d": (lambda lib, a, e: lib.cat([a, e, a]), arr(3), np.zeros(0)),
    "stack": (lambda lib, a, c: lib.stack([a, a * 2]), A, C),
    "stack_dim": (lambda lib, a: lib.stack((a, a, a), 1), A),
    "stack_last": (lambda lib, a: lib.stack([a, a], dim=-1), A),
    "stack_0d": (lambda lib, a, b: lib.stack([a, b]), arr(), arr(seed=1)),
    "hstack": (lambda lib, a, b: lib.hstack([a, b]), A, B),
    "hstack_1d": (lambda lib, a, b: lib.hstack([a, b]), arr(2), arr(3)),
    "hstack_0d": (lambda lib, a, b: lib.hstack([a, b]), arr(), arr(seed=1)),
    "vstack": (lambda lib, a, c: lib.vstack([a, c]), A, C),
    "vstack_1d": (lambda lib, a, b: lib.vstack([a, b]), arr(3), arr(3, seed=1)),
    "row_stack": (lambda lib, a, c: lib.row_stack([c, a]), A, C),
    "dstack": (lambda lib, a, b: lib.dstack([a, b]), A, A),
    "dstack_1d": (lambda lib, a, b: lib.dstack([a, b]), arr(3), arr(3, seed=1)),
    "column_stack": (lambda lib, a, b, c: lib.column_stack([a, b, c]), arr(2), arr(2, 3),
                     arr(2, seed=3)),
    "repeat": (lambda lib, a: a.repeat(2, 3), A),
    "repeat_lead": (lambda lib, a: a.repeat((2, 1, 2)), A),
    "repeat_ones": (lambda lib, a: a.repeat(1, 1), A),
    "repeat_zero": (lambda lib, a: a.repeat(0, 2), A),
    "repeat_0d": (lambda lib, a: a.repeat(3, 2), arr()),
    "tile": (lambda lib, a: lib.tile(a, (2,)), A),
    "tile_more": (lambda lib, a: a.tile((2, 1, 3)), A),
    "tile_empty": (lambda lib, a: a.tile(()), A),
}


@pytest.mark.parametrize("name", list(CASES))
def test_forward_backward(name):
    fn, *arrays = CASES[name]
    check(fn, *arrays)


@pytest.mark.parametrize("name", list(CASES))
def test_grad_fn_names_and_layout(name):
    fn, *arrays = CASES[name]
    ours, theirs = both(fn, *arrays)
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    assert ours.is_contiguous()
    assert ours.stride() == theirs.stride() or 0 in theirs.shape


def test_outputs_are_copies():
    for fn in (lambda a: dt.cat([a]), lambda a: a.repeat(1, 1), lambda a: dt.stack([a])):
        a = dt.zeros(2, 3)
        out = fn(a)
        out.add_(1)
        assert a.tolist() == [[0.0] * 3] * 2


DTYPES = ["float32", "float64", "int64", "int32", "bool", "uint8"]


@pytest.mark.parametrize("d1", DTYPES)
@pytest.mark.parametrize("d2", DTYPES)
def test_promotion(d1, d2):
    a = (arr(2, 3) * 3).astype(d1)
    b = (arr(1, 3, seed=1) * 3).astype(d2)
    check(lambda lib, x, y: (lib.cat([x, y]), lib.stack([x, x, y.expand(2, 3)], 1)), a, b)


def test_promotion_with_legacy_empty():
    check(lambda lib, e, a: lib.cat([e, a]), np.zeros(0), A.astype("float32"))
    check(lambda lib, e, a: lib.cat([a, e.long()]), np.zeros(0), A.astype("int32"))


def test_one_input_requires_grad():
    check(lambda lib, a, b: lib.cat([a.detach(), b], 1), A, B)
    check(lambda lib, a, b: lib.stack([a, b.detach()]), A, A * 2)


def test_out_argument():
    for lib in (dt, torch):
        out = lib.empty(0)
        res = lib.cat([lib.ones(2), lib.zeros(1)], out=out)
        assert res is out and out.tolist() == [1.0, 1.0, 0.0]
        same = lib.empty(2, 2)
        lib.stack([lib.ones(2), lib.zeros(2)], out=same)
        assert same.tolist() == [[1.0, 1.0], [0.0, 0.0]]
    same_error(lambda lib, a: lib.cat([a.requires_grad_()], out=lib.empty(2, 3)), A)


ERRORS = {
    "cat_sizes": (lambda lib, a, b: lib.cat([a, b.t()], 1), A, B),
    "cat_sizes0": (lambda lib, a, b: lib.cat([a, b]), A, B),
    "cat_ndim": (lambda lib, a: lib.cat([a, a[None]]), A),
    "cat_ndim_1d_first": (lambda lib, a: lib.cat([a[0], a]), A),
    "cat_empty_list": (lambda lib: lib.cat([]),),
    "cat_0d": (lambda lib, a: lib.cat([a, a]), arr()),
    "cat_dim": (lambda lib, a: lib.cat([a, a], 2), A),
    "cat_2d_empty": (lambda lib, a: lib.cat([lib.zeros(0, 2), a]), A),
    "cat_legacy_bad_dim": (lambda lib, a: lib.cat([lib.zeros(0), a], 5), A),
    "stack_sizes": (lambda lib, a, b: lib.stack([a, b]), A, B),
    "stack_empty": (lambda lib: lib.stack([]),),
    "stack_dim": (lambda lib, a: lib.stack([a, a], 3), A),
    "hstack_empty": (lambda lib: lib.hstack([]),),
    "repeat_few": (lambda lib, a: a.repeat(2), A),
    "repeat_neg": (lambda lib, a: a.repeat(2, -1), A),
    "tile_neg": (lambda lib, a: a.tile((-1,)), A),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors(name):
    fn, *arrays = ERRORS[name]
    same_error(fn, *arrays)


@pytest.mark.parametrize("fn", [
    lambda lib, a: lib.cat(a), lambda lib, a: lib.cat([a, 1]), lambda lib, a: lib.stack(a),
    lambda lib, a: lib.cat([a, a], "a"), lambda lib, a: a.repeat(),
])
def test_type_errors(fn):
    same_error(fn, A, exact=False)
