"""Constant padding of trailing dims (negative amounts crop): ``torch.constant_pad_nd``."""

from __future__ import annotations

from dist_torch._tensor import Tensor
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module

__all__ = ["constant_pad_nd"]


def _windows(shape, pads):
    """(source slices in the input, destination slices in the output) of the kept region."""
    src, dst = [], []
    for s, (lo, hi) in zip(shape, pads):
        start = max(0, -lo)
        stop = s - max(0, -hi)
        src.append(slice(start, stop))
        dst.append(slice(max(0, lo), max(0, lo) + stop - start))
    return (Ellipsis,) + tuple(src), (Ellipsis,) + tuple(dst)


class ConstantPad(Primitive):
    """``pads[i] = (lo, hi)`` for the trailing ``len(pads)`` dims."""

    _name = "ConstantPadNdBackward0"

    def forward(ctx, x, pads, value):
        xp = array_module(x)
        lead = x.ndim - len(pads)
        shape = x.shape[:lead] + tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[lead:], pads))
        src, dst = _windows(x.shape[lead:], pads)
        out = xp.zeros(shape, dtype=x.dtype) if value == 0 else xp.full(shape, value, x.dtype)
        out[dst] = x[src]
        ctx.in_shape = x.shape
        ctx.crops = any(lo < 0 or hi < 0 for lo, hi in pads)
        ctx.windows = (src, dst)
        return out

    def backward(ctx, grad):
        xp = array_module(grad)
        src, dst = ctx.windows
        if not ctx.crops:
            return xp.ascontiguousarray(grad[dst])
        gx = xp.zeros(ctx.in_shape, dtype=grad.dtype)
        gx[src] = grad[dst]
        return gx


def pad_pairs(pad):
    """torch's flat ``(last_lo, last_hi, prev_lo, prev_hi, ...)`` as ``(lo, hi)`` per trailing
    dim, first dim first."""
    return tuple((pad[2 * i], pad[2 * i + 1]) for i in reversed(range(len(pad) // 2)))


def constant_pad_nd(input: Tensor, pad, value=0) -> Tensor:
    """Pad the trailing ``len(pad) // 2`` dims of ``input`` with ``value``.

    ``pad`` lists (before, after) amounts starting from the last dim; negative amounts crop.
    """
    pad = check_pad(input, pad)
    return constant_pad(input, pad, value)


def check_pad(input, pad, fname="pad", position=2) -> tuple:
    """Validate torch's flat ``pad`` sequence against ``input``; returns it as a tuple."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{fname}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if isinstance(pad, int) or not hasattr(pad, "__len__"):
        raise TypeError(f"{fname}(): argument 'pad' (position {position}) must be tuple of "
                        f"ints, not {type(pad).__name__}")
    for i, p in enumerate(pad):
        if isinstance(p, bool) or not isinstance(p, int):
            raise TypeError(f"{fname}(): argument 'pad' (position {position}) must be tuple of "
                            f"ints, but found element of type {type(p).__name__} at pos {i}")
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError("Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of "
                           f"dimension {input.ndim}")
    return tuple(pad)


def constant_pad(input: Tensor, pad, value) -> Tensor:
    """:func:`constant_pad_nd` on an already validated ``pad``."""
    pairs = pad_pairs(pad)
    shape = input._data.shape[input._data.ndim - len(pairs):]
    for s, (lo, hi) in zip(shape, pairs):
        if s + min(lo, 0) + min(hi, 0) < 0:  # torch crops (narrows) before it pads
            raise RuntimeError("narrow(): length must be non-negative.")
    if input._data.dtype.kind in "iub" and value is not None:
        value = int(value) if input._data.dtype.kind != "b" else bool(value)
    return ConstantPad.apply(input, pairs, 0 if value is None else value)
