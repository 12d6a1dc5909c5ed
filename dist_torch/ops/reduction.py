"""Reductions: sum, mean, prod, max/min, var/std, norms, logsumexp, softmax family."""

from __future__ import annotations

import numpy as np

from dist_torch._tensor import Tensor, bind_methods
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops._util import wrap_dims

__all__ = ["sum"]


class Sum(Primitive):
    def forward(ctx, a, dims=None, keepdim=False, dtype=None):
        ctx.shape, ctx.dims, ctx.keepdim = a.shape, dims, keepdim
        out = a.sum(axis=dims, keepdims=keepdim, dtype=dtype)
        return out

    def backward(ctx, grad):
        xp = array_module(grad)
        if ctx.dims is not None and not ctx.keepdim:
            grad = xp.expand_dims(grad, ctx.dims)
        return xp.broadcast_to(grad, ctx.shape)


def sum(input, dim=None, keepdim=False, *, dtype=None) -> Tensor:  # noqa: A001
    dims = None if dim is None else wrap_dims(dim, input._data.ndim)
    np_dtype = None if dtype is None else dtype.numpy_dtype
    if np_dtype is None and input._data.dtype.kind in "bui":
        np_dtype = np.dtype(np.int64)
    return Sum.apply(input, dims=dims, keepdim=keepdim, dtype=np_dtype)


bind_methods({"sum": sum})
