"""Padding and resizing: pad, interpolate (and the deprecated upsample aliases),
pixel_shuffle, pixel_unshuffle and channel_shuffle."""

from __future__ import annotations

import math
import warnings

from dist_torch._tensor import Tensor
from dist_torch.amp._policy import autocast_op, interpolate_op, pad_op
from dist_torch.autograd.function import _LEGACY_TYPE_NAMES
from dist_torch.ops._reduce import LOW_FLOATS, is_floating
from dist_torch.ops.fold import pixel_shuffle, pixel_unshuffle
from dist_torch.ops.padding import check_pad, constant_pad
from dist_torch.ops.resample import (
    cubic_taps,
    linear_taps,
    nearest_taps,
    pad_taps,
    resample_class,
)

__all__ = ["pad", "interpolate", "upsample", "upsample_nearest", "upsample_bilinear",
           "pixel_shuffle", "pixel_unshuffle", "channel_shuffle"]

_SIZE_NAMES = {1: ("W",), 2: ("H", "W"), 3: ("D", "H", "W")}
_UNSUPPORTED = (
    "Padding size {} is not supported for {}D input tensor.\n"
    "Supported combinations for non-constant padding:\n"
    "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
    "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
    "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
_PAD_NODES = {"reflect": "ReflectionPad{}DBackward0", "replicate": "ReplicationPad{}DBackward0",
              "circular": "CopySlices"}


@autocast_op("pad", resolve=pad_op)
def pad(input: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """Pad the trailing dims of ``input``.

    Args:
        pad: ``(left, right)`` for the last dim, then ``(top, bottom)`` for the one before,
            and so on; negative amounts crop.
        mode: ``'constant'`` (any number of dims, filled with ``value``, default 0),
            ``'reflect'``, ``'replicate'`` or ``'circular'`` (the last 1, 2 or 3 dims of a
            batched or unbatched input).

    Example::

        >>> F.pad(torch.ones(1, 2), (1, 2))
        tensor([[0., 1., 1., 0., 0.]])
    """
    pad = check_pad(input, pad)
    if mode == "constant":
        return constant_pad(input, pad, value)
    if mode not in _PAD_NODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    n = len(pad) // 2
    shape = input._data.shape
    if n not in (1, 2, 3) or input.ndim not in (n + 1, n + 2):
        raise NotImplementedError(_UNSUPPORTED.format(len(pad), input.ndim))
    pairs = [(pad[2 * i], pad[2 * i + 1]) for i in reversed(range(n))]
    spatial = shape[input.ndim - n:]
    if mode == "reflect":
        if any(s == 0 for s in shape[1 if input.ndim == n + 2 else 0:]):
            raise RuntimeError(f"Expected {n + 1}D or {n + 2}D (batch mode) tensor with possibly "
                               "0 batch size and other non-zero dimensions for input, but got: "
                               f"{list(shape)}")
        for d, (s, (lo, hi)) in enumerate(zip(spatial, pairs)):
            if lo >= s or hi >= s:
                raise RuntimeError(
                    f"Argument #{4 if n < 3 else 8}: Padding size should be less than the "
                    f"corresponding input dimension, but got: padding ({lo}, {hi}) at dimension "
                    f"{input.ndim - n + d} of input {list(shape)}")
    out = [s + lo + hi for s, (lo, hi) in zip(spatial, pairs)]
    if mode == "circular":
        if any(lo > s or hi > s for s, (lo, hi) in zip(spatial, pairs)):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if any(o <= 0 for o in out):
            raise RuntimeError("Negative padding value is resulting in an empty dimension")
    elif any(o < 1 for o in out):
        names = _SIZE_NAMES[n]
        raise RuntimeError(
            "input (" + ", ".join(f"{a}: {s}" for a, s in zip(names, spatial)) + ") is too "
            "small. Calculated output " + " ".join(f"{a}: {o}" for a, o in zip(names, out)))
    taps = tuple(pad_taps(s, lo, hi, mode) for s, (lo, hi) in zip(spatial, pairs))
    return resample_class(_PAD_NODES[mode].format(n)).apply(input, taps=taps)


# --------------------------------------------------------------------------- interpolate

_INTERP_MODES = ("linear", "bilinear", "bicubic", "trilinear")
_MODE_DIMS = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}
_NODE_STEM = {"nearest": "UpsampleNearest{}D", "nearest-exact": "UpsampleNearestExact{}D",
              "linear": "UpsampleLinear{}D", "bilinear": "UpsampleBilinear{}D",
              "bicubic": "UpsampleBicubic{}D", "trilinear": "UpsampleTrilinear{}D"}


def _kernel_name(mode, dim):
    """The kernel torch names when it refuses an integer dtype."""
    if dim == 2 and mode != "bicubic":
        return f"upsample_{'nearest' if mode.startswith('nearest') else mode}2d_channels_last"
    kind = {"bicubic": "cubic", "bilinear": "linear", "trilinear": "linear"}.get(mode, mode)
    return f"compute_indices_weights_{'nearest' if kind.startswith('nearest') else kind}"


@autocast_op("interpolate", resolve=interpolate_op)
def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners=None, recompute_scale_factor=None, antialias: bool = False):
    """Resize the spatial dims of a ``(N, C, *spatial)`` input (1 to 3 spatial dims).

    Args:
        size: output spatial size (int or one per dim), or
        scale_factor: multiplier (float or one per dim); the output size is
            ``floor(in * scale_factor)``, and unless ``recompute_scale_factor`` the given
            factor (not ``out / in``) maps output to input coordinates.
        mode: ``'nearest'``, ``'nearest-exact'``, ``'linear'`` (3-D input), ``'bilinear'``,
            ``'bicubic'`` (4-D), ``'trilinear'`` (5-D) or ``'area'`` (adaptive average).
        align_corners: for the interpolating modes, map corner pixel centres onto each other
            (default False).

    Example::

        >>> F.interpolate(torch.tensor([[[1., 2.]]]), scale_factor=2, mode='linear')
        tensor([[[1.0000, 1.2500, 1.7500, 2.0000]]])
    """
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    dim = input.ndim - 2
    spatial = list(input.shape[2:])
    scale_factors = None
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but got "
                    f"input with spatial dimensions of {spatial} and output size of {size}. "
                    "Please provide input tensor in (N, C, d1, d2, ...,dK) format and output "
                    "size in (o1, o2, ...,oK) format.")
            if not all(isinstance(s, int) and not isinstance(s, bool) for s in size):
                raise TypeError(
                    "expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                    "Tuple[int, int, int], but got size with types "
                    f"{[type(s) for s in size]}")
            output_size = list(size)
        else:
            output_size = [size] * dim
    elif scale_factor is not None:
        output_size = None
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError(
                    "Input and scale_factor must have the same number of spatial dimensions, "
                    f"but got input with spatial dimensions of {spatial} and scale_factor of "
                    f"shape {scale_factor}. Please provide input tensor in (N, C, d1, d2, "
                    "...,dK) format and scale_factor in (s1, s2, ...,sK) format.")
            scale_factors = [float(s) for s in scale_factor]
        else:
            scale_factors = [float(scale_factor)] * dim
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if mode == "area" and output_size is None:
        recompute_scale_factor = True
    if recompute_scale_factor:
        output_size = [math.floor(float(s) * f) for s, f in zip(spatial, scale_factors)]
        scale_factors = None
    if antialias and not (mode in ("bilinear", "bicubic") and input.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos "
                         "modes and requires a 4-D tensor as input")
    if input.ndim in (3, 4, 5) and mode in _MODE_DIMS and input.ndim != _MODE_DIMS[mode]:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs "
                                  f"{_MODE_DIMS[mode]}D input")
    if input.ndim not in (3, 4, 5) or mode not in (*_NODE_STEM, "area"):
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
            "the modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
            f"nearest-exact (got {mode})")
    if antialias:
        raise NotImplementedError("interpolate(antialias=True) is not supported by dist_torch")
    if output_size is None:
        output_size = [math.floor(float(s) * f) for s, f in zip(spatial, scale_factors)]
    if mode == "area":
        from dist_torch.nn.functional.pooling import _adaptive_avg_pool
        return _adaptive_avg_pool(input, output_size, dim)
    if any(s <= 0 for s in spatial) or any(o <= 0 for o in output_size):
        names = _SIZE_NAMES[dim]
        raise RuntimeError(
            "Input and output sizes should be greater than 0, but got input (" +
            ", ".join(f"{a}: {s}" for a, s in zip(names, spatial)) +
            (") and output (" if dim == 1 else ") output (") +
            ", ".join(f"{a}: {o}" for a, o in zip(names, output_size)) + ")")
    np_dtype = input._data.dtype
    if not is_floating(np_dtype) and not (mode.startswith("nearest") and np_dtype.kind == "u"):
        from dist_torch._dtype import from_numpy_dtype
        name = _LEGACY_TYPE_NAMES[from_numpy_dtype(np_dtype).name]
        raise NotImplementedError(f'"{_kernel_name(mode, dim)}" not implemented for '
                                  f"'{name}'")
    factors = scale_factors or [None] * dim
    if np_dtype in LOW_FLOATS and not mode.startswith("nearest"):
        # as torch: weights and sums in float32, one rounding at the end
        return _resample(input.float(), mode, dim, spatial, output_size, factors,
                         align_corners).to(input.dtype)
    return _resample(input, mode, dim, spatial, output_size, factors, align_corners)


