"""NumPy twins of the pooling and im2col/col2im kernel wrappers, and the 2-D window geometry
(torch's output sizes, padding checks) that the twins and the CUDA wrappers share.

Same contract as :mod:`dist_torch.backend.kernel_twins` (which re-exports these names): the
signatures and outputs of the wrappers in :mod:`dist_torch.backend.cuda_kernels`, on NumPy
arrays. Loops run over kernel offsets, never over pixels.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from dist_torch.ops._im2col import out_size, windows

__all__ = [
    "Pool2d", "pool2d_geometry", "conv2d_geometry", "avg_pool_divisor", "layout_code",
    "LAYOUTS", "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward",
    "avg_pool2d_backward", "im2col", "col2im",
]

LAYOUTS = {"unfold": 0, "gemm": 1}


# --------------------------------------------------------------------------- window geometry

def _pair(value, name) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value * 2
    if len(value) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value}")
    return value


class Pool2d(NamedTuple):
    """Geometry of a 2-D window op over an input ``lead + (h, w)``."""

    lead: tuple
    h: int
    w: int
    kh: int
    kw: int
    sh: int
    sw: int
    ph: int
    pw: int
    dh: int
    dw: int
    oh: int
    ow: int

    @property
    def planes(self) -> int:
        return math.prod(self.lead)


def pool2d_geometry(shape, kernel_size, stride=None, padding=0, dilation=1,
                    ceil_mode=False) -> Pool2d:
    """torch's pooling geometry for an ``(N, C, H, W)`` or ``(C, H, W)`` input."""
    if len(shape) not in (3, 4):
        raise RuntimeError(f"pool2d: expected a 3D or 4D input, got shape {tuple(shape)}")
    kh, kw = _pair(kernel_size, "kernel_size")
    sh, sw = _pair(kernel_size if stride is None or stride == () else stride, "stride")
    ph, pw = _pair(padding, "padding")
    dh, dw = _pair(dilation, "dilation")
    for p, k, d in ((ph, kh, dh), (pw, kw, dw)):
        if p > ((k - 1) * d + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
    h, w = shape[-2:]
    oh = out_size(h, kh, sh, ph, ph, dh, ceil_mode)
    ow = out_size(w, kw, sw, pw, pw, dw, ceil_mode)
    if oh < 1 or ow < 1:
        raise RuntimeError(f"Given input size: ({'x'.join(map(str, shape[-3:]))}). Calculated "
                           f"output size: ({shape[-3]}x{oh}x{ow}). Output size is too small")
    return Pool2d(tuple(shape[:-2]), h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)


def conv2d_geometry(shape, kernel_size, stride=1, padding=0, dilation=1) -> Pool2d:
    """Geometry of im2col/col2im for an ``(N, C, H, W)`` input (symmetric zero padding)."""
    if len(shape) != 4:
        raise RuntimeError(f"im2col: expected a 4D (N, C, H, W) input, got {tuple(shape)}")
    kh, kw = _pair(kernel_size, "kernel_size")
    sh, sw = _pair(stride, "stride")
    ph, pw = _pair(padding, "padding")
    dh, dw = _pair(dilation, "dilation")
    h, w = shape[2:]
    oh = out_size(h, kh, sh, ph, ph, dh)
    ow = out_size(w, kw, sw, pw, pw, dw)
    if oh < 1 or ow < 1:
        raise RuntimeError(f"im2col: the {kh}x{kw} kernel (dilation {dh}x{dw}) does not fit "
                           f"the padded {h}x{w} input")
    return Pool2d(tuple(shape[:2]), h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)


def _padded_zeros(planes_shape, g: Pool2d, value, dtype):
    """An array ``(..., H + ph + hi, W + pw + hi)`` big enough for every window of ``g``."""
    hh = max(g.h + 2 * g.ph, (g.oh - 1) * g.sh + (g.kh - 1) * g.dh + 1)
    ww = max(g.w + 2 * g.pw, (g.ow - 1) * g.sw + (g.kw - 1) * g.dw + 1)
    return np.full(tuple(planes_shape) + (hh, ww), value, dtype=dtype)


def _offset(g: Pool2d, i: int, j: int):
    """The strided slices of the padded input read by kernel offset ``(i, j)``."""
    return (Ellipsis, slice(i * g.dh, i * g.dh + (g.oh - 1) * g.sh + 1, g.sh),
            slice(j * g.dw, j * g.dw + (g.ow - 1) * g.sw + 1, g.sw))


# --------------------------------------------------------------------------- pooling

def _first_valid(start, dilation):
    """The first non-negative position ``start + k * dilation`` (torch's window clipping)."""
    return np.where(start < 0, start + (-(start) + dilation - 1) // dilation * dilation, start)


def max_pool2d_forward(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """``(y, indices)``: window maxima of an ``(N, C, H, W)`` or ``(C, H, W)`` input and
    their flat positions ``h * W + w`` in the input plane (int64)."""
    g = pool2d_geometry(x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    xp_ = _padded_zeros(g.lead, g, -np.inf, x.dtype)
    xp_[..., g.ph:g.ph + g.h, g.pw:g.pw + g.w] = x
    hs = np.arange(g.oh, dtype=np.int64) * g.sh - g.ph
    ws = np.arange(g.ow, dtype=np.int64) * g.sw - g.pw
    best = np.full(g.lead + (g.oh, g.ow), -np.inf, dtype=x.dtype)
    index = np.broadcast_to(_first_valid(hs, g.dh)[:, None] * g.w + _first_valid(ws, g.dw),
                            best.shape).copy()
    for i in range(g.kh):
        for j in range(g.kw):
            v = xp_[_offset(g, i, j)]
            better = (v > best) | np.isnan(v)
            np.copyto(best, v, where=better)
            pos = (hs + i * g.dh)[:, None] * g.w + (ws + j * g.dw)
            np.copyto(index, np.broadcast_to(pos, index.shape), where=better)
    return best, index


def max_pool2d_backward(grad, indices, input_shape, kernel_size, stride=None, padding=0,
                        dilation=1, ceil_mode=False):
    """Input gradient of max pooling: each output gradient goes to its window's winner
    (summed, in the kernel's order, where windows share a winner)."""
    g = pool2d_geometry(input_shape, kernel_size, stride, padding, dilation, ceil_mode)
    gx = _padded_zeros(g.lead, g, 0, grad.dtype)
    hs = np.arange(g.oh, dtype=np.int64) * g.sh - g.ph
    ws = np.arange(g.ow, dtype=np.int64) * g.sw - g.pw
    zero = grad.dtype.type(0)
    for i in reversed(range(g.kh)):  # reversed offsets visit windows in increasing order
        for j in reversed(range(g.kw)):
            pos = (hs + i * g.dh)[:, None] * g.w + (ws + j * g.dw)
            gx[_offset(g, i, j)] += np.where(indices == pos, grad, zero)
    return np.ascontiguousarray(gx[..., g.ph:g.ph + g.h, g.pw:g.pw + g.w])


def avg_pool_divisor(g: Pool2d, count_include_pad, divisor_override):
    """torch's per-window divisor ``(oh, ow)`` (int64)."""
    if divisor_override:
        return np.full((g.oh, g.ow), int(divisor_override), dtype=np.int64)
    counts = []
    for o, s, p, k, n in ((g.oh, g.sh, g.ph, g.kh, g.h), (g.ow, g.sw, g.pw, g.kw, g.w)):
        start = np.arange(o, dtype=np.int64) * s - p
        end = np.minimum(start + k, n + p)
        if count_include_pad:
            counts.append(end - start)
        else:
            counts.append(np.minimum(end, n) - np.maximum(start, 0))
    return counts[0][:, None] * counts[1][None, :]


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                       count_include_pad=True, divisor_override=None):
    """Window means of an ``(N, C, H, W)`` or ``(C, H, W)`` input with torch's divisor."""
    g = pool2d_geometry(x.shape, kernel_size, stride, padding, 1, ceil_mode)
    xp_ = _padded_zeros(g.lead, g, 0, x.dtype)
    xp_[..., g.ph:g.ph + g.h, g.pw:g.pw + g.w] = x
    total = np.zeros(g.lead + (g.oh, g.ow), dtype=x.dtype)
    for i in range(g.kh):
        for j in range(g.kw):
            total += xp_[_offset(g, i, j)]
    return total / avg_pool_divisor(g, count_include_pad, divisor_override).astype(x.dtype)


def avg_pool2d_backward(grad, input_shape, kernel_size, stride=None, padding=0,
                        ceil_mode=False, count_include_pad=True, divisor_override=None):
    """Input gradient of average pooling."""
    g = pool2d_geometry(input_shape, kernel_size, stride, padding, 1, ceil_mode)
    share = grad / avg_pool_divisor(g, count_include_pad, divisor_override).astype(grad.dtype)
    gx = _padded_zeros(g.lead, g, 0, grad.dtype)
    for i in reversed(range(g.kh)):
        for j in reversed(range(g.kw)):
            gx[_offset(g, i, j)] += share
    return np.ascontiguousarray(gx[..., g.ph:g.ph + g.h, g.pw:g.pw + g.w])


# --------------------------------------------------------------------------- im2col

def layout_code(layout: str) -> int:
    try:
        return LAYOUTS[layout]
    except KeyError:
        raise ValueError(f"unknown layout {layout!r}; expected 'unfold' or 'gemm'") from None


def im2col(x, kernel_size, stride=1, padding=0, dilation=1, layout="unfold"):
    """Column matrix of an ``(N, C, H, W)`` input: ``(N, C*kh*kw, OH*OW)`` for
    ``layout='unfold'`` (``F.unfold``), ``(C*kh*kw, N*OH*OW)`` for ``'gemm'``."""
    code = layout_code(layout)
    g = conv2d_geometry(x.shape, kernel_size, stride, padding, dilation)
    n, c = g.lead
    xp_ = _padded_zeros((n, c), g, 0, x.dtype)
    xp_[..., g.ph:g.ph + g.h, g.pw:g.pw + g.w] = x
    view = windows(xp_, (g.kh, g.kw), (g.sh, g.sw), (g.dh, g.dw), (g.oh, g.ow))
    if code == 0:   # (N, C, OH, OW, kh, kw) -> (N, C, kh, kw, OH, OW)
        return np.ascontiguousarray(view.transpose(0, 1, 4, 5, 2, 3)).reshape(
            n, c * g.kh * g.kw, g.oh * g.ow)
    return np.ascontiguousarray(view.transpose(1, 4, 5, 0, 2, 3)).reshape(
        c * g.kh * g.kw, n * g.oh * g.ow)


def col2im(col, input_shape, kernel_size, stride=1, padding=0, dilation=1, layout="unfold"):
    """The adjoint of :func:`im2col` (``F.fold``): sums columns back onto ``input_shape``."""
    code = layout_code(layout)
    g = conv2d_geometry(tuple(input_shape), kernel_size, stride, padding, dilation)
    n, c = g.lead
    if code == 0:
        col6 = col.reshape(n, c, g.kh, g.kw, g.oh, g.ow)
    else:
        col6 = col.reshape(c, g.kh, g.kw, n, g.oh, g.ow).transpose(3, 0, 1, 2, 4, 5)
    gx = _padded_zeros((n, c), g, 0, col.dtype)
    for i in range(g.kh):
        for j in range(g.kw):
            gx[_offset(g, i, j)] += col6[:, :, i, j]
    return np.ascontiguousarray(gx[..., g.ph:g.ph + g.h, g.pw:g.pw + g.w])
