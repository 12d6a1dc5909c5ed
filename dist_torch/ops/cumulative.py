"""Cumulative reductions along one dim: cumsum and cumprod (and their in-place forms),
cummax, cummin and logcumsumexp.

CuPy has no ``ufunc.accumulate`` for maximum/minimum/logaddexp, so those scans run as a
log-depth doubling scan (``ceil(log2 n)`` vectorized steps) on both array modules.
"""

from __future__ import annotations

import numpy as np

from dist_torch import return_types
from dist_torch._tensor import Tensor, bind_methods
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops._reduce import LOW_FLOATS, data_of, is_floating, type_name, write_out
from dist_torch.ops._util import wrap_dim
from dist_torch.ops.inplace import inplace

__all__ = ["cumsum", "cumprod", "cummax", "cummin", "logcumsumexp"]

return_types.cummax = return_types.structseq("cummax", ("values", "indices"))
return_types.cummin = return_types.structseq("cummin", ("values", "indices"))

_INT64 = np.dtype(np.int64)
_FLOAT32 = np.dtype(np.float32)


def _scan(xp, fn, a, dim, dtype):
    if a.ndim == 0:
        return fn(a.reshape(1), axis=0, dtype=dtype).reshape(())
    if dtype is None and a.dtype in LOW_FLOATS:  # accumulate in float32, as torch does
        return fn(a, axis=dim, dtype=_FLOAT32).astype(a.dtype)
    return fn(a, axis=dim, dtype=dtype)


def _reverse_cumsum(xp, g, dim):
    return xp.flip(xp.cumsum(xp.flip(g, dim), axis=dim), dim)


class Cumsum(Primitive):
    def forward(ctx, a, dim, dtype=None):
        ctx.dim = dim
        return _scan(array_module(a), array_module(a).cumsum, a, dim, dtype)

    def backward(ctx, grad):
        if grad.ndim == 0:
            return grad
        return _reverse_cumsum(array_module(grad), grad, ctx.dim)


class Cumprod(Primitive):
    def forward(ctx, a, dim, dtype=None):
        xp = array_module(a)
        ctx.dim = dim
        out = _scan(xp, xp.cumprod, a, dim, dtype)
        ctx.save_for_backward(a, out)
        return out

    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        if grad.ndim == 0:
            return grad
        xp = array_module(grad)
        dim = ctx.dim
        zero = a == 0
        if not zero.any():
            # d out_j / d a_k = out_j / a_k for j >= k
            return _reverse_cumsum(xp, grad * out, dim) / a
        # Before a slice's first zero the division formula still holds; after it every
        # gradient is 0; at the first zero z it is sum_{j>=z} g_j * prod_{i<=j, i!=z} a_i,
        # the cumulative product with that zero replaced by one.
        seen = xp.cumsum(zero, axis=dim)
        first = zero & (seen == 1)
        before = seen == 0
        safe = xp.where(before, a, 1)
        grad_in = xp.where(before, _reverse_cumsum(xp, grad * out, dim) / safe, 0)
        skipped = xp.cumprod(xp.where(first, 1, a), axis=dim)
        at_zero = xp.where(seen >= 1, grad * skipped, 0).sum(axis=dim, keepdims=True)
        return xp.where(first, at_zero, grad_in)


def _cumulative(prim, fname, input, dim, dtype):
    data = data_of(input, fname)
    if not isinstance(dim, int):
        if dim is None:
            raise TypeError(f'{fname}() missing 1 required positional arguments: "dim"')
        raise TypeError(f"{fname}(): argument 'dim' (position 2) must be int, not "
                        f"{type(dim).__name__}")
    if dtype is not None:
        np_dtype = dtype.numpy_dtype
    else:
        np_dtype = _INT64 if data.dtype.kind in "biu" else None
    return prim.apply(input, dim=wrap_dim(dim, data.ndim), dtype=np_dtype)


@autocast_op("cumsum")
def cumsum(input, dim=None, *, dtype=None, out=None, axis=None) -> Tensor:
    """Running sums along ``dim``; ints and bools accumulate in int64.

    Example::

        >>> torch.cumsum(torch.tensor([1, 2, 3]), dim=0)
        tensor([1, 3, 6])
    """
    result = _cumulative(Cumsum, "cumsum", input, dim if axis is None else axis, dtype)
    return result if out is None else write_out("cumsum", result, out)


@autocast_op("cumprod")
def cumprod(input, dim=None, *, dtype=None, out=None, axis=None) -> Tensor:
    """Running products along ``dim``; the gradient is exact even with zeros in the input."""
    result = _cumulative(Cumprod, "cumprod", input, dim if axis is None else axis, dtype)
    return result if out is None else write_out("cumprod", result, out)


# --------------------------------------------------------------------------- scans

def _doubling_scan(xp, fn, a, dim):
    """Inclusive scan of the associative ``fn`` along ``dim`` in ``ceil(log2 n)`` steps."""
    out = xp.moveaxis(a, dim, -1).copy()
    n = out.shape[-1]
    shift = 1
    while shift < n:
        out[..., shift:] = fn(out[..., shift:], out[..., :-shift])
        shift *= 2
    return xp.moveaxis(out, -1, dim)


def _logaddexp(xp):
    def combine(a, b):
        # logaddexp(-inf, -inf) is -inf; NumPy's and CuPy's already agree, silence the warning
        with np.errstate(invalid="ignore"):
            return xp.logaddexp(a, b)
    return combine


