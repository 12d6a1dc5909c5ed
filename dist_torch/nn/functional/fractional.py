"""Fractional max pooling (Graham, 2014) over 2 or 3 spatial dims.

Each (sample, channel) plane gets one random number per spatial dim; it places the
``output`` windows of fixed size ``kernel`` pseudo-randomly along that dim, exactly as torch
does (``start_i = int((i + u) * alpha) - int(u * alpha)`` with ``alpha = (in - k) / (out - 1)``
computed in the input dtype, the last window flush with the end). All windows are gathered at
once as flat plane indices, so no Python loop touches a pixel or a plane.
"""

from __future__ import annotations

import math

import numpy as np

import dist_torch as _dt
from dist_torch._tensor import Tensor
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops.pooling import unpool_scatter

__all__ = [
    "fractional_max_pool2d", "fractional_max_pool3d", "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d_with_indices",
]

_WORDS = {2: "a single Int or tuple of Ints", 3: "a single Int or tuple of three Ints"}
_DIM_NAMES = {2: ("height", "width"), 3: ("time", "height", "width")}
# torch's _random_samples[..., j] drives dim _SAMPLE_DIM[nd][j]: 2-d stores (W, H)
_SAMPLE_DIM = {2: (1, 0), 3: (0, 1, 2)}


def _starts(xp, u, size, out, k):
    """Window starts ``(P, out)`` along one dim for the plane samples ``u`` ``(P,)``."""
    dtype = u.dtype
    starts = xp.empty((u.shape[0], out), dtype=np.int64)
    if out > 1:
        alpha = xp.asarray(size - k, dtype=dtype) / xp.asarray(out - 1, dtype=dtype)
        i = xp.arange(out - 1).astype(dtype)
        first = ((i[None, :] + u[:, None]) * alpha).astype(np.int64)
        starts[:, :-1] = first - (u * alpha).astype(np.int64)[:, None]
    if out > 0:
        starts[:, -1] = size - k
    return starts


class FractionalMaxPool(Primitive):
    """``(N, C, *S) -> (N, C, *out)`` max over pseudo-random windows, plus plane indices."""

    _name = "FractionalMaxPool2DBackward0"

    def forward(ctx, x, samples, kernel, out):
        xp = array_module(x)
        nd = len(kernel)
        ctx.unbatched = x.ndim == nd + 1
        if ctx.unbatched:
            x = x[None]
        n, c = x.shape[:2]
        spatial = x.shape[2:]
        planes = n * c
        u = samples[:n].reshape(planes, nd)
        # flat plane index of every window element: (P, *out, *kernel)
        flat = xp.zeros((planes,) + (1,) * (2 * nd), dtype=np.int64)
        for d in range(nd):
            start = _starts(xp, u[:, _SAMPLE_DIM[nd].index(d)], spatial[d], out[d], kernel[d])
            pos = start[:, :, None] + xp.arange(kernel[d])[None, None, :]
            shape = [planes] + [1] * (2 * nd)
            shape[1 + d], shape[1 + nd + d] = out[d], kernel[d]
            flat = flat * spatial[d] + pos.reshape(shape)
        count = math.prod(out)
        window = math.prod(kernel)
        flat = xp.broadcast_to(flat, (planes,) + tuple(out) + tuple(kernel))
        flat = flat.reshape(planes, count, window)
        values = xp.take_along_axis(x.reshape(planes, math.prod(spatial)),
                                    flat.reshape(planes, count * window), axis=1)
        values = values.reshape(planes, count, window)
        # torch's rule: the first maximum, except that a NaN wins and a later NaN replaces it
        best = xp.argmax(values, axis=-1) if window and count else xp.zeros(
            (planes, count), dtype=np.int64)
        if values.dtype.kind == "f" and values.size:
            nan = xp.isnan(values)
            last_nan = window - 1 - xp.argmax(nan[..., ::-1], axis=-1)
            best = xp.where(nan.any(axis=-1), last_nan, best)
        best = best[..., None]
        result = xp.take_along_axis(values, best, axis=-1).reshape((n, c) + tuple(out))
        indices = xp.take_along_axis(flat, best, axis=-1).reshape((n, c) + tuple(out))
        ctx.save_for_backward(indices)
        ctx.x_shape = x.shape
        ctx._non_differentiable = (1,)
        if ctx.unbatched:
            return result[0], indices[0]
        return result, indices

    def backward(ctx, grad, grad_indices=None):
        (indices,) = ctx.saved_tensors
        if ctx.unbatched:
            return unpool_scatter(grad[None], indices[None], ctx.x_shape, True)[0], None
        return unpool_scatter(grad, indices, ctx.x_shape, True), None


class FractionalMaxPool3d(FractionalMaxPool):
    _name = "FractionalMaxPool3DBackward0"


def _sizes(value, nd, fname, argname):
    if isinstance(value, int):
        return (value,) * nd
    value = tuple(value)
    if len(value) == 1:
        return value * nd
    if len(value) != nd:
        raise RuntimeError(f"{fname}: {argname} must either be {_WORDS[nd]}")
    return value


