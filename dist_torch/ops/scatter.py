"""Gather and scatter along a dimension: gather, take_along_dim, scatter, scatter_add and
scatter_reduce.

Gathers scatter-add their gradient (duplicate indices accumulate); scatters route the written
window's gradient to the source and a zero gradient to the overwritten values. The in-place
variants write straight into ``self`` (their backward never needs its old values), except
``scatter_reduce_``, which goes through the generic ``inplace``.
"""

from __future__ import annotations

import numpy as np

from dist_torch._tensor import Tensor, bind_methods
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.backend.compat import ufunc_at
from dist_torch.ops._indexing_util import (
    INDEX_TYPES,
    INT64,
    as1d,
    check_index_tensor,
    check_inplace,
    check_no_overlap,
    dim_mesh,
    first_bad,
    inplace_apply,
    legacy_name,
    linear_mesh,
    ndim1,
    prefix,
    scatter_add_into,
    scatter_add_new,
)
from dist_torch.ops._util import wrap_dim
from dist_torch.ops.inplace import inplace

__all__ = ["gather", "scatter", "scatter_add", "scatter_reduce", "take_along_dim"]

_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


# --------------------------------------------------------------------------- gather

class Gather(Primitive):
    """``out[i][j] = a[index[i][j]][j]`` (for dim 0); backward scatter-adds."""

    def forward(ctx, a, index, dim, bshape=None, flatten=False):
        xp = array_module(a)
        ctx.shape = a.shape
        ctx.reshape_to = None
        if flatten:
            a = a.reshape(-1)
            ctx.reshape_to = ctx.shape
        elif bshape is not None:
            a = xp.broadcast_to(a, bshape)
        elif a.ndim == 0:
            a = a.reshape(1)
            ctx.reshape_to = ctx.shape
        ctx.inner_shape = a.shape
        ctx.out_shape = index.shape
        ctx.mesh = dim_mesh(xp, as1d(index), dim)
        return a[ctx.mesh].reshape(index.shape)

    def backward(ctx, grad):
        g = scatter_add_new(ctx.inner_shape, grad.dtype,
                            linear_mesh(ctx.inner_shape, ctx.mesh), as1d(grad))
        return g if ctx.reshape_to is None else g.reshape(ctx.reshape_to)


def _check_gather(input, dim, index, fname="gather"):
    a, idx = input._data, index._data
    if idx.dtype not in INDEX_TYPES:
        raise RuntimeError(f"{fname}(): Expected dtype int32/int64 for index")
    if ndim1(index) != ndim1(input):
        raise RuntimeError("Index tensor must have the same number of dimensions as input "
                           "tensor")
    ashape, ishape = as1d(a).shape, as1d(idx).shape
    for d, (n, m) in enumerate(zip(ashape, ishape)):
        if d != dim and m > n:
            raise RuntimeError(f"Size does not match at dimension {d} expected index "
                               f"{list(idx.shape)} to be no larger than self {list(a.shape)} "
                               f"apart from dimension {dim}")
    bad = first_bad(idx, 0, ashape[dim])
    if bad is not None:
        raise RuntimeError(f"index {bad} is out of bounds for dimension {dim} with size "
                           f"{ashape[dim]}")


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad=False, out=None) -> Tensor:
    """Values of ``input`` along ``dim`` at ``index``: for dim 0,
    ``out[i][j] = input[index[i][j]][j]``.

    Shape: ``index`` has ``input``'s number of dims and is no larger apart from ``dim``; the
    result has ``index``'s shape.
    """
    check_index_tensor(index, "gather", input)
    dim = wrap_dim(dim, ndim1(input))
    _check_gather(input, dim, index)
    return Gather.apply(input, index._data, dim=dim)


