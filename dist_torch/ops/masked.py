"""Boolean-mask ops: masked_fill, masked_select, masked_scatter, and nonzero/argwhere."""

from __future__ import annotations

import numpy as np

from dist_torch._broadcast import broadcast_shapes
from dist_torch._tensor import Tensor, _wrap, bind_methods
from dist_torch.autograd.function import _LEGACY_TYPE_NAMES, Primitive
from dist_torch.backend import array_module
from dist_torch.ops._indexing_util import check_inplace, inplace_apply
from dist_torch.ops._util import check_same_device

__all__ = ["masked_fill", "masked_select", "masked_scatter", "nonzero", "argwhere"]

# How torch's C++ kernels name dtypes in mask-dtype errors.
_CPP_NAMES = {
    "float32": "float", "float64": "double", "float16": "c10::Half",
    "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int", "int16": "short int",
    "int8": "signed char", "uint8": "unsigned char", "bool": "bool",
}


def _legacy(np_dtype) -> str:
    from dist_torch._dtype import from_numpy_dtype
    return _LEGACY_TYPE_NAMES[from_numpy_dtype(np_dtype).name]


def _dtype_name(np_dtype) -> str:
    from dist_torch._dtype import from_numpy_dtype
    return from_numpy_dtype(np_dtype).name


def _check_mask(mask, fname):
    if not isinstance(mask, Tensor):
        raise TypeError(f"{fname}(): argument 'mask' (position 1) must be Tensor, not "
                        f"{type(mask).__name__}")


def _inplace_shape(self, mask_shape):
    """In-place masked ops broadcast the mask to ``self``; the mask may not be larger."""
    shape = self._data.shape
    if mask_shape != shape and broadcast_shapes(shape, mask_shape) != shape:
        raise RuntimeError(f"output with shape {list(shape)} doesn't match the broadcast shape "
                           f"{list(broadcast_shapes(shape, mask_shape))}")


# --------------------------------------------------------------------------- masked_fill

class MaskedFill(Primitive):
    """``value`` where ``mask`` is set; a 0-dim tensor value is MaskedFillBackward1."""

    def forward(ctx, a, value, mask, inplace=False):
        xp = array_module(a)
        ctx.mask = mask
        v = xp.asarray(value).astype(a.dtype, copy=False)
        if inplace:
            xp.copyto(a, v, where=mask)
            return a
        return xp.where(mask, v, a)

    def backward(ctx, grad):
        xp = array_module(grad)
        needs = ctx.needs_input_grad
        grad_self = xp.where(ctx.mask, 0, grad) if needs[0] else None
        grad_value = xp.where(ctx.mask, grad, 0).sum() if needs[1] else None
        return grad_self, grad_value


class MaskedFillTensor(MaskedFill):
    _name = "MaskedFillBackward1"