def _fractional(nd, input, kernel_size, output_size, output_ratio, _random_samples):
    fname = f"fractional_max_pool{nd}d"
    cname = fname + ("()" if nd == 2 else "_out()")
    if output_size is None and output_ratio is None:
        raise ValueError(f"{fname} requires specifying either an output_size or an "
                         "output_ratio")
    if output_size is None:
        if len(output_ratio) > nd:
            raise ValueError(f"{fname} requires output_ratio to either be a single Int or "
                             "tuple of Ints.")
        ratio = _sizes(output_ratio, nd, fname, "output_ratio")
        output_size = [int(s * r) for s, r in zip(input.shape[-nd:], ratio)]
    if _random_samples is None:
        batch = 1 if input.dim() == nd + 1 else input.size(0)
        _random_samples = _dt.rand(batch, input.size(-nd - 1), nd, dtype=input.dtype,
                                   device=input.device)
    kernel = _sizes(kernel_size, nd, fname, "kernel_size")
    out = _sizes(output_size, nd, fname, "output_size")
    shape = tuple(input.shape)
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{cname}: Expected {nd + 1}D or {nd + 2}D tensor, but got: "
                           f"{list(shape)}")
    for d in range(1 if input.dim() == nd + 2 else 0, input.dim()):
        if shape[d] == 0:
            raise RuntimeError(f"{cname}: Expected input to have non-zero size for non-batch "
                               f"dimensions, but got{list(shape)} with dimension {d} being "
                               "empty.")
    if any(o < 0 for o in out):
        neg = next(o for o in out if o < 0)
        raise RuntimeError(f"Trying to create tensor with negative dimension {neg}: "
                           f"{[*shape[:-nd], *out]}")
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"{fname}: kernel_size must be greater than zero, but got "
                           f"{list(kernel)}")
    samples = _random_samples
    if samples.dim() != 3:
        raise RuntimeError(f"Expect _random_samples to have 3 dimensions, got {samples.dim()}")
    if samples.size(2) != nd:
        raise RuntimeError(f"Expect _random_samples.size(2) equals to {nd}; got "
                           f"{samples.size(2)}.")
    batch = shape[0] if input.dim() == nd + 2 else 1
    if samples.size(0) < batch:
        raise RuntimeError("Expect _random_samples.size(0) no less then input batch size.")
    if samples.size(1) != shape[-nd - 1]:
        raise RuntimeError("Expect _random_samples.size(1) equals to input channel size.")
    if samples.dtype != input.dtype:
        raise RuntimeError("Expect _random_samples to have the same dtype as input")
    if not input.dtype.is_floating_point:
        from dist_torch.autograd.function import _LEGACY_TYPE_NAMES
        raise NotImplementedError(f"\"{fname}_out_frame\" not implemented for "
                                  f"'{_LEGACY_TYPE_NAMES[input.dtype.name]}'")
    strict = nd == 3  # torch's 3-d check is stricter than its 2-d one by one element
    for name, s, o, k in zip(_DIM_NAMES[nd], shape[-nd:], out, kernel):
        if o + k - 1 > s - strict:
            raise RuntimeError(f"{cname}: pool {name} {k} too large relative to input "
                               f"{name} {s}")
    cls = FractionalMaxPool if nd == 2 else FractionalMaxPool3d
    return cls.apply(input, samples.detach(), kernel=tuple(kernel), out=tuple(out))


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None,
                                       output_ratio=None, return_indices=False,
                                       _random_samples=None) -> tuple[Tensor, Tensor]:
    """2-D fractional max pooling of ``(N, C, H, W)`` or ``(C, H, W)``; returns the output and
    the flat plane index of each maximum.

    Args:
        kernel_size: window size (int or pair).
        output_size: ``(H_out, W_out)``; or give ``output_ratio`` (in ``(0, 1)``) instead.
        _random_samples: ``(N, C, 2)`` numbers in ``[0, 1)`` (W then H) placing the windows;
            drawn from the default generator when omitted.
    """
    return _fractional(2, input, kernel_size, output_size, output_ratio, _random_samples)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None,
                                       output_ratio=None, return_indices=False,
                                       _random_samples=None) -> tuple[Tensor, Tensor]:
    """3-D fractional max pooling of ``(N, C, T, H, W)`` or ``(C, T, H, W)``; returns the
    output and the flat plane indices (``_random_samples``: ``(N, C, 3)``, T, H, W)."""
    return _fractional(3, input, kernel_size, output_size, output_ratio, _random_samples)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """2-D fractional max pooling (see :func:`fractional_max_pool2d_with_indices`); the
    indices are returned too when ``return_indices``."""
    out = _fractional(2, input, kernel_size, output_size, output_ratio, _random_samples)
    return out if return_indices else out[0]


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """3-D fractional max pooling (see :func:`fractional_max_pool3d_with_indices`)."""
    out = _fractional(3, input, kernel_size, output_size, output_ratio, _random_samples)
    return out if return_indices else out[0]
