"""dist_torch.vision.transforms: conversions, normalisation, geometry, randomness, reprs."""

from __future__ import annotations

import numpy as np
import pytest

import dist_torch as dt
from dist_torch.vision import transforms as T
from dist_torch.vision.transforms import functional as F
from tests.helpers import assert_close, gradcheck


def u8(*shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=shape).astype(np.uint8)


# --------------------------------------------------------------------------- ToTensor

def test_to_tensor_grey_uint8():
    img = u8(5, 7)
    x = T.ToTensor()(img)
    assert x.dtype is dt.float32 and x.shape == (1, 5, 7) and x.is_contiguous()
    np.testing.assert_array_equal(np.asarray(x)[0], img.astype(np.float32) / np.float32(255))
    assert float(T.ToTensor()(np.full((2, 2), 255, np.uint8)).min()) == 1.0


def test_to_tensor_hwc_uint8():
    img = u8(4, 6, 3)
    x = T.ToTensor()(img)
    assert x.shape == (3, 4, 6) and x.is_contiguous()
    np.testing.assert_array_equal(np.asarray(x), img.transpose(2, 0, 1) / np.float32(255))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int16, np.int64, np.bool_])
def test_to_tensor_other_dtypes_keep_values(dtype):
    img = np.random.default_rng(1).normal(size=(3, 4, 2)).astype(dtype)
    x = T.ToTensor()(img)
    assert np.asarray(x).dtype == np.dtype(dtype) and x.shape == (2, 3, 4)
    np.testing.assert_array_equal(np.asarray(x), img.transpose(2, 0, 1))


def test_to_tensor_follows_default_dtype():
    dt.set_default_dtype(dt.float64)
    try:
        assert T.ToTensor()(u8(2, 2)).dtype is dt.float64
        assert T.ToTensor()(u8(2, 2, 3)).dtype is dt.float64
    finally:
        dt.set_default_dtype(dt.float32)


def test_to_tensor_errors():
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray. Got <class"):
        T.ToTensor()(dt.zeros(1, 2, 2))
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        T.ToTensor()([[1, 2]])
    with pytest.raises(ValueError, match="pic should be 2/3 dimensional. Got 4 dimensions."):
        T.ToTensor()(np.zeros((1, 2, 2, 1), np.uint8))
    with pytest.raises(TypeError, match="uint16"):
        T.ToTensor()(np.zeros((2, 2), np.uint16))


def test_pil_to_tensor_keeps_dtype_and_values():
    img = u8(3, 5, 2)
    x = T.PILToTensor()(img)
    assert x.dtype is dt.uint8 and x.shape == (2, 3, 5)
    np.testing.assert_array_equal(np.asarray(x), img.transpose(2, 0, 1))
    assert T.PILToTensor()(u8(3, 5)).shape == (1, 3, 5)
    with pytest.raises(TypeError, match="pic should be PIL Image"):
        T.PILToTensor()(dt.zeros(1, 2, 2))


# --------------------------------------------------------------------------- Normalize

def test_normalize_values():
    x = dt.tensor(np.arange(12, dtype=np.float32).reshape(3, 2, 2))
    mean, std = (1.0, 2.0, 3.0), (0.5, 1.0, 2.0)
    out = T.Normalize(mean, std)(x)
    expected = (np.arange(12, dtype=np.float32).reshape(3, 2, 2)
                - np.float32([1, 2, 3])[:, None, None]) / np.float32([0.5, 1, 2])[:, None, None]
    np.testing.assert_array_equal(np.asarray(out), expected)
    assert out is not x and float(x[0, 0, 0]) == 0.0
    assert out.dtype is dt.float32


def test_normalize_batch_and_float64():
    x = dt.ones(4, 1, 3, 3, dtype=dt.float64)
    out = T.Normalize((0.5,), (0.25,))(x)
    assert out.dtype is dt.float64 and out.shape == (4, 1, 3, 3)
    assert_close(out, np.full((4, 1, 3, 3), 2.0))


