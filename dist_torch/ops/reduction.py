"""Reductions: sum, nansum, mean, prod, max/min, amax/amin, argmax/argmin, aminmax, all/any,
count_nonzero.

Shapes, dims and errors are handled by the shared helpers in ``_reduce``. Results that torch
computes with a wider accumulator (float16/bfloat16 sums) are accumulated in float32 here too.
"""

from __future__ import annotations

import numpy as np

from dist_torch import return_types
from dist_torch._tensor import Tensor, _wrap, bind_methods
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops._reduce import (
    LOW_FLOATS,
    Reduction,
    alias_args,
    check_nonempty,
    data_of,
    is_floating,
    reduce_dims,
    reduced_shape,
    type_name,
    write_out,
)
from dist_torch.ops._util import wrap_dim, wrap_dims

__all__ = [
    "sum", "nansum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "aminmax",
    "all", "any", "count_nonzero",
]

_INT64 = np.dtype(np.int64)
_FLOAT32 = np.dtype(np.float32)


# --------------------------------------------------------------------------- sum / mean

class Sum(Reduction):
    _name = "SumBackward1"

    def forward(ctx, a, dims=None, keepdim=False, dtype=None):
        ctx._record(a, dims, keepdim)
        if dtype is None and a.dtype in LOW_FLOATS:
            return a.sum(axis=dims, keepdims=keepdim, dtype=_FLOAT32).astype(a.dtype)
        return a.sum(axis=dims, keepdims=keepdim, dtype=dtype)

    def backward(ctx, grad):
        return ctx._expand(grad)


class SumAll(Sum):
    _name = "SumBackward0"


def _sum_dtype(data, dtype):
    if dtype is not None:
        return dtype.numpy_dtype
    return _INT64 if data.dtype.kind in "biu" else None


@autocast_op("sum")
def sum(input, dim=None, keepdim=False, *, dtype=None, out=None, axis=None,  # noqa: A001
        keepdims=None) -> Tensor:
    """Sum of the elements over ``dim`` (an int, a tuple of ints, or None for all).

    Integer and bool inputs sum to int64 unless ``dtype`` is given.

    Example::

        >>> torch.sum(torch.tensor([[1, 2], [3, 4]]), dim=0)
        tensor([4, 6])
    """
    if axis is not None or keepdims is not None:
        dim, keepdim = alias_args(dim, keepdim, axis, keepdims)
    data = data_of(input, "sum")
    np_dtype = _sum_dtype(data, dtype)
    if dim is None:
        result = SumAll.apply(input, keepdim=keepdim, dtype=np_dtype)
    else:
        result = Sum.apply(input, dims=reduce_dims(dim, data.ndim), keepdim=keepdim,
                           dtype=np_dtype)
    return result if out is None else write_out("sum", result, out)


class Nansum(Reduction):
    def forward(ctx, a, dims=None, keepdim=False, dtype=None):
        ctx._record(a, dims, keepdim)
        ctx.save_for_backward(a)
        xp = array_module(a)
        if dtype is None and a.dtype in LOW_FLOATS:
            wide = a.astype(_FLOAT32)  # NumPy's nansum does not see NaN in bfloat16
            return xp.nansum(wide, axis=dims, keepdims=keepdim).astype(a.dtype)
        return xp.nansum(a, axis=dims, keepdims=keepdim, dtype=dtype)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        xp = array_module(a)
        return xp.where(xp.isnan(a), 0, ctx._kept(grad))


def nansum(input, dim=None, keepdim=False, *, dtype=None, out=None, axis=None,
           keepdims=None) -> Tensor:
    """Sum over ``dim`` treating NaN as zero."""
    dim, keepdim = alias_args(dim, keepdim, axis, keepdims)
    data = data_of(input, "nansum")
    if not is_floating(data.dtype):
        result = sum(input, dim, keepdim, dtype=dtype)
    else:
        result = Nansum.apply(input, dims=reduce_dims(dim, data.ndim), keepdim=keepdim,
                              dtype=None if dtype is None else dtype.numpy_dtype)
    return result if out is None else write_out("nansum", result, out)


