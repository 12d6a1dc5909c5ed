"""Pooling against torch: every option (values, indices, input grads), layers, reprs, NaN and
tie rules, float32, and errors (class and message)."""


import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.helpers import assert_close
from tests.oracle.compare import check, check_module, errors

RNG = np.random.default_rng(0)


def _data(*shape):
    return RNG.standard_normal(shape)


def _fn(name, *args, **kw):
    return lambda m, x: getattr(m.nn.functional, name)(x, *args, **kw)


MAX_OPTIONS_2D = [
    dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(2, 1)),
    dict(kernel_size=3, stride=2, ceil_mode=True), dict(kernel_size=2, stride=1),
    dict(kernel_size=2, padding=1, ceil_mode=True, stride=2), dict(kernel_size=(1, 3), stride=2),
    dict(kernel_size=3, stride=(3, 1), dilation=(1, 2), padding=(1, 1), ceil_mode=True),
]


@pytest.mark.parametrize("kw", MAX_OPTIONS_2D)
@pytest.mark.parametrize("shape", [(2, 3, 7, 6), (3, 8, 9)])
@pytest.mark.parametrize("indices", [False, True])
def test_max_pool2d(kw, shape, indices):
    check(_fn("max_pool2d", return_indices=indices, **kw), _data(*shape))


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=2, dilation=2, ceil_mode=True, stride=3),
                                dict(kernel_size=4, stride=1, padding=2)])
@pytest.mark.parametrize("shape", [(2, 3, 9), (3, 10)])
@pytest.mark.parametrize("indices", [False, True])
def test_max_pool1d(kw, shape, indices):
    check(_fn("max_pool1d", return_indices=indices, **kw), _data(*shape))


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=(2, 3, 2), stride=(1, 2, 1),
                                                          padding=(1, 1, 0), dilation=(1, 1, 2),
                                                          ceil_mode=True)])
def test_max_pool3d(kw):
    check(_fn("max_pool3d", return_indices=True, **kw), _data(2, 2, 5, 6, 5))


def test_max_pool_ties_and_nan_indices_match_torch():
    tied = np.ones((1, 2, 4, 4))
    tied[0, 1, 1:3, 1:3] = 2.0
    check(_fn("max_pool2d", 2, return_indices=True), tied, grad=False)
    check(_fn("max_pool2d", 3, stride=1, padding=1, return_indices=True), tied)
    x = _data(2, 2, 6, 6)
    x[0, 0, 0, 0] = x[0, 0, 1, 1] = x[1, 1, 3, 2] = np.nan
    check(_fn("max_pool2d", 2, return_indices=True), x, grad=False)
    check(_fn("max_pool2d", 3, stride=1, return_indices=True), x, grad=False)
    check(_fn("adaptive_max_pool2d", (4, 3), return_indices=True), x, grad=False)


AVG_OPTIONS = [
    dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 0), ceil_mode=True),
    dict(kernel_size=2, divisor_override=3), dict(kernel_size=3, padding=1, stride=1,
                                                  divisor_override=2),
]


@pytest.mark.parametrize("kw", AVG_OPTIONS)
@pytest.mark.parametrize("shape", [(2, 3, 7, 6), (3, 8, 9)])
def test_avg_pool2d(kw, shape):
    check(_fn("avg_pool2d", **kw), _data(*shape))


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                     count_include_pad=False)])
@pytest.mark.parametrize("shape", [(2, 3, 9), (3, 10)])
def test_avg_pool1d(kw, shape):
    check(_fn("avg_pool1d", **kw), _data(*shape))


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1,
                                                          ceil_mode=True,
                                                          count_include_pad=False),
                                dict(kernel_size=(1, 2, 3), divisor_override=5)])
def test_avg_pool3d(kw):
    check(_fn("avg_pool3d", **kw), _data(2, 2, 5, 6, 5))


def test_integer_pooling_matches_torch():
    x = np.arange(-40, 41).reshape(1, 1, 9, 9)
    check(_fn("avg_pool2d", 3, 2, 1), x)
    check(_fn("avg_pool2d", 3, 2, 1, count_include_pad=False, ceil_mode=True), x)
    check(_fn("max_pool2d", 3, 2, 1, return_indices=True), x)


