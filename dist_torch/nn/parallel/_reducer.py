"""Gradient buckets for DistributedDataParallel: layout, readiness, launch order, write-back.

Parameters that require grad are laid out in reverse registration order (roughly the order in
which backward produces their gradients), grouped by dtype and device, into buckets of at most
``bucket_cap`` bytes (the first bucket is capped at 1 MiB so communication starts early). The
layout depends only on the parameters' shapes and dtypes, so it is identical on every rank.
Buckets are launched strictly in index order: a bucket that becomes ready early waits for its
predecessors, so every rank issues the same all-reduces in the same order.
"""

from __future__ import annotations

import math

from dist_torch._tensor import _wrap
from dist_torch.backend import array_module
from dist_torch.cuda import device_of

FIRST_BUCKET_BYTES = 1 << 20


class Bucket:
    """A flat buffer holding the gradients of a few parameters of one dtype and device."""

    def __init__(self, index: int, params: list, as_view: bool = False):
        self.index = index
        self.as_view = as_view
        self.params = params
        self.offsets = []
        offset = 0
        for p in params:
            self.offsets.append(offset)
            offset += p.numel()
        self.numel = offset
        first = params[0]._data
        self.xp = array_module(first)
        self.buffer = self._empty(offset, first.dtype)
        # the views of ``buffer`` handed out as ``param.grad`` by the last unpack
        self.views = [None] * len(params)
        self.pending = len(params)
        self.work = None

    def _empty(self, numel, dtype):
        """A new flat buffer on the parameters' device (not merely the current one)."""
        with device_of(self.params[0]):
            return self.xp.empty(numel, dtype=dtype)

    def zeros(self):
        """A zero-filled array shaped like the flat buffer, on the same device."""
        buf = self._empty(self.numel, self.buffer.dtype)
        buf[...] = 0
        return buf

    def reset(self):
        self.pending = len(self.params)
        self.work = None

    def pack(self, scale=None):
        """Gather each parameter's local gradient (zeros where it has none), times ``scale``,
        into the flat buffer: one pass per gradient, none where backward accumulated into the
        buffer's own view."""
        xp = self.xp
        if not self.as_view:
            # a fresh buffer: the last iteration's gradients are views of the old one and
            # may still be held (torch's gradient_as_bucket_view=False promise)
            self.buffer = self._empty(self.numel, self.buffer.dtype)
            self.views = [None] * len(self.params)
        buf = self.buffer
        scaled = scale is not None and scale != 1
        for p, off, view in zip(self.params, self.offsets, self.views):
            chunk = buf[off:off + p.numel()]
            grad = p._grad
            if grad is None:
                chunk[...] = 0
            elif grad._data is view:  # accumulated in place
                if scaled:
                    chunk *= scale
            elif scaled:
                xp.multiply(grad._data.reshape(-1), scale, out=chunk)
            else:
                chunk[...] = grad._data.reshape(-1)

    def unpack(self, values, skip=()):
        """Make each ``param.grad`` a view of the reduced ``values`` (no copy; an existing grad
        tensor keeps its identity and gets the new data)."""
        own = values is self.buffer
        for i, (p, off) in enumerate(zip(self.params, self.offsets)):
            self.views[i] = None
            if id(p) in skip:
                continue
            chunk = values[off:off + p.numel()].reshape(p._data.shape)
            if chunk.dtype != p._data.dtype:
                chunk = chunk.astype(p._data.dtype)
            if p._grad is None:
                p._grad = _wrap(chunk)
            else:
                p._grad._data = chunk
                p._grad._bump_version()
            if own:
                self.views[i] = chunk


def build_buckets(params: list, bucket_cap_bytes: int, as_view: bool = False) -> list:
    """Buckets over ``params`` (already in reverse registration order)."""
    buckets, current, current_bytes, key = [], [], 0, None
    cap = min(FIRST_BUCKET_BYTES, bucket_cap_bytes)
    for p in params:
        this_key = (p._data.dtype, type(p._data), p.device)
        size = p.numel() * p._data.itemsize
        if current and (this_key != key or current_bytes + size > cap):
            buckets.append(Bucket(len(buckets), current, as_view))
            current, current_bytes = [], 0
            cap = bucket_cap_bytes
        current.append(p)
        current_bytes += size
        key = this_key
    if current:
        buckets.append(Bucket(len(buckets), current, as_view))
    return buckets


def bucket_cap_bytes(bucket_cap_mb) -> int:
    mb = 25 if bucket_cap_mb is None else bucket_cap_mb
    if not mb > 0 or math.isinf(mb):
        raise ValueError(f"bucket_cap_mb must be a positive finite number, got {bucket_cap_mb}")
    return int(mb * 1024 * 1024)