def test_normalize_inplace_returns_input():
    x = dt.ones(2, 2, 2)
    version = x._version
    out = T.Normalize((1.0, 0.0), (1.0, 0.5), inplace=True)(x)
    assert out is x and x._version > version
    assert_close(x, np.stack([np.zeros((2, 2)), np.full((2, 2), 2.0)]).astype(np.float32))


def test_normalize_follows_reassigned_statistics_and_dtype():
    t = T.Normalize((0.5,), (0.5,))
    assert_close(t(dt.ones(1, 1, 2)), np.ones((1, 1, 2), np.float32))
    t.mean = (0.0,)
    assert_close(t(dt.ones(1, 1, 2)), np.full((1, 1, 2), 2.0, np.float32))
    out = t(dt.ones(1, 1, 2, dtype=dt.float64))
    assert out.dtype is dt.float64
    assert_close(out, np.full((1, 1, 2), 2.0))


def test_normalize_gradient():
    x = dt.tensor(np.random.default_rng(0).normal(size=(2, 3, 3)), requires_grad=True)
    gradcheck(lambda t: F.normalize(t, (0.1, -0.2), (0.5, 2.0)), x)
    out = F.normalize(x, (0.1, -0.2), (0.5, 2.0))
    out.sum().backward()
    assert_close(x.grad[0], np.full((3, 3), 2.0))
    assert_close(x.grad[1], np.full((3, 3), 0.5))


def test_normalize_errors():
    with pytest.raises(TypeError, match="img should be Tensor Image. Got <class 'numpy"):
        T.Normalize((0.5,), (0.5,))(np.zeros((1, 2, 2), np.float32))
    with pytest.raises(TypeError, match="Input tensor should be a float tensor. Got torch.uint8"):
        T.Normalize((0.5,), (0.5,))(dt.zeros(1, 2, 2, dtype=dt.uint8))
    with pytest.raises(ValueError, match=r"size \(..., C, H, W\). Got tensor.size\(\) = "
                                         r"torch.Size\(\[28, 28\]\)"):
        T.Normalize((0.5,), (0.5,))(dt.zeros(28, 28))
    with pytest.raises(ValueError, match="std evaluated to zero after conversion to "
                                         "torch.float32, leading to division by zero"):
        T.Normalize((0.5, 0.5), (1.0, 0.0))(dt.zeros(2, 2, 2))
    with pytest.raises(RuntimeError):  # 3 channel statistics for a 2-channel image
        T.Normalize((0.5, 0.5, 0.5), (1.0, 1.0, 1.0))(dt.zeros(2, 2, 2))
    with pytest.raises(RuntimeError):  # in place, a 1-channel image cannot grow to 3
        T.Normalize((0.5, 0.5, 0.5), (1.0, 1.0, 1.0), inplace=True)(dt.zeros(1, 2, 2))


# --------------------------------------------------------------------------- composition

def test_compose_order_and_lambda():
    calls = []
    t = T.Compose([T.Lambda(lambda x: calls.append("a") or x + 1),
                   T.Lambda(lambda x: calls.append("b") or x * 10)])
    assert t(1) == 20 and calls == ["a", "b"]
    with pytest.raises(TypeError, match="Argument lambd should be callable, got 'int'"):
        T.Lambda(3)


def test_mnist_pipeline():
    img = u8(28, 28)
    x = T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))])(img)
    expected = (img.astype(np.float32) / np.float32(255) - np.float32(0.1307)) / np.float32(0.3081)
    np.testing.assert_array_equal(np.asarray(x)[0], expected)


# --------------------------------------------------------------------------- geometry

@pytest.mark.parametrize("as_tensor", [False, True])
def test_flips(as_tensor):
    img = u8(3, 4, 2) if not as_tensor else None
    x = img if not as_tensor else dt.tensor(u8(2, 3, 4))
    base = np.asarray(x)
    h_axis, w_axis = (0, 1) if not as_tensor else (1, 2)
    np.testing.assert_array_equal(np.asarray(T.RandomHorizontalFlip(p=1.0)(x)),
                                  np.flip(base, w_axis))
    np.testing.assert_array_equal(np.asarray(T.RandomVerticalFlip(p=1.0)(x)),
                                  np.flip(base, h_axis))
    assert T.RandomHorizontalFlip(p=0.0)(x) is x
    assert T.RandomVerticalFlip(p=0.0)(x) is x


