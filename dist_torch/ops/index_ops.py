"""Index ops along one dimension or the flattened tensor: index_select, index_add, index_copy,
index_fill, take and put (with their in-place variants)."""

from __future__ import annotations

import numpy as np

from dist_torch._tensor import Tensor, bind_methods
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.backend.compat import ufunc_at
from dist_torch.ops._indexing_util import (
    ALL,
    INDEX_TYPES,
    INT64,
    as1d,
    check_index_tensor,
    check_inplace,
    check_no_overlap,
    first_bad,
    inplace_apply,
    legacy_name,
    linear_along,
    ndim1,
    scatter_add_into,
    scatter_add_new,
)
from dist_torch.ops._util import wrap_dim

__all__ = ["index_select", "index_add", "index_copy", "index_fill", "take", "put"]


def _dim_key(dim, index):
    return (ALL,) * dim + (index,)


class IndexSelect(Primitive):
    def forward(ctx, a, index, dim):
        ctx.shape, ctx.dim, ctx.index = a.shape, dim, index
        out = array_module(a).take(as1d(a), index, axis=dim)
        return out.reshape(()) if a.ndim == 0 else out

    def backward(ctx, grad):
        shape = ctx.shape or (1,)
        g = scatter_add_new(shape, grad.dtype, linear_along(shape, ctx.dim, ctx.index),
                            as1d(grad))
        return g.reshape(ctx.shape)


def _vector_index(index, fname):
    """``index`` as a 1-d array (0-dim allowed) or torch's error."""
    idx = index._data
    if idx.ndim > 1:
        if fname == "index_select":
            raise IndexError("index_select(): Index is supposed to be a vector")
        if fname == "index_fill_":
            raise RuntimeError("Index has to be a vector/scalar")
        if fname == "index_add_":
            raise IndexError(f"index_add_(): Index is supposed to be a vector, but got dim: "
                             f"{idx.ndim} with type: {legacy_name(idx.dtype)} and size: "
                             f"{list(idx.shape)}")
        raise IndexError(f"{fname}(): Index should have dimension 1 or 0 (got {idx.ndim})")
    return idx.reshape(-1)


def index_select(input: Tensor, dim: int, index: Tensor, *, out=None) -> Tensor:
    """The entries of ``input`` at ``index`` (a 1-d int tensor) along ``dim``."""
    check_index_tensor(index, "index_select", input)
    dim = wrap_dim(dim, ndim1(input))
    idx = _vector_index(index, "index_select")
    if idx.dtype not in INDEX_TYPES:
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    a = input._data
    if a.ndim == 0 and idx.size != 1:
        raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got "
                           f"{idx.size} value(s)")
    n = as1d(a).shape[dim]
    bad = first_bad(idx, 0, n)
    if bad is not None:
        if a.ndim == 2 and dim == 1:  # torch's CPU kernel for this case words it so
            raise RuntimeError(f"INDICES element is out of DATA bounds, id={bad} axis_dim={n}")
        raise IndexError("index out of range in self")
    return IndexSelect.apply(input, idx, dim=dim)


def _check_source(self, dim, idx, source, fname):
    sshape, shape = as1d(source._data).shape, as1d(self._data).shape
    if fname == "index_add_":
        if source._data.dtype != self._data.dtype:
            raise RuntimeError(f"index_add_(): self ({legacy_name(self._data.dtype)}) and source "
                               f"({legacy_name(source._data.dtype)}) must have the same scalar "
                               "type")
        if len(sshape) != len(shape) or any(d != dim and s != n
                                            for d, (s, n) in enumerate(zip(sshape, shape))):
            raise RuntimeError(f"source tensor shape must match self tensor shape, excluding "
                               f"the specified dimension. Got self.shape = "
                               f"{list(self.shape)} source.shape = {list(source.shape)}")
        if sshape[dim] != idx.size:
            raise RuntimeError(f"index_add_(): Number of indices ({idx.size}) should be equal "
                               f"to source.size(dim): ({sshape[dim]}), for dim: {dim}")
    else:
        if source._data.dtype != self._data.dtype:
            raise RuntimeError(f"index_copy_(): self and source expected to have the same "
                               f"dtype, but got (self) {legacy_name(self._data.dtype)} and "
                               f"(source) {legacy_name(source._data.dtype)}")
        for d, (s, n) in enumerate(zip(sshape, shape)):
            if d != dim and s != n:
                d_slice = d if d < dim else d - 1  # dims of the slices, without ``dim``
                raise RuntimeError(f"index_copy_(): Source/destination tensor must have same "
                                   f"slice shapes. Destination slice shape: {n} at dimension "
                                   f"{d_slice} and source slice shape: {s} at dimension "
                                   f"{d_slice}.")
        if len(sshape) != len(shape):
            raise RuntimeError("index_copy_(): When source and destination are not scalars, "
                               "their dimensionality must match. Source dimensionality "
                               f"({len(sshape)}), destination dimensionality ({len(shape)})")
        if sshape[dim] != idx.size:
            raise IndexError(f"index_copy_(): Number of indices ({idx.size}) should be equal "
                             f"to source.size(dim) ({sshape[dim]})")