def take_along_dim(input: Tensor, indices: Tensor, dim=None, *, out=None) -> Tensor:
    """``gather`` with ``input`` and ``indices`` broadcast against each other apart from
    ``dim``; with ``dim=None`` both are flattened first."""
    check_index_tensor(indices, "take_along_dim", input)
    idx = indices._data
    if idx.dtype != INT64:
        raise RuntimeError(f"torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{legacy_name(idx.dtype)}")
    if dim is None:
        flat = idx.reshape(-1)
        bad = first_bad(flat, 0, input._data.size)
        if bad is not None:
            raise RuntimeError(f"index {bad} is out of bounds for dimension 0 with size "
                               f"{input._data.size}")
        return Gather.apply(input, flat, dim=0, flatten=True)
    a = input._data
    if idx.ndim != a.ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {a.ndim} dimensions for input, and "
                           f"{idx.ndim} dimensions for indices")
    dim = wrap_dim(dim, ndim1(input))
    from dist_torch._broadcast import broadcast_shapes
    a_rest = a.shape[:dim] + (1,) + a.shape[dim + 1:]
    i_rest = idx.shape[:dim] + (1,) + idx.shape[dim + 1:]
    common = broadcast_shapes(a_rest, i_rest)
    bshape = common[:dim] + a.shape[dim:dim + 1] + common[dim + 1:]
    ishape = common[:dim] + idx.shape[dim:dim + 1] + common[dim + 1:]
    xp = array_module(idx)
    n = as1d(a).shape[dim]
    if idx.size and int(idx.min()) < 0:  # torch wraps negative indices here
        idx = xp.where(idx < 0, idx + n, idx)
    bad = first_bad(idx, 0, n)
    if bad is not None:
        raise RuntimeError(f"index {bad} is out of bounds for dimension {dim} with size {n}")
    idx = xp.broadcast_to(idx, ishape)
    return Gather.apply(input, idx, dim=dim, bshape=None if bshape == a.shape else bshape)


# --------------------------------------------------------------------------- scatter

class Scatter(Primitive):
    """``out[index[i][j]][j] = src[i][j]`` (dim 0); ``src`` may be a number (ScatterBackward1).

    With the legacy ``reduce`` ('add' / 'multiply') the write accumulates.
    """

    def forward(ctx, a, src, index, dim, reduce=None, inplace=False):
        xp = array_module(a)
        out = a if inplace else a.copy()
        mesh = dim_mesh(xp, as1d(index), dim)
        ctx.mesh, ctx.reduce = mesh, reduce
        if hasattr(src, "shape"):
            ctx.src_shape = src.shape
            ctx.window = prefix(as1d(index).shape)
            values = as1d(src)[ctx.window]
        else:
            values = src
        target = as1d(out)
        if reduce is None:
            target[mesh] = values
        elif reduce == "add":
            ufunc_at("add", target, mesh, values)
        else:
            ufunc_at("multiply", target, mesh, values)
        return out

    def backward(ctx, grad):
        if ctx.reduce is not None:
            raise RuntimeError("derivative for aten::scatter is not implemented")
        xp = array_module(grad)
        grad_self = grad_src = None
        if ctx.needs_input_grad[0]:
            grad_self = grad.copy()
            as1d(grad_self)[ctx.mesh] = 0
        if ctx.needs_input_grad[1]:
            grad_src = xp.zeros(ctx.src_shape, dtype=grad.dtype)
            as1d(grad_src)[ctx.window] = as1d(grad)[ctx.mesh]
        return grad_self, grad_src


class ScatterValue(Scatter):
    _name = "ScatterBackward1"


class ScatterAdd(Primitive):
    def forward(ctx, a, src, index, dim, inplace=False):
        xp = array_module(a)
        out = a if inplace else a.copy()
        ctx.mesh = dim_mesh(xp, as1d(index), dim)
        ctx.window = prefix(as1d(index).shape)
        ctx.src_shape = src.shape
        out1 = as1d(out)
        scatter_add_into(out1, linear_mesh(out1.shape, ctx.mesh), as1d(src)[ctx.window])
        return out

    def backward(ctx, grad):
        grad_src = None
        if ctx.needs_input_grad[1]:
            grad_src = array_module(grad).zeros(ctx.src_shape, dtype=grad.dtype)
            as1d(grad_src)[ctx.window] = as1d(grad)[ctx.mesh]
        return grad, grad_src


