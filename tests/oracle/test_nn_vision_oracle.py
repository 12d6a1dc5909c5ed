"""pad, interpolate and the padding / upsampling layers against torch: every mode and option
(values and input grads), reprs, float32, and errors (class and message)."""


import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.helpers import assert_close
from tests.oracle.compare import check, check_module, errors

RNG = np.random.default_rng(0)


def _data(*shape):
    return RNG.standard_normal(shape)


def _pad(pad, **kw):
    return lambda m, x: m.nn.functional.pad(x, pad, **kw)


def _interp(**kw):
    return lambda m, x: m.nn.functional.interpolate(x, **kw)


PAD_SHAPES = {2: [(3, 5), (2, 3, 5)], 4: [(3, 4, 5), (2, 3, 4, 5)], 6: [(2, 3, 4, 5),
                                                                      (1, 2, 3, 4, 5)]}


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("pad", [(1, 2), (2, 0), (-1, 2), (3, -1), (2, 1, 1, 0), (0, 3, 2, 2),
                                 (-1, 2, 1, -2), (1, 1, 0, 1, 1, 0), (1, 2, -1, 1, 2, 0)])
def test_mode_pad(mode, pad):
    for shape in PAD_SHAPES[len(pad)]:
        check(_pad(pad, mode=mode), _data(*shape))


@pytest.mark.parametrize("pad", [(1, 2), (2, 1, 1, 0), (-1, 2, 1, -1), (0, 0, 0, 0, 1, 1),
                                 (1, 1, 1, 1, 1, 1, 1, 1), (-2, -2), (3, -3, 0, 2)])
@pytest.mark.parametrize("value", [None, 0.0, -1.5])
def test_constant_pad(pad, value):
    check(_pad(pad, value=value), _data(2, 3, 4, 5))


def test_constant_pad_integer_and_bool_values():
    x = np.arange(12).reshape(3, 4)
    check(_pad((1, 2), value=2.7), x)
    check(_pad((1, 0, 0, 1), value=True), x > 5)


NEAREST_HOW = [dict(size=(5, 9)), dict(size=3), dict(scale_factor=2), dict(scale_factor=3),
               dict(scale_factor=(0.6, 1.7)), dict(scale_factor=1.3),
               dict(scale_factor=0.5), dict(scale_factor=1.5, recompute_scale_factor=True),
               dict(scale_factor=(2.5, 0.75), recompute_scale_factor=True)]


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "area"])
@pytest.mark.parametrize("how", NEAREST_HOW)
def test_interpolate_nearest_and_area_2d(mode, how):
    check(_interp(mode=mode, **how), _data(2, 3, 4, 7))


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("how", NEAREST_HOW)
@pytest.mark.parametrize("align", [False, True, None])
def test_interpolate_bilinear_bicubic(mode, how, align):
    check(_interp(mode=mode, align_corners=align, **how), _data(2, 3, 4, 7))


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "area", "linear"])
@pytest.mark.parametrize("how", [dict(size=11), dict(scale_factor=1.7), dict(scale_factor=0.4),
                                 dict(scale_factor=2, recompute_scale_factor=True)])
def test_interpolate_1d(mode, how):
    kw = dict(how, align_corners=True) if mode == "linear" else how
    check(_interp(mode=mode, **kw), _data(2, 3, 6))
    if mode == "linear":
        check(_interp(mode=mode, **how), _data(2, 3, 6))


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "area", "trilinear"])
@pytest.mark.parametrize("how", [dict(size=(3, 5, 4)), dict(scale_factor=(1.5, 0.7, 2))])
def test_interpolate_3d(mode, how):
    check(_interp(mode=mode, **how), _data(1, 2, 3, 4, 5))
    if mode == "trilinear":
        check(_interp(mode=mode, align_corners=True, **how), _data(1, 2, 3, 4, 5))


def test_interpolate_edge_sizes():
    check(_interp(size=1, mode="bilinear", align_corners=True), _data(1, 2, 4, 5))
    check(_interp(size=(1, 7), mode="bicubic"), _data(1, 2, 1, 5))
    check(_interp(scale_factor=2, mode="bilinear"), _data(1, 1, 1, 1))
    check(_interp(size=(4, 7)), _data(1, 2, 4, 7))


