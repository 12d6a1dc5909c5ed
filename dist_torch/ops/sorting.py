"""Sorting and order statistics: sort, argsort, msort, topk, kthvalue, median, nanmedian.

Every op finds its indices with one stable argsort along ``dim`` (NaN sorts as the largest
value, as in torch) and selects the values with them. The gradient goes to the selected
elements, except for the all-elements median, which shares it evenly among the elements equal
to the result (torch's ``evenly_distribute_backward``).
"""

from __future__ import annotations

import numpy as np

from dist_torch import return_types
from dist_torch._tensor import Tensor, _wrap, bind_methods
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops._reduce import data_of, is_floating, type_name, write_out
from dist_torch.ops._util import wrap_dim
from dist_torch.ops.reduction import MaxAll

__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "median", "nanmedian"]

_INT64 = np.dtype(np.int64)

return_types.sort = return_types.structseq("sort", ("values", "indices"))
return_types.topk = return_types.structseq("topk", ("values", "indices"))
return_types.kthvalue = return_types.structseq("kthvalue", ("values", "indices"))
return_types.median = return_types.structseq("median", ("values", "indices"))
return_types.nanmedian = return_types.structseq("nanmedian", ("values", "indices"))


# --------------------------------------------------------------------------- indices

def _order(a, axis: int, descending: bool):
    """Stable argsort of ``a`` along ``axis`` (int64); descending keeps equal elements in
    their original order too, and puts NaN first."""
    xp = array_module(a)
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable").astype(_INT64, copy=False)
    # sort the reversed array ascending (ties end up in reverse order), then reverse back
    n = a.shape[axis]
    idx = xp.argsort(xp.flip(a, axis), axis=axis, kind="stable").astype(_INT64, copy=False)
    return (n - 1) - xp.flip(idx, axis)


def _nan_count(a, axis: int):
    xp = array_module(a)
    if not is_floating(a.dtype):
        return xp.zeros(a.shape[:axis] + (1,) + a.shape[axis + 1:], dtype=_INT64)
    return xp.isnan(a).sum(axis=axis, keepdims=True, dtype=_INT64)


# --------------------------------------------------------------------------- primitives

class SelectAlongDim(Primitive):
    """``take_along_axis(a, indices, dim)`` for indices found without autograd; the gradient
    goes back to the selected positions (distinct within each slice)."""

    def forward(ctx, a, indices, dim):
        xp = array_module(a)
        ctx.shape, ctx.dim = a.shape, dim
        ctx.save_for_backward(indices)
        if a.ndim == 0:
            return a.copy()
        return xp.take_along_axis(a, indices, axis=dim)

    def backward(ctx, grad):
        (indices,) = ctx.saved_tensors
        if not ctx.shape:
            return grad
        xp = array_module(grad)
        out = xp.zeros(ctx.shape, dtype=grad.dtype)
        xp.put_along_axis(out, indices, grad, axis=ctx.dim)
        return out


class SortBackward(SelectAlongDim):
    _name = "SortBackward0"


class TopkBackward(SelectAlongDim):
    _name = "TopkBackward0"


class KthvalueBackward(SelectAlongDim):
    _name = "KthvalueBackward0"


class MedianDimBackward(SelectAlongDim):
    _name = "MedianBackward1"


class NanmedianDimBackward(SelectAlongDim):
    _name = "NanmedianBackward1"