class IndexAdd(Primitive):
    def forward(ctx, a, source, index, dim, alpha=1, inplace=False):
        out = a if inplace else a.copy()
        ctx.dim, ctx.index, ctx.alpha, ctx.src_shape = dim, index, alpha, source.shape
        values = as1d(source) if alpha == 1 else as1d(source) * alpha
        out1 = as1d(out)
        scatter_add_into(out1, linear_along(out1.shape, dim, index), values)
        return out

    def backward(ctx, grad):
        grad_src = None
        if ctx.needs_input_grad[1]:
            grad_src = array_module(grad).take(as1d(grad), ctx.index, axis=ctx.dim)
            if ctx.alpha != 1:
                grad_src = grad_src * ctx.alpha
            grad_src = grad_src.reshape(ctx.src_shape)
        return grad, grad_src


class IndexCopy(Primitive):
    def forward(ctx, a, source, index, dim, inplace=False):
        out = a if inplace else a.copy()
        ctx.dim, ctx.index, ctx.src_shape = dim, index, source.shape
        as1d(out)[_dim_key(dim, index)] = as1d(source)
        return out

    def backward(ctx, grad):
        grad_self = grad_src = None
        if ctx.needs_input_grad[0]:
            grad_self = grad.copy()
            as1d(grad_self)[_dim_key(ctx.dim, ctx.index)] = 0
        if ctx.needs_input_grad[1]:
            grad_src = array_module(grad).take(as1d(grad), ctx.index, axis=ctx.dim)
            grad_src = grad_src.reshape(ctx.src_shape)
        return grad_self, grad_src


class IndexFill(Primitive):
    """Fill the entries at ``index`` along ``dim`` with a number (a 0-dim tensor:
    IndexFillBackward1, whose gradient sums the filled window)."""

    def forward(ctx, a, value, index, dim, inplace=False):
        out = a if inplace else a.copy()
        ctx.dim, ctx.index = dim, index
        as1d(out)[_dim_key(dim, index)] = value
        return out

    def backward(ctx, grad):
        xp = array_module(grad)
        key = _dim_key(ctx.dim, ctx.index)
        grad_self = grad_value = None
        if ctx.needs_input_grad[0]:
            grad_self = grad.copy()
            as1d(grad_self)[key] = 0
        if ctx.needs_input_grad[1]:
            g = as1d(grad)
            filled = xp.zeros(g.shape[ctx.dim], dtype=bool)
            filled[ctx.index] = True
            grad_value = xp.compress(filled, g, axis=ctx.dim).sum()
        return grad_self, grad_value


class IndexFillTensor(IndexFill):
    _name = "IndexFillBackward1"


def _index_add(self, dim, index, source, alpha, inplace):
    check_index_tensor(index, "index_add", self)
    dim = wrap_dim(dim, ndim1(self))
    idx = _vector_index(index, "index_add_")
    if idx.dtype not in INDEX_TYPES:
        raise RuntimeError(f"index_add_(): Expected dtype int32/int64 for index but got: "
                           f"{legacy_name(idx.dtype)}")
    _check_source(self, dim, idx, source, "index_add_")
    n = as1d(self._data).shape[dim]
    bad = first_bad(idx, 0, n)
    if bad is not None:
        raise RuntimeError(f"index {bad} is out of bounds for dimension {dim} with size {n}")
    if inplace:
        check_no_overlap(self._data, source._data)
        return inplace_apply(self, IndexAdd, source, idx, dim=dim, alpha=alpha, inplace=True)
    return IndexAdd.apply(self, source, idx, dim=dim, alpha=alpha)


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1,
              out=None) -> Tensor:
    """A copy of ``input`` with ``alpha * source`` added at ``index`` along ``dim``
    (duplicate indices accumulate)."""
    return _index_add(input, dim, index, source, alpha, False)


def index_add_(self: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """In-place :func:`index_add`."""
    check_inplace(self)
    return _index_add(self, dim, index, source, alpha, True)


def _index_copy(self, dim, index, source, inplace):
    check_index_tensor(index, "index_copy", self)
    dim = wrap_dim(dim, ndim1(self))
    idx = _vector_index(index, "index_copy_")
    if idx.dtype != INT64:
        raise RuntimeError(f"index_copy_(): Expected a long tensor for index, but got "
                           f"{legacy_name(idx.dtype)}")
    _check_source(self, dim, idx, source, "index_copy_")
    n = as1d(self._data).shape[dim]
    bad = first_bad(idx, 0, n)
    if bad is not None:
        raise IndexError(f"index_copy_(): index {bad} is out of bounds for dimension {dim} "
                         f"with size {n}")
    if inplace:
        check_no_overlap(self._data, source._data)
        return inplace_apply(self, IndexCopy, source, idx, dim=dim, inplace=True)
    return IndexCopy.apply(self, source, idx, dim=dim)


@autocast_op("index_copy")
def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor, *, out=None) -> Tensor:
    """A copy of ``input`` with the slices of ``source`` written at ``index`` along ``dim``."""
    return _index_copy(input, dim, index, source, False)