def test_interpolate_uint8_nearest():
    x = RNG.integers(0, 255, (1, 2, 3, 4)).astype(np.uint8)
    check(_interp(scale_factor=2.5), x, grad=False)


def test_interpolate_float32_matches_torch():
    x = _data(2, 3, 5, 6).astype(np.float32)
    for mode in ("bilinear", "bicubic", "nearest"):
        ours = dt.nn.functional.interpolate(dt.tensor(x), scale_factor=1.7, mode=mode)
        theirs = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=1.7, mode=mode)
        assert ours.dtype == dt.float32
        assert_close(ours, theirs, rtol=1e-5, atol=1e-5, check_dtype=False)


@pytest.mark.parametrize("call,shape", [
    (_pad((1, 1)), (1, 2, 4, 4)), (_pad((1, 1, 1, 1), mode="reflect"), (1, 2, 4, 4)),
    (_pad((1, 1), mode="reflect"), (2, 4, 4)), (_pad((1, 1, 1, 1, 1, 1), mode="replicate"),
                                                (1, 2, 4, 4, 4)),
    (_interp(scale_factor=2), (1, 2, 3, 3)), (_interp(scale_factor=2), (1, 2, 3)),
    (_interp(size=(4, 5), mode="bilinear"), (1, 2, 3, 3)),
    (_interp(size=(4, 5), mode="bicubic"), (1, 2, 3, 3)),
    (_interp(size=4, mode="linear"), (1, 2, 3)), (_interp(size=4, mode="trilinear"),
                                                  (1, 2, 3, 3, 3)),
    (_interp(size=4, mode="nearest-exact"), (1, 2, 3, 3)),
    (_interp(size=2, mode="area"), (1, 2, 3, 3)),
])
def test_grad_fn_names_match_torch(call, shape):
    x = _data(*shape)
    ours = call(dt, dt.tensor(x, requires_grad=True))
    theirs = call(torch, torch.tensor(x, requires_grad=True))
    assert ours.grad_fn.name() == type(theirs.grad_fn).__name__


LAYERS = [
    ("ZeroPad1d", (2,), (2, 3, 4)), ("ZeroPad2d", ((1, 2, 3, 0),), (2, 3, 4, 5)),
    ("ZeroPad3d", (1,), (1, 2, 3, 4, 5)), ("ConstantPad1d", ((2, 1), 3.5), (2, 3, 4)),
    ("ConstantPad2d", (1, -1.0), (2, 3, 4, 5)), ("ConstantPad3d", ((1, 0, 0, 1, 2, 0), 2.0),
                                                 (2, 3, 4, 5)),
    ("ReflectionPad1d", ((2, 1),), (2, 3, 4)), ("ReflectionPad2d", (2,), (2, 3, 4, 5)),
    ("ReflectionPad3d", (1,), (1, 2, 3, 4, 5)), ("ReplicationPad1d", (3,), (3, 4)),
    ("ReplicationPad2d", ((1, 1, 2, 0),), (2, 3, 4, 5)), ("ReplicationPad3d", (2,), (2, 3, 4, 5)),
    ("CircularPad1d", (2,), (2, 3, 4)), ("CircularPad2d", ((1, 2, 0, 1),), (2, 3, 4, 5)),
    ("CircularPad3d", (1,), (1, 2, 3, 4, 5)),
]


