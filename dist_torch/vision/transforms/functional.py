"""torchvision.transforms.functional for dist_torch.

Images are either dist_torch tensors of shape (..., C, H, W) (what ``to_tensor`` makes) or,
before ``to_tensor``, NumPy arrays of shape (H, W) or (H, W, C), which stand in for PIL images
(the datasets return them; a PIL image, where PIL is installed, is read as its array). Crops
and flips of tensors are views that keep the autograd graph; padding and resizing of tensors
work on the arrays (resize keeps the graph: it is two matrix products).
"""

from __future__ import annotations

import numbers
from enum import Enum

import numpy as np

from dist_torch import _dtype
from dist_torch._tensor import Tensor, _wrap
from dist_torch.backend import array_module

__all__ = [
    "InterpolationMode", "get_dimensions", "get_image_size", "get_image_num_channels",
    "to_tensor", "pil_to_tensor", "normalize", "resize", "crop", "center_crop", "pad", "hflip",
    "vflip", "resized_crop", "convert_image_dtype",
]


class InterpolationMode(Enum):
    """Interpolation methods, named as torchvision names them."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


_PIL_CODES = {0: InterpolationMode.NEAREST, 2: InterpolationMode.BILINEAR,
              3: InterpolationMode.BICUBIC, 4: InterpolationMode.BOX,
              5: InterpolationMode.HAMMING, 1: InterpolationMode.LANCZOS}


def _interpolation(mode) -> InterpolationMode:
    if isinstance(mode, InterpolationMode):
        return mode
    if isinstance(mode, int) and mode in _PIL_CODES:
        return _PIL_CODES[mode]
    if isinstance(mode, str):
        try:
            return InterpolationMode(mode)
        except ValueError:
            pass
    raise TypeError("Argument interpolation should be of type InterpolationMode instead of "
                    f"{type(mode).__name__}")


# --------------------------------------------------------------------------- image kinds

def _is_pil(img) -> bool:
    return type(img).__module__.startswith("PIL.") and hasattr(img, "mode")


def _as_array_image(img) -> np.ndarray:
    """The (H, W[, C]) array of a NumPy or PIL image; TypeError for anything else."""
    if isinstance(img, np.ndarray):
        if img.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {img.ndim} dimensions.")
        return img
    if _is_pil(img):
        return np.asarray(img)
    raise TypeError(f"img should be a Tensor or a NumPy array of shape (H, W) or (H, W, C). "
                    f"Got {type(img)}")


def _check_tensor_image(img: Tensor) -> None:
    if img.ndim < 2:
        raise TypeError("Tensor is not a torch image.")


def get_dimensions(img) -> list:
    """``[channels, height, width]`` of an image."""
    if isinstance(img, Tensor):
        _check_tensor_image(img)
        shape = img.shape
        return [1 if len(shape) == 2 else shape[-3], shape[-2], shape[-1]]
    a = _as_array_image(img)
    return [1 if a.ndim == 2 else a.shape[2], a.shape[0], a.shape[1]]


def get_image_size(img) -> list:
    """``[width, height]`` of an image."""
    _, h, w = get_dimensions(img)
    return [w, h]


def get_image_num_channels(img) -> int:
    return get_dimensions(img)[0]


# --------------------------------------------------------------------------- conversion

def to_tensor(pic) -> Tensor:
    """A (H, W) or (H, W, C) image array (or PIL image) as a (C, H, W) tensor.

    uint8 images become the default float dtype scaled to [0, 1] (``/ 255``); other dtypes
    keep their values and dtype, as torchvision's ``to_tensor`` does for NumPy arrays.
    """
    if isinstance(pic, np.ndarray):
        if pic.ndim == 2 and pic.dtype == np.uint8:  # the MNIST path: no transpose needed
            ftype = _dtype.get_default_dtype().numpy_dtype
            return _wrap(np.divide(pic, ftype.type(255), dtype=ftype)[None])
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
    elif _is_pil(pic):
        mode = pic.mode
        pic = np.array(pic)
        if mode == "1":
            pic = pic.astype(np.uint8) * np.uint8(255)
    else:
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    if pic.ndim == 2:
        pic = pic[:, :, None]
    chw = pic.transpose(2, 0, 1)
    if chw.dtype == np.uint8:
        ftype = _dtype.get_default_dtype().numpy_dtype
        return _wrap(np.divide(chw, ftype.type(255), dtype=ftype, order="C"))
    _dtype.from_numpy_dtype(chw.dtype)  # TypeError for dtypes torch has none of
    return _wrap(np.ascontiguousarray(chw).astype(chw.dtype.newbyteorder("="), copy=False))


def pil_to_tensor(pic) -> Tensor:
    """An image array (or PIL image) as a (C, H, W) tensor of the same dtype, unscaled."""
    if isinstance(pic, Tensor):
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    a = _as_array_image(pic)
    if a.ndim == 2:
        a = a[:, :, None]
    _dtype.from_numpy_dtype(a.dtype)
    return _wrap(np.ascontiguousarray(a.transpose(2, 0, 1)))


def _max_value(d) -> int:
    if d is _dtype.bool:
        return 1
    return int(np.iinfo(d.numpy_dtype).max)


def convert_image_dtype(image: Tensor, dtype=_dtype.float32) -> Tensor:
    """Convert a tensor image to ``dtype``, rescaling values: integer images span
    ``[0, max of the dtype]``, floating images ``[0, 1]``."""
    if not isinstance(image, Tensor):
        raise TypeError("Input img should be Tensor Image")
    if image.dtype is dtype:
        return image
    if image.is_floating_point():
        if dtype.is_floating_point:
            return image.to(dtype)
        if (image.dtype is _dtype.float32 and dtype in (_dtype.int32, _dtype.int64)) or \
                (image.dtype is _dtype.float64 and dtype is _dtype.int64):
            raise RuntimeError(f"The cast from {image.dtype} to {dtype} cannot be performed "
                               "safely.")
        eps = 1e-3
        return image.mul(_max_value(dtype) + 1.0 - eps).to(dtype)
    input_max = _max_value(image.dtype)
    if dtype.is_floating_point:
        return image.to(dtype) / input_max
    output_max = _max_value(dtype)
    if input_max > output_max:
        factor = (input_max + 1) // (output_max + 1)
        return image.div(factor, rounding_mode="floor").to(dtype)
    factor = (output_max + 1) // (input_max + 1)
    return image.to(dtype) * factor


# --------------------------------------------------------------------------- normalize

def normalize(tensor: Tensor, mean, std, inplace: bool = False) -> Tensor:
    """``(tensor - mean) / std`` per channel of a float (..., C, H, W) tensor image."""
    _check_normalize_input(tensor)
    m, s = _normalize_stats(tensor, mean, std)
    return _normalize(tensor, m, s, inplace)


def _check_normalize_input(tensor) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    if not tensor.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError("Expected tensor to be a tensor image of size (..., C, H, W). Got "
                         f"tensor.size() = {tensor.size()}")


def _normalize_stats(tensor: Tensor, mean, std):
    """``mean`` and ``std`` as arrays of the tensor's dtype, shaped (C, 1, 1)."""
    a = tensor._data
    xp = array_module(a)
    m = xp.asarray(mean, dtype=a.dtype)
    s = xp.asarray(std, dtype=a.dtype)
    if not s.all():
        raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading "
                         "to division by zero.")
    if m.ndim == 1:
        m = m.reshape(-1, 1, 1)
    if s.ndim == 1:
        s = s.reshape(-1, 1, 1)
    return m, s


