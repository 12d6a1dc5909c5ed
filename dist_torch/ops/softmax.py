"""softmax, log_softmax and logsumexp: numerically stable primitives with their own backward.

All three subtract the running maximum before exponentiating, so inputs like ``[1000., 1000.]``
or ``[-1000., 0.]`` give finite, exact results. float16/bfloat16 inputs are computed in
float32 and rounded once at the end, as torch's CPU kernels do.
"""

from __future__ import annotations

import numpy as np

from dist_torch import _dtype
from dist_torch import backend as _backend
from dist_torch._tensor import Tensor, bind_methods
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops._reduce import (
    LOW_FLOATS,
    Reduction,
    alias_args,
    data_of,
    is_floating,
    reduce_dims,
    reduced_shape,
    type_name,
    write_out,
)
from dist_torch.ops._util import cast, wrap_dim

__all__ = ["softmax", "log_softmax", "logsumexp"]

_FLOAT32 = np.dtype(np.float32)


def _widen(a):
    return a.astype(_FLOAT32) if a.dtype in LOW_FLOATS else a


def _on_gpu(a, axis):
    """Whether (log-)softmax of ``a`` over ``axis`` runs on the CUDA row kernel."""
    return axis is not None and a.size > 0 and _backend.use_kernels(a, "softmax")


def _kernel_forward(ctx, a, log):
    """The CUDA path: the kernel works over the last dim; another ``axis`` is moved last."""
    xp = array_module(a)
    last = ctx.axis == a.ndim - 1
    work = a if last else xp.moveaxis(a, ctx.axis, -1)
    y = _backend.kernels().softmax_forward(work, log=log)
    ctx._kernel = True
    ctx.save_for_backward(y)
    return y if last else xp.ascontiguousarray(xp.moveaxis(y, -1, ctx.axis))


def _kernel_backward(ctx, grad, log):
    (y,) = ctx.saved_tensors
    xp = array_module(grad)
    last = ctx.axis == y.ndim - 1
    g = grad if last else xp.moveaxis(grad, ctx.axis, -1)
    gx = _backend.kernels().softmax_backward(g, y, log=log)
    return gx if last else xp.ascontiguousarray(xp.moveaxis(gx, -1, ctx.axis))


class Softmax(Primitive):
    _kernel = False  # forward ran the CUDA kernel

    def forward(ctx, a, dim):
        axis = ctx.axis = dim if a.ndim else None
        if _on_gpu(a, axis):
            return _kernel_forward(ctx, a, log=False)
        work = _widen(a)
        xp = array_module(a)
        with np.errstate(invalid="ignore"):  # rows of all -inf give NaN, as in torch
            e = work - work.max(axis=axis, keepdims=True) if a.size else work.copy()
            e = xp.exp(e, out=e) if e.ndim else xp.exp(e)  # 0-d: NumPy gives a scalar
            e /= e.sum(axis=axis, keepdims=True)
        out = e if e.dtype == a.dtype else e.astype(a.dtype)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        if ctx._kernel:
            return _kernel_backward(ctx, grad, log=False)
        (y,) = ctx.saved_tensors
        gy = grad * y
        gy -= y * gy.sum(axis=ctx.axis, keepdims=True)
        return gy


class LogSoftmax(Primitive):
    _kernel = False

    def forward(ctx, a, dim):
        axis = ctx.axis = dim if a.ndim else None
        if _on_gpu(a, axis):
            return _kernel_forward(ctx, a, log=True)
        work = _widen(a)
        xp = array_module(a)
        if a.size:
            with np.errstate(invalid="ignore"):
                shifted = work - work.max(axis=axis, keepdims=True)
                shifted -= xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
        else:
            shifted = work.copy()
        out = shifted if shifted.dtype == a.dtype else shifted.astype(a.dtype)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        if ctx._kernel:
            return _kernel_backward(ctx, grad, log=True)
        (y,) = ctx.saved_tensors
        xp = array_module(grad)
        return grad - xp.exp(y) * grad.sum(axis=ctx.axis, keepdims=True)


def _softmax_input(fname, x, dim, dtype):
    data = data_of(x, fname)
    if dtype is not None:
        np_dtype = dtype.numpy_dtype
        if np_dtype != data.dtype:
            x = cast(x, np_dtype)
            data = x._data
    if not is_floating(data.dtype):
        kernel = "lastdim_kernel_impl" if data.ndim == 0 or \
            wrap_dim(dim, data.ndim) == data.ndim - 1 else "kernel_impl"
        raise NotImplementedError(f'"{fname}_{kernel}" not implemented for '
                                  f"'{type_name(data.dtype)}'")
    if not isinstance(dim, int):
        raise TypeError(f"{fname}(): argument 'dim' (position 2) must be int, not "
                        f"{type(dim).__name__}")
    return x, wrap_dim(dim, data.ndim)


@autocast_op("softmax")
def softmax(input, dim, dtype=None, *, _stacklevel=5) -> Tensor:
    """``exp(x) / exp(x).sum(dim)``, computed stably; ``dtype`` casts the input first.

    Example::

        >>> torch.softmax(torch.tensor([1000., 1000.]), 0)
        tensor([0.5000, 0.5000])
    """
    x, d = _softmax_input("softmax", input, dim, dtype)
    return Softmax.apply(x, dim=d)


@autocast_op("log_softmax")
def log_softmax(input, dim, dtype=None, *, _stacklevel=5) -> Tensor:
    """``log(softmax(x, dim))`` computed stably (finite for large or very negative inputs)."""
    x, d = _softmax_input("log_softmax", input, dim, dtype)
    return LogSoftmax.apply(x, dim=d)


class Logsumexp(Reduction):
    def forward(ctx, a, dims=None, keepdim=False):
        ctx._record(a, dims, keepdim)
        xp = array_module(a)
        work = _widen(a)
        if a.size:
            m = work.max(axis=dims, keepdims=True)
            m = xp.where(xp.isfinite(m), m, 0)  # keeps +-inf and NaN rows exact
            with np.errstate(divide="ignore"):
                kept = xp.log(xp.exp(work - m).sum(axis=dims, keepdims=True)) + m
        else:
            kept = xp.full(ctx.kshape, -np.inf, dtype=work.dtype)
        kept = kept.astype(a.dtype, copy=False)
        ctx.save_for_backward(a, kept)
        return kept if keepdim else kept.reshape(reduced_shape(a.shape, dims, False))

    def backward(ctx, grad):
        a, kept = ctx.saved_tensors
        xp = array_module(a)
        with np.errstate(invalid="ignore"):
            return ctx._kept(grad) * xp.exp(a - kept)


@autocast_op("logsumexp")
def logsumexp(input, dim, keepdim=False, *, out=None, axis=None, keepdims=None) -> Tensor:
    """``log(exp(input).sum(dim))`` computed stably; integer inputs give the default float.

    Example::

        >>> torch.logsumexp(torch.tensor([[1000., 1000.], [-float("inf")] * 2]), dim=1)
        tensor([1000.6931,       -inf])
    """
    dim, keepdim = alias_args(dim, keepdim, axis, keepdims)
    data = data_of(input, "logsumexp")
    if not is_floating(data.dtype):
        input = cast(input, _dtype.get_default_dtype().numpy_dtype)  # noqa: A001
    result = Logsumexp.apply(input, dims=reduce_dims(dim, data.ndim), keepdim=keepdim)
    return result if out is None else write_out("logsumexp", result, out)


bind_methods({"softmax": softmax, "log_softmax": log_softmax, "logsumexp": logsumexp})
