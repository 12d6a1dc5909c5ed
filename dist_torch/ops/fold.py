"""Sliding-block and sub-pixel rearrangements: unfold (im2col), fold (col2im), pixel_shuffle
and pixel_unshuffle.

unfold and fold of float32/float64 CuPy arrays run on the CUDA im2col/col2im kernels (in
torch's block layout), both ways.
"""

from __future__ import annotations

import math

from dist_torch import backend as _backend
from dist_torch._tensor import Tensor
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops._im2col import kernel_offsets, offset_slices, pad_spatial, windows

__all__ = ["pixel_shuffle", "pixel_unshuffle"]

_LEAD = (slice(None), slice(None))


def _unfold_array(xpad, kernel, stride, dilation, out):
    """``(N, C, *padded)`` -> ``(N, C * prod(kernel), prod(out))`` (torch's block layout)."""
    xp = array_module(xpad)
    nd = len(kernel)
    view = windows(xpad, kernel, stride, dilation, out)       # (N, C, *out, *kernel)
    order = (0, 1) + tuple(range(2 + nd, 2 + 2 * nd)) + tuple(range(2, 2 + nd))
    n, c = xpad.shape[:2]
    return xp.ascontiguousarray(view.transpose(order)).reshape(
        n, c * math.prod(kernel), math.prod(out))


def _fold_array(cols, channels, padded, kernel, stride, dilation, out):
    """Sum ``(N, C * prod(kernel), prod(out))`` blocks onto a zero ``(N, C, *padded)``."""
    xp = array_module(cols)
    n = cols.shape[0]
    cols = cols.reshape((n, channels) + tuple(kernel) + tuple(out))
    gx = xp.zeros((n, channels) + tuple(padded), dtype=cols.dtype)
    for offsets in kernel_offsets(kernel):
        gx[_LEAD + offset_slices(offsets, stride, dilation, out)] += cols[_LEAD + offsets]
    return gx


def _crop(a, padding, size):
    xp = array_module(a)
    return xp.ascontiguousarray(a[_LEAD + tuple(slice(p, p + s) for p, s in zip(padding, size))])


def _on_kernels(a):
    return a.size > 0 and _backend.use_kernels(a, "im2col")


class Im2Col(Primitive):
    _name = "Im2ColBackward0"
    _kernel_args = None  # set when forward ran the CUDA im2col kernel

    def forward(ctx, x, kernel, dilation, padding, stride, out):
        if _on_kernels(x):
            ctx._kernel_args = (x.shape, kernel, stride, padding, dilation)
            return _backend.kernels().im2col(x, *ctx._kernel_args[1:], layout="unfold")
        xpad = pad_spatial(x, [(p, p) for p in padding])
        ctx.geometry = (x.shape, xpad.shape[2:], kernel, dilation, padding, stride, out)
        return _unfold_array(xpad, kernel, stride, dilation, out)

    def backward(ctx, grad):
        if ctx._kernel_args is not None:
            return _backend.kernels().col2im(grad, *ctx._kernel_args, layout="unfold")
        x_shape, padded, kernel, dilation, padding, stride, out = ctx.geometry
        gx = _fold_array(grad, x_shape[1], padded, kernel, stride, dilation, out)
        return _crop(gx, padding, x_shape[2:])


class Col2Im(Primitive):
    _name = "Col2ImBackward0"
    _kernel_args = None  # set when forward ran the CUDA col2im kernel

    def forward(ctx, cols, channels, size, kernel, dilation, padding, stride, out):
        if _on_kernels(cols):
            ctx._kernel_args = (kernel, stride, padding, dilation)
            shape = (cols.shape[0], channels) + tuple(size)
            return _backend.kernels().col2im(cols, shape, *ctx._kernel_args, layout="unfold")
        padded = tuple(s + 2 * p for s, p in zip(size, padding))
        ctx.geometry = (padded, kernel, dilation, padding, stride, out)
        gx = _fold_array(cols, channels, padded, kernel, stride, dilation, out)
        return _crop(gx, padding, size)

    def backward(ctx, grad):
        if ctx._kernel_args is not None:
            return _backend.kernels().im2col(grad, *ctx._kernel_args, layout="unfold")
        padded, kernel, dilation, padding, stride, out = ctx.geometry
        gpad = pad_spatial(grad, [(p, p) for p in padding])
        return _unfold_array(gpad, kernel, stride, dilation, out)