class Mean(Reduction):
    _name = "MeanBackward1"

    def forward(ctx, a, dims=None, keepdim=False, dtype=None):
        if dtype is not None and a.dtype != dtype:
            a = a.astype(dtype)
        ctx._record(a, dims, keepdim)
        count = a.size
        if dims is not None:
            count = 1
            for d in dims:
                count *= a.shape[d]
        ctx.count = count
        if count == 0:
            xp = array_module(a)
            return xp.full(reduced_shape(a.shape, dims, keepdim), np.nan, dtype=a.dtype)
        if a.dtype in LOW_FLOATS:
            total = a.sum(axis=dims, keepdims=keepdim, dtype=_FLOAT32)
            return (total / count).astype(a.dtype)
        return a.sum(axis=dims, keepdims=keepdim) / count

    def backward(ctx, grad):
        # an empty mean has an empty input: there is nothing to divide (nor to warn about)
        return ctx._expand(grad / ctx.count if ctx.count else grad)


class MeanAll(Mean):
    _name = "MeanBackward0"


def mean(input, dim=None, keepdim=False, *, dtype=None, out=None, axis=None,
         keepdims=None) -> Tensor:
    """Mean over ``dim`` (int, tuple or None for all); the input must be floating point
    (or ``dtype`` a floating dtype to compute in)."""
    if axis is not None or keepdims is not None:
        dim, keepdim = alias_args(dim, keepdim, axis, keepdims)
    data = data_of(input, "mean")
    np_dtype = None
    if dtype is not None:
        np_dtype = dtype.numpy_dtype
        if not dtype.is_floating_point:
            raise RuntimeError("mean(): could not infer output dtype. Optional dtype must be "
                               "either a floating point or complex dtype. Got: "
                               f"{type_name(np_dtype)}")
    elif not is_floating(data.dtype):
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {type_name(data.dtype)}")
    if dim is None:
        result = MeanAll.apply(input, keepdim=keepdim, dtype=np_dtype)
    else:
        result = Mean.apply(input, dims=reduce_dims(dim, data.ndim), keepdim=keepdim,
                            dtype=np_dtype)
    return result if out is None else write_out("mean", result, out)


# --------------------------------------------------------------------------- prod

class Prod(Reduction):
    _name = "ProdBackward1"

    def forward(ctx, a, dims=None, keepdim=False, dtype=None):
        ctx._record(a, dims, keepdim)
        if dtype is None and a.dtype in LOW_FLOATS:
            out = a.prod(axis=dims, keepdims=keepdim, dtype=_FLOAT32).astype(a.dtype)
        else:
            out = a.prod(axis=dims, keepdims=keepdim, dtype=dtype)
        ctx.save_for_backward(a, out)
        return out

    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        xp = array_module(a)
        g = ctx._kept(grad)
        out = ctx._kept(xp.asarray(out))
        zero = a == 0
        if not zero.any():
            return g * (out / a)
        # With zeros, d(prod)/d(a_i) is the product of the other elements: nonzero only at
        # the first zero of a slice (and only if it is the slice's sole zero).
        if ctx.dims is None:
            flat = a.reshape(-1)
            first = (zero.reshape(-1) & (xp.cumsum(zero.reshape(-1)) == 1)).reshape(a.shape)
            others = xp.where(first.reshape(-1), 1, flat).prod()
        else:
            axis = ctx.dims[0]
            first = zero & (xp.cumsum(zero, axis=axis) == 1)
            others = xp.where(first, 1, a).prod(axis=axis, keepdims=True)
        safe = xp.where(zero, 1, a)
        local = xp.where(first, others, xp.where(zero, 0, out / safe))
        return g * local


class ProdAll(Prod):
    _name = "ProdBackward0"


@autocast_op("prod")
def prod(input, dim=None, keepdim=False, *, dtype=None, out=None, axis=None,
         keepdims=None) -> Tensor:
    """Product of the elements (over one ``dim`` when given); ints and bools give int64."""
    dim, keepdim = alias_args(dim, keepdim, axis, keepdims)
    data = data_of(input, "prod")
    np_dtype = _sum_dtype(data, dtype)
    if dim is None:
        result = ProdAll.apply(input, keepdim=keepdim, dtype=np_dtype)
    elif not isinstance(dim, int):
        raise TypeError(f"prod(): argument 'dim' (position 2) must be int, not "
                        f"{type(dim).__name__}")
    else:
        result = Prod.apply(input, dims=reduce_dims(dim, data.ndim), keepdim=keepdim,
                            dtype=np_dtype)
    return result if out is None else write_out("prod", result, out)


