"""Distances and normalization: normalize, cosine_similarity, pairwise_distance, pdist."""

from __future__ import annotations

import numpy as np

from dist_torch._tensor import Tensor, _wrap
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd import grad_mode
from dist_torch.backend import array_module
from dist_torch.ops import linalg_norm as _norm
from dist_torch.ops._pointwise import type_name
from dist_torch.ops._util import result_dtype

__all__ = ["normalize", "cosine_similarity", "pairwise_distance", "pdist"]


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Tensor | None = None) -> Tensor:
    """``input / max(||input||_p, eps)`` with the norm taken over ``dim``.

    Example::

        >>> F.normalize(torch.tensor([[3.0, 4.0]]))
        tensor([[0.6000, 0.8000]])
    """
    denom = _norm.vector_norm(input, p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    if out is None:
        return input / denom
    from dist_torch.ops.elementwise import div
    return div(input, denom, out=out)


def _clamped_norm(x: Tensor, dim: int, eps: float) -> Tensor:
    """The 2-norm over ``dim`` (kept), its value clamped to ``eps`` outside autograd, as torch."""
    n = _norm.vector_norm(x, 2, dim, keepdim=True)
    low = n._data < eps
    if not low.any():
        return n
    xp = array_module(n._data)
    if grad_mode.state.grad_enabled and n._requires_grad:
        fix = xp.where(low, eps - n._data, 0).astype(n._data.dtype)
        return n + _wrap(fix)
    return _wrap(xp.maximum(n._data, eps).astype(n._data.dtype))


@autocast_op("cosine_similarity")
def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim`` (broadcasting):
    ``sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps))``."""
    common = result_dtype(x1, x2)
    if not common.is_floating_point:
        raise RuntimeError(f"expected common dtype to be floating point, yet common dtype is "
                           f"{type_name(common.numpy_dtype)}")
    np_dtype = common.numpy_dtype
    if x1._data.dtype != np_dtype:
        x1 = x1.to(common)
    if x2._data.dtype != np_dtype:
        x2 = x2.to(common)
    if x1._data.shape != x2._data.shape:
        from dist_torch.ops.shape import broadcast_tensors
        x1, x2 = broadcast_tensors(x1, x2)
    n1 = _clamped_norm(x1, dim, eps)
    n2 = _clamped_norm(x2, dim, eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


@autocast_op("pairwise_distance")
def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """``||x1 - x2 + eps||_p`` over the last dimension (broadcasting).

    Shape:
        ``(N, D)`` or ``(D,)`` inputs give ``(N,)`` or ``()`` (``keepdim`` keeps the last dim).
    """
    ndim = max(x1.dim(), x2.dim())
    return _norm.vector_norm(x1 - x2 + eps, p, ndim - 1 if ndim else None, keepdim)


@autocast_op("pdist")
def pdist(input: Tensor, p: float = 2) -> Tensor:
    """The p-norm distances between every pair of rows of ``input`` ``(N, M)``, as the
    condensed vector of the upper triangle (``N * (N - 1) / 2`` values)."""
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    if input._data.dtype.itemsize == 2 and input._data.dtype.kind in "fV":
        from dist_torch.ops._reduce import type_name
        raise NotImplementedError(f"\"pdist\" not implemented for "
                                  f"'{type_name(input._data.dtype)}'")
    n = input.shape[0]
    i, j = np.triu_indices(n, 1)
    from dist_torch._creation import tensor
    rows_i = tensor(i.astype(np.int64), device=input.device)
    rows_j = tensor(j.astype(np.int64), device=input.device)
    diff = input.index_select(0, rows_i) - input.index_select(0, rows_j)
    return _norm.vector_norm(diff, p, 1)
