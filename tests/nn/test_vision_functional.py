"""pad and interpolate: hand values, gradients of every mode, padding/upsampling layers, errors."""

import warnings

import numpy as np
import pytest

import dist_torch as torch
import dist_torch.nn.functional as F
from dist_torch import nn
from dist_torch.ops.padding import constant_pad_nd
from tests.helpers import assert_close, gradcheck, rand

ROW = torch.tensor([[[1.0, 2.0, 3.0, 4.0]]])


# --------------------------------------------------------------------------- pad

def test_constant_pad_values_and_cropping():
    assert F.pad(ROW, (1, 2)).tolist() == [[[0.0, 1.0, 2.0, 3.0, 4.0, 0.0, 0.0]]]
    assert F.pad(ROW, (1, 0), value=9).tolist() == [[[9.0, 1.0, 2.0, 3.0, 4.0]]]
    assert F.pad(ROW, (-1, 1)).tolist() == [[[2.0, 3.0, 4.0, 0.0]]]
    assert F.pad(ROW, (0, 0, 1, 0)).tolist() == [[[0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0]]]
    assert F.pad(ROW, (0, 0, 0, 0, 1, 1)).shape == (3, 1, 4)
    assert F.pad(ROW, (-2, -2)).shape == (1, 1, 0)
    ints = F.pad(torch.arange(4).reshape(1, 4), [1, 1], value=2.5)
    assert ints.dtype == torch.int64 and ints.tolist() == [[2, 0, 1, 2, 3, 2]]
    assert constant_pad_nd(ROW, (1, 1), 5.0)[0, 0, 0].item() == 5.0


@pytest.mark.parametrize("mode,expected", [
    ("reflect", [3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0]),
    ("replicate", [1.0, 1.0, 1.0, 2.0, 3.0, 4.0, 4.0]),
    ("circular", [3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 1.0]),
])
def test_mode_pad_values(mode, expected):
    assert F.pad(ROW, (2, 1), mode=mode).tolist() == [[expected]]


def test_mode_pad_negative_amounts():
    assert F.pad(ROW, (-1, 2), mode="reflect").tolist() == [[[2.0, 3.0, 4.0, 3.0, 2.0]]]
    assert F.pad(ROW, (1, -2), mode="replicate").tolist() == [[[1.0, 1.0, 2.0]]]
    # torch crops first, then wraps around what is left
    assert F.pad(ROW, (-1, 2), mode="circular").tolist() == [[[2.0, 3.0, 4.0, 2.0, 3.0]]]


def test_reflect_pad_gradient_accumulates():
    x = torch.tensor([[[1.0, 2.0, 3.0]]], requires_grad=True)
    F.pad(x, (2, 2), mode="reflect").sum().backward()
    # output: 3 2 | 1 2 3 | 2 1  -> element 1 appears twice, 2 three times, 3 twice
    assert x.grad.tolist() == [[[2.0, 3.0, 2.0]]]


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("pad", [(1, 2), (2, 1, 1, 0), (-1, 2, 1, -1), (1, 1, 0, 1, 1, 0)])
def test_gradcheck_pad(mode, pad):
    shape = {2: (2, 3, 4), 4: (2, 3, 4, 5), 6: (1, 2, 3, 4, 5)}[len(pad)]
    gradcheck(lambda x: F.pad(x, pad, mode=mode), rand(*shape))


def test_pad_grad_fn_names():
    x = rand(1, 2, 4, 4)
    assert F.pad(x, (1, 1)).grad_fn.name() == "ConstantPadNdBackward0"
    assert F.pad(x, (1, 1, 1, 1), mode="reflect").grad_fn.name() == "ReflectionPad2DBackward0"
    assert F.pad(x[0], (1, 1), mode="replicate").grad_fn.name() == "ReplicationPad1DBackward0"