# --------------------------------------------------------------------------- max / min

def _tie_mask(xp, a, value):
    """Where ``a`` equals the reduced ``value`` (NaN counts as equal to a NaN result)."""
    if is_floating(a.dtype):
        return (a == value) | (xp.isnan(a) & xp.isnan(value))
    return a == value


class MaxAll(Primitive):
    """max()/min() of all elements; the gradient is shared evenly among the ties."""

    _name = "MaxBackward1"

    def forward(ctx, a, largest=True):
        out = a.max() if largest else a.min()
        ctx.save_for_backward(a, out)
        return out

    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        xp = array_module(a)
        mask = _tie_mask(xp, a, xp.asarray(out))
        return mask * (grad / mask.sum())


class MinAll(MaxAll):
    _name = "MinBackward1"


class MaxDim(Primitive):
    """max/min along one dim: (values, indices); the gradient goes to the chosen index."""

    _name = "MaxBackward0"
    _non_differentiable = (1,)

    def forward(ctx, a, dim, keepdim=False, largest=True):
        xp = array_module(a)
        ctx.shape = a.shape
        if a.ndim == 0:
            ctx.dim = None
            return a.copy(), xp.zeros((), dtype=_INT64)
        ctx.dim = dim
        idx = (xp.argmax if largest else xp.argmin)(a, axis=dim, keepdims=True)
        values = xp.take_along_axis(a, idx, axis=dim)
        ctx.save_for_backward(idx)
        idx = idx.astype(_INT64, copy=False)
        if keepdim:
            return values, idx
        return values.squeeze(dim), idx.squeeze(dim)

    def backward(ctx, grad, grad_indices=None):
        if ctx.dim is None:
            return grad
        (idx,) = ctx.saved_tensors
        xp = array_module(grad)
        dim = ctx.dim
        if grad.ndim != idx.ndim:
            grad = xp.expand_dims(grad, dim)
        positions = xp.arange(ctx.shape[dim]).reshape((-1,) + (1,) * (len(ctx.shape) - dim - 1))
        return xp.where(positions == idx, grad, 0)


class MinDim(MaxDim):
    _name = "MinBackward0"


def _max_min(fname, largest, input, dim, keepdim, other_fn):
    data = data_of(input, fname)
    if isinstance(dim, Tensor):  # torch.max(a, b) is torch.maximum(a, b)
        return other_fn(input, dim)
    if dim is None:
        if not data.size:
            check_nonempty(fname, data, None)
        return (MaxAll if largest else MinAll).apply(input, largest=largest)
    if not isinstance(dim, int):
        raise TypeError(f"{fname}() received an invalid combination of arguments - got "
                        f"(Tensor, {type(dim).__name__}), but expected one of: (Tensor input), "
                        "(Tensor input, int dim, bool keepdim), (Tensor input, Tensor other)")
    d = wrap_dim(dim, data.ndim)
    if not data.size:
        check_nonempty(fname, data, (d,) if data.ndim else None)
    values, indices = (MaxDim if largest else MinDim).apply(input, dim=d, keepdim=keepdim,
                                                            largest=largest)
    return tuple.__new__(return_types.max if largest else return_types.min, (values, indices))


def _maximum(input, other):
    from dist_torch.ops.comparison import maximum
    return maximum(input, other)


def _minimum(input, other):
    from dist_torch.ops.comparison import minimum
    return minimum(input, other)


def max(input, dim=None, keepdim=False, *, out=None, axis=None, keepdims=None):  # noqa: A001
    """The largest element; or, along ``dim``, ``(values, indices)`` as
    ``torch.return_types.max``; or, given a tensor ``other``, ``torch.maximum(input, other)``.

    Example::

        >>> torch.max(torch.tensor([[1., 5.], [7., 2.]]), dim=1).indices
        tensor([1, 0])
    """
    if axis is not None or keepdims is not None:
        dim, keepdim = alias_args(dim, keepdim, axis, keepdims)
    result = _max_min("max", True, input, dim, keepdim, _maximum)
    return result if out is None else write_out("max", result, out)