ADAPTIVE_SIZES = [1, 2, 3, (None, 4), (5, 4), (7, 6), (4, None), (2, 5)]


@pytest.mark.parametrize("size", ADAPTIVE_SIZES)
def test_adaptive_pool2d(size):
    x = _data(2, 3, 7, 6)
    check(_fn("adaptive_avg_pool2d", size), x)
    check(_fn("adaptive_max_pool2d", size, return_indices=True), x)
    check(_fn("adaptive_max_pool2d", size), x[0])


@pytest.mark.parametrize("size", [1, 3, 4, 9])
def test_adaptive_pool1d_3d(size):
    check(_fn("adaptive_avg_pool1d", size), _data(2, 3, 9))
    check(_fn("adaptive_max_pool1d", size, return_indices=True), _data(3, 9))
    sizes = (min(size, 3), size, 2)
    check(_fn("adaptive_avg_pool3d", sizes), _data(1, 2, 3, 9, 5))
    check(_fn("adaptive_max_pool3d", sizes, return_indices=True), _data(1, 2, 3, 9, 5))


def test_adaptive_zero_output_size():
    check(_fn("adaptive_avg_pool2d", (0, 2)), _data(1, 2, 4, 4), grad=False)
    check(_fn("adaptive_max_pool2d", (0, 2)), _data(1, 2, 4, 4), grad=False)


@pytest.mark.parametrize("kw", [dict(), dict(stride=1, padding=1), dict(output_size=(7, 7))])
def test_max_unpool2d(kw):
    x = _data(2, 3, 6, 6)
    k = 3 if kw.get("stride") == 1 else 2

    def fn(m, x):
        out, idx = m.nn.functional.max_pool2d(x, k, stride=kw.get("stride"),
                                                padding=kw.get("padding", 0),
                                                return_indices=True)
        return m.nn.functional.max_unpool2d(out, idx, k, **kw)
    check(fn, x)


def test_max_unpool1d_3d():
    def fn1(m, x):
        return m.nn.functional.max_unpool1d(*m.nn.functional.max_pool1d(
            x, 2, return_indices=True), 2, output_size=[9])
    check(fn1, _data(2, 3, 9))

    def fn3(m, x):
        return m.nn.functional.max_unpool3d(*m.nn.functional.max_pool3d(
            x, 2, return_indices=True), 2)
    check(fn3, _data(1, 2, 4, 4, 4))


@pytest.mark.parametrize("name,args,shape", [
    ("lp_pool1d", (2, 3), (2, 3, 7)), ("lp_pool2d", (2, 2), (2, 3, 6, 5)),
    ("lp_pool2d", (3.0, (2, 3), 1, True), (1, 2, 5, 6)), ("lp_pool3d", (2, 2), (1, 2, 4, 4, 4)),
])
def test_lp_pool(name, args, shape):
    check(_fn(name, *args), np.abs(_data(*shape)) + 0.5)


LAYER_CASES = [
    ("MaxPool1d", (3, 2, 1), {}, (2, 3, 9)),
    ("MaxPool2d", (2,), {}, (2, 3, 8, 8)),
    ("MaxPool2d", ((2, 3),), dict(stride=1, padding=1, dilation=2, ceil_mode=True), (2, 3, 8, 7)),
    ("MaxPool3d", (2,), dict(stride=1), (1, 2, 4, 4, 4)),
    ("AvgPool1d", (3,), dict(stride=2, padding=1, count_include_pad=False), (2, 3, 9)),
    ("AvgPool2d", (3, 2, 1, True, False, None), {}, (2, 3, 8, 7)),
    ("AvgPool2d", (2,), dict(divisor_override=3), (2, 3, 8, 7)),
    ("AvgPool3d", (2,), dict(ceil_mode=True), (1, 2, 5, 4, 5)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 9)),
    ("AdaptiveAvgPool2d", ((None, 3),), {}, (2, 3, 8, 7)),
    ("AdaptiveAvgPool2d", (1,), {}, (2, 3, 8, 7)),
    ("AdaptiveAvgPool3d", ((2, 3, 2),), {}, (1, 2, 5, 4, 5)),
    ("AdaptiveMaxPool1d", (4,), {}, (2, 3, 9)),
    ("AdaptiveMaxPool2d", (3,), {}, (2, 3, 8, 7)),
    ("AdaptiveMaxPool3d", (2,), {}, (1, 2, 5, 4, 5)),
    ("LPPool1d", (2, 3), {}, (2, 3, 9)),
    ("LPPool2d", (1.5, 2), dict(stride=1), (2, 3, 5, 4)),
]


