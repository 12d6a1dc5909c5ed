"""Max and average pooling over 1, 2 or 3 spatial dims, on strided views of the input.

Both primitives walk the kernel offsets (a handful) and combine whole strided slices of the
padded input, so no Python loop ever touches a pixel or a sample: max pooling keeps a running
maximum and the kernel-local index of the winner (torch's rule: the first maximum, except that
a NaN wins and a later NaN replaces it); backward routes each gradient to its winner, one
strided write per offset. Average pooling sums the slices and divides by torch's divisor.
Primitives take batched ``(N, C, *S)`` or unbatched ``(C, *S)`` arrays; the argument checks
and public functions are in :mod:`dist_torch.nn.functional.pooling`.
"""

from __future__ import annotations

import math

import numpy as np

from dist_torch import backend as _backend
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops._im2col import kernel_offsets, offset_slices, out_size, pad_spatial
from dist_torch.ops._reduce import LOW_FLOATS, is_floating

__all__ = []

_LEAD = (slice(None), slice(None))


def pool_geometry(spatial, kernel, stride, padding, dilation, ceil_mode):
    """Output sizes and the ``(lo, hi)`` padding that makes every window fit the array."""
    out = tuple(out_size(s, k, st, p, p, d, ceil_mode)
                for s, k, st, p, d in zip(spatial, kernel, stride, padding, dilation))
    pads = tuple((p, max(0, (o - 1) * st + d * (k - 1) + 1 - p - s))
                 for s, k, st, p, d, o in zip(spatial, kernel, stride, padding, dilation, out))
    return out, pads


def _scatter(xp, shape, dtype, kernel, stride, dilation, out, write, piece):
    """The padded input gradient: window offset ``k``'s slice gets ``piece(k)`` (summed where
    windows overlap, else written in place by ``write(k, target)``): one strided pass per
    kernel offset, never per pixel."""
    overlap = any(s < d * (k - 1) + 1 for k, s, d in zip(kernel, stride, dilation))
    covers = not overlap and all(d == 1 and s == k and n * s == p
                                 for k, s, d, n, p in zip(kernel, stride, dilation, out,
                                                          shape[2:]))
    gx = xp.empty(shape, dtype=dtype) if covers else xp.zeros(shape, dtype=dtype)
    for k, offsets in enumerate(kernel_offsets(kernel)):
        target = gx[_LEAD + offset_slices(offsets, stride, dilation, out)]
        if overlap:
            target += piece(k)
        else:
            write(k, target)
    return gx


def _crop(gx, pads, spatial):
    if not any(lo or hi for lo, hi in pads):
        return gx
    xp = array_module(gx)
    return xp.ascontiguousarray(
        gx[_LEAD + tuple(slice(lo, lo + s) for (lo, _), s in zip(pads, spatial))])


def _lowest(np_dtype):
    if is_floating(np_dtype):
        return -np.inf
    if np_dtype.kind == "b":
        return False
    return np.iinfo(np_dtype).min


def _local_index_dtype(count):
    return np.int8 if count <= 127 else np.int16 if count <= 32767 else np.int32