def min(input, dim=None, keepdim=False, *, out=None, axis=None, keepdims=None):  # noqa: A001
    """The smallest element; ``(values, indices)`` along ``dim``; or ``torch.minimum``."""
    if axis is not None or keepdims is not None:
        dim, keepdim = alias_args(dim, keepdim, axis, keepdims)
    result = _max_min("min", False, input, dim, keepdim, _minimum)
    return result if out is None else write_out("min", result, out)


class Amax(Reduction):
    """amax/amin over dims; the gradient is split evenly among the ties of each slice."""

    def forward(ctx, a, dims=None, keepdim=False, largest=True):
        ctx._record(a, dims, keepdim)
        kept = a.max(axis=dims, keepdims=True) if largest else a.min(axis=dims, keepdims=True)
        ctx.save_for_backward(a, kept)
        return kept if keepdim else kept.reshape(reduced_shape(a.shape, dims, False))

    def backward(ctx, grad):
        a, kept = ctx.saved_tensors
        mask = a == kept
        count = mask.sum(axis=ctx.dims, keepdims=True)
        return mask * (ctx._kept(grad) / count)


class Amin(Amax):
    pass


def _amax_amin(fname, largest, input, dim, keepdim):
    data = data_of(input, fname)
    dims = reduce_dims(dim, data.ndim)
    if not data.size:
        check_nonempty(fname, data, dims)
    return (Amax if largest else Amin).apply(input, dims=dims, keepdim=keepdim, largest=largest)


def amax(input, dim=(), keepdim=False, *, out=None, axis=None, keepdims=None) -> Tensor:
    """Maximum over ``dim`` (int or tuple; all dims by default). Ties share the gradient."""
    dim, keepdim = alias_args(dim, keepdim, axis, keepdims)
    result = _amax_amin("amax", True, input, dim, keepdim)
    return result if out is None else write_out("amax", result, out)


def amin(input, dim=(), keepdim=False, *, out=None, axis=None, keepdims=None) -> Tensor:
    """Minimum over ``dim`` (int or tuple; all dims by default). Ties share the gradient."""
    dim, keepdim = alias_args(dim, keepdim, axis, keepdims)
    result = _amax_amin("amin", False, input, dim, keepdim)
    return result if out is None else write_out("amin", result, out)


def _arg(fname, largest, input, dim, keepdim):
    data = data_of(input, fname)
    xp = array_module(data)
    if data.dtype.kind == "b":
        raise RuntimeError(f"{fname}(): does not support bool input")
    pick = xp.argmax if largest else xp.argmin
    if dim is None:
        if not data.size:
            raise IndexError(f"{fname}(): Expected reduction dim to be specified for "
                             "input.numel() == 0.")
        out = xp.asarray(pick(data), dtype=_INT64)
        if keepdim:
            out = out.reshape((1,) * data.ndim)
        return _wrap(out)
    if not isinstance(dim, int):
        raise TypeError(f"{fname}(): argument 'dim' (position 2) must be int, not "
                        f"{type(dim).__name__}")
    d = wrap_dim(dim, data.ndim)
    if data.ndim == 0:
        return _wrap(xp.zeros((), dtype=_INT64))
    if not data.size:
        check_nonempty(fname, data, (d,))
    return _wrap(pick(data, axis=d, keepdims=keepdim).astype(_INT64, copy=False))


def argmax(input, dim=None, keepdim=False, *, out=None, axis=None, keepdims=None) -> Tensor:
    """Index of the largest element (of the flattened input when ``dim`` is None); int64.

    Example::

        >>> torch.argmax(torch.tensor([[1., 5.], [7., 2.]]))
        tensor(2)
    """
    dim, keepdim = alias_args(dim, keepdim, axis, keepdims)
    result = _arg("argmax", True, input, dim, keepdim)
    return result if out is None else write_out("argmax", result, out)


