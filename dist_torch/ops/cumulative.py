"""Cumulative reductions along one dim: cumsum and cumprod (and their in-place forms)."""

from __future__ import annotations

import numpy as np

from dist_torch._tensor import Tensor, bind_methods
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops._reduce import LOW_FLOATS, data_of, write_out
from dist_torch.ops._util import wrap_dim
from dist_torch.ops.inplace import inplace

__all__ = ["cumsum", "cumprod"]

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


bind_methods({
    "cumsum": cumsum, "cumprod": cumprod,
    "cumsum_": lambda self, dim, *, dtype=None: inplace(self, cumsum, dim, dtype=dtype),
    "cumprod_": lambda self, dim, *, dtype=None: inplace(self, cumprod, dim, dtype=dtype),
})