@pytest.mark.parametrize("name,args,shape", LAYERS)
def test_padding_layers(name, args, shape):
    ours, theirs = getattr(dt.nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    assert ours.padding == theirs.padding
    check_module(ours, theirs, _data(*shape))


UPSAMPLE = [
    ((), dict(scale_factor=2)), ((), dict(size=(3, 4), mode="bilinear")),
    ((), dict(scale_factor=2, mode="bilinear", align_corners=True)), ((), dict(size=3)),
    ((), dict(scale_factor=(2.0, 3.0))), ((), dict(scale_factor=1.5, mode="bicubic",
                                                   recompute_scale_factor=True)),
    ((None, 1.7, "nearest-exact"), {}), ((), dict(size=(2, 2), mode="area")),
]


@pytest.mark.parametrize("args,kw", UPSAMPLE)
def test_upsample_layers(args, kw):
    ours, theirs = dt.nn.Upsample(*args, **kw), torch.nn.Upsample(*args, **kw)
    assert repr(ours) == repr(theirs)
    check_module(ours, theirs, _data(2, 3, 4, 5))


@pytest.mark.parametrize("name", ["UpsamplingNearest2d", "UpsamplingBilinear2d"])
@pytest.mark.parametrize("kw", [dict(scale_factor=2), dict(size=(5, 3))])
def test_upsampling_2d_layers(name, kw):
    ours, theirs = getattr(dt.nn, name)(**kw), getattr(torch.nn, name)(**kw)
    assert repr(ours) == repr(theirs)
    check_module(ours, theirs, _data(2, 3, 4, 5))


@pytest.mark.parametrize("name,factor,shape", [
    ("pixel_shuffle", 2, (2, 8, 2, 3)), ("pixel_shuffle", 3, (3, 2, 9, 2, 3)),
    ("pixel_shuffle", 1, (4, 2, 3)), ("pixel_unshuffle", 2, (2, 2, 4, 6)),
    ("pixel_unshuffle", 3, (2, 6, 3)),
])
def test_pixel_shuffle(name, factor, shape):
    check(lambda m, x: getattr(m.nn.functional, name)(x, factor), _data(*shape))
    x = _data(*shape)
    ours = getattr(dt.nn.functional, name)(dt.tensor(x, requires_grad=True), factor)
    theirs = getattr(torch.nn.functional, name)(torch.tensor(x, requires_grad=True), factor)
    assert ours.grad_fn.name() == type(theirs.grad_fn).__name__


def _x(m, *shape):
    return m.arange(float(np.prod(shape))).reshape(*shape)


ERROR_CALLS = [
    lambda m: m.nn.functional.pad(_x(m, 1, 1, 4, 4), (1,)),
    lambda m: m.nn.functional.pad(_x(m, 1, 1, 4, 4), (1,) * 10),
    lambda m: m.nn.functional.pad(_x(m, 1, 1, 4, 4), (-3, -2)),
    lambda m: m.nn.functional.pad(_x(m, 1, 1, 4, 4), (0, 0, -5, 1)),
    lambda m: m.nn.functional.pad(_x(m, 1, 1, 4, 4), (1.5, 1)),
    lambda m: m.nn.functional.pad(_x(m, 1, 1, 4, 4), (1, 1), mode="foo"),
    lambda m: m.nn.functional.pad(_x(m, 1, 1, 4, 4), (1, 1), mode="reflect"),
    lambda m: m.nn.functional.pad(_x(m, 1, 1, 4, 4), (1, 1), mode="reflect", value=0),
    lambda m: m.nn.functional.pad(_x(m, 1, 4, 4), (1, 1), mode="replicate", value=1),
    lambda m: m.nn.functional.pad(_x(m, 1, 1, 4, 4), (4, 4, 1, 1), mode="reflect"),
    lambda m: m.nn.functional.pad(_x(m, 1, 4, 4), (4, 1), mode="reflect"),
    lambda m: m.nn.functional.pad(_x(m, 1, 4, 4), (1, 4), mode="reflect"),
    lambda m: m.nn.functional.pad(_x(m, 1, 1, 1, 4, 4), (1, 1, 1, 1, 4, 1), mode="reflect"),
    lambda m: m.nn.functional.pad(_x(m, 1, 1, 4, 4), (5, 5, 1, 1), mode="circular"),
    lambda m: m.nn.functional.pad(_x(m, 1, 4, 4), (-2, -3), mode="circular"),
    lambda m: m.nn.functional.pad(_x(m, 1, 4, 4), (-5, 1), mode="replicate"),
    lambda m: m.nn.functional.pad(_x(m, 1, 4, 4), (-2, -3), mode="reflect"),
    lambda m: m.nn.functional.pad(_x(m, 4, 4), (1, 1, 1, 1), mode="reflect"),
    lambda m: m.nn.functional.pad(_x(m, 4), (1, 1), mode="replicate"),
    lambda m: m.nn.functional.pad(m.zeros(1, 0, 3), (1, 1), mode="reflect"),
    lambda m: m.nn.functional.interpolate(_x(m, 1, 1, 4, 4)),
    lambda m: m.nn.functional.interpolate(_x(m, 1, 1, 4, 4), size=3, scale_factor=2),
    lambda m: m.nn.functional.interpolate(_x(m, 1, 1, 4, 4), size=3, align_corners=True),
    lambda m: m.nn.functional.interpolate(_x(m, 1, 1, 4, 4), size=3, mode="linear"),
    lambda m: m.nn.functional.interpolate(_x(m, 1, 1, 4, 4), size=3, mode="trilinear"),
    lambda m: m.nn.functional.interpolate(_x(m, 1, 4, 4), size=3, mode="bilinear"),
    lambda m: m.nn.functional.interpolate(_x(m, 1, 1, 4, 4), size=3, mode="foo"),
    lambda m: m.nn.functional.interpolate(_x(m, 1, 1, 4, 4), size=(3, 3, 3)),
    lambda m: m.nn.functional.interpolate(_x(m, 1, 1, 4, 4), scale_factor=(2, 2, 2)),
    lambda m: m.nn.functional.interpolate(_x(m, 1, 1, 4, 4), size=0),
    lambda m: m.nn.functional.interpolate(_x(m, 1, 1, 4, 4), scale_factor=0.1),
    lambda m: m.nn.functional.interpolate(_x(m, 1, 1, 4), scale_factor=-1),
    lambda m: m.nn.functional.interpolate(_x(m, 4, 4), size=3),
    lambda m: m.nn.functional.interpolate(_x(m, 1, 1, 4, 4), size=3, mode="bilinear",
                                          recompute_scale_factor=True),
    lambda m: m.nn.functional.interpolate(_x(m, 1, 1, 4, 4), size=3, mode="nearest",
                                          antialias=True),
    lambda m: m.nn.functional.interpolate(_x(m, 1, 1, 4, 4), size=[3, 2.0]),
    lambda m: m.nn.functional.interpolate(_x(m, 1, 2, 4, 4).long(), size=3, mode="bilinear"),
    lambda m: m.nn.functional.interpolate(_x(m, 1, 2, 4, 4).long(), size=3, mode="bicubic"),
    lambda m: m.nn.functional.interpolate(_x(m, 1, 2, 4).long(), size=3, mode="linear"),
    lambda m: m.nn.functional.interpolate(_x(m, 1, 2, 4).long(), size=3),
    lambda m: m.nn.functional.interpolate(_x(m, 1, 1, 3, 4, 4).long(), size=3, mode="trilinear"),
    lambda m: m.nn.functional.interpolate(_x(m, 1, 1, 4), size=0),
    lambda m: m.nn.functional.interpolate(_x(m, 1, 1, 4, 4, 4), size=(0, 1, 1)),
    lambda m: m.nn.functional.pixel_shuffle(m.zeros(1, 6, 2, 3), 2),
    lambda m: m.nn.functional.pixel_shuffle(m.zeros(6, 2), 2),
    lambda m: m.nn.functional.pixel_shuffle(m.zeros(1, 8, 2, 3), 0),
    lambda m: m.nn.functional.pixel_unshuffle(m.zeros(1, 2, 4, 6), 0),
    lambda m: m.nn.functional.pixel_unshuffle(m.zeros(1, 2, 4, 5), 2),
    lambda m: m.nn.functional.pixel_unshuffle(m.zeros(1, 2, 5, 4), 2),
    lambda m: m.nn.functional.pixel_unshuffle(m.zeros(2, 4), 2),
]


@pytest.mark.parametrize("call", ERROR_CALLS)
def test_vision_errors_match_torch(call):
    ours, theirs = errors(call)
    assert theirs is not None
    assert ours == theirs