@pytest.mark.parametrize("call,exc,message", [
    (lambda: F.pad(ROW, (1,)), RuntimeError, "Padding length must be divisible by 2"),
    (lambda: F.pad(ROW, (1,) * 8), RuntimeError,
     "Padding length should be less than or equal to two times the input dimension but got "
     "padding length 8 and input of dimension 3"),
    (lambda: F.pad(ROW, (-3, -2)), RuntimeError, r"narrow\(\): length must be non-negative."),
    (lambda: F.pad(ROW, (1.5, 1)), TypeError, "must be tuple of ints, but found element of type "
                                              "float at pos 0"),
    (lambda: F.pad(ROW, (1, 1), mode="foo"), NotImplementedError,
     "Unrecognised padding mode foo"),
    (lambda: F.pad(ROW, (1, 1), mode="replicate", value=1), RuntimeError,
     "Padding mode \"replicate\" doesn't take in value argument"),
    (lambda: F.pad(ROW.unsqueeze(0), (1, 1), mode="reflect"), NotImplementedError,
     "Padding size 2 is not supported for 4D input tensor"),
    (lambda: F.pad(ROW, (4, 1), mode="reflect"), RuntimeError,
     r"Argument #4: Padding size should be less than the corresponding input dimension, but "
     r"got: padding \(4, 1\) at dimension 2 of input \[1, 1, 4\]"),
    (lambda: F.pad(ROW, (5, 1), mode="circular"), RuntimeError,
     "Padding value causes wrapping around more than once."),
    (lambda: F.pad(ROW, (-2, -2), mode="circular"), RuntimeError,
     "Negative padding value is resulting in an empty dimension"),
    (lambda: F.pad(ROW, (-2, -3), mode="reflect"), RuntimeError,
     r"input \(W: 4\) is too small. Calculated output W: -1"),
    (lambda: F.pad(torch.zeros(1, 0, 3), (1, 1), mode="reflect"), RuntimeError,
     r"Expected 2D or 3D \(batch mode\) tensor with possibly 0 batch size and other non-zero "
     r"dimensions for input, but got: \[1, 0, 3\]"),
])
def test_pad_errors(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


# --------------------------------------------------------------------------- interpolate

def test_interpolate_nearest_values():
    x = torch.tensor([[[1.0, 2.0, 3.0]]])
    assert F.interpolate(x, scale_factor=2).tolist() == [[[1.0, 1.0, 2.0, 2.0, 3.0, 3.0]]]
    assert F.interpolate(x, size=2).tolist() == [[[1.0, 2.0]]]
    five = torch.arange(5.0).reshape(1, 1, 5)
    assert F.interpolate(five, scale_factor=0.7).tolist() == [[[0.0, 1.0, 2.0]]]
    assert F.interpolate(five, size=3, mode="nearest-exact").tolist() == [[[0.0, 2.0, 4.0]]]
    img = torch.arange(4.0).reshape(1, 1, 2, 2)
    assert F.interpolate(img, scale_factor=(1, 2)).tolist() == [[[[0.0, 0.0, 1.0, 1.0],
                                                                  [2.0, 2.0, 3.0, 3.0]]]]


def test_interpolate_linear_values():
    x = torch.tensor([[[1.0, 2.0]]])
    assert F.interpolate(x, scale_factor=2, mode="linear").tolist() == \
        [[[1.0, 1.25, 1.75, 2.0]]]
    assert_close(F.interpolate(x, size=4, mode="linear", align_corners=True),
                 torch.tensor([[[1.0, 4 / 3, 5 / 3, 2.0]]]))
    img = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])
    out = F.interpolate(img, size=3, mode="bilinear", align_corners=True)
    assert out.tolist() == [[[[0.0, 0.5, 1.0], [1.0, 1.5, 2.0], [2.0, 2.5, 3.0]]]]
    # bicubic (a = -0.75, edge pixels repeated) keeps a ramp's interior, bends its ends
    ramp = torch.arange(4.0).reshape(1, 1, 1, 4).expand(1, 1, 4, 4)
    out = F.interpolate(ramp, size=(4, 7), mode="bicubic", align_corners=True)
    assert_close(out[0, 0, 0], torch.tensor([0.0, 0.40625, 1.0, 1.5, 2.0, 2.59375, 3.0]),
                 atol=1e-6)
    area = F.interpolate(torch.arange(6.0).reshape(1, 1, 6), size=3, mode="area")
    assert area.tolist() == [[[0.5, 2.5, 4.5]]]


@pytest.mark.parametrize("mode,ndim", [("nearest", 3), ("nearest", 4), ("nearest", 5),
                                       ("nearest-exact", 4), ("linear", 3), ("bilinear", 4),
                                       ("bicubic", 4), ("trilinear", 5), ("area", 4)])
@pytest.mark.parametrize("how", [dict(scale_factor=1.7), dict(scale_factor=0.6),
                                 dict(size=3), dict(scale_factor=2, recompute_scale_factor=True)])
