"""torchvision.transforms' classes for dist_torch.

Random transforms draw from dist_torch's default generator, so ``torch.manual_seed`` makes
augmentation reproducible. Images are tensors (..., C, H, W) or, before ``ToTensor``, NumPy
arrays (H, W[, C]) standing in for PIL images (see :mod:`.functional`).
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence

from dist_torch.nn.modules.module import Module
from dist_torch.random import rng_of
from dist_torch.vision.transforms import functional as F
from dist_torch.vision.transforms.functional import InterpolationMode, _interpolation

__all__ = [
    "Compose", "ToTensor", "PILToTensor", "ConvertImageDtype", "Normalize", "Lambda", "Resize",
    "CenterCrop", "Pad", "RandomCrop", "RandomHorizontalFlip", "RandomVerticalFlip",
    "RandomResizedCrop", "RandomApply",
]

_SIZE_ERROR = "Please provide only two dimensions (h, w) for size."


def _rand() -> float:
    """One uniform draw in [0, 1) from the default generator (torch.rand(1))."""
    return float(rng_of(None).random())


def _randint(low: int, high: int) -> int:
    """One integer in [low, high) from the default generator (torch.randint)."""
    return int(rng_of(None).integers(low, high))


def _uniform(low: float, high: float) -> float:
    return low + (high - low) * _rand()


class Compose:
    """Chain transforms: ``Compose([t1, t2])(img) == t2(t1(img))``.

    Example::

        >>> transforms.Compose([transforms.ToTensor(),
        ...                     transforms.Normalize((0.1307,), (0.3081,))])
    """

    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        return type(self).__name__ + "(" + "".join(f"\n    {t}" for t in self.transforms) + \
            "\n)"


class ToTensor:
    """Convert a (H, W) or (H, W, C) image array (a PIL image where PIL is installed) to a
    (C, H, W) tensor; uint8 images are scaled to floats in [0, 1]."""

    def __call__(self, pic):
        return F.to_tensor(pic)

    def __repr__(self):
        return f"{type(self).__name__}()"


class PILToTensor:
    """Convert an image array to a (C, H, W) tensor of the same dtype, without scaling."""

    def __call__(self, pic):
        return F.pil_to_tensor(pic)

    def __repr__(self):
        return f"{type(self).__name__}()"


class ConvertImageDtype(Module):
    """Convert a tensor image to ``dtype`` and rescale its values accordingly."""

    def __init__(self, dtype):
        super().__init__()
        self.dtype = dtype

    def forward(self, image):
        return F.convert_image_dtype(image, self.dtype)


class Normalize(Module):
    """``(image - mean) / std`` per channel of a float tensor image.

    Args:
        mean: per-channel means.  std: per-channel standard deviations.
        inplace: overwrite the input tensor.
    """

    def __init__(self, mean, std, inplace: bool = False):
        super().__init__()
        self.mean = mean
        self.std = std
        self.inplace = inplace
        self._stats = {}  # (dtype, array type, mean, std ids) -> prepared arrays

    def forward(self, tensor):
        F._check_normalize_input(tensor)
        key = (tensor._data.dtype, type(tensor._data), id(self.mean), id(self.std))
        stats = self._stats.get(key)
        if stats is None:
            stats = self._stats[key] = F._normalize_stats(tensor, self.mean, self.std)
        return F._normalize(tensor, *stats, self.inplace)

    def __repr__(self):
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


class Lambda:
    """Apply a user function as a transform."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return f"{type(self).__name__}()"


class Resize(Module):
    """Resize to ``size`` ((h, w), or an int for the smaller edge keeping the aspect ratio).

    Args:
        size: output size.
        interpolation: an :class:`InterpolationMode` (nearest, nearest-exact, bilinear,
            bicubic) or a PIL integer code.
        max_size: cap on the longer edge when ``size`` is an int.
        antialias: antialias bilinear/bicubic downsampling of tensors (arrays always are).
    """

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None,
                 antialias=True):
        super().__init__()
        if not isinstance(size, (int, Sequence)):
            raise TypeError(f"Size should be int or sequence. Got {type(size)}")
        if isinstance(size, Sequence) and len(size) not in (1, 2):
            raise ValueError("If size is a sequence, it should have 1 or 2 values")
        self.size = size
        self.max_size = max_size
        self.interpolation = _interpolation(interpolation)
        self.antialias = antialias

    def forward(self, img):
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)

    def __repr__(self):
        return (f"{type(self).__name__}(size={self.size}, "
                f"interpolation={self.interpolation.value}, max_size={self.max_size}, "
                f"antialias={self.antialias})")


class CenterCrop(Module):
    """Crop the centre ``size`` (int or (h, w)) region, padding with 0 if it is larger."""

    def __init__(self, size):
        super().__init__()
        self.size = F._setup_size(size, _SIZE_ERROR)

    def forward(self, img):
        return F.center_crop(img, self.size)

    def __repr__(self):
        return f"{type(self).__name__}(size={self.size})"