def _check_scatter(input, dim, index, src, fname="scatter"):
    idx = index._data
    if idx.dtype not in INDEX_TYPES:
        raise RuntimeError("scatter(): Expected dtype int32/int64 for index")
    ndim = ndim1(input)
    if ndim1(index) != ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as self "
                           "tensor")
    ashape, ishape = as1d(input._data).shape, as1d(idx).shape
    if src is not None:
        if ndim1(src) != ndim:
            raise RuntimeError("Index tensor must have the same number of dimensions as src "
                               "tensor")
        if src._data.dtype != input._data.dtype:
            raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
        sshape = as1d(src._data).shape
        if any((d != dim and m > n) or m > s
               for d, (n, m, s) in enumerate(zip(ashape, ishape, sshape))):
            raise RuntimeError(f"Expected index {list(idx.shape)} to be no larger than self "
                               f"{list(input.shape)} apart from dimension {dim} and to be no "
                               f"larger size than src {list(src.shape)}")
    elif any(d != dim and m > n for d, (n, m) in enumerate(zip(ashape, ishape))):
        raise RuntimeError(f"Expected index {list(idx.shape)} to be no larger than self "
                           f"{list(input.shape)} apart from dimension {dim}")
    bad = first_bad(idx, 0, ashape[dim])
    if bad is not None:
        raise RuntimeError(f"index {bad} is out of bounds for dimension {dim} with size "
                           f"{ashape[dim]}")


def _scatter(input, dim, index, src, value, reduce, inplace):
    check_index_tensor(index, "scatter", input)
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter() missing required argument 'src' or 'value'")
    dim = wrap_dim(dim, ndim1(input))
    if reduce is not None and reduce not in ("add", "multiply"):
        raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
    if isinstance(src, Tensor):
        _check_scatter(input, dim, index, src)
        prim = Scatter
    else:
        if isinstance(src, np.generic):
            src = src.item()
        _check_scatter(input, dim, index, None)
        prim = ScatterValue
    if inplace:
        if prim is Scatter:
            check_no_overlap(input._data, src._data)
        return inplace_apply(input, prim, src, index._data, dim=dim, reduce=reduce,
                              inplace=True)
    return prim.apply(input, src, index._data, dim=dim, reduce=reduce)


def scatter(input: Tensor, dim: int, index: Tensor, src=None, value=None, *,
            reduce=None) -> Tensor:
    """A copy of ``input`` with ``src`` (a tensor or a number) written along ``dim`` at
    ``index``: for dim 0, ``out[index[i][j]][j] = src[i][j]``.

    With duplicate indices the last write wins (torch leaves this unspecified).
    """
    return _scatter(input, dim, index, src, value, reduce, False)


def scatter_(self: Tensor, dim: int, index: Tensor, src=None, value=None, *,
             reduce=None) -> Tensor:
    """In-place :func:`scatter`."""
    check_inplace(self)
    return _scatter(self, dim, index, src, value, reduce, True)


def _scatter_add(input, dim, index, src, inplace):
    check_index_tensor(index, "scatter_add", input)
    dim = wrap_dim(dim, ndim1(input))
    _check_scatter(input, dim, index, src)
    if inplace:
        check_no_overlap(input._data, src._data)
        return inplace_apply(input, ScatterAdd, src, index._data, dim=dim, inplace=True)
    return ScatterAdd.apply(input, src, index._data, dim=dim)