def test_gradcheck_interpolate(mode, ndim, how):
    shape = (1, 2, 4, 5)[:ndim] if ndim < 5 else (1, 1, 3, 4, 2)
    kw = dict(how)
    if mode in ("linear", "bilinear", "bicubic", "trilinear"):
        for align in (False, True):
            gradcheck(lambda x, a=align: F.interpolate(x, mode=mode, align_corners=a, **kw),
                      rand(*shape))
    else:
        gradcheck(lambda x: F.interpolate(x, mode=mode, **kw), rand(*shape))


def test_interpolate_keeps_dtype_and_names_nodes():
    x = torch.randn(1, 2, 3, 3)
    assert F.interpolate(x, scale_factor=2, mode="bilinear").dtype == torch.float32
    r = rand(1, 2, 3, 3)
    assert F.interpolate(r, scale_factor=2).grad_fn.name() == "UpsampleNearest2DBackward0"
    assert F.interpolate(r, size=4, mode="bilinear").grad_fn.name() == \
        "UpsampleBilinear2DBackward0"
    assert F.interpolate(r, size=2, mode="area").grad_fn.name() == "AdaptiveAvgPool2DBackward0"
    u8 = torch.ones(1, 1, 2, 2, dtype=torch.uint8)
    assert F.interpolate(u8, scale_factor=2).dtype == torch.uint8


