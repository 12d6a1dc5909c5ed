"""index_reduce / index_reduce_ (reduce 'prod', 'mean', 'amax' or 'amin' the slices of
``source`` into ``self`` at ``index`` along ``dim``) and nonzero_static.

index_reduce is scatter_reduce with the 1-d index broadcast over ``source``'s other dims, so
it shares scatter_reduce's vectorized forward and its gradients (products exact with zeros,
ties of amax/amin sharing the gradient evenly, as torch).
"""

from __future__ import annotations

import numbers

import numpy as np

from dist_torch._tensor import Tensor, _wrap, bind_methods
from dist_torch.backend import array_module
from dist_torch.ops._indexing_util import (
    INDEX_TYPES,
    INT64,
    as1d,
    check_index_tensor,
    first_bad,
    legacy_name,
    ndim1,
)
from dist_torch.ops._util import check_tensor, wrap_dim
from dist_torch.ops.inplace import inplace
from dist_torch.ops.scatter import ScatterReduce

__all__ = ["index_reduce", "nonzero_static"]

_REDUCTIONS = ("prod", "mean", "amax", "amin")


class IndexReduce(ScatterReduce):
    _name = "IndexReduceBackward0"


def _check(self, dim, index, source, reduce):
    check_tensor(source, "index_reduce", "source")
    if reduce not in _REDUCTIONS:
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or "
                           f"amin but got {reduce}.")
    idx = index._data
    if idx.ndim > 1:
        raise IndexError(f"index_reduce_(): Index is supposed to be a vector, but got dim: "
                         f"{idx.ndim} with type: {legacy_name(idx.dtype)} and size: "
                         f"{list(idx.shape)}")
    if idx.dtype not in INDEX_TYPES:
        raise RuntimeError(f"index_reduce_(): Expected dtype int32/int64 for index but got: "
                           f"{legacy_name(idx.dtype)}")
    shape, sshape = as1d(self._data).shape, as1d(source._data).shape
    if source._data.dtype != self._data.dtype:
        raise RuntimeError(f"index_reduce_(): self ({legacy_name(self._data.dtype)}) and source "
                           f"({legacy_name(source._data.dtype)}) must have the same scalar "
                           "type")
    if self._data.ndim != source._data.ndim or \
            any(d != dim and s != n for d, (s, n) in enumerate(zip(sshape, shape))):
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {list(self.shape)} "
                           f"source.shape = {list(source.shape)}")
    if sshape[dim] != idx.size:
        raise RuntimeError(f"index_reduce_(): Number of indices ({idx.size}) should be equal to "
                           f"source.size(dim): ({sshape[dim]}), for dim: {dim}")
    if first_bad(idx, 0, shape[dim]) is not None:
        raise IndexError("index out of range in self")
    if reduce == "mean" and self._data.dtype == np.bool_:
        raise NotImplementedError("\"div_floor_cpu\" not implemented for 'Bool'")


def index_reduce(input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                 include_self: bool = True) -> Tensor:
    """A copy of ``input`` where the slices of ``source`` are reduced into the slices of
    ``input`` at ``index`` along ``dim``.

    Args:
        reduce: ``'prod'``, ``'mean'``, ``'amax'`` or ``'amin'`` (integer means round down).
        include_self: whether ``input``'s own values take part in the reduction (slices that
            no index hits keep them either way).

    Example::

        >>> x = torch.ones(3, 2)
        >>> x.index_reduce(0, torch.tensor([0, 2, 0]), torch.full((3, 2), 2.), 'prod')
        tensor([[4., 4.],
                [1., 1.],
                [2., 2.]])
    """
    check_tensor(input, "index_reduce")
    check_index_tensor(index, "index_reduce", input)
    dim = wrap_dim(dim, ndim1(input))
    _check(input, dim, index, source, reduce)
    xp = array_module(index._data)
    src = as1d(source._data)
    shape = [1] * src.ndim
    shape[dim] = -1
    full = xp.broadcast_to(index._data.reshape(shape).astype(INT64, copy=False), src.shape)
    return IndexReduce.apply(input, source, full, dim=dim, reduce=reduce,
                             include_self=include_self)


def index_reduce_(self: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                  include_self: bool = True) -> Tensor:
    """In-place :func:`index_reduce`."""
    return inplace(self, index_reduce, dim, index, source, reduce, include_self=include_self)


# --------------------------------------------------------------------------- nonzero_static

def _int_kwarg(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"nonzero_static(): argument '{name}' must be int, not "
                        f"{type(value).__name__}")
    return int(value)


def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1, out=None) -> Tensor:
    """``nonzero(input)`` with a fixed number of rows: the first ``size`` index rows,
    padded with ``fill_value`` when there are fewer non-zero elements.

    Shape: ``(size, input.dim())``, int64.
    """
    check_tensor(input, "nonzero_static")
    size = _int_kwarg(size, "size")
    fill_value = _int_kwarg(fill_value, "fill_value")
    if size < 0:
        raise RuntimeError("nonzero_static: 'size' must be an non-negative integer")
    if out is not None and (not isinstance(out, Tensor) or out._data.dtype != INT64):
        got = legacy_name(out._data.dtype) if isinstance(out, Tensor) else type(out).__name__
        raise RuntimeError(f"nonzero_static: Expected out tensor to have scalar type Long but "
                           f"got scalar type{got}")
    a = input._data
    xp = array_module(a)
    found = xp.argwhere(a).astype(INT64, copy=False) if a.ndim else \
        xp.zeros((int(a != 0), 0), dtype=INT64)
    result = xp.full((size, a.ndim), fill_value, dtype=INT64)
    n = min(size, found.shape[0])
    result[:n] = found[:n]
    if out is None:
        return _wrap(result)
    out._data = result if out._data.shape != result.shape else out._data
    if out._data is not result:
        out._data[...] = result
    out._bump_version()
    return out


bind_methods({"index_reduce": index_reduce, "index_reduce_": index_reduce_,
              "nonzero_static": nonzero_static})
