"""Dropout against torch where the random streams do not matter: reprs, which dims share a
mask, evaluation behaviour, grad_fn names, warnings and errors."""

import warnings

import numpy as np
import pytest
import torch

import dist_torch as dt

MODULES = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
           "FeatureAlphaDropout"]


@pytest.mark.parametrize("name", MODULES)
@pytest.mark.parametrize("args", [(), (0.2,), (0.7, True)])
def test_reprs(name, args):
    assert repr(getattr(dt.nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))


def _shared_dims(lib, fn, shape):
    lib.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = np.asarray(fn(lib, lib.ones(shape)))
    # the dims along which the mask is constant, over several draws
    return tuple(d for d in range(len(shape)) if (y == np.take(y, [0], axis=d)).all())


@pytest.mark.parametrize("name", ["dropout", "dropout1d", "dropout2d", "dropout3d",
                                  "feature_alpha_dropout", "alpha_dropout"])
@pytest.mark.parametrize("shape", [(16, 32), (16, 32, 8), (16, 32, 4, 4), (8, 16, 2, 2, 2)])
def test_mask_layout(name, shape):
    def fn(lib, x):
        return getattr(lib.nn.functional, name)(x, 0.5, True)
    try:
        theirs = _shared_dims(torch, fn, shape)
    except RuntimeError:
        with pytest.raises(RuntimeError):
            _shared_dims(dt, fn, shape)
        return
    assert _shared_dims(dt, fn, shape) == theirs


@pytest.mark.parametrize("name", MODULES)
@pytest.mark.parametrize("train,p", [(False, 0.5), (True, 0.0), (True, 0.5)])
def test_identity_and_grad_fn(name, train, p):
    results = []
    for lib in (dt, torch):
        x = lib.ones(*((2, 3, 4) if name == "Dropout1d" else (2, 3, 4, 5)), requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = getattr(lib.nn, name)(p).train(train)(x)
        fn = None if y.grad_fn is None else (y.grad_fn.name() if lib is dt
                                             else type(y.grad_fn).__name__)
        results.append((y is x, fn))
    assert results[0] == results[1]


def _warnings_of(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fn()
        except RuntimeError as err:
            return [str(w.message) for w in caught], str(err)
    return [str(w.message) for w in caught], None


@pytest.mark.parametrize("name", ["dropout1d", "dropout2d", "dropout3d"])
@pytest.mark.parametrize("ndim", [1, 2, 3, 4, 5, 6])
def test_rank_warnings_and_errors(name, ndim):
    shape = (2,) * ndim
    ours = _warnings_of(lambda: getattr(dt.nn.functional, name)(dt.ones(shape)))
    theirs = _warnings_of(lambda: getattr(torch.nn.functional, name)(torch.ones(shape)))
    assert ours == theirs


@pytest.mark.parametrize("call", [
    lambda lib: lib.nn.functional.dropout(lib.ones(2), 1.5),
    lambda lib: lib.nn.functional.dropout(lib.ones(2), -0.1),
    lambda lib: lib.nn.Dropout2d(2),
    lambda lib: lib.nn.functional.alpha_dropout(lib.ones(2), 1.1, True),
    lambda lib: lib.nn.functional.dropout(lib.ones(2, dtype=lib.int64), 0.5),
    lambda lib: lib.nn.functional.dropout(lib.ones(2, requires_grad=True), 0.5, inplace=True),
])
def test_errors(call):
    caught = []
    for lib in (dt, torch):
        with pytest.raises(Exception) as info:  # noqa: PT011 - compared below
            call(lib)
        caught.append(info.value)
    assert type(caught[0]) is type(caught[1])
    assert str(caught[0]) == str(caught[1])