def index_copy_(self: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """In-place :func:`index_copy`."""
    check_inplace(self)
    return _index_copy(self, dim, index, source, True)


def _index_fill(self, dim, index, value, inplace):
    check_index_tensor(index, "index_fill", self)
    dim = wrap_dim(dim, ndim1(self))
    idx = _vector_index(index, "index_fill_")
    if idx.dtype != INT64:
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    n = as1d(self._data).shape[dim]
    bad = first_bad(idx, -n, n)
    if bad is not None:
        raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {n}")
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but "
                               f"got tensor with {value._data.ndim} dimension(s).")
        prim = IndexFillTensor
    else:
        if isinstance(value, np.generic):
            value = value.item()
        prim = IndexFill
    if inplace:
        return inplace_apply(self, prim, value, idx, dim=dim, inplace=True)
    return prim.apply(self, value, idx, dim=dim)


def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """A copy of ``input`` with the entries at ``index`` along ``dim`` set to ``value`` (a
    number or a 0-dim tensor)."""
    return _index_fill(input, dim, index, value, False)


def index_fill_(self: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """In-place :func:`index_fill`."""
    check_inplace(self)
    return _index_fill(self, dim, index, value, True)


# --------------------------------------------------------------------------- take / put

class Take(Primitive):
    def forward(ctx, a, index):
        ctx.shape, ctx.index = a.shape, index
        return a.reshape(-1)[index]

    def backward(ctx, grad):
        xp = array_module(grad)
        size = int(np.prod(ctx.shape))
        index = xp.where(ctx.index < 0, ctx.index + size, ctx.index)
        return scatter_add_new((size,), grad.dtype, index, grad).reshape(ctx.shape)


def _flat_index(input, index, fname):
    idx = index._data
    if idx.dtype != INT64:
        raise RuntimeError(f"{fname}(): Expected a long tensor for index, but got "
                           f"{legacy_name(idx.dtype)}")
    n = input._data.size
    bad = first_bad(idx, -n, n)
    if bad is not None:
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} "
                         "elements.")
    return idx


def take(input: Tensor, index: Tensor) -> Tensor:
    """Elements of ``input`` seen as 1-d, at ``index`` (negative indices count from the end);
    the result has ``index``'s shape."""
    check_index_tensor(index, "take", input)
    return Take.apply(input, _flat_index(input, index, "take"))


class Put(Primitive):
    def forward(ctx, a, source, index, accumulate=False, inplace=False):
        xp = array_module(a)
        out = a if inplace else a.copy()
        key = xp.unravel_index(xp.where(index < 0, index + a.size, index).reshape(-1),
                               as1d(a).shape)
        ctx.key, ctx.accumulate, ctx.src_shape = key, accumulate, source.shape
        if accumulate:
            ufunc_at("add", as1d(out), key, source.reshape(-1))
        else:
            as1d(out)[key] = source.reshape(-1)
        return out

    def backward(ctx, grad):
        grad_self = grad_src = None
        if ctx.needs_input_grad[0]:
            grad_self = grad
            if not ctx.accumulate:
                grad_self = grad.copy()
                as1d(grad_self)[ctx.key] = 0
        if ctx.needs_input_grad[1]:
            grad_src = as1d(grad)[ctx.key].reshape(ctx.src_shape)
        return grad_self, grad_src


def _put(self, index, source, accumulate, inplace):
    check_index_tensor(index, "put_", self)
    if not isinstance(source, Tensor):
        raise TypeError(f"put_(): argument 'source' must be Tensor, not "
                        f"{type(source).__name__}")
    if index._data.dtype != INT64:
        raise RuntimeError(f"put_(): Expected a long tensor for index, but got "
                           f"{legacy_name(index._data.dtype)}")
    if source._data.dtype != self._data.dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got "
                           f"self.dtype = {legacy_name(self._data.dtype)} and source.dtype = "
                           f"{legacy_name(source._data.dtype)}")
    if source._data.size != index._data.size:
        raise IndexError(f"put_(): Expected source and index to have the same number of "
                         f"elements, but got source.numel() = {source._data.size}, "
                         f"index.numel() = {index._data.size}")
    idx = _flat_index(self, index, "put_")
    if inplace:
        check_no_overlap(self._data, source._data)
        return inplace_apply(self, Put, source, idx, accumulate=accumulate, inplace=True)
    return Put.apply(self, source, idx, accumulate=accumulate)


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` (seen as 1-d) with ``source`` written (or added, with
    ``accumulate``) at ``index``."""
    return _put(input, index, source, accumulate, False)


def put_(self: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """In-place :func:`put`."""
    check_inplace(self)
    return _put(self, index, source, accumulate, True)


bind_methods({
    "index_select": index_select, "index_add": index_add, "index_add_": index_add_,
    "index_copy": index_copy, "index_copy_": index_copy_, "index_fill": index_fill,
    "index_fill_": index_fill_, "take": take, "put": put, "put_": put_,
})