def test_deprecated_upsample_aliases():
    x = torch.randn(1, 1, 2, 2)
    with pytest.warns(UserWarning, match="upsample_bilinear` is deprecated"):
        out = F.upsample_bilinear(x, scale_factor=2)
    assert_close(out, F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert F.upsample(x, size=3).shape == (1, 1, 3, 3)
        assert F.upsample_nearest(x, scale_factor=3).shape == (1, 1, 6, 6)


X = torch.arange(16.0).reshape(1, 1, 4, 4)


@pytest.mark.parametrize("call,exc,message", [
    (lambda: F.interpolate(X), ValueError, "either size or scale_factor should be defined"),
    (lambda: F.interpolate(X, size=3, scale_factor=2), ValueError,
     "only one of size or scale_factor should be defined"),
    (lambda: F.interpolate(X, size=3, align_corners=True), ValueError,
     "align_corners option can only be set with the interpolating modes"),
    (lambda: F.interpolate(X, size=3, mode="linear"), NotImplementedError,
     "Got 4D input, but linear mode needs 3D input"),
    (lambda: F.interpolate(X, size=3, mode="foo"), NotImplementedError,
     r"Input Error: Only 3D, 4D and 5D input Tensors supported \(got 4D\)"),
    (lambda: F.interpolate(X[0, 0], size=3), NotImplementedError,
     r"Only 3D, 4D and 5D input Tensors supported \(got 2D\)"),
    (lambda: F.interpolate(X, size=(3, 3, 3)), ValueError,
     r"Input and output must have the same number of spatial dimensions, but got input with "
     r"spatial dimensions of \[4, 4\] and output size of \(3, 3, 3\)"),
    (lambda: F.interpolate(X, scale_factor=(2, 2, 2)), ValueError,
     "Input and scale_factor must have the same number of spatial dimensions"),
    (lambda: F.interpolate(X, scale_factor=0.1), RuntimeError,
     r"Input and output sizes should be greater than 0, but got input \(H: 4, W: 4\) output "
     r"\(H: 0, W: 0\)"),
    (lambda: F.interpolate(X, size=3, recompute_scale_factor=True), ValueError,
     "recompute_scale_factor is not meaningful with an explicit size."),
    (lambda: F.interpolate(X, size=3, antialias=True), ValueError,
     "Anti-alias option is restricted to bilinear, bicubic, and lanczos modes"),
    (lambda: F.interpolate(X, size=[3, 2.0]), TypeError, "expected size to be one of int"),
    (lambda: F.interpolate(X.long(), size=3, mode="bilinear"), NotImplementedError,
     "not implemented for 'Long'"),
])
def test_interpolate_errors(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


# --------------------------------------------------------------------------- layers

@pytest.mark.parametrize("layer,text", [
    (lambda: nn.ZeroPad2d(2), "ZeroPad2d((2, 2, 2, 2))"),
    (lambda: nn.ZeroPad2d((1, 2, 3, 4)), "ZeroPad2d((1, 2, 3, 4))"),
    (lambda: nn.ConstantPad1d(2, 3.5), "ConstantPad1d(padding=(2, 2), value=3.5)"),
    (lambda: nn.ConstantPad3d(1, 0.0), "ConstantPad3d(padding=(1, 1, 1, 1, 1, 1), value=0.0)"),
    (lambda: nn.ReflectionPad2d(1), "ReflectionPad2d((1, 1, 1, 1))"),
    (lambda: nn.ReplicationPad2d((1, 1, 2, 2)), "ReplicationPad2d((1, 1, 2, 2))"),
    (lambda: nn.CircularPad1d(2), "CircularPad1d((2, 2))"),
    (lambda: nn.Upsample(scale_factor=2), "Upsample(scale_factor=2.0, mode='nearest')"),
    (lambda: nn.Upsample(size=(3, 4), mode="bilinear"), "Upsample(size=(3, 4), mode='bilinear')"),
    (lambda: nn.UpsamplingBilinear2d(scale_factor=2),
     "UpsamplingBilinear2d(scale_factor=2.0, mode='bilinear')"),
    (lambda: nn.Upsample(scale_factor=(2, 3)), "Upsample(scale_factor=(2.0, 3.0), mode='nearest')"),
])
def test_layer_reprs(layer, text):
    assert repr(layer()) == text


def test_padding_and_upsampling_layers():
    x = torch.randn(2, 3, 4, 5)
    assert_close(nn.ZeroPad2d((1, 2, 0, 1))(x), F.pad(x, (1, 2, 0, 1)))
    assert_close(nn.ConstantPad2d(1, -1.0)(x), F.pad(x, (1, 1, 1, 1), value=-1.0))
    assert_close(nn.ReflectionPad2d(2)(x), F.pad(x, (2, 2, 2, 2), mode="reflect"))
    assert_close(nn.ReplicationPad1d((0, 3))(x[0]), F.pad(x[0], (0, 3), mode="replicate"))
    assert_close(nn.CircularPad2d(1)(x), F.pad(x, (1, 1, 1, 1), mode="circular"))
    assert nn.ZeroPad1d(2)(x).shape == (2, 3, 4, 9)
    assert nn.ReflectionPad3d(1)(x).shape == (2, 5, 6, 7)  # 4-D input is unbatched here
    assert_close(nn.Upsample(scale_factor=2, mode="bilinear")(x),
                 F.interpolate(x, scale_factor=2.0, mode="bilinear"))
    assert_close(nn.UpsamplingNearest2d(size=(5, 5))(x), F.interpolate(x, size=(5, 5)))
    assert np.asarray(nn.UpsamplingBilinear2d(scale_factor=2)(x)).shape == (2, 3, 8, 10)


# --------------------------------------------------------------------------- pixel shuffle

def test_pixel_shuffle_round_trip_and_values():
    x = torch.arange(8.0).reshape(1, 4, 1, 2)
    out = F.pixel_shuffle(x, 2)
    assert out.tolist() == [[[[0.0, 2.0, 1.0, 3.0], [4.0, 6.0, 5.0, 7.0]]]]
    assert_close(F.pixel_unshuffle(out, 2), x)
    y = torch.randn(2, 3, 18, 4, 5)
    assert_close(F.pixel_unshuffle(F.pixel_shuffle(y, 3), 3), y)
    gradcheck(lambda v: F.pixel_shuffle(v, 2), rand(2, 8, 2, 3))
    gradcheck(lambda v: F.pixel_unshuffle(v, 2), rand(3, 4, 2))


@pytest.mark.parametrize("call,message", [
    (lambda: F.pixel_shuffle(torch.randn(1, 6, 2, 3), 2),
     r"input.size\(-3\)=6 is not divisible by 4"),
    (lambda: F.pixel_shuffle(torch.randn(6, 2), 2), "at least 3 dimensions"),
    (lambda: F.pixel_shuffle(torch.randn(1, 8, 2, 3), 0), "expects a positive upscale_factor"),
    (lambda: F.pixel_unshuffle(torch.randn(1, 2, 4, 5), 2),
     r"pixel_unshuffle expects width to be divisible by downscale_factor, but "
     r"input.size\(-1\)=5 is not divisible by 2"),
])
def test_pixel_shuffle_errors(call, message):
    with pytest.raises(RuntimeError, match=message):
        call()