def _resample(input, mode, dim, spatial, output_size, factors, align_corners):
    np_dtype = input._data.dtype
    taps = []
    for s, o, f in zip(spatial, output_size, factors):
        if mode in ("nearest", "nearest-exact"):
            taps.append(nearest_taps(s, o, f, exact=mode == "nearest-exact"))
        elif mode == "bicubic":
            taps.append(cubic_taps(s, o, f, align_corners, np_dtype))
        else:
            taps.append(linear_taps(s, o, f, align_corners, np_dtype))
    node = _NODE_STEM[mode].format(dim) + "Backward0"
    return resample_class(node).apply(input, taps=tuple(taps))


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of :func:`interpolate`."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", UserWarning, stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(input, size, scale_factor, mode='nearest')``."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", UserWarning, stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)``."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", UserWarning, stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Split the channels (dim 1) of ``(N, C, *)`` into ``groups`` groups and interleave them:
    ``(N, g, C / g, *) -> (N, C / g, g, *)`` (ShuffleNet)."""
    if input.ndim <= 2:
        raise RuntimeError("channel_shuffle expects input with > 2 dims, but got input with "
                           f"sizes {list(input.shape)}")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of "
                           f"groups:{groups}")
    n, c = input.shape[0], input.shape[1]
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {groups} groups.")
    rest = tuple(input.shape[2:])
    blocks = input.reshape((n, groups, c // groups) + rest).transpose(1, 2)
    return blocks.reshape((n, c) + rest)