def _masked_fill(self, mask, value, inplace):
    _check_mask(mask, "masked_fill")
    check_same_device(self, mask)
    m = mask._data
    if m.dtype != np.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{_CPP_NAMES[_dtype_name(m.dtype)]}")
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but "
                               f"got tensor with {value._data.ndim} dimension(s).")
        prim = MaskedFillTensor
    else:
        if isinstance(value, np.generic):
            value = value.item()
        if not isinstance(value, (bool, int, float)):
            raise TypeError(f"masked_fill(): argument 'value' must be Number, not "
                            f"{type(value).__name__}")
        prim = MaskedFill
    if inplace:
        _inplace_shape(self, m.shape)
        return inplace_apply(self, prim, value, m, inplace=True)
    if m.shape != self._data.shape:
        broadcast_shapes(m.shape, self._data.shape)  # torch's error for shapes that clash
    return prim.apply(self, value, m)


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``input`` with ``value`` (a number or 0-dim tensor) wherever the bool ``mask`` is True.

    ``mask`` broadcasts with ``input``.

    Example::

        >>> torch.masked_fill(torch.zeros(3), torch.tensor([True, False, True]), 1.0)
        tensor([1., 0., 1.])
    """
    return _masked_fill(input, mask, value, False)


def masked_fill_(self: Tensor, mask: Tensor, value) -> Tensor:
    """In-place :func:`masked_fill`."""
    check_inplace(self)
    return _masked_fill(self, mask, value, True)


# --------------------------------------------------------------------------- masked_select

class MaskedSelect(Primitive):
    def forward(ctx, a, mask):
        xp = array_module(a)
        shape = broadcast_shapes(mask.shape, a.shape)
        ctx.shape = shape
        ctx.mask = mask if mask.shape == shape else xp.broadcast_to(mask, shape)
        return (a if a.shape == shape else xp.broadcast_to(a, shape))[ctx.mask]

    def backward(ctx, grad):
        g = array_module(grad).zeros(ctx.shape, dtype=grad.dtype)
        g[ctx.mask] = grad
        return g


def masked_select(input: Tensor, mask: Tensor, *, out=None) -> Tensor:
    """A 1-d tensor of the elements of ``input`` where the bool ``mask`` is True (the two
    broadcast)."""
    _check_mask(mask, "masked_select")
    if mask._data.dtype != np.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    return MaskedSelect.apply(input, mask._data)


# --------------------------------------------------------------------------- masked_scatter

class MaskedScatter(Primitive):
    """Consecutive elements of ``source`` written where ``mask`` is True."""

    def forward(ctx, a, source, mask, inplace=False):
        xp = array_module(a)
        if inplace:
            out = a
        else:
            shape = broadcast_shapes(a.shape, mask.shape)
            out = xp.array(xp.broadcast_to(a, shape)) if a.shape != shape else a.copy()
        if mask.shape != out.shape:
            mask = xp.broadcast_to(mask, out.shape)
        count = int(xp.count_nonzero(mask))
        if source.size < count:
            raise RuntimeError("Number of elements of source < number of ones in mask")
        out[mask] = source.reshape(-1)[:count]
        ctx.mask, ctx.count, ctx.src_shape = mask, count, source.shape
        return out

    def backward(ctx, grad):
        xp = array_module(grad)
        needs = ctx.needs_input_grad
        grad_self = xp.where(ctx.mask, 0, grad) if needs[0] else None
        grad_src = None
        if needs[1]:
            flat = xp.zeros(int(np.prod(ctx.src_shape)), dtype=grad.dtype)
            flat[:ctx.count] = grad[ctx.mask]
            grad_src = flat.reshape(ctx.src_shape)
        return grad_self, grad_src


def _masked_scatter(self, mask, source, inplace):
    _check_mask(mask, "masked_scatter")
    m = mask._data
    if m.dtype != np.bool_:
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with "
                           f"dtype {_legacy(m.dtype)}")
    if not isinstance(source, Tensor):
        raise TypeError(f"masked_scatter(): argument 'source' (position 2) must be Tensor, not "
                        f"{type(source).__name__}")
    if source._data.dtype != self._data.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but "
                           f"got{_legacy(self._data.dtype)} and {_legacy(source._data.dtype)}")
    if inplace:
        shape = self._data.shape
        if m.shape != shape and broadcast_shapes(shape, m.shape) != shape:
            raise RuntimeError(f"expand(CPUBoolType{{{list(m.shape)}}}, size={list(shape)}): "
                               f"the number of sizes provided ({len(shape)}) must be greater "
                               f"or equal to the number of dimensions in the tensor "
                               f"({m.ndim})" if m.ndim > len(shape) else
                               f"output with shape {list(shape)} doesn't match the broadcast "
                               f"shape {list(broadcast_shapes(shape, m.shape))}")
        return inplace_apply(self, MaskedScatter, source, m, inplace=True)
    return MaskedScatter.apply(self, source, m)


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """``input`` with the elements where ``mask`` is True replaced, in row-major order, by
    consecutive elements of ``source``."""
    return _masked_scatter(input, mask, source, False)


def masked_scatter_(self: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """In-place :func:`masked_scatter`."""
    check_inplace(self)
    return _masked_scatter(self, mask, source, True)


# --------------------------------------------------------------------------- nonzero

def nonzero(input: Tensor, *, out=None, as_tuple: bool = False):
    """Indices of the non-zero elements: an ``(n, ndim)`` int64 tensor, or with
    ``as_tuple=True`` one 1-d tensor per dimension."""
    a = input._data
    xp = array_module(a)
    if as_tuple:
        parts = xp.nonzero(a.reshape(1) if a.ndim == 0 else a)
        return tuple(_wrap(p.astype(np.int64, copy=False)) for p in parts)
    if a.ndim == 0:
        return _wrap(xp.zeros((int(bool(a)), 0), dtype=np.int64))
    return _wrap(xp.argwhere(a).astype(np.int64, copy=False))


def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``: an ``(n, ndim)`` tensor of the indices of non-zero elements."""
    return nonzero(input)


bind_methods({
    "masked_fill": masked_fill, "masked_fill_": masked_fill_,
    "masked_select": masked_select, "masked_scatter": masked_scatter,
    "masked_scatter_": masked_scatter_, "nonzero": nonzero, "argwhere": argwhere,
})