def _fits(small: tuple, big: tuple) -> bool:
    """Whether shape ``small`` broadcasts against ``big`` without changing it."""
    if len(small) > len(big):
        return False
    return all(d == 1 or d == b for d, b in zip(reversed(small), reversed(big)))


def _normalize(tensor: Tensor, m, s, inplace: bool) -> Tensor:
    a = tensor._data
    if not tensor.requires_grad and _fits(m.shape, a.shape) and _fits(s.shape, a.shape):
        xp = array_module(a)
        if not inplace:
            out = a - m
            return _wrap(xp.divide(out, s, out=out))
        xp.subtract(a, m, out=a)
        xp.divide(a, s, out=a)
        tensor._bump_version()
        return tensor
    # autograd, or shapes that do not broadcast: tensor ops (and their errors)
    if not inplace:
        tensor = tensor.clone()
    return tensor.sub_(_wrap(m)).div_(_wrap(s))


# --------------------------------------------------------------------------- geometry

def hflip(img):
    """Flip an image left to right."""
    if isinstance(img, Tensor):
        _check_tensor_image(img)
        return img.flip(-1)
    return _as_array_image(img)[:, ::-1]


def vflip(img):
    """Flip an image upside down."""
    if isinstance(img, Tensor):
        _check_tensor_image(img)
        return img.flip(-2)
    return _as_array_image(img)[::-1]