class MedianAll(MaxAll):
    """The lower median of all elements (NaN if any is NaN, unless ``ignore_nan``); the
    gradient is shared among the elements equal to it, as for max()."""

    _name = "MedianBackward0"

    def forward(ctx, a, ignore_nan=False):
        xp = array_module(a)
        flat = a.reshape(-1)
        nans = int(_nan_count(flat, 0)[0])
        if nans and not ignore_nan:
            out = xp.asarray(xp.nan, dtype=a.dtype)
        else:
            valid = flat.size - nans
            ordered = xp.sort(flat) if valid else flat  # NaN last
            out = ordered[(valid - 1) // 2] if valid else xp.asarray(xp.nan, dtype=a.dtype)
            out = out.copy()
        ctx.save_for_backward(a, out)
        return out


class NanmedianAll(MedianAll):
    _name = "NanmedianBackward0"


# --------------------------------------------------------------------------- helpers

def _values_and_indices(kind, prim, input, indices, dim, keepdim=True):
    values = prim.apply(input, indices=indices, dim=dim)
    idx = _wrap(indices)
    if not keepdim and input.ndim:
        values = values.squeeze(dim)
        idx = _wrap(indices.squeeze(dim))
    return tuple.__new__(kind, (values, idx))


def _dim_of(dim, data) -> int:
    return wrap_dim(dim, data.ndim) if data.ndim else wrap_dim(dim, 1) * 0


def _not_bool(fname, data, message=None):
    if data.dtype == np.bool_:
        raise NotImplementedError(message or f'"{fname}_cpu" not implemented for '
                                  f"'{type_name(data.dtype)}'")
    if data.dtype.kind == "c":
        raise RuntimeError(f"{fname}(): complex dtypes are not supported")


def _finish(fname, result, out):
    return result if out is None else write_out(fname, result, out)


# --------------------------------------------------------------------------- public ops

def sort(input, dim=-1, descending=False, *, stable=False, out=None):
    """Sort along ``dim``: ``(values, indices)`` as ``torch.return_types.sort``.

    Equal elements keep their order (the sort is always stable); NaN sorts as the largest.

    Example::

        >>> torch.sort(torch.tensor([3., 1., 2.]), descending=True)
        torch.return_types.sort(
        values=tensor([3., 2., 1.]),
        indices=tensor([0, 2, 1]))
    """
    data = data_of(input, "sort")
    if data.dtype.kind == "c":
        raise RuntimeError("Sort does not support complex dtypes on CPU")
    d = _dim_of(dim, data)
    if not data.ndim:
        indices = array_module(data).zeros((), dtype=_INT64)
    else:
        indices = _order(data, d, bool(descending))
    return _finish("sort", _values_and_indices(return_types.sort, SortBackward, input, indices,
                                               d), out)


def argsort(input, dim=-1, descending=False, *, stable=False) -> Tensor:
    """The indices that sort ``input`` along ``dim`` (stable; NaN last, or first when
    ``descending``)."""
    return sort(input, dim, descending, stable=stable).indices


def msort(input, *, out=None) -> Tensor:
    """``input`` sorted along its first dim."""
    return _finish("msort", sort(input, 0).values, out)


def topk(input, k, dim=-1, largest=True, sorted=True, *, out=None):  # noqa: A002
    """The ``k`` largest (or, with ``largest=False``, smallest) elements along ``dim``:
    ``(values, indices)`` as ``torch.return_types.topk``, in sorted order."""
    data = data_of(input, "topk")
    if data.dtype == np.bool_:
        raise RuntimeError("topk does not support bool dtypes on CPU")
    d = _dim_of(dim, data)
    size = data.shape[d] if data.ndim else 1
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
        raise TypeError(f"topk(): argument 'k' (position 2) must be int, not "
                        f"{type(k).__name__}")
    if not 0 <= k <= size:
        raise RuntimeError("selected index k out of range")
    xp = array_module(data)
    if not data.ndim:
        indices = xp.zeros((), dtype=_INT64)
    else:
        order = _order(data, d, bool(largest))
        indices = xp.ascontiguousarray(order[(slice(None),) * d + (slice(0, k),)])
    return _finish("topk", _values_and_indices(return_types.topk, TopkBackward, input, indices,
                                               d), out)


def kthvalue(input, k, dim=-1, keepdim=False, *, out=None):
    """The ``k``-th smallest element (1-based) along ``dim``: ``(values, indices)``."""
    data = data_of(input, "kthvalue")
    _not_bool("kthvalue", data)
    d = _dim_of(dim, data)
    size = data.shape[d] if data.ndim else 1
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
        raise TypeError(f"kthvalue(): argument 'k' (position 2) must be int, not "
                        f"{type(k).__name__}")
    if not 1 <= k <= size:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    xp = array_module(data)
    if not data.ndim:
        indices = xp.zeros((), dtype=_INT64)
    else:
        order = _order(data, d, False)
        indices = xp.ascontiguousarray(order[(slice(None),) * d + (slice(k - 1, k),)])
    return _finish("kthvalue", _values_and_indices(return_types.kthvalue, KthvalueBackward,
                                                   input, indices, d, keepdim), out)


def _median(fname, ignore_nan, input, dim, keepdim, out):
    data = data_of(input, fname)
    _not_bool(fname, data)
    if dim is None:
        if keepdim:
            raise TypeError(f"{fname}() received an invalid combination of arguments: keepdim "
                            "needs dim")
        result = (NanmedianAll if ignore_nan else MedianAll).apply(input, ignore_nan=ignore_nan)
        return _finish(fname, result, out)
    d = _dim_of(dim, data)
    xp = array_module(data)
    if not data.ndim:
        indices = xp.zeros((), dtype=_INT64)
    else:
        if data.shape[d] == 0:
            raise IndexError(f"{fname}(): Expected reduction dim {d} to have non-zero size.")
        order = _order(data, d, False)              # NaN last
        nans = _nan_count(data, d)
        valid = data.shape[d] - nans
        if ignore_nan:   # the lower median of the rest; an all-NaN slice gives its first NaN
            pos = xp.maximum(valid - 1, 0) // 2
        else:            # any NaN makes the result NaN: the first NaN
            pos = xp.where(nans > 0, valid, (valid - 1) // 2)
        indices = xp.take_along_axis(order, pos, axis=d)
    kind = return_types.nanmedian if ignore_nan else return_types.median
    prim = NanmedianDimBackward if ignore_nan else MedianDimBackward
    return _finish(fname, _values_and_indices(kind, prim, input, indices, d, keepdim), out)


def median(input, dim=None, keepdim=False, *, out=None):
    """The lower median of all elements (NaN if any is NaN); or, along ``dim``,
    ``(values, indices)`` as ``torch.return_types.median``.

    Example::

        >>> torch.median(torch.tensor([[1., 4., 2., 3.]]), dim=1)
        torch.return_types.median(
        values=tensor([2.]),
        indices=tensor([2]))
    """
    return _median("median", False, input, dim, keepdim, out)


def nanmedian(input, dim=None, keepdim=False, *, out=None):
    """:func:`median` ignoring NaN (NaN only where every element is NaN)."""
    return _median("nanmedian", True, input, dim, keepdim, out)


bind_methods({
    "sort": sort, "argsort": argsort, "msort": msort, "topk": topk, "kthvalue": kthvalue,
    "median": median, "nanmedian": nanmedian,
})
