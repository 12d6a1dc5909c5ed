"""Array helpers shared by convolution and pooling: padding, sliding windows, im2col/col2im.

All helpers work on any number of spatial dimensions. Arrays are ``(N, C, *spatial)`` unless
said otherwise. The column matrix is laid out ``(C, *kernel, N, *out)``: rows are the (channel,
kernel offset) pairs in the order of a ``(O, C, *kernel)`` weight, columns the output
positions of all samples, so a convolution is one GEMM ``weight2d @ col`` whose result
``(O, N * P)`` needs only one transposing copy to become ``(N, O, *out)``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from dist_torch.backend import array_module


def out_size(size: int, kernel: int, stride: int, pad_lo: int, pad_hi: int, dilation: int,
             ceil_mode: bool = False) -> int:
    """Number of window positions along one dimension (torch's pooling/conv formula).

    With ``ceil_mode`` a last partial window counts, unless it would start in the right
    padding (then it is dropped, as in torch).
    """
    span = size + pad_lo + pad_hi - dilation * (kernel - 1) - 1
    if ceil_mode:
        n = -(-span // stride) + 1
        if (n - 1) * stride >= size + pad_lo:
            n -= 1
        return n
    return span // stride + 1


def pad_spatial(x, pads, value=0):
    """``x`` with each spatial dim padded by ``pads[i] = (lo, hi)`` (both >= 0) of ``value``."""
    if not any(lo or hi for lo, hi in pads):
        return x
    xp = array_module(x)
    lead = x.ndim - len(pads)
    shape = x.shape[:lead] + tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[lead:], pads))
    out = xp.zeros(shape, dtype=x.dtype) if value == 0 else xp.full(shape, value, x.dtype)
    out[(Ellipsis,) + tuple(slice(lo, lo + s) for s, (lo, _) in zip(x.shape[lead:], pads))] = x
    return out


def windows(x, kernel, stride, dilation, out):
    """Read-only view ``(*lead, *out, *kernel)`` of the sliding windows over the trailing
    ``len(kernel)`` dims of ``x`` (no copy)."""
    xp = array_module(x)
    nd = len(kernel)
    lead = x.ndim - nd
    st = x.strides
    shape = x.shape[:lead] + tuple(out) + tuple(kernel)
    strides = st[:lead] + tuple(st[lead + i] * stride[i] for i in range(nd)) + \
        tuple(st[lead + i] * dilation[i] for i in range(nd))
    if xp is np:
        return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)
    return xp.lib.stride_tricks.as_strided(x, shape, strides)


def offset_slices(offsets, stride, dilation, out):
    """The strided slices of a padded input that kernel offset ``offsets`` reads."""
    return tuple(slice(o * d, o * d + (n - 1) * s + 1, s)
                 for o, s, d, n in zip(offsets, stride, dilation, out))


def kernel_offsets(kernel):
    return itertools.product(*(range(k) for k in kernel))


def im2col(x, kernel, stride, dilation, out):
    """Column matrix ``(C * prod(kernel), N * prod(out))`` of a (padded) ``(N, C, *S)`` input."""
    xp = array_module(x)
    nd = len(kernel)
    view = windows(x, kernel, stride, dilation, out)          # (N, C, *out, *kernel)
    order = (1,) + tuple(range(2 + nd, 2 + 2 * nd)) + (0,) + tuple(range(2, 2 + nd))
    col = xp.ascontiguousarray(view.transpose(order))         # (C, *kernel, N, *out)
    n, c = x.shape[:2]
    return col.reshape(c * math.prod(kernel), n * math.prod(out))


def col2im(col, channels, batch, padded, kernel, stride, dilation, out):
    """Sum the columns of ``col`` (rows ``(C, *kernel)``, columns ``(N, *out)``) back onto a
    zero ``(C, N, *padded)`` array: the adjoint of :func:`im2col` (channel-major result).

    One strided add per kernel offset; windows that do not overlap are written directly.
    """
    xp = array_module(col)
    col = col.reshape((channels,) + tuple(kernel) + (batch,) + tuple(out))
    overlap = any(s < d * (k - 1) + 1 for k, s, d in zip(kernel, stride, dilation))
    covers = not overlap and all(
        s == d * (k - 1) + 1 and d == 1 and n * s == p
        for k, s, d, n, p in zip(kernel, stride, dilation, out, padded))
    shape = (channels, batch) + tuple(padded)
    gx = xp.empty(shape, dtype=col.dtype) if covers else xp.zeros(shape, dtype=col.dtype)
    lead = (slice(None), slice(None))
    for offsets in kernel_offsets(kernel):
        target = lead + offset_slices(offsets, stride, dilation, out)
        if overlap:
            gx[target] += col[(slice(None),) + offsets]
        else:
            gx[target] = col[(slice(None),) + offsets]
    return gx