def _parse_padding(padding) -> list:
    """``[left, top, right, bottom]`` from an int or a 1-, 2- or 4-sequence."""
    if isinstance(padding, numbers.Number):
        return [int(padding)] * 4
    padding = list(padding)
    if len(padding) == 1:
        return [int(padding[0])] * 4
    if len(padding) == 2:
        return [int(padding[0]), int(padding[1])] * 2
    return [int(p) for p in padding]


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    """Pad the borders of an image.

    Args:
        padding: an int (all sides), ``(left/right, top/bottom)`` or
            ``(left, top, right, bottom)``; negative values crop.
        fill: the value of constant padding (a sequence gives one value per channel).
        padding_mode: ``'constant'``, ``'edge'``, ``'reflect'`` or ``'symmetric'``.
    """
    if not isinstance(padding, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate padding arg")
    if not isinstance(fill, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate fill arg")
    if not isinstance(padding_mode, str):
        raise TypeError("Got inappropriate padding_mode arg")
    if isinstance(padding, (tuple, list)) and len(padding) not in (1, 2, 4):
        raise ValueError("Padding must be an int or a 1, 2, or 4 element tuple, not a "
                         f"{len(padding)} element tuple")
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    left, top, right, bottom = _parse_padding(padding)
    if isinstance(img, Tensor):
        _check_tensor_image(img)
        out = _pad_array(img._data, left, top, right, bottom, fill, padding_mode, -2)
        return _wrap(out)
    a = _as_array_image(img)
    return _pad_array(a, left, top, right, bottom, fill, padding_mode, 0)


def _pad_array(a, left, top, right, bottom, fill, mode, hax):
    """Pad axes ``hax`` (height) and ``hax + 1`` (width) of ``a``."""
    xp = array_module(a)
    ndim = a.ndim
    hax %= ndim
    wax = hax + 1
    h, w = a.shape[hax], a.shape[wax]
    if min(left, top, right, bottom) < 0:  # negative padding crops
        index = [slice(None)] * ndim
        index[hax] = slice(max(-top, 0), h - max(-bottom, 0))
        index[wax] = slice(max(-left, 0), w - max(-right, 0))
        a = a[tuple(index)]
        left, top, right, bottom = (max(p, 0) for p in (left, top, right, bottom))
        h, w = a.shape[hax], a.shape[wax]
    if mode != "constant":
        if mode == "reflect" and (max(left, right) >= w or max(top, bottom) >= h):
            raise RuntimeError(f"Padding size should be less than the corresponding input "
                               f"dimension, but got: padding ({left}, {right}) at dimension "
                               f"{wax} of input {list(a.shape)}")
        widths = [(0, 0)] * ndim
        widths[hax], widths[wax] = (top, bottom), (left, right)
        return xp.pad(a, widths, mode=mode)
    shape = list(a.shape)
    shape[hax] += top + bottom
    shape[wax] += left + right
    value = xp.asarray(fill, dtype=np.float64)
    if value.ndim == 1 and value.size > 1:  # one value per channel
        channel_axis = hax - 1 if hax > 0 else ndim - 1
        value = value.reshape([-1 if i == channel_axis else 1 for i in range(ndim)])
    elif value.ndim:
        value = value.reshape(())
    out = xp.empty(shape, dtype=a.dtype)
    out[...] = value.astype(a.dtype) if a.dtype.kind in "biu" else value
    index = [slice(None)] * ndim
    index[hax], index[wax] = slice(top, top + h), slice(left, left + w)
    out[tuple(index)] = a
    return out


def crop(img, top: int, left: int, height: int, width: int):
    """The ``height`` x ``width`` region at (``top``, ``left``); outside the image is 0."""
    _, h, w = get_dimensions(img)
    right, bottom = left + width, top + height
    tensor = isinstance(img, Tensor)
    a = img if tensor else _as_array_image(img)
    region = (slice(max(top, 0), bottom), slice(max(left, 0), right))
    sliced = a[(Ellipsis,) + region] if tensor else a[region]
    if left < 0 or top < 0 or right > w or bottom > h:
        ltrb = [max(-left + min(0, right), 0), max(-top + min(0, bottom), 0),
                max(right - max(w, left), 0), max(bottom - max(h, top), 0)]
        return pad(sliced, ltrb, fill=0)
    return sliced


def _setup_size(size, error_msg: str):
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, (tuple, list)) and len(size) == 1:
        return size[0], size[0]
    if not isinstance(size, (tuple, list)) or len(size) != 2:
        raise ValueError(error_msg)
    return size


def center_crop(img, output_size):
    """The central ``output_size`` (int or (h, w)) region; pads with 0 when it is larger."""
    if isinstance(output_size, numbers.Number):
        output_size = (int(output_size), int(output_size))
    elif isinstance(output_size, (tuple, list)) and len(output_size) == 1:
        output_size = (output_size[0], output_size[0])
    _, h, w = get_dimensions(img)
    ch, cw = output_size
    if cw > w or ch > h:
        ltrb = [(cw - w) // 2 if cw > w else 0, (ch - h) // 2 if ch > h else 0,
                (cw - w + 1) // 2 if cw > w else 0, (ch - h + 1) // 2 if ch > h else 0]
        img = pad(img, ltrb, fill=0)
        _, h, w = get_dimensions(img)
        if cw == w and ch == h:
            return img
    top = int(round((h - ch) / 2.0))
    left = int(round((w - cw) / 2.0))
    return crop(img, top, left, ch, cw)


# --------------------------------------------------------------------------- resize

def _resized_size(h, w, size, max_size):
    if isinstance(size, int):
        size = [size]
    if len(size) == 2:
        return int(size[0]), int(size[1])
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = int(size[0]), int(int(size[0]) * long / short)
    if max_size is not None:
        if max_size <= size[0]:
            raise ValueError(f"max_size = {max_size} must be strictly greater than the requested "
                             f"size for the smaller edge size (size={size})")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    return (new_long, new_short) if w <= h else (new_short, new_long)


def _triangle(x):
    x = np.abs(x)
    return np.where(x < 1.0, 1.0 - x, 0.0)


def _cubic_aa(x, a=-0.5):
    x = np.abs(x)
    near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    far = (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


def _antialias_weights(n_in, n_out, filt, support_half):
    """torch's antialiased resampling matrix (n_out, n_in): the filter is stretched by the
    scale when downsampling and each row is normalised over the taps inside the image."""
    scale = n_in / n_out
    support = support_half * scale if scale >= 1.0 else support_half
    invscale = 1.0 / scale if scale >= 1.0 else 1.0
    center = scale * (np.arange(n_out) + 0.5)
    lo = np.maximum((center - support + 0.5).astype(np.int64), 0)
    hi = np.minimum((center + support + 0.5).astype(np.int64), n_in)
    j = np.arange(n_in)
    weights = filt((j[None, :] - center[:, None] + 0.5) * invscale)
    weights = np.where((j >= lo[:, None]) & (j < hi[:, None]), weights, 0.0)
    total = weights.sum(axis=1, keepdims=True)
    return weights / np.where(total == 0.0, 1.0, total)


def _taps_matrix(n_in, n_out, index, weight):
    out = np.zeros((n_out, n_in))
    rows = np.broadcast_to(np.arange(n_out)[:, None], index.shape)
    np.add.at(out, (rows, np.clip(index, 0, n_in - 1)), weight)
    return out


def _resize_weights(n_in, n_out, mode: str, antialias: bool) -> np.ndarray:
    """The (n_out, n_in) float64 matrix that resamples one axis as torch's interpolate."""
    if mode in ("nearest", "nearest-exact"):
        scale = np.float32(n_in) / np.float32(n_out)
        dst = np.arange(n_out, dtype=np.float32)
        src = np.floor(dst * scale if mode == "nearest" else (dst + np.float32(0.5)) * scale)
        return _taps_matrix(n_in, n_out, src.astype(np.int64)[:, None], np.ones((n_out, 1)))
    # torch's antialiased kernels run for upsampling too (where, for bicubic, they use PIL's
    # a = -0.5 rather than the a = -0.75 of the plain kernel)
    if mode == "bilinear":
        if antialias:
            return _antialias_weights(n_in, n_out, _triangle, 1.0)
        src = np.maximum((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0)
        i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
        frac = src - i0
        index = np.stack([i0, np.minimum(i0 + 1, n_in - 1)], axis=1)
        return _taps_matrix(n_in, n_out, index, np.stack([1.0 - frac, frac], axis=1))
    if mode == "bicubic":
        if antialias:
            return _antialias_weights(n_in, n_out, _cubic_aa, 2.0)
        a = -0.75
        src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
        i0 = np.floor(src).astype(np.int64)
        t = (src - i0)[:, None]
        x = np.concatenate([t + 1.0, t, 1.0 - t, 2.0 - t], axis=1)
        near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
        far = ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a
        weight = np.where(x <= 1.0, near, far)
        index = i0[:, None] + np.arange(-1, 3)[None, :]
        return _taps_matrix(n_in, n_out, index, weight)
    raise NotImplementedError(f"interpolation mode {mode!r} is not supported (use nearest, "
                              "nearest-exact, bilinear or bicubic)")


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None,
           antialias=True):
    """Resize an image to ``size``: ``(h, w)``, or an int (or 1-sequence) for the smaller edge
    keeping the aspect ratio (``max_size`` caps the longer edge).

    Tensors are resampled as ``nn.functional.interpolate`` with ``align_corners=False`` (and
    ``antialias`` for bilinear/bicubic downsampling); integer tensors are rounded back. Image
    arrays are resampled as PIL does (always antialiased, nearest at pixel centres).
    """
    mode = _interpolation(interpolation)
    if isinstance(size, (list, tuple)):
        if len(size) not in (1, 2):
            raise ValueError("Size must be an int or a 1 or 2 element tuple/list, not a "
                             f"{len(size)} element tuple/list")
        if max_size is not None and len(size) != 1:
            raise ValueError("max_size should only be passed if size specifies the length of "
                             "the smaller edge, i.e. size should be an int or a sequence of "
                             "length 1 in torchscript mode.")
    elif not isinstance(size, int):
        raise TypeError(f"Size should be int or sequence. Got {type(size)}")
    _, h, w = get_dimensions(img)
    oh, ow = _resized_size(h, w, size, max_size)
    if (oh, ow) == (h, w):
        return img
    if isinstance(img, Tensor):
        aa = bool(antialias)
        return _resize_tensor(img, oh, ow, mode.value, aa)
    a = _as_array_image(img)
    pil_mode = "nearest-exact" if mode.value.startswith("nearest") else mode.value
    wh = _resize_weights(h, oh, pil_mode, True)
    ww = _resize_weights(w, ow, pil_mode, True)
    out = np.einsum("ih,hw...,jw->ij...", wh, a.astype(np.float64), ww, optimize=True)
    if a.dtype.kind in "biu":
        info = np.iinfo(a.dtype) if a.dtype.kind != "b" else None
        out = np.round(out)
        if info is not None:
            out = np.clip(out, info.min, info.max)
    return out.astype(a.dtype)


def _resize_tensor(img: Tensor, oh, ow, mode, antialias):
    h, w = img.shape[-2], img.shape[-1]
    out_dtype = img.dtype
    x = img if img.is_floating_point() else img.to(_dtype.float32)
    wdtype = x.dtype.numpy_dtype
    xp = array_module(x._data)
    if oh != h:
        x = _wrap(xp.asarray(_resize_weights(h, oh, mode, antialias), dtype=wdtype)) @ x
    if ow != w:
        x = x @ _wrap(xp.asarray(_resize_weights(w, ow, mode, antialias).T, dtype=wdtype))
    if out_dtype is not x.dtype:
        info = np.iinfo(out_dtype.numpy_dtype) if out_dtype is not _dtype.bool else None
        x = x.round()
        if info is not None:
            x = x.clamp(info.min, info.max)
        x = x.to(out_dtype)
    return x


def resized_crop(img, top: int, left: int, height: int, width: int, size,
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
    """Crop the given region, then resize it to ``size``."""
    img = crop(img, top, left, height, width)
    return resize(img, size, interpolation, antialias=antialias)
