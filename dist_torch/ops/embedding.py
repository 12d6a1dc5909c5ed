"""Embedding lookups: ``weight[indices]`` with a scatter-add backward, the in-place max-norm
renormalization, and bags of embeddings (sum / mean / max per bag).

The weight gradient is dense (torch's ``sparse=True`` gradients are not supported).
"""

from __future__ import annotations

import numpy as np

from dist_torch._tensor import Tensor
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.backend.compat import reduceat, ufunc_at
from dist_torch.ops._util import check_same_device

__all__ = ["embedding", "embedding_renorm_"]

_DIRECT_RANKS = 4  # duplicate ranks added with plain fancy indexing before falling back


def accumulate_rows(num_rows: int, index, values):
    """``out[index[i]] += values[i]`` into zeros of ``(num_rows,) + values.shape[1:]``.

    Duplicated indices are summed. NumPy's ``add.at`` is slow on rows, so rows are sorted by
    index and added in passes where each index appears once (the k-th occurrences together);
    indices occurring more than a few times go through ``add.at``.
    """
    xp = array_module(values)
    out = xp.zeros((num_rows,) + values.shape[1:], dtype=values.dtype)
    m = index.shape[0]
    if m == 0:
        return out
    order = xp.argsort(index, kind="stable")
    si = index[order]
    first = xp.empty(m, dtype=bool)
    first[0] = True
    xp.not_equal(si[1:], si[:-1], out=first[1:])
    starts = xp.flatnonzero(first)
    if starts.shape[0] == m:  # no duplicates
        out[index] = values
        return out
    counts = xp.diff(xp.append(starts, m))
    rank = xp.arange(m) - xp.repeat(starts, counts)
    vo = values[order]
    top = int(counts.max())
    for r in range(min(top, _DIRECT_RANKS)):
        sel = rank == r
        out[si[sel]] += vo[sel]
    if top > _DIRECT_RANKS:
        rest = rank >= _DIRECT_RANKS
        ufunc_at("add", out, si[rest], vo[rest])
    return out


def check_indices(idx, num_rows: int) -> None:
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= num_rows):
        raise IndexError("index out of range in self")


class Embedding(Primitive):
    """``weight[indices]``; the gradient of each weight row sums its lookups' gradients."""

    def forward(ctx, weight, indices, padding_idx=None, scale_grad_by_freq=False):
        xp = array_module(weight)
        flat = indices.reshape(-1)
        ctx.params = (weight.shape, flat, padding_idx, scale_grad_by_freq)
        out = xp.take(weight, flat, axis=0)
        return out.reshape(indices.shape + weight.shape[1:])

    def backward(ctx, grad):
        shape, flat, padding_idx, scale_grad_by_freq = ctx.params
        xp = array_module(grad)
        rows = grad.reshape((flat.shape[0],) + shape[1:])
        if scale_grad_by_freq and flat.shape[0]:
            counts = xp.bincount(flat, minlength=shape[0])
            rows = rows / counts[flat].reshape((-1,) + (1,) * (rows.ndim - 1))
        if padding_idx is not None and padding_idx >= 0:
            keep = flat != padding_idx
            if not keep.all():
                rows = rows * keep.reshape((-1,) + (1,) * (rows.ndim - 1))
        return accumulate_rows(shape[0], flat, rows)