def _check_pad_args(padding, fill, padding_mode):
    if not isinstance(padding, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate padding arg")
    if not isinstance(fill, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate fill arg")
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    if isinstance(padding, Sequence) and len(padding) not in (1, 2, 4):
        raise ValueError("Padding must be an int or a 1, 2, or 4 element tuple, not a "
                         f"{len(padding)} element tuple")


class Pad(Module):
    """Pad the borders: ``padding`` is an int, (left/right, top/bottom) or
    (left, top, right, bottom); ``padding_mode`` constant, edge, reflect or symmetric."""

    def __init__(self, padding, fill=0, padding_mode="constant"):
        super().__init__()
        _check_pad_args(padding, fill, padding_mode)
        self.padding = padding
        self.fill = fill
        self.padding_mode = padding_mode

    def forward(self, img):
        return F.pad(img, self.padding, self.fill, self.padding_mode)

    def __repr__(self):
        return (f"{type(self).__name__}(padding={self.padding}, fill={self.fill}, "
                f"padding_mode={self.padding_mode})")


class RandomCrop(Module):
    """Crop a random ``size`` region, after optional padding.

    Args:
        size: int or (h, w).
        padding: border added first (int, 2- or 4-sequence), as :class:`Pad`.
        pad_if_needed: pad an image smaller than ``size`` up to it.
        fill, padding_mode: as :class:`Pad`.

    Example::

        >>> transforms.RandomCrop(32, padding=4)   # the CIFAR augmentation
    """

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0,
                 padding_mode="constant"):
        super().__init__()
        self.size = tuple(F._setup_size(size, _SIZE_ERROR))
        if padding is not None:
            _check_pad_args(padding, fill, padding_mode)
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    @staticmethod
    def get_params(img, output_size):
        """``(top, left, height, width)`` of a random crop of ``output_size``."""
        _, h, w = F.get_dimensions(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size "
                             f"{(h, w)}")
        if w == tw and h == th:
            return 0, 0, h, w
        return _randint(0, h - th + 1), _randint(0, w - tw + 1), th, tw

    def forward(self, img):
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, height, width = F.get_dimensions(img)
        if self.pad_if_needed and width < self.size[1]:
            img = F.pad(img, [self.size[1] - width, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and height < self.size[0]:
            img = F.pad(img, [0, self.size[0] - height], self.fill, self.padding_mode)
        i, j, h, w = self.get_params(img, self.size)
        return F.crop(img, i, j, h, w)

    def __repr__(self):
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip(Module):
    """Flip the image left to right with probability ``p``."""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, img):
        return F.hflip(img) if _rand() < self.p else img

    def __repr__(self):
        return f"{type(self).__name__}(p={self.p})"


class RandomVerticalFlip(Module):
    """Flip the image upside down with probability ``p``."""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, img):
        return F.vflip(img) if _rand() < self.p else img

    def __repr__(self):
        return f"{type(self).__name__}(p={self.p})"


class RandomResizedCrop(Module):
    """Crop a random area (fraction in ``scale``, aspect ratio in ``ratio``) and resize it to
    ``size`` (the ImageNet augmentation)."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
        super().__init__()
        self.size = F._setup_size(size, _SIZE_ERROR)
        if not isinstance(scale, Sequence):
            raise TypeError("Scale should be a sequence")
        if not isinstance(ratio, Sequence):
            raise TypeError("Ratio should be a sequence")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            warnings.warn("Scale and ratio should be of kind (min, max)", stacklevel=2)
        self.interpolation = _interpolation(interpolation)
        self.antialias = antialias
        self.scale = scale
        self.ratio = ratio

    @staticmethod
    def get_params(img, scale, ratio):
        """``(top, left, height, width)`` of a random crop with the given area fraction and
        aspect ratio ranges (a central crop after 10 misses)."""
        _, height, width = F.get_dimensions(img)
        area = height * width
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            target_area = area * _uniform(scale[0], scale[1])
            aspect_ratio = math.exp(_uniform(log_ratio[0], log_ratio[1]))
            w = int(round(math.sqrt(target_area * aspect_ratio)))
            h = int(round(math.sqrt(target_area / aspect_ratio)))
            if 0 < w <= width and 0 < h <= height:
                return _randint(0, height - h + 1), _randint(0, width - w + 1), h, w
        in_ratio = float(width) / float(height)
        if in_ratio < min(ratio):
            w = width
            h = int(round(w / min(ratio)))
        elif in_ratio > max(ratio):
            h = height
            w = int(round(h * max(ratio)))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def forward(self, img):
        i, j, h, w = self.get_params(img, self.scale, self.ratio)
        return F.resized_crop(img, i, j, h, w, self.size, self.interpolation,
                              antialias=self.antialias)

    def __repr__(self):
        scale = tuple(round(s, 4) for s in self.scale)
        ratio = tuple(round(r, 4) for r in self.ratio)
        return (f"{type(self).__name__}(size={self.size}, scale={scale}, ratio={ratio}, "
                f"interpolation={self.interpolation.value}, antialias={self.antialias})")


class RandomApply(Module):
    """Apply the list of ``transforms`` with probability ``p`` (all or none)."""

    def __init__(self, transforms, p=0.5):
        super().__init__()
        self.transforms = transforms
        self.p = p

    def forward(self, img):
        if self.p < _rand():
            return img
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        lines = [f"    p={self.p}"] + [f"    {t}" for t in self.transforms]
        return type(self).__name__ + "(\n" + "\n".join(lines) + "\n)"
