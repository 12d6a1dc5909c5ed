"""Variance and standard deviation: var, std, var_mean, std_mean.

Both torch signatures are accepted: ``var(input, dim=None, *, correction=1, keepdim=False)``
and the older ``var(input, dim, unbiased, keepdim=False)`` (also ``var(input, unbiased)``).
The variance is computed in two passes (mean, then squared deviations) for accuracy.
"""

from __future__ import annotations

import warnings

import numpy as np

from dist_torch._tensor import Tensor, bind_methods
from dist_torch.backend import array_module
from dist_torch.ops._reduce import (
    LOW_FLOATS,
    Reduction,
    alias_args,
    data_of,
    is_floating,
    reduce_dims,
    reduced_shape,
    write_out,
)

__all__ = ["var", "std", "var_mean", "std_mean"]

_FLOAT32 = np.dtype(np.float32)


class Var(Reduction):
    """var or std (``root=True``) over dims; with ``with_mean`` also returns the mean."""

    def forward(ctx, a, dims=None, correction=1, keepdim=False, root=False, with_mean=False):
        ctx._record(a, dims, keepdim)
        xp = array_module(a)
        work = a.astype(_FLOAT32) if a.dtype in LOW_FLOATS else a
        count = a.size
        if dims is not None:
            count = 1
            for d in dims:
                count *= a.shape[d]
        dof = max(count - correction, 0)
        ctx.count, ctx.dof, ctx.root = count, dof, root
        with np.errstate(invalid="ignore", divide="ignore"):
            if count:
                mean = work.sum(axis=dims, keepdims=True) / count
            else:
                mean = xp.full(ctx.kshape, np.nan, dtype=work.dtype)
            diff = work - mean
            out = (diff * diff).sum(axis=dims, keepdims=True) / work.dtype.type(dof)
            if root:
                out = xp.sqrt(out)
        ctx.save_for_backward(diff, out)
        shape = reduced_shape(a.shape, dims, keepdim)
        out = out.astype(a.dtype, copy=False).reshape(shape)
        if with_mean:
            return out, mean.astype(a.dtype, copy=False).reshape(shape)
        return out

    def backward(ctx, grad, grad_mean=None):
        diff, out = ctx.saved_tensors
        xp = array_module(diff)
        result = None
        if grad is not None:
            with np.errstate(invalid="ignore", divide="ignore"):
                if ctx.root:  # d std = diff / (dof * std); 0 where std == 0, as torch
                    scale = ctx._kept(grad) / (out * diff.dtype.type(ctx.dof))
                    scale = xp.where(out == 0, 0, scale)
                else:
                    scale = ctx._kept(grad) * (2 / diff.dtype.type(ctx.dof))
            result = diff * scale
        if grad_mean is not None:
            part = xp.broadcast_to(ctx._kept(grad_mean) / ctx.count, ctx.shape) if ctx.count \
                else ctx._expand(grad_mean)
            result = part if result is None else result + part
        return result


class Std(Var):
    pass


class VarMean(Var):
    pass


class StdMean(Var):
    pass


def _parse(fname, input, dim, unbiased, keepdim, correction):
    data = data_of(input, fname)
    if isinstance(dim, bool):  # var(input, unbiased)
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{fname}() received an invalid combination of arguments - got both "
                        "'unbiased' and 'correction'; pass only one of them")
    if correction is None:
        correction = 0 if unbiased is False else 1
    if not is_floating(data.dtype):
        what = "std and var" if fname in ("var", "std") else fname
        raise RuntimeError(f"{what} only support floating point and complex dtypes")
    dims = reduce_dims(dim, data.ndim)
    count = data.size
    if dims is not None:
        count = 1
        for d in dims:
            count *= data.shape[d]
    if count - correction <= 0:
        warnings.warn(f"{fname}(): degrees of freedom is <= 0. Correction should be strictly "
                      "less than the reduction factor (input numel divided by output numel).",
                      UserWarning, stacklevel=3)
    return dims, correction


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None, axis=None,
        keepdims=None) -> Tensor:
    """Variance over ``dim`` with ``correction`` (1: unbiased, the default; 0: population).

    Example::

        >>> torch.var(torch.tensor([1., 2., 3., 4.]))
        tensor(1.6667)
    """
    dim, keepdim = alias_args(dim, keepdim, axis, keepdims)
    dims, correction = _parse("var", input, dim, unbiased, keepdim, correction)
    result = Var.apply(input, dims=dims, correction=correction, keepdim=keepdim)
    return result if out is None else write_out("var", result, out)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None, axis=None,
        keepdims=None) -> Tensor:
    """Standard deviation over ``dim``; arguments as :func:`var`."""
    dim, keepdim = alias_args(dim, keepdim, axis, keepdims)
    dims, correction = _parse("std", input, dim, unbiased, keepdim, correction)
    result = Std.apply(input, dims=dims, correction=correction, keepdim=keepdim, root=True)
    return result if out is None else write_out("std", result, out)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None) -> tuple:
    """``(var(input, ...), mean(input, ...))`` in one pass; arguments as :func:`var`."""
    dims, correction = _parse("var_mean", input, dim, unbiased, keepdim, correction)
    return VarMean.apply(input, dims=dims, correction=correction, keepdim=keepdim,
                         with_mean=True)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None) -> tuple:
    """``(std(input, ...), mean(input, ...))``; arguments as :func:`var`."""
    dims, correction = _parse("std_mean", input, dim, unbiased, keepdim, correction)
    return StdMean.apply(input, dims=dims, correction=correction, keepdim=keepdim, root=True,
                         with_mean=True)


bind_methods({"var": var, "std": std})
