"""Separable gather-and-weight maps over trailing dims: interpolation, adaptive average
pooling and the reflect / replicate / circular paddings.

Each of these maps output position ``j`` of a dimension to a few input positions
``idx_t[j]`` with weights ``w_t[j]`` (nearest: one tap of weight 1; linear: two taps; cubic:
four; adaptive average: the bin's elements, each weighted ``1 / bin size``), one dimension at a
time. Forward is a ``take`` per tap; backward adds the weighted gradient back at ``idx_t``,
in "rounds" of distinct targets so that each round is one vectorized indexed add.
"""

from __future__ import annotations

import numpy as np

from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module

__all__ = []


def _rounds(idx):
    """Split the positions of ``idx`` into groups whose targets ``idx[J]`` are distinct."""
    order = np.argsort(idx, kind="stable")
    ordered = idx[order]
    n = len(idx)
    if n == 0:
        return []
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, n]))
    rank = np.arange(n) - group_start
    out = []
    for r in range(int(rank.max()) + 1):
        pick = rank == r
        out.append((order[pick], ordered[pick]))
    return out


def _weights(w, axis, ndim, xp, dtype):
    shape = [1] * ndim
    shape[axis] = len(w)
    return xp.asarray(w.astype(dtype, copy=False).reshape(shape))


def _gather(y, taps, axis):
    xp = array_module(y)
    acc = None
    for idx, w in taps:
        v = xp.take(y, xp.asarray(idx), axis=axis)
        if w is not None:
            v *= _weights(w, axis, y.ndim, xp, y.dtype)
        if acc is None:
            acc = v
        else:
            acc += v
    return acc


def _scatter(g, taps, axis, size):
    xp = array_module(g)
    shape = list(g.shape)
    shape[axis] = size
    out = xp.zeros(shape, dtype=g.dtype)
    lead = (slice(None),) * axis
    for idx, w in taps:
        gw = g if w is None else g * _weights(w, axis, g.ndim, xp, g.dtype)
        for positions, targets in _rounds(idx):
            out[lead + (xp.asarray(targets),)] += xp.take(gw, xp.asarray(positions), axis=axis)
    return out


class Resample(Primitive):
    """``taps[d]`` (for each of the trailing ``len(taps)`` dims) is None (identity) or a list
    of ``(index, weight or None)`` pairs of host arrays of the output length."""

    _name = "UpsampleNearest2DBackward0"

    def forward(ctx, x, taps):
        ctx.taps = taps
        ctx.in_shape = x.shape
        nd = len(taps)
        y = x
        for d in reversed(range(nd)):  # last dim first: torch's bilinear grouping
            if taps[d] is not None:
                y = _gather(y, taps[d], x.ndim - nd + d)
        if y is x:
            return x.copy()
        return array_module(y).ascontiguousarray(y)

    def backward(ctx, grad):
        taps = ctx.taps
        nd = len(taps)
        ndim = len(ctx.in_shape)
        g = grad
        for d in range(nd):
            if taps[d] is not None:
                axis = ndim - nd + d
                g = _scatter(g, taps[d], axis, ctx.in_shape[axis])
        return g


_NAMES = {}


def resample_class(name: str):
    """A :class:`Resample` subclass whose grad_fn is called ``name`` (torch's node names)."""
    cls = _NAMES.get(name)
    if cls is None:
        cls = _NAMES[name] = type(name.replace("Backward0", ""), (Resample,), {"_name": name})
    return cls


# --------------------------------------------------------------------------- tap builders

def nearest_taps(size, out, scale_factor, exact=False):
    """torch's nearest / nearest-exact source index (computed in float32, as torch does)."""
    if not exact and out == size:
        return [(np.arange(out), None)]
    if not exact and out == 2 * size:
        return [(np.arange(out) >> 1, None)]
    s = np.float32(1.0 / scale_factor) if scale_factor else np.float32(size) / np.float32(out)
    j = np.arange(out, dtype=np.float32)
    src = np.floor((j + np.float32(0.5)) * s if exact else j * s).astype(np.int64)
    return [(np.minimum(src, size - 1), None)]


def _source_index(size, out, scale_factor, align_corners, cubic, np_dtype):
    """torch's ``area_pixel_compute_source_index`` for every output position."""
    t = np_dtype.type
    j = np.arange(out, dtype=np_dtype)
    if align_corners:
        s = t(size - 1) / t(out - 1) if out > 1 else t(0)
        return s * j
    s = t(1.0 / scale_factor) if scale_factor else t(size) / t(out)
    src = s * (j + t(0.5)) - t(0.5)
    return src if cubic else np.maximum(src, t(0))


def linear_taps(size, out, scale_factor, align_corners, np_dtype):
    src = _source_index(size, out, scale_factor, align_corners, False, np_dtype)
    i0 = np.minimum(np.floor(src).astype(np.int64), size - 1)
    lam1 = np.clip(src - i0, 0, 1).astype(np_dtype)
    i1 = np.minimum(i0 + 1, size - 1)
    return [(i0, (1 - lam1).astype(np_dtype)), (i1, lam1)]


def cubic_taps(size, out, scale_factor, align_corners, np_dtype):
    src = _source_index(size, out, scale_factor, align_corners, True, np_dtype)
    i = np.floor(src).astype(np.int64)
    t = (src - i).astype(np_dtype)
    a = np_dtype.type(-0.75)

    def near(x):   # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):    # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    weights = (far(t + 1), near(t), near(1 - t), far(2 - t))
    return [(np.clip(i - 1 + k, 0, size - 1), w.astype(np_dtype)) for k, w in enumerate(weights)]


def area_taps(size, out, np_dtype):
    """Adaptive average pooling along one dim: each bin's elements with weight 1/len."""
    if out == 0:
        return [(np.zeros(0, dtype=np.int64), None)]
    i = np.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    count = end - start
    width = int(count.max())
    taps = []
    for k in range(width):
        valid = k < count
        idx = np.where(valid, start + k, start)
        w = np.where(valid, 1.0 / count, 0.0).astype(np_dtype)
        taps.append((idx, w))
    return taps


def pad_taps(size, lo, hi, mode):
    """Index map of reflect / replicate / circular padding (negative pads crop)."""
    r = np.arange(size + lo + hi) - lo
    if mode == "reflect":
        r = np.abs(r)
        r = np.where(r >= size, 2 * (size - 1) - r, r)
    elif mode == "replicate":
        r = np.clip(r, 0, size - 1)
    else:  # torch crops first, then wraps around what is left
        start, kept = max(0, -lo), size - max(0, -lo) - max(0, -hi)
        r = (np.arange(size + lo + hi) - max(0, lo)) % kept + start
    return [(r.astype(np.int64), None)]