def _blocks(size, kernel, dilation, padding, stride):
    return [(s + 2 * p - d * (k - 1) - 1) // st + 1
            for s, k, d, p, st in zip(size, kernel, dilation, padding, stride)]


def _pair_arg(value, name):
    if isinstance(value, int):
        return (value, value)
    value = tuple(value)
    if len(value) != 2:
        raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(value)}")
    return value


def _check_block_args(kernel, dilation, padding, stride):
    for name, values, low in (("kernel size", kernel, 1), ("stride", stride, 1),
                              ("dilation", dilation, 1)):
        if any(v < low for v in values):
            key = "kernel" if name == "kernel size" else name
            raise RuntimeError(f"{name} should be greater than zero, but got {key}_height: "
                               f"{values[0]} {key}_width: {values[1]}")
    if any(p < 0 for p in padding):
        raise RuntimeError(f"padding should be non-negative, but got pad_height: {padding[0]} "
                           f"pad_width: {padding[1]}")


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Extract sliding blocks (im2col): ``(N, C, H, W) -> (N, C * kH * kW, L)``.

    Column ``l`` holds block ``l`` (row-major over block positions); rows are ordered
    ``(c, ki, kj)``. Unbatched ``(C, H, W)`` input gives ``(C * kH * kW, L)``.
    """
    kernel = _pair_arg(kernel_size, "kernel_size")
    dilation = _pair_arg(dilation, "dilation")
    padding = _pair_arg(padding, "padding")
    stride = _pair_arg(stride, "stride")
    shape = input.shape
    if input.ndim not in (3, 4) or any(s == 0 for s in shape[-3:]):
        if input.ndim < 3:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[-{input.ndim}, {input.ndim - 1}], but got 2)")
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor with possibly 0 batch size "
                           f"and other non-zero dimensions for input, but got: {list(shape)}")
    _check_block_args(kernel, dilation, padding, stride)
    size = tuple(shape[-2:])
    out = _blocks(size, kernel, dilation, padding, stride)
    if any(o < 1 for o in out):
        spans = [math.trunc((s + 2 * p - d * (k - 1) - 1) / st) + 1  # C++ division
                 for s, k, d, p, st in zip(size, kernel, dilation, padding, stride)]
        raise RuntimeError(f"Given input with spatial size {size}, kernel_size={kernel}, "
                           f"dilation={dilation}, padding={padding}, calculated shape of the "
                           f"array of sliding blocks as {tuple(spans)}, but its components must "
                           "be at least one.")
    batched = input.ndim == 4
    x = input if batched else input.unsqueeze(0)
    result = Im2Col.apply(x, kernel=kernel, dilation=dilation, padding=padding, stride=stride,
                          out=tuple(out))
    return result if batched else result.squeeze(0)


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sum sliding blocks back into an image (col2im): ``(N, C * kH * kW, L) -> (N, C, H, W)``
    with ``(H, W) = output_size``; overlapping blocks add up. The adjoint of :func:`unfold`."""
    size = _pair_arg(output_size, "output_size")
    kernel = _pair_arg(kernel_size, "kernel_size")
    dilation = _pair_arg(dilation, "dilation")
    padding = _pair_arg(padding, "padding")
    stride = _pair_arg(stride, "stride")
    shape = input.shape
    if input.ndim not in (2, 3) or any(s == 0 for s in shape[-2:]):
        raise RuntimeError("Expected 2D or 3D (batch mode) tensor for input with possibly 0 "
                           f"batch size and non-zero dimensions for input, but got: "
                           f"{list(shape)}")
    _check_block_args(kernel, dilation, padding, stride)
    area = kernel[0] * kernel[1]
    if shape[-2] % area:
        raise RuntimeError("Expected size of input's dimension 1 to be divisible by the product "
                           f"of kernel_size, but got input.size(1)={shape[-2]} and "
                           f"kernel_size={kernel}.")
    out = _blocks(size, kernel, dilation, padding, stride)
    if out[0] * out[1] != shape[-1] or any(o < 1 for o in out):
        raise RuntimeError(f"Given output_size={size}, kernel_size={kernel}, "
                           f"dilation={dilation}, padding={padding}, stride={stride}, expected "
                           "size of input's dimension 2 to match the calculated number of "
                           f"sliding blocks {out[0]} * {out[1]} = {out[0] * out[1]}, but got "
                           f"input.size(2)={shape[-1]}.")
    batched = input.ndim == 3
    cols = input if batched else input.unsqueeze(0)
    result = Col2Im.apply(cols, channels=shape[-2] // area, size=size, kernel=kernel,
                          dilation=dilation, padding=padding, stride=stride, out=tuple(out))
    return result if batched else result.squeeze(0)


