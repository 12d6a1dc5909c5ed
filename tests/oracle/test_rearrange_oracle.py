"""flip/roll/rot90, tril/triu and diag/diag_embed/diagflat compared with torch: values,
gradients, grad_fn names and errors."""

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.oracle.compare import check
from tests.oracle.test_shape_oracle import arr, both, same_error

X = arr(2, 3, 4)
M = arr(3, 4)

CASES = {
    "flip": (lambda lib, x: lib.flip(x, (0, 2)), X),
    "flip_list_neg": (lambda lib, x: lib.flip(x, [-1]), X),
    "flip_method_varargs": (lambda lib, x: x.flip(0, 1), X),
    "flip_none": (lambda lib, x: x.flip(()), X),
    "fliplr": (lambda lib, x: lib.fliplr(x), X),
    "flipud": (lambda lib, x: x.flipud(), arr(4)),
    "roll_flat": (lambda lib, x: lib.roll(x, 5), X),
    "roll_dim": (lambda lib, x: x.roll(-1, 1), X),
    "roll_dims": (lambda lib, x: lib.roll(x, (1, 7), (0, -1)), X),
    "roll_same_dim": (lambda lib, x: x.roll((1, 2), (2, 2)), X),
    "roll_tuple_flat": (lambda lib, x: x.roll((3,)), X),
    "rot90": (lambda lib, x: lib.rot90(x), M),
    "rot90_k2": (lambda lib, x: x.rot90(2, (1, 2)), X),
    "rot90_neg": (lambda lib, x: lib.rot90(x, -1, [2, 0]), X),
    "rot90_k0": (lambda lib, x: x.rot90(4), M),
    "tril": (lambda lib, x: lib.tril(x), M),
    "tril_k": (lambda lib, x: x.tril(-1), X),
    "tril_big": (lambda lib, x: x.tril(diagonal=2), M),
    "triu": (lambda lib, x: lib.triu(x, 1), M),
    "triu_neg": (lambda lib, x: x.triu(-2), X),
    "diag_1d": (lambda lib, x: lib.diag(x), arr(3)),
    "diag_1d_offset": (lambda lib, x: x.diag(2), arr(3)),
    "diag_1d_neg": (lambda lib, x: lib.diag(x, -1), arr(3)),
    "diag_2d": (lambda lib, x: x.diag(), M),
    "diag_2d_offset": (lambda lib, x: lib.diag(x, 1), M),
    "diag_2d_far": (lambda lib, x: x.diag(-5), M),
    "diag_embed": (lambda lib, x: lib.diag_embed(x), X),
    "diag_embed_dims": (lambda lib, x: x.diag_embed(1, 0, 2), X),
    "diag_embed_neg": (lambda lib, x: lib.diag_embed(x, -1, -1, 1), M),
    "diagflat": (lambda lib, x: lib.diagflat(x), M),
    "diagflat_offset": (lambda lib, x: x.diagflat(-2), arr(3)),
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
    assert ours.is_contiguous() == theirs.is_contiguous()
    assert ours.stride() == theirs.stride() or 0 in theirs.shape


@pytest.mark.parametrize("dtype", ["int64", "bool", "uint8", "float32"])
def test_dtypes(dtype):
    a = (arr(3, 4) * 3).astype(dtype)
    check(lambda lib, x: (x.flip(0), x.roll(1), x.rot90(), x.tril(), x.triu(1), x.diag(),
                          x[0].diag(), lib.diag_embed(x)), a)


def test_outputs_are_copies():
    for fn in (lambda a: a.flip(0), lambda a: a.rot90(), lambda a: a.roll(0), lambda a: a.tril()):
        a = dt.zeros(2, 2)
        fn(a).add_(1)
        assert a.tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_tril_triu_inplace():
    def fn(lib, x):
        y = x * 2
        y.tril_(-1)
        z = x * 3
        z.triu_()
        return y + z
    check(fn, M)


def test_causal_mask():
    for lib in (dt, torch):
        mask = lib.ones(4, 4, dtype=lib.bool).triu(1)
        scores = lib.zeros(4, 4).masked_fill(mask, float("-inf")) if hasattr(
            dt.Tensor, "masked_fill") else None
        assert mask.dtype == lib.bool and mask.sum().item() == 6
        if scores is not None:
            assert np.isinf(np.asarray(scores.tolist())).sum() == 6


ERRORS = {
    "flip_dup": (lambda lib, x: x.flip(0, 0), M),
    "flip_range": (lambda lib, x: x.flip(2), M),
    "fliplr_1d": (lambda lib, x: x.fliplr(), arr(3)),
    "flipud_0d": (lambda lib, x: x.flipud(), arr()),
    "roll_mismatch": (lambda lib, x: x.roll((1, 2), (0,)), M),
    "roll_no_dims": (lambda lib, x: x.roll((1, 2)), M),
    "roll_empty": (lambda lib, x: x.roll(()), M),
    "roll_range": (lambda lib, x: x.roll(1, 2), M),
    "rot90_dims": (lambda lib, x: x.rot90(1, (0, 1, 2)), X),
    "rot90_1d": (lambda lib, x: x.rot90(), arr(3)),
    "rot90_same": (lambda lib, x: x.rot90(1, (0, 0)), M),
    "rot90_wrap_same": (lambda lib, x: x.rot90(1, (0, -2)), M),
    "tril_1d": (lambda lib, x: x.tril(), arr(3)),
    "triu_0d": (lambda lib, x: lib.triu(x), arr()),
    "diag_3d": (lambda lib, x: x.diag(), X),
    "diag_0d": (lambda lib, x: lib.diag(x), arr()),
    "diag_embed_same": (lambda lib, x: lib.diag_embed(x, 0, 0, 0), M),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors(name):
    fn, *arrays = ERRORS[name]
    same_error(fn, *arrays)


@pytest.mark.parametrize("fn", [lambda lib, x: lib.flip(x, 0), lambda lib, x: x.tril(1.5),
                                lambda lib, x: x.roll(1.5)])
def test_type_errors(fn):
    same_error(fn, M, exact=False)