def embedding_renorm_(weight: Tensor, indices: Tensor, max_norm: float,
                      norm_type: float) -> Tensor:
    """Rescale (in place, outside autograd) the rows of ``weight`` looked up by ``indices``
    whose ``norm_type``-norm exceeds ``max_norm`` to norm ``max_norm``."""
    w = weight._data
    xp = array_module(w)
    rows = xp.unique(indices._data.reshape(-1))
    if rows.size == 0:
        weight._bump_version()
        return weight
    sel = w[rows]
    if norm_type == float("inf"):
        norms = xp.abs(sel).max(axis=1)
    elif norm_type == 0:
        norms = (sel != 0).sum(axis=1).astype(w.dtype)
    else:
        norms = (xp.abs(sel) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    big = norms > max_norm
    if big.any():
        scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
        w[rows[big]] = sel[big] * scale[:, None]
    weight._bump_version()  # an in-place op, whether or not a row changed
    return weight


def embedding(weight: Tensor, indices: Tensor, padding_idx: int = -1,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """torch.embedding: ``weight[indices]`` (``padding_idx`` -1 means none; the gradient is
    dense even with ``sparse=True``). Prefer :func:`torch.nn.functional.embedding`."""
    check_same_device(weight, indices)
    idx = indices._data
    check_indices(idx, weight._data.shape[0])
    return Embedding.apply(weight, idx, padding_idx if padding_idx >= 0 else None,
                           scale_grad_by_freq)


class EmbeddingBag(Primitive):
    """Per bag (a run of ``indices`` starting at each offset): the sum, mean or max of the
    looked-up rows, with optional per-sample weights (sum mode) and ignored padding rows."""

    def forward(ctx, weight, psw, indices, starts, num_bags, mode, padding_idx):
        xp = array_module(weight)
        m = indices.shape[0]
        d = weight.shape[1]
        counts = xp.diff(xp.append(starts, m)) if num_bags else xp.zeros(0, np.int64)
        bag = xp.repeat(xp.arange(num_bags), counts)
        keep = None if padding_idx is None else indices != padding_idx
        rows = xp.take(weight, indices, axis=0)
        if psw is not None:
            rows = rows * psw[:, None]
        sizes = counts if keep is None else xp.bincount(bag[keep], minlength=num_bags)
        out = xp.zeros((num_bags, d), dtype=weight.dtype)
        nonempty = counts > 0
        argmax = None
        if mode == "max":
            if keep is not None:
                rows = xp.where(keep[:, None], rows, -xp.inf)
            if m:
                out[nonempty] = reduceat("maximum", rows, starts[nonempty], axis=0)
            out[sizes == 0] = 0
            # position (into indices) of the winning row per (bag, feature); -1 if none
            hit = rows == out[bag]
            pos = xp.where(hit, xp.arange(m)[:, None], m)
            argmax = xp.full((num_bags, d), m, dtype=np.int64)
            if m:
                argmax[nonempty] = reduceat("minimum", pos, starts[nonempty], axis=0)
            argmax[sizes == 0] = m
        else:
            if keep is not None:
                rows = rows * keep[:, None]
            if m:
                out[nonempty] = reduceat("add", rows, starts[nonempty], axis=0)
            if mode == "mean":
                out /= xp.maximum(sizes, 1)[:, None].astype(out.dtype)
        ctx.params = (weight.shape, indices, bag, keep, sizes, mode, argmax)
        ctx.save_for_backward(weight if ctx.needs_input_grad[1] else None, psw)
        return out

    def backward(ctx, grad):
        weight, psw = ctx.saved_tensors
        shape, indices, bag, keep, sizes, mode, argmax = ctx.params
        xp = array_module(grad)
        needs = ctx.needs_input_grad
        gw = gpsw = None
        m = indices.shape[0]
        if mode == "max":
            if needs[0]:
                valid = argmax < m
                cols = xp.broadcast_to(xp.arange(shape[1]), argmax.shape)
                flat = indices[argmax[valid]] * shape[1] + cols[valid]
                gw = xp.zeros(shape[0] * shape[1], dtype=grad.dtype)
                ufunc_at("add", gw, flat, grad[valid])
                gw = gw.reshape(shape)
            return gw, None
        rows = grad[bag]
        if mode == "mean":
            rows = rows / xp.maximum(sizes, 1)[bag][:, None].astype(grad.dtype)
        if keep is not None:
            rows = rows * keep[:, None]
        if needs[1]:
            gpsw = (xp.take(weight, indices, axis=0) * rows).sum(axis=1)
        if needs[0]:
            if psw is not None:
                rows = rows * psw[:, None]
            gw = accumulate_rows(shape[0], indices, rows)
        return gw, gpsw