# --------------------------------------------------------------------------- pixel shuffle

class PixelShuffle(Primitive):
    """``(*, C * r * r, H, W) <-> (*, C, H * r, W * r)`` (``inverse``: pixel_unshuffle)."""

    _name = "PixelShuffleBackward0"

    def forward(ctx, x, factor, inverse):
        ctx.factor, ctx.inverse, ctx.shape = factor, inverse, x.shape
        return _shuffle(x, factor, inverse)

    def backward(ctx, grad):
        return _shuffle(grad, ctx.factor, not ctx.inverse)


class PixelUnshuffle(PixelShuffle):
    _name = "PixelUnshuffleBackward0"


def _shuffle(a, r, inverse):
    xp = array_module(a)
    lead = a.shape[:-3]
    c, h, w = a.shape[-3:]
    k = len(lead)
    if not inverse:
        blocks = a.reshape(lead + (c // (r * r), r, r, h, w))
        order = tuple(range(k)) + tuple(k + i for i in (0, 3, 1, 4, 2))
        return xp.ascontiguousarray(blocks.transpose(order)).reshape(
            lead + (c // (r * r), h * r, w * r))
    blocks = a.reshape(lead + (c, h // r, r, w // r, r))
    order = tuple(range(k)) + tuple(k + i for i in (0, 2, 4, 1, 3))
    return xp.ascontiguousarray(blocks.transpose(order)).reshape(
        lead + (c * r * r, h // r, w // r))


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """Rearrange ``(*, C * r^2, H, W)`` into ``(*, C, H * r, W * r)`` (sub-pixel convolution)."""
    r = upscale_factor
    if input.ndim < 3:
        raise RuntimeError("pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    if input.shape[-3] % (r * r):
        raise RuntimeError("pixel_shuffle expects its input's 'channel' dimension to be "
                           "divisible by the square of upscale_factor, but input.size(-3)="
                           f"{input.shape[-3]} is not divisible by {r * r}")
    return PixelShuffle.apply(input, factor=r, inverse=False)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """Rearrange ``(*, C, H * r, W * r)`` into ``(*, C * r^2, H, W)`` (inverse of
    :func:`pixel_shuffle`)."""
    r = downscale_factor
    if input.ndim < 3:
        raise RuntimeError("pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    for name, dim in (("height", -2), ("width", -1)):
        if input.shape[dim] % r:
            raise RuntimeError(f"pixel_unshuffle expects {name} to be divisible by "
                               f"downscale_factor, but input.size({dim})={input.shape[dim]} is "
                               f"not divisible by {r}")
    return PixelUnshuffle.apply(input, factor=r, inverse=True)