def test_flip_frequency_and_reproducibility():
    x = dt.tensor([[[0.0, 1.0]]])
    flip = T.RandomHorizontalFlip(p=0.3)
    dt.manual_seed(123)
    first = [float(flip(x)[0, 0, 0]) for _ in range(2000)]
    dt.manual_seed(123)
    second = [float(flip(x)[0, 0, 0]) for _ in range(2000)]
    assert first == second
    assert abs(np.mean(first) - 0.3) < 0.04  # ~4.5 standard deviations


def test_hflip_keeps_the_graph():
    x = dt.tensor(np.arange(6.0).reshape(1, 2, 3), requires_grad=True)
    (F.hflip(x) * dt.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert_close(x.grad, np.array([[[3.0, 2.0, 1.0], [3.0, 2.0, 1.0]]]))


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
@pytest.mark.parametrize("padding,ltrb", [(2, (2, 2, 2, 2)), ((1, 3), (1, 3, 1, 3)),
                                          ((1, 0, 2, 3), (1, 0, 2, 3)), ([2], (2, 2, 2, 2))])
def test_pad_modes_match_numpy(mode, padding, ltrb):
    l, t, r, b = ltrb
    img = u8(5, 6, 3)
    out = F.pad(img, padding, fill=7, padding_mode=mode)
    kw = {"constant_values": 7} if mode == "constant" else {}
    np.testing.assert_array_equal(out, np.pad(img, ((t, b), (l, r), (0, 0)), mode=mode, **kw))
    x = dt.tensor(u8(2, 5, 6).astype(np.float32))
    out = F.pad(x, padding, fill=7, padding_mode=mode)
    np.testing.assert_array_equal(np.asarray(out), np.pad(np.asarray(x), ((0, 0), (t, b), (l, r)),
                                                          mode=mode, **kw))


def test_pad_fill_per_channel_and_negative_padding():
    img = np.zeros((2, 2, 3), np.uint8)
    out = F.pad(img, 1, fill=(10, 20, 30))
    assert out.shape == (4, 4, 3) and out[0, 0].tolist() == [10, 20, 30]
    assert out[1, 1].tolist() == [0, 0, 0]
    x = dt.arange(16.0).reshape(1, 4, 4)
    assert_close(F.pad(x, [-1, 0, 0, -1]),
                 np.arange(16.0, dtype=np.float32).reshape(4, 4)[:3, 1:][None])


def test_pad_errors():
    with pytest.raises(TypeError, match="Got inappropriate padding arg"):
        T.Pad("2")
    with pytest.raises(TypeError, match="Got inappropriate fill arg"):
        T.Pad(2, fill="x")
    with pytest.raises(ValueError, match="Padding mode should be either constant, edge, "
                                         "reflect or symmetric"):
        T.Pad(2, padding_mode="wrap")
    with pytest.raises(ValueError, match="Padding must be an int or a 1, 2, or 4 element "
                                         "tuple, not a 3 element tuple"):
        T.Pad((1, 2, 3))


def test_crop_inside_and_outside():
    x = dt.arange(20.0).reshape(1, 4, 5)
    values = np.arange(20.0, dtype=np.float32).reshape(4, 5)
    assert_close(F.crop(x, 1, 2, 2, 3), values[1:3, 2:5][None])
    out = F.crop(x, -1, 3, 3, 3)  # partly outside: zeros there
    expected = np.zeros((3, 3), np.float32)
    expected[1:, :2] = values[:2, 3:]
    assert_close(out, expected[None])
    img = u8(4, 5)
    np.testing.assert_array_equal(F.crop(img, 2, 1, 2, 2), img[2:4, 1:3])


@pytest.mark.parametrize("size,expected_slice", [
    (2, (slice(1, 3), slice(2, 4))), ((3, 4), (slice(0, 3), slice(1, 5))),
    ([4], (slice(0, 4), slice(1, 5))),
])
def test_center_crop(size, expected_slice):
    img = u8(4, 6)
    np.testing.assert_array_equal(T.CenterCrop(size)(img), img[expected_slice])
    x = dt.tensor(img[None])
    np.testing.assert_array_equal(np.asarray(T.CenterCrop(size)(x))[0], img[expected_slice])


def test_center_crop_larger_than_image_pads():
    x = dt.ones(1, 2, 2)
    out = T.CenterCrop((4, 5))(x)
    expected = np.zeros((4, 5), np.float32)
    expected[1:3, 1:3] = 1
    assert_close(out[0], expected)


def test_random_crop_with_padding_is_a_window_of_the_padded_image():
    img = u8(8, 8, seed=3)
    padded = np.pad(img, 4)
    crop = T.RandomCrop(8, padding=4)
    dt.manual_seed(0)
    outs = [crop(img) for _ in range(30)]
    offsets = set()
    for out in outs:
        assert out.shape == (8, 8)
        hits = [(i, j) for i in range(9) for j in range(9)
                if np.array_equal(padded[i:i + 8, j:j + 8], out)]
        assert hits
        offsets.add(hits[0])
    assert len(offsets) > 5  # random offsets
    dt.manual_seed(0)
    assert all(np.array_equal(crop(img), o) for o in outs)  # reproducible


def test_random_crop_tensor_pad_if_needed_and_errors():
    x = dt.ones(3, 5, 6)
    out = T.RandomCrop((7, 8), pad_if_needed=True, fill=2)(x)
    assert out.shape == (3, 7, 8)
    assert float(out.sum()) == 3 * (5 * 6 + 2 * (7 * 8 - 30))
    assert T.RandomCrop((5, 6))(x).shape == (3, 5, 6)
    with pytest.raises(ValueError, match=r"Required crop size \(7, 7\) is larger than input "
                                         r"image size \(5, 6\)"):
        T.RandomCrop(7)(x)
    with pytest.raises(ValueError, match="Please provide only two dimensions"):
        T.RandomCrop((1, 2, 3))


def test_random_resized_crop():
    img = u8(20, 30)
    t = T.RandomResizedCrop((8, 10), scale=(0.2, 0.8))
    dt.manual_seed(1)
    params = [T.RandomResizedCrop.get_params(img, (0.2, 0.8), (3 / 4, 4 / 3))
              for _ in range(50)]
    for top, left, h, w in params:
        assert 0 <= top and top + h <= 20 and 0 <= left and left + w <= 30
        assert 0.2 * 600 * 0.7 <= h * w <= 0.8 * 600 * 1.3
    assert len(set(params)) > 40
    out = t(dt.tensor(img[None].astype(np.float32)))
    assert out.shape == (1, 8, 10)
    assert t(img).shape == (8, 10) and t(img).dtype == np.uint8
    # impossible aspect ratios: the central fallback crop
    assert T.RandomResizedCrop.get_params(u8(10, 40), (1.0, 1.0), (1.0, 1.0)) == (0, 15, 10, 10)


def test_random_apply():
    x = dt.tensor([[[0.0, 1.0]]])
    t = T.RandomApply([T.RandomHorizontalFlip(p=1.0)], p=0.5)
    dt.manual_seed(5)
    flipped = [float(t(x)[0, 0, 0]) for _ in range(400)]
    assert 0.4 < np.mean(flipped) < 0.6


# --------------------------------------------------------------------------- resize

def test_resize_output_sizes():
    x = dt.zeros(1, 20, 30)
    assert T.Resize(10)(x).shape == (1, 10, 15)
    assert T.Resize([10])(x).shape == (1, 10, 15)
    assert T.Resize((7, 9))(x).shape == (1, 7, 9)
    assert T.Resize(10, max_size=12)(x).shape == (1, 8, 12)
    assert T.Resize(10)(dt.zeros(2, 3, 30, 20)).shape == (2, 3, 15, 10)
    assert T.Resize(20)(x) is x  # already the requested size
    assert T.Resize(10)(u8(20, 30)).shape == (10, 15)
    assert T.Resize(10)(u8(20, 30, 3)).shape == (10, 15, 3)


def test_resize_nearest_upsample_values():
    x = dt.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    out = F.resize(x, [4, 4], interpolation=T.InterpolationMode.NEAREST)
    expected = np.repeat(np.repeat(np.array([[1.0, 2.0], [3.0, 4.0]]), 2, 0), 2, 1)
    assert_close(out[0], expected.astype(np.float32))


def test_resize_bilinear_upsample_values():
    x = dt.tensor([[[0.0, 4.0]]], dtype=dt.float64)
    out = F.resize(x, [1, 4])
    # source positions (i + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 (clamped at the edges)
    assert_close(out[0, 0], [0.0, 1.0, 3.0, 4.0])


def test_resize_antialias_downsample_values():
    x = dt.tensor(np.arange(8.0)[None, None], dtype=dt.float64)
    out = F.resize(x, [1, 4])  # factor 2: triangle filter of width 4 taps, normalised
    w = np.array([0.125, 0.375, 0.375, 0.125])
    xs = np.arange(8.0)
    expected = [(xs[:3] @ (w[1:] / w[1:].sum())), xs[1:5] @ w, xs[3:7] @ w,
                xs[5:] @ (w[:3] / w[:3].sum())]
    assert_close(out[0, 0], expected)
    plain = F.resize(x, [1, 4], antialias=False)  # bilinear: mean of each pair
    assert_close(plain[0, 0], [0.5, 2.5, 4.5, 6.5])


def test_resize_uint8_tensor_rounds():
    x = dt.tensor([[[0, 255]]], dtype=dt.uint8)
    out = F.resize(x, [1, 4])
    assert out.dtype is dt.uint8
    assert out.tolist() == [[[0, 64, 191, 255]]]


def test_resize_is_differentiable():
    x = dt.tensor(np.random.default_rng(0).normal(size=(1, 5, 4)), requires_grad=True)
    gradcheck(lambda t: F.resize(t, [3, 7]), x)
    gradcheck(lambda t: F.resize(t, [8, 2], interpolation=T.InterpolationMode.BICUBIC), x)


def test_resize_errors():
    with pytest.raises(TypeError, match="Size should be int or sequence"):
        T.Resize(2.5)
    with pytest.raises(ValueError, match="If size is a sequence, it should have 1 or 2 values"):
        T.Resize((1, 2, 3))
    with pytest.raises(ValueError, match="max_size should only be passed if size specifies"):
        F.resize(dt.zeros(1, 4, 4), [2, 2], max_size=5)
    with pytest.raises(ValueError, match="max_size = 5 must be strictly greater"):
        F.resize(dt.zeros(1, 4, 4), 5, max_size=5)
    with pytest.raises(TypeError, match="Argument interpolation should be of type"):
        T.Resize(2, interpolation="cubic")
    with pytest.raises(NotImplementedError, match="lanczos"):
        T.Resize(2, interpolation=T.InterpolationMode.LANCZOS)(dt.zeros(1, 4, 4))


def test_resize_interpolation_from_pil_codes():
    assert T.Resize(2, interpolation=0).interpolation is T.InterpolationMode.NEAREST
    assert T.Resize(2, interpolation=3).interpolation is T.InterpolationMode.BICUBIC


# --------------------------------------------------------------------------- dtype conversion

def test_convert_image_dtype():
    x = dt.tensor([[[0, 128, 255]]], dtype=dt.uint8)
    out = T.ConvertImageDtype(dt.float32)(x)
    assert out.dtype is dt.float32
    np.testing.assert_array_equal(np.asarray(out), np.float32([[[0, 128, 255]]]) / 255)
    back = F.convert_image_dtype(out, dt.uint8)
    assert back.tolist() == [[[0, 128, 255]]]
    assert F.convert_image_dtype(x, dt.int16).tolist() == [[[0, 128 * 128, 255 * 128]]]
    wide = dt.tensor([[[0, 32767]]], dtype=dt.int16)
    assert F.convert_image_dtype(wide, dt.uint8).tolist() == [[[0, 255]]]
    assert F.convert_image_dtype(x, dt.uint8) is x
    f64 = F.convert_image_dtype(out, dt.float64)
    assert f64.dtype is dt.float64
    with pytest.raises(RuntimeError, match="The cast from torch.float32 to torch.int32 cannot "
                                           "be performed safely."):
        F.convert_image_dtype(out, dt.int32)


# --------------------------------------------------------------------------- reprs

@pytest.mark.parametrize("t,text", [
    (T.ToTensor(), "ToTensor()"),
    (T.PILToTensor(), "PILToTensor()"),
    (T.Normalize((0.1307,), (0.3081,)), "Normalize(mean=(0.1307,), std=(0.3081,))"),
    (T.Normalize([0.5, 0.5], [0.2, 0.2], inplace=True), "Normalize(mean=[0.5, 0.5], "
                                                         "std=[0.2, 0.2])"),
    (T.Lambda(abs), "Lambda()"),
    (T.Resize(32), "Resize(size=32, interpolation=bilinear, max_size=None, antialias=True)"),
    (T.Resize((32, 16), interpolation=T.InterpolationMode.NEAREST, antialias=False),
     "Resize(size=(32, 16), interpolation=nearest, max_size=None, antialias=False)"),
    (T.CenterCrop(10), "CenterCrop(size=(10, 10))"),
    (T.CenterCrop([10, 8]), "CenterCrop(size=[10, 8])"),
    (T.RandomCrop(32, padding=4), "RandomCrop(size=(32, 32), padding=4)"),
    (T.RandomCrop([32, 28]), "RandomCrop(size=(32, 28), padding=None)"),
    (T.RandomHorizontalFlip(), "RandomHorizontalFlip(p=0.5)"),
    (T.RandomVerticalFlip(0.2), "RandomVerticalFlip(p=0.2)"),
    (T.Pad((1, 2), fill=3, padding_mode="edge"), "Pad(padding=(1, 2), fill=3, "
                                                 "padding_mode=edge)"),
    (T.RandomResizedCrop(224), "RandomResizedCrop(size=(224, 224), scale=(0.08, 1.0), "
                               "ratio=(0.75, 1.3333), interpolation=bilinear, antialias=True)"),
    (T.ConvertImageDtype(dt.float32), "ConvertImageDtype()"),
    (T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))]),
     "Compose(\n    ToTensor()\n    Normalize(mean=(0.5,), std=(0.5,))\n)"),
    (T.RandomApply([T.RandomHorizontalFlip()], p=0.3),
     "RandomApply(\n    p=0.3\n    RandomHorizontalFlip(p=0.5)\n)"),
])
def test_reprs_match_torchvision(t, text):
    assert repr(t) == text


def test_module_transforms_are_modules():
    assert isinstance(T.Normalize((0.5,), (0.5,)), dt.nn.Module)
    seq = dt.nn.Sequential(T.Normalize((0.5,), (0.5,)), T.RandomHorizontalFlip(p=0.0))
    assert_close(seq(dt.ones(1, 2, 2)), np.ones((1, 2, 2), np.float32))


def test_image_size_helpers():
    assert F.get_dimensions(dt.zeros(2, 3, 4, 5)) == [3, 4, 5]
    assert F.get_dimensions(dt.zeros(4, 5)) == [1, 4, 5]
    assert F.get_dimensions(u8(4, 5, 3)) == [3, 4, 5]
    assert F.get_image_size(u8(4, 5)) == [5, 4]
    assert F.get_image_num_channels(dt.zeros(3, 2, 2)) == 3
    with pytest.raises(TypeError, match="Tensor is not a torch image"):
        F.get_dimensions(dt.zeros(3))
    with pytest.raises(TypeError, match="img should be a Tensor or a NumPy array"):
        F.hflip([[1, 2]])