@pytest.mark.parametrize("name,args,kw,shape", LAYER_CASES)
def test_pooling_layers(name, args, kw, shape):
    x = _data(*shape)
    if name.startswith("LP"):
        x = np.abs(x) + 0.5
    check_module(getattr(dt.nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw), x)


@pytest.mark.parametrize("name,args,kw", [(n, a, k) for n, a, k, _ in LAYER_CASES] + [
    ("MaxPool2d", (2,), dict(return_indices=True)), ("AdaptiveMaxPool2d", ((2, None), True), {}),
    ("MaxUnpool1d", (2,), {}), ("MaxUnpool2d", ((2, 3),), dict(stride=1, padding=1)),
    ("MaxUnpool3d", (2,), {}), ("LPPool3d", (2, 2), {}),
])
def test_pooling_reprs(name, args, kw):
    assert repr(getattr(dt.nn, name)(*args, **kw)) == repr(getattr(torch.nn, name)(*args, **kw))


@pytest.mark.parametrize("call,shape", [
    (_fn("max_pool2d", 2), (1, 2, 6, 6)), (_fn("max_pool2d", 2, return_indices=True), (2, 6, 6)),
    (_fn("avg_pool2d", 2), (1, 2, 6, 6)), (_fn("adaptive_avg_pool2d", 4), (1, 2, 6, 6)),
    (_fn("adaptive_avg_pool2d", 3), (1, 2, 6, 6)), (_fn("adaptive_avg_pool2d", 1), (2, 6, 6)),
    (_fn("adaptive_max_pool2d", 4), (1, 2, 6, 6)), (_fn("max_pool1d", 2), (1, 2, 6)),
    (_fn("avg_pool1d", 2), (1, 2, 6)), (_fn("max_pool3d", 2), (1, 2, 4, 4, 4)),
    (_fn("avg_pool3d", 2), (1, 2, 4, 4, 4)), (_fn("adaptive_avg_pool3d", 3), (1, 2, 4, 5, 4)),
])
def test_pooling_grad_fn_names_match_torch(call, shape):
    x = _data(*shape)
    ours = call(dt, dt.tensor(x, requires_grad=True))
    theirs = call(torch, torch.tensor(x, requires_grad=True))
    if isinstance(theirs, tuple):
        ours, theirs = ours[0], theirs[0]
    assert ours.grad_fn.name() == type(theirs.grad_fn).__name__


def test_max_pool_float32_matches_torch():
    x = _data(4, 3, 12, 12).astype(np.float32)
    ours, oi = dt.nn.functional.max_pool2d(dt.tensor(x), 3, 2, 1, return_indices=True)
    theirs, ti = torch.nn.functional.max_pool2d(torch.tensor(x), 3, 2, 1, return_indices=True)
    assert ours.dtype == dt.float32
    assert_close(ours, theirs, check_dtype=False)
    assert np.array_equal(np.asarray(oi), ti.numpy())


def _z(m, *shape, dtype=None):
    return m.zeros(*shape, dtype=dtype or m.float32)