def argmin(input, dim=None, keepdim=False, *, out=None, axis=None, keepdims=None) -> Tensor:
    """Index of the smallest element (of the flattened input when ``dim`` is None); int64."""
    dim, keepdim = alias_args(dim, keepdim, axis, keepdims)
    result = _arg("argmin", False, input, dim, keepdim)
    return result if out is None else write_out("argmin", result, out)


class Aminmax(Reduction):
    _name = "AminmaxBackward0"

    def forward(ctx, a, dims=None, keepdim=False):
        ctx._record(a, dims, keepdim)
        lo = a.min(axis=dims, keepdims=True)
        hi = a.max(axis=dims, keepdims=True)
        ctx.save_for_backward(a, lo, hi)
        if keepdim:
            return lo, hi
        shape = reduced_shape(a.shape, dims, False)
        return lo.reshape(shape), hi.reshape(shape)

    def backward(ctx, grad_min, grad_max):
        a, lo, hi = ctx.saved_tensors
        out = None
        for grad, value in ((grad_min, lo), (grad_max, hi)):
            if grad is None:
                continue
            mask = a == value
            part = mask * (ctx._kept(grad) / mask.sum(axis=ctx.dims, keepdims=True))
            out = part if out is None else out + part
        return out


def aminmax(input, *, dim=None, keepdim=False, out=None) -> tuple:
    """``(min, max)`` over all elements or one ``dim``, as ``torch.return_types.aminmax``."""
    data = data_of(input, "aminmax")
    if dim is None:
        dims = None
        if not data.size:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the "
                               "operation has no identity.")
    else:
        if not isinstance(dim, int):
            raise TypeError(f"aminmax(): argument 'dim' must be int, not {type(dim).__name__}")
        dims = reduce_dims(dim, data.ndim)
        if not data.size:
            check_nonempty("aminmax", data, dims, sep=": ")
    result = tuple.__new__(return_types.aminmax, Aminmax.apply(input, dims=dims, keepdim=keepdim))
    return result if out is None else write_out("aminmax", result, out)


# --------------------------------------------------------------------------- logical

def _logical(fname, input, dim, keepdim):
    data = data_of(input, fname)
    if dim is None:
        dims = None
    elif isinstance(dim, int):
        dims = reduce_dims(dim, data.ndim)
    else:
        dims = wrap_dims(dim, data.ndim)
        if not dims:  # torch reduces nothing for an empty dim list here
            out = data.astype(bool) if data.dtype.kind != "b" else data.copy()
            return _wrap(out.astype(np.uint8) if data.dtype == np.uint8 else out)
        if not data.ndim:
            dims = None
    method = data.all if fname == "all" else data.any
    out = array_module(data).asarray(method(axis=dims, keepdims=keepdim))
    return _wrap(out.astype(np.uint8) if data.dtype == np.uint8 else out)


def all(input, dim=None, keepdim=False, *, out=None, axis=None, keepdims=None) -> Tensor:  # noqa: A001
    """Whether all elements (over ``dim``) are nonzero; bool (uint8 for uint8 input)."""
    dim, keepdim = alias_args(dim, keepdim, axis, keepdims)
    result = _logical("all", input, dim, keepdim)
    return result if out is None else write_out("all", result, out)


def any(input, dim=None, keepdim=False, *, out=None, axis=None, keepdims=None) -> Tensor:  # noqa: A001
    """Whether any element (over ``dim``) is nonzero; bool (uint8 for uint8 input)."""
    dim, keepdim = alias_args(dim, keepdim, axis, keepdims)
    result = _logical("any", input, dim, keepdim)
    return result if out is None else write_out("any", result, out)


def count_nonzero(input, dim=None) -> Tensor:
    """Number of nonzero elements over ``dim`` (int, tuple or None for all); int64."""
    data = data_of(input, "count_nonzero")
    dims = reduce_dims(dim, data.ndim)
    return _wrap(array_module(data).asarray((data != 0).sum(axis=dims, dtype=_INT64)))


bind_methods({
    "sum": sum, "nansum": nansum, "mean": mean, "prod": prod, "max": max, "min": min,
    "amax": amax, "amin": amin, "argmax": argmax, "argmin": argmin, "aminmax": aminmax,
    "all": all, "any": any, "count_nonzero": count_nonzero,
})