@autocast_op("scatter_add")
def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src`` added along ``dim`` at ``index`` (duplicates add up)."""
    return _scatter_add(input, dim, index, src, False)


def scatter_add_(self: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """In-place :func:`scatter_add`."""
    check_inplace(self)
    return _scatter_add(self, dim, index, src, True)


# --------------------------------------------------------------------------- scatter_reduce

def _identity(np_dtype, reduce):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if np_dtype.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    if np_dtype.kind == "b":
        return reduce == "amin"
    info = np.iinfo(np_dtype)
    return info.min if reduce == "amax" else info.max


class ScatterReduce(Primitive):
    """Reduce ``src`` into ``a`` along ``dim`` at ``index`` (sum/prod/mean/amax/amin)."""

    def forward(ctx, a, src, index, dim, reduce, include_self=True):
        xp = array_module(a)
        a1 = as1d(a)
        out = a1.copy()
        mesh = dim_mesh(xp, as1d(index), dim)
        window = prefix(as1d(index).shape)
        values = as1d(src)[window]
        hit = xp.zeros(a1.shape, dtype=bool)
        hit[mesh] = True
        if not include_self:
            out[hit] = _identity(a.dtype, reduce)
        if reduce in ("sum", "mean"):
            ufunc_at("add", out, mesh, values)
        elif reduce == "prod":
            ufunc_at("multiply", out, mesh, values)
        elif reduce == "amax":
            ufunc_at("maximum", out, mesh, values)
        else:
            ufunc_at("minimum", out, mesh, values)
        count = None
        if reduce == "mean":
            count = xp.zeros(a1.shape, dtype=out.dtype)
            ufunc_at("add", count, mesh, 1)
            if include_self:
                count += 1
            count = xp.maximum(count, 1)
            out = out // count if out.dtype.kind in "iu" else out / count
        ctx.mesh, ctx.window, ctx.hit, ctx.count = mesh, window, hit, count
        ctx.reduce, ctx.include_self = reduce, include_self
        ctx.src_shape = src.shape
        if reduce in ("prod", "amax", "amin"):
            ctx.save_for_backward(a, src, out)
        return out.reshape(a.shape)

    def backward(ctx, grad):
        xp = array_module(grad)
        mesh, window, hit, reduce = ctx.mesh, ctx.window, ctx.hit, ctx.reduce
        g = as1d(grad)
        self_in = ctx.include_self
        if reduce in ("sum", "mean"):
            if reduce == "mean":
                g = g / ctx.count
            grad_self = g if self_in else xp.where(hit, 0, g)
            grad_src_window = g[mesh]
        else:
            a, src, out = (as1d(x) for x in ctx.saved_tensors)
            values = src[window]
            self_mask = ~hit if not self_in else xp.ones(hit.shape, dtype=bool)
            if reduce == "prod":
                grad_self, grad_src_window = ctx._prod_grads(xp, g, a, values, out, mesh,
                                                              self_mask)
            else:
                # torch counts self among the tied values even when include_self=False
                # (while giving it no gradient); we match it.
                self_eq = a == out
                src_eq = values == out[mesh]
                ties = self_eq.astype(g.dtype)
                ufunc_at("add", ties, mesh, src_eq.astype(g.dtype))
                share = g / xp.maximum(ties, 1)
                grad_self = xp.where(self_eq & self_mask, share, 0)
                grad_src_window = xp.where(src_eq, share[mesh], 0)
        grad_src = None
        if ctx.needs_input_grad[1]:
            grad_src = xp.zeros(ctx.src_shape, dtype=grad.dtype)
            as1d(grad_src)[window] = grad_src_window
        return grad_self.reshape(grad.shape), grad_src

    @staticmethod
    def _prod_grads(xp, g, a, values, out, mesh, self_mask):
        """d(prod)/d(x) = product of the other factors, exact when some factors are zero."""
        self_f = xp.where(self_mask, a, 1)
        zeros = (self_f == 0).astype(np.int64)
        ufunc_at("add", zeros, mesh, (values == 0).astype(np.int64))
        nonzero_prod = xp.where(self_f == 0, 1, self_f)
        ufunc_at("multiply", nonzero_prod, mesh, xp.where(values == 0, 1, values))

        def others(x, zc, nzp):
            safe = xp.where(x == 0, 1, x)
            return xp.where(x != 0, xp.where(zc == 0, nzp / safe, 0),
                            xp.where(zc == 1, nzp, 0))

        grad_self = xp.where(self_mask, g * others(a, zeros, nonzero_prod), 0)
        grad_src_window = g[mesh] * others(values, zeros[mesh], nonzero_prod[mesh])
        return grad_self, grad_src_window


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """Reduce ``src`` into a copy of ``input`` along ``dim`` at ``index``.

    Args:
        reduce: ``'sum'``, ``'prod'``, ``'mean'``, ``'amax'`` or ``'amin'``.
        include_self: whether ``input``'s own values take part in the reduction.

    amax/amin split the gradient evenly between tied maxima, as torch does.
    """
    check_index_tensor(index, "scatter_reduce", input)
    if reduce not in _REDUCTIONS:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    dim = wrap_dim(dim, ndim1(input))
    _check_scatter(input, dim, index, src)
    return ScatterReduce.apply(input, src, index._data, dim=dim, reduce=reduce,
                               include_self=include_self)


def scatter_reduce_(self: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                    include_self: bool = True) -> Tensor:
    """In-place :func:`scatter_reduce`."""
    return inplace(self, scatter_reduce, dim, index, src, reduce, include_self=include_self)


bind_methods({
    "gather": gather, "take_along_dim": take_along_dim,
    "scatter": scatter, "scatter_": scatter_, "scatter_add": scatter_add,
    "scatter_add_": scatter_add_, "scatter_reduce": scatter_reduce,
    "scatter_reduce_": scatter_reduce_,
})