ERROR_CALLS = [
    lambda m: m.nn.functional.max_pool2d(_z(m, 28, 28), 2),
    lambda m: m.nn.functional.max_pool2d(_z(m, 1, 1, 1, 28, 28), 2),
    lambda m: m.nn.functional.max_pool2d(_z(m, 1, 1, 1, 1), 2),
    lambda m: m.nn.functional.max_pool2d(_z(m, 1, 1, 4, 4), 2, padding=2),
    lambda m: m.nn.functional.max_pool2d(_z(m, 1, 1, 4, 4), 0),
    lambda m: m.nn.functional.max_pool2d(_z(m, 1, 1, 4, 4), 2, stride=0),
    lambda m: m.nn.functional.max_pool2d(_z(m, 1, 1, 4, 4), 2, stride=-1),
    lambda m: m.nn.functional.max_pool2d(_z(m, 1, 1, 4, 4), 2, dilation=0),
    lambda m: m.nn.functional.max_pool2d(_z(m, 1, 1, 4, 4), (2, 2, 2)),
    lambda m: m.nn.functional.max_pool2d(_z(m, 1, 1, 4, 4), 2, stride=(1, 1, 1)),
    lambda m: m.nn.functional.max_pool2d(_z(m, 1, 1, 4, 4), 2, padding=(1, 1, 1)),
    lambda m: m.nn.functional.max_pool2d(_z(m, 1, 1, 4, 4), 2, dilation=(1, 1, 1)),
    lambda m: m.nn.functional.max_pool2d(_z(m, 1, 1, 4, 4), 2, padding=-1),
    lambda m: m.nn.functional.max_pool2d(_z(m, 1, 0, 4, 4), 2),
    lambda m: m.nn.functional.max_pool2d(_z(m, 1, 1, 4, 4, dtype=m.bool), 2),
    lambda m: m.nn.functional.max_pool2d(_z(m, 1, 1, 4, 4), 2.5),
    lambda m: m.nn.functional.max_pool1d(_z(m, 4), 2),
    lambda m: m.nn.functional.max_pool1d(_z(m, 1, 1, 1), 2),
    lambda m: m.nn.functional.max_pool1d(_z(m, 1, 1, 4), 2, padding=2),
    lambda m: m.nn.functional.max_pool1d(_z(m, 1, 1, 6), 0),
    lambda m: m.nn.functional.max_pool1d(_z(m, 1, 1, 6), (2, 2)),
    lambda m: m.nn.functional.max_pool1d(_z(m, 1, 1, 6), 2, stride=0),
    lambda m: m.nn.functional.max_pool1d(_z(m, 1, 1, 6), 2, padding=-1),
    lambda m: m.nn.functional.max_pool1d(_z(m, 1, 1, 6), 2, dilation=0),
    lambda m: m.nn.functional.max_pool1d(_z(m, 1, 0, 6), 2),
    lambda m: m.nn.functional.max_pool3d(_z(m, 1, 6, 6), 2),
    lambda m: m.nn.functional.max_pool3d(_z(m, 1, 1, 2, 6, 6), (3, 2, 2)),
    lambda m: m.nn.functional.max_pool3d(_z(m, 1, 1, 6, 6, 6), 3, padding=(1, 1, 2), dilation=2),
    lambda m: m.nn.functional.max_pool3d(_z(m, 1, 1, 6, 6, 6), 2, stride=-1),
    lambda m: m.nn.functional.max_pool3d(_z(m, 1, 1, 6, 6, 6), 2, dilation=0),
    lambda m: m.nn.functional.max_pool3d(_z(m, 1, 0, 6, 6, 6), 2),
    lambda m: m.nn.functional.avg_pool3d(_z(m, 1, 0, 6, 6, 6), 2),
    lambda m: m.nn.functional.max_pool2d(_z(m, 1, 1, 6, 6), 3, padding=(1, 2), dilation=2),
    lambda m: m.nn.functional.avg_pool2d(_z(m, 28, 28), 2),
    lambda m: m.nn.functional.avg_pool2d(_z(m, 1, 1, 1, 1), 2),
    lambda m: m.nn.functional.avg_pool2d(_z(m, 1, 1, 4, 4), 2, padding=2),
    lambda m: m.nn.functional.avg_pool2d(_z(m, 1, 1, 4, 4), 2, divisor_override=0),
    lambda m: m.nn.functional.avg_pool2d(_z(m, 1, 1, 4, 4), 2, stride=(1, 1, 1)),
    lambda m: m.nn.functional.avg_pool2d(_z(m, 1, 0, 6, 6), 2),
    lambda m: m.nn.functional.avg_pool2d(_z(m, 1, 1, 4, 4, dtype=m.bool), 2),
    lambda m: m.nn.functional.avg_pool1d(_z(m, 4), 2),
    lambda m: m.nn.functional.avg_pool1d(_z(m, 1, 1, 1), 2),
    lambda m: m.nn.functional.avg_pool1d(_z(m, 1, 1, 6), (2, 2)),
    lambda m: m.nn.functional.avg_pool1d(_z(m, 1, 0, 6), 2),
    lambda m: m.nn.functional.avg_pool3d(_z(m, 1, 6, 6), 2),
    lambda m: m.nn.functional.avg_pool3d(_z(m, 1, 1, 2, 6, 6), (3, 2, 2)),
    lambda m: m.nn.functional.adaptive_avg_pool2d(_z(m, 4, 4), 2),
    lambda m: m.nn.functional.adaptive_avg_pool2d(_z(m, 1, 1, 4, 4), (2, 2, 2)),
    lambda m: m.nn.functional.adaptive_avg_pool2d(_z(m, 1, 1, 4, 4), -1),
    lambda m: m.nn.functional.adaptive_avg_pool2d(_z(m, 1, 1, 0, 4), 2),
    lambda m: m.nn.functional.adaptive_avg_pool2d(_z(m, 1, 1, 4, 4, dtype=m.int64), 2),
    lambda m: m.nn.functional.adaptive_max_pool2d(_z(m, 4, 4), 2),
    lambda m: m.nn.functional.adaptive_max_pool2d(_z(m, 1, 1, 4, 4), (2, 2, 2)),
    lambda m: m.nn.functional.adaptive_max_pool2d(_z(m, 1, 1, 4, 4), -1),
    lambda m: m.nn.functional.adaptive_max_pool2d(_z(m, 1, 1, 0, 6), 2),
    lambda m: m.nn.functional.adaptive_max_pool2d(_z(m, 1, 1, 4, 4, dtype=m.int64), 2),
    lambda m: m.nn.functional.adaptive_avg_pool1d(_z(m, 4), 2),
    lambda m: m.nn.functional.adaptive_avg_pool1d(_z(m, 1, 4), (2, 3)),
    lambda m: m.nn.functional.adaptive_max_pool1d(_z(m, 6), 2),
    lambda m: m.nn.functional.adaptive_max_pool1d(_z(m, 1, 6), (2, 2)),
    lambda m: m.nn.functional.adaptive_avg_pool3d(_z(m, 6, 6), 2),
    lambda m: m.nn.functional.adaptive_max_pool3d(_z(m, 6, 6), 2),
    lambda m: m.nn.functional.max_unpool2d(_z(m, 1, 1, 3, 3), m.full((1, 1, 3, 3), 40), 2),
    lambda m: m.nn.functional.max_unpool2d(_z(m, 1, 1, 3, 3),
                                           m.zeros(1, 1, 3, 3, dtype=m.int32), 2),
    lambda m: m.nn.functional.max_unpool2d(_z(m, 1, 1, 3, 3),
                                           m.zeros(1, 1, 3, 2, dtype=m.int64), 2),
    lambda m: m.nn.functional.max_unpool2d(_z(m, 1, 1, 3, 3),
                                           m.zeros(1, 1, 3, 3, dtype=m.int64), 2,
                                           output_size=(9, 9)),
    lambda m: m.nn.functional.max_unpool2d(_z(m, 1, 1, 3, 3),
                                           m.zeros(1, 1, 3, 3, dtype=m.int64), 2,
                                           output_size=(1, 6, 6)),
]


@pytest.mark.parametrize("call", ERROR_CALLS)
def test_pooling_errors_match_torch(call):
    ours, theirs = errors(call)
    assert theirs is not None
    assert ours == theirs