class CumExtreme(Primitive):
    """Running max (``largest``) or min along ``dim`` with the index of the last element
    equal to it; a NaN wins and stays, as in torch. The gradient goes back to the indices."""

    _non_differentiable = (1,)

    def forward(ctx, a, dim, largest):
        xp = array_module(a)
        ctx.shape, ctx.dim = a.shape, dim
        if a.ndim == 0:
            idx = xp.zeros((), dtype=_INT64)
            ctx.save_for_backward(idx)
            return a.copy(), idx
        values = _doubling_scan(xp, xp.maximum if largest else xp.minimum, a, dim)
        hit = values == a
        if is_floating(a.dtype):
            hit |= xp.isnan(a)
        shape = [1] * a.ndim
        shape[dim] = a.shape[dim]
        pos = xp.arange(a.shape[dim], dtype=_INT64).reshape(shape)
        idx = _doubling_scan(xp, xp.maximum, xp.where(hit, pos, 0), dim)
        ctx.save_for_backward(idx)
        return values, idx

    def backward(ctx, grad, _grad_idx=None):
        (idx,) = ctx.saved_tensors
        if grad is None:
            return None
        if not ctx.shape:
            return grad
        from dist_torch.ops._indexing_util import linear_mesh, scatter_add_new
        xp = array_module(grad)
        mesh = [xp.arange(s, dtype=_INT64).reshape([-1 if k == i else 1
                                                     for k in range(len(ctx.shape))])
                for i, s in enumerate(ctx.shape)]
        mesh[ctx.dim] = idx
        return scatter_add_new(ctx.shape, grad.dtype, linear_mesh(ctx.shape, mesh), grad)


class CummaxBackward(CumExtreme):
    _name = "CummaxBackward0"


class CumminBackward(CumExtreme):
    _name = "CumminBackward0"


def _cum_extreme(fname, largest, input, dim, out):
    data = data_of(input, fname)
    d = wrap_dim(dim, data.ndim)
    if data.dtype.kind == "c":
        raise RuntimeError(f"{fname}(): complex dtypes are not supported")
    prim = CummaxBackward if largest else CumminBackward
    kind = return_types.cummax if largest else return_types.cummin
    values, idx = prim.apply(input, dim=d, largest=largest)
    result = tuple.__new__(kind, (values, idx))
    return result if out is None else write_out(fname, result, out)


def cummax(input, dim, *, out=None):
    """Running maximum along ``dim``: ``(values, indices)`` as ``torch.return_types.cummax``;
    each index is the last position holding the running maximum (NaN propagates).

    Example::

        >>> torch.cummax(torch.tensor([1, 3, 2, 3]), 0)
        torch.return_types.cummax(
        values=tensor([1, 3, 3, 3]),
        indices=tensor([0, 1, 1, 3]))
    """
    return _cum_extreme("cummax", True, input, dim, out)


def cummin(input, dim, *, out=None):
    """Running minimum along ``dim``: ``(values, indices)`` as ``torch.return_types.cummin``."""
    return _cum_extreme("cummin", False, input, dim, out)


class Logcumsumexp(Primitive):
    """``log(cumsum(exp(a)))`` along ``dim`` as a scan of ``logaddexp`` (no overflow, no
    underflow of early terms)."""

    def forward(ctx, a, dim):
        xp = array_module(a)
        ctx.dim = dim
        out = a.copy() if a.ndim == 0 else _doubling_scan(xp, _logaddexp(xp), a, dim)
        ctx.save_for_backward(a, out)
        return out

    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        if a.ndim == 0:
            return grad
        xp = array_module(grad)
        dim = ctx.dim
        # grad_j = sum_{i >= j} g_i exp(a_j - out_i), split by the sign of g and summed in
        # log space from the end (a reversed logcumsumexp)
        scan = _logaddexp(xp)
        with np.errstate(divide="ignore"):
            log_pos = xp.log(xp.where(grad > 0, grad, 0)) - out
            log_neg = xp.log(xp.where(grad < 0, -grad, 0)) - out

        def rev(v):
            return xp.flip(_doubling_scan(xp, scan, xp.flip(v, dim), dim), dim)

        with np.errstate(invalid="ignore", over="ignore"):
            return (xp.exp(rev(log_pos) + a) - xp.exp(rev(log_neg) + a)).astype(grad.dtype)


def logcumsumexp(input, dim, *, out=None) -> Tensor:
    """``log(cumsum(exp(input)))`` along ``dim``, computed stably.

    Example::

        >>> torch.logcumsumexp(torch.tensor([-1000., 0.]), 0)
        tensor([-1000.,     0.])
    """
    data = data_of(input, "logcumsumexp")
    if not is_floating(data.dtype):
        raise NotImplementedError('"logcumsumexp_out_cpu" not implemented for '
                                  f"'{type_name(data.dtype)}'")
    result = Logcumsumexp.apply(input, dim=wrap_dim(dim, data.ndim))
    return result if out is None else write_out("logcumsumexp", result, out)


bind_methods({
    "cumsum": cumsum, "cumprod": cumprod, "cummax": cummax, "cummin": cummin,
    "logcumsumexp": logcumsumexp,
    "cumsum_": lambda self, dim, *, dtype=None: inplace(self, cumsum, dim, dtype=dtype),
    "cumprod_": lambda self, dim, *, dtype=None: inplace(self, cumprod, dim, dtype=dtype),
})