def plane_indices(local, kernel, stride, padding, dilation, spatial):
    """Flat index into each input plane (torch's ``return_indices``) of kernel-local winners."""
    xp = array_module(local)
    nd = len(kernel)
    local = local.astype(np.int64)
    flat = None
    for d in range(nd):
        inner = math.prod(kernel[d + 1:])
        pos = (local // inner) % kernel[d] if d else local // inner
        shape = [1] * (nd + 2)
        shape[2 + d] = local.shape[2 + d]
        base = (xp.arange(local.shape[2 + d], dtype=np.int64) * stride[d] - padding[d])
        coord = base.reshape(shape) + pos * dilation[d]
        flat = coord if flat is None else flat * spatial[d] + coord
    return flat


def _pool_on_gpu(x, kernel):
    """Whether 2-D pooling of ``x`` (``(N, C, H, W)`` or ``(C, H, W)``) runs on the CUDA
    kernels (float32 and float64)."""
    return len(kernel) == 2 and x.size > 0 and _backend.use_kernels(x, "pooling")


class MaxPool(Primitive):
    """``(N, C, *S) -> (N, C, *out)`` max over windows; optionally also the plane indices."""

    _name = "MaxPool2DWithIndicesBackward0"
    _kernel = False  # forward ran the CUDA kernel

    def forward(ctx, x, kernel, stride, padding, dilation, ceil_mode, return_indices):
        if _pool_on_gpu(x, kernel):
            return ctx._kernel_forward(x, kernel, stride, padding, dilation, ceil_mode,
                                       return_indices)
        xp = array_module(x)
        ctx.unbatched = x.ndim == len(kernel) + 1
        if ctx.unbatched:
            x = x[None]
        spatial = x.shape[2:]
        out, pads = pool_geometry(spatial, kernel, stride, padding, dilation, ceil_mode)
        xpad = pad_spatial(x, pads, _lowest(x.dtype))
        views = [xpad[_LEAD + offset_slices(o, stride, dilation, out)]
                 for o in kernel_offsets(kernel)]
        best = views[0].copy()
        index_type = np.dtype(_local_index_dtype(len(views))).type
        local = xp.zeros(best.shape, dtype=index_type)
        # Branch-free running max (masked writes are slow on random masks); a strictly greater
        # value moves the winner, so ties keep the first, as in torch.
        for k in range(1, len(views)):
            v = views[k]
            better = v > best
            xp.maximum(best, v, out=best)
            xp.maximum(local, better * index_type(k), out=local)
        # np.maximum propagated any NaN into ``best``; only then fix the winners' indices
        if x.dtype.kind == "f" and best.size and (_backend.capturing()
                                                  or bool(xp.isnan(best.min()))):
            for k, v in enumerate(views):  # torch: a NaN wins and a later NaN replaces it
                local = xp.where(xp.isnan(v), index_type(k), local)
        ctx.save_for_backward(local)
        ctx.geometry = (x.shape, xpad.shape, pads, kernel, stride, dilation, out)
        if return_indices:
            ctx._non_differentiable = (1,)
            flat = plane_indices(local, kernel, stride, padding, dilation, spatial)
            return (best[0], flat[0]) if ctx.unbatched else (best, flat)
        return best[0] if ctx.unbatched else best

    def backward(ctx, grad, grad_indices=None):
        if ctx._kernel:
            (indices,) = ctx.saved_tensors
            return _backend.kernels().max_pool2d_backward(grad, indices, *ctx.kernel_args)
        (local,) = ctx.saved_tensors
        x_shape, padded, pads, kernel, stride, dilation, out = ctx.geometry
        xp = array_module(grad)
        if ctx.unbatched:
            grad = grad[None]
        gx = _scatter(xp, padded, grad.dtype, kernel, stride, dilation, out,
                      lambda k, target: xp.multiply(local == k, grad, out=target),
                      lambda k: (local == k) * grad)
        gx = _crop(gx, pads, x_shape[2:])
        return gx[0] if ctx.unbatched else gx

    def _kernel_forward(ctx, x, kernel, stride, padding, dilation, ceil_mode, return_indices):
        y, indices = _backend.kernels().max_pool2d_forward(x, kernel, stride, padding,
                                                           dilation, ceil_mode)
        ctx._kernel = True
        ctx.kernel_args = (x.shape, kernel, stride, padding, dilation, ceil_mode)
        ctx.save_for_backward(indices)
        if return_indices:
            ctx._non_differentiable = (1,)
            return y, indices
        return y


class MaxPool3d(MaxPool):
    _name = "MaxPool3DWithIndicesBackward0"


def avg_divisor(spatial, kernel, stride, padding, out, count_include_pad, divisor_override,
                xp, np_dtype):
    """torch's per-window divisor, shaped ``(*out)`` (or a scalar ``divisor_override``)."""
    if divisor_override:
        return divisor_override
    counts = None
    nd = len(kernel)
    for d in range(nd):
        start = np.arange(out[d]) * stride[d] - padding[d]
        end = np.minimum(start + kernel[d], spatial[d] + padding[d])
        if count_include_pad:
            n = end - start
        else:
            n = np.minimum(end, spatial[d]) - np.maximum(start, 0)
        shape = [1] * nd
        shape[d] = out[d]
        n = n.reshape(shape)
        counts = n if counts is None else counts * n
    return xp.asarray(counts.astype(np_dtype if np_dtype.kind == "f" else np.int64))


class AvgPool(Primitive):
    """``(N, C, *S) -> (N, C, *out)`` mean over windows (torch's divisor rules)."""

    _name = "AvgPool2DBackward0"
    _kernel = False  # forward ran the CUDA kernel

    def forward(ctx, x, kernel, stride, padding, ceil_mode, count_include_pad,
                divisor_override):
        if _pool_on_gpu(x, kernel):
            ctx._kernel = True
            ctx.kernel_args = (x.shape, kernel, stride, padding, ceil_mode, count_include_pad,
                               divisor_override)
            return _backend.kernels().avg_pool2d_forward(x, *ctx.kernel_args[1:])
        xp = array_module(x)
        ctx.unbatched = x.ndim == len(kernel) + 1
        if ctx.unbatched:
            x = x[None]
        spatial = x.shape[2:]
        ones = (1,) * len(kernel)
        out, pads = pool_geometry(spatial, kernel, stride, padding, ones, ceil_mode)
        xpad = pad_spatial(x, pads)
        is_float = is_floating(x.dtype)
        # half and bfloat16 are summed in float32 and rounded once, as torch accumulates
        acc = np.float32 if x.dtype in LOW_FLOATS else (x.dtype if is_float else np.int64)
        total = None
        for offsets in kernel_offsets(kernel):
            v = xpad[_LEAD + offset_slices(offsets, stride, ones, out)]
            if total is None:
                total = v.astype(acc)  # a copy
            else:
                total += v
        div = avg_divisor(spatial, kernel, stride, padding, out, count_include_pad,
                          divisor_override, xp, x.dtype)
        ctx.geometry = (x.shape, xpad.shape, pads, kernel, stride, out, div)
        if is_float:
            total /= div
            total = total.astype(x.dtype, copy=False)
        else:
            q = xp.abs(total) // div  # integer pooling truncates toward zero, as torch
            total = xp.where(total < 0, -q, q).astype(x.dtype)
        return total[0] if ctx.unbatched else total

    def backward(ctx, grad):
        if ctx._kernel:
            return _backend.kernels().avg_pool2d_backward(grad, *ctx.kernel_args)
        x_shape, padded, pads, kernel, stride, out, div = ctx.geometry
        xp = array_module(grad)
        share = (grad[None] if ctx.unbatched else grad) / div
        ones = (1,) * len(kernel)
        gx = _scatter(xp, padded, grad.dtype, kernel, stride, ones, out,
                      lambda k, target: xp.copyto(target, share), lambda k: share)
        gx = _crop(gx, pads, x_shape[2:])
        return gx[0] if ctx.unbatched else gx


class AvgPool3d(AvgPool):
    _name = "AvgPool3DBackward0"


class AdaptiveAvgPoolTiled(AvgPool):
    """Adaptive average pooling whose bins tile the input evenly: a plain average pool."""

    _name = "AdaptiveAvgPool2DBackward0"


class AdaptiveAvgPoolTiled3d(AvgPool):
    _name = "AdaptiveAvgPool3DBackward0"


def adaptive_bins(size, out):
    """Start and end (exclusive) of torch's adaptive pooling bins along one dimension."""
    i = np.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    return start, end


class AdaptiveMaxPool(Primitive):
    """Max over torch's adaptive bins; windows are gathered at the widest bin size (shorter
    bins repeat their last element, which never beats an earlier equal value)."""

    _name = "AdaptiveMaxPool2DBackward0"

    def forward(ctx, x, out, return_indices):
        xp = array_module(x)
        ctx.unbatched = x.ndim == len(out) + 1
        if ctx.unbatched:
            x = x[None]
        spatial = x.shape[2:]
        nd = len(spatial)
        index = []      # per dim: (out_d, kmax_d) input positions
        for d in range(nd):
            start, end = adaptive_bins(spatial[d], out[d])
            kmax = int((end - start).max()) if out[d] else 1
            pos = np.minimum(start[:, None] + np.arange(kmax), end[:, None] - 1)
            index.append(pos)
        kernel = tuple(p.shape[1] for p in index)
        # gather (N, C, out_1, k_1, out_2, k_2, ...)
        key = [slice(None), slice(None)]
        for d, pos in enumerate(index):
            shape = [1] * (2 * nd)
            shape[2 * d], shape[2 * d + 1] = pos.shape
            key.append(xp.asarray(pos.reshape(shape)))
        gathered = x[tuple(key)]
        best = local = None
        for k, offsets in enumerate(kernel_offsets(kernel)):
            v = gathered[_LEAD + tuple(i for o in offsets for i in (slice(None), o))]
            if best is None:
                best = v.copy()
                local = xp.zeros(best.shape, dtype=_local_index_dtype(math.prod(kernel)))
                continue
            better = v > best
            if x.dtype.kind == "f":
                better |= xp.isnan(v)  # torch: a NaN wins, a later NaN replaces it
            best = xp.where(better, v, best)
            local = xp.where(better, local.dtype.type(k), local)
        flat = None
        local64 = local.astype(np.int64)
        for d in range(nd):
            inner = math.prod(kernel[d + 1:])
            pos = (local64 // inner) % kernel[d]
            rows = xp.asarray(index[d])
            shape = [1] * (nd + 2)
            shape[2 + d] = out[d]
            coord = rows[xp.arange(out[d]).reshape(shape), pos]
            flat = coord if flat is None else flat * spatial[d] + coord
        ctx.save_for_backward(flat)
        ctx.x_shape = x.shape
        if ctx.unbatched:
            best, flat = best[0], flat[0]
        if return_indices:
            ctx._non_differentiable = (1,)
            return best, flat
        return best

    def backward(ctx, grad, grad_indices=None):
        (flat,) = ctx.saved_tensors
        if ctx.unbatched:
            return unpool_scatter(grad[None], flat, ctx.x_shape, accumulate=True)[0]
        return unpool_scatter(grad, flat, ctx.x_shape, accumulate=True)


class AdaptiveMaxPool3d(AdaptiveMaxPool):
    _name = "AdaptiveMaxPool3DBackward0"


def unpool_scatter(values, flat, shape, accumulate):
    """Zeros of ``shape`` ``(N, C, *S)`` with ``values`` put (or added) at plane indices."""
    xp = array_module(values)
    n, c = shape[:2]
    plane = math.prod(shape[2:])
    rows = values.reshape(n * c, -1)
    idx = flat.reshape(n * c, -1)
    if accumulate:
        offsets = (xp.arange(n * c, dtype=np.int64) * plane)[:, None]
        summed = xp.bincount((idx + offsets).ravel(), weights=rows.ravel(),
                             minlength=n * c * plane)
        return summed.astype(values.dtype, copy=False).reshape(shape)
    out = xp.zeros((n * c, plane), dtype=values.dtype)
    out[xp.arange(n * c)[:, None], idx] = rows
    return out.reshape(shape)


class MaxUnpool(Primitive):
    """Inverse of max pooling: ``values`` placed at their plane indices in a zero array."""

    _name = "MaxUnpool2DBackward0"

    def forward(ctx, x, indices, out_shape):
        ctx.save_for_backward(indices)
        return unpool_scatter(x, indices, out_shape, accumulate=False)

    def backward(ctx, grad):
        (indices,) = ctx.saved_tensors
        xp = array_module(grad)
        n, c = grad.shape[:2]
        rows = grad.reshape(n * c, -1)
        idx = indices.reshape(n * c, -1)
        return xp.take_along_axis(rows, idx, axis=1).reshape(indices.shape), None


class MaxUnpool3d(MaxUnpool):
    _name = "MaxUnpool3DBackward0"
