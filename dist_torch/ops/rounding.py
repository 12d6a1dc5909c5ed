"""Piecewise ops: sign, rounding (floor/ceil/round/trunc/frac), clamp and nan_to_num.

Rounding keeps integer dtypes unchanged (torch computes them as the identity); the rounded
functions are piecewise constant, so their gradient is zero.
"""

from __future__ import annotations

import warnings

from dist_torch._tensor import Tensor, bind_methods
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops._pointwise import (
    apply_broadcasting,
    direct_target,
    inplace_method,
    not_implemented,
    write_out,
    written,
)
from dist_torch.ops._util import cast, promote, result_dtype, scalar_value, to_tensor
from dist_torch.ops.inplace import inplace

__all__ = [
    "sign", "sgn", "floor", "ceil", "round", "trunc", "fix", "frac", "clamp", "clip",
    "clamp_min", "clamp_max", "nan_to_num",
    "sign_", "sgn_", "floor_", "ceil_", "round_", "trunc_", "fix_", "frac_", "clamp_",
    "clip_", "clamp_min_", "clamp_max_", "nan_to_num_",
]

warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"dist_torch\.ops\.rounding")


class _Constant(Primitive):
    """Base of piecewise-constant ops: the gradient is zero everywhere."""

    def backward(ctx, grad):
        return array_module(grad).zeros_like(grad)


class Sign(_Constant):
    def forward(ctx, a):
        kind = a.dtype.kind
        if kind == "b":
            return a.copy()
        if kind in "iu":
            return array_module(a).sign(a)
        # (a > 0) - (a < 0): 0 for nan and -0.0, as torch
        out = (a > 0).astype(a.dtype)
        out -= a < 0
        return out


class Sgn(Sign):
    pass


class Floor(_Constant):
    def forward(ctx, a):
        return a.copy() if a.dtype.kind in "iu" else array_module(a).floor(a)


class Ceil(_Constant):
    def forward(ctx, a):
        return a.copy() if a.dtype.kind in "iu" else array_module(a).ceil(a)


class Trunc(_Constant):
    def forward(ctx, a):
        return a.copy() if a.dtype.kind in "iu" else array_module(a).trunc(a)


class Round(_Constant):
    """Round half to even."""

    def forward(ctx, a):
        return a.copy() if a.dtype.kind in "iu" else array_module(a).rint(a)


class RoundDecimals(_Constant):
    _name = "RoundBackward1"

    def forward(ctx, a, decimals):
        xp = array_module(a)
        if decimals > 0:
            scale = 10.0 ** decimals
            return xp.rint(a * scale) / scale
        scale = 10.0 ** -decimals
        return xp.rint(a / scale) * scale


class Frac(Primitive):
    def forward(ctx, a):
        return a - array_module(a).trunc(a)

    def backward(ctx, grad):
        return grad


def _rounding_function(op, name, kernel, doc):
    def fn(input, *, out=None):
        if input._data.dtype.kind == "b":
            raise not_implemented(kernel, input._data.dtype)
        result = op.apply(input)
        return result if out is None else write_out(out, result, name)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


floor = _rounding_function(Floor, "floor", "floor_vml_cpu", "Round down to an integer value.")
ceil = _rounding_function(Ceil, "ceil", "ceil_vml_cpu", "Round up to an integer value.")
trunc = _rounding_function(Trunc, "trunc", "trunc_vml_cpu", "Round toward zero.")
fix = trunc


def sign(input, *, out=None) -> Tensor:
    """-1, 0 or 1 by the sign of each element (0 for nan); bool stays bool."""
    result = Sign.apply(input)
    return result if out is None else write_out(out, result, "sign")


def sgn(input, *, out=None) -> Tensor:
    """:func:`sign` for real tensors."""
    result = Sgn.apply(input)
    return result if out is None else write_out(out, result, "sgn")


def round(input, *, decimals=0, out=None) -> Tensor:  # noqa: A001 - torch name
    """Round half to even, to ``decimals`` decimal places (negative: to tens, hundreds...).

    Example::

        >>> torch.round(torch.tensor([0.5, 1.5, 1.2345]), decimals=2)
        tensor([0.5000, 1.5000, 1.2300])
    """
    kind = input._data.dtype.kind
    if decimals == 0:
        if kind == "b":
            raise not_implemented("round_vml_cpu", input._data.dtype)
        result = Round.apply(input)
    else:
        if kind in "biu":
            raise not_implemented("round_cpu", input._data.dtype)
        result = RoundDecimals.apply(input, decimals)
    return result if out is None else write_out(out, result, "round")


def frac(input, *, out=None) -> Tensor:
    """The fractional part ``input - trunc(input)`` (keeps the sign); floating inputs only."""
    if input._data.dtype.kind in "biu":
        raise not_implemented("frac_cpu", input._data.dtype)
    result = Frac.apply(input)
    return result if out is None else write_out(out, result, "frac")


# --------------------------------------------------------------------------- clamp

class Clamp(Primitive):
    """Clamp to number bounds (either may be None); the gradient passes where lo <= x <= hi."""

    _name = "ClampBackward1"

    def forward(ctx, a, lo, hi):
        xp = array_module(a)
        out = a
        if lo is not None:
            out = xp.maximum(out, lo)
        if hi is not None:
            out = xp.minimum(out, hi)
        if out is a:
            out = a.copy()
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(a)
            ctx.lo, ctx.hi = lo, hi
        return out

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        lo, hi = ctx.lo, ctx.hi
        if lo is None:
            mask = a <= hi
        elif hi is None:
            mask = a >= lo
        else:
            mask = (a >= lo) & (a <= hi)
        return grad * mask


class ClampMin(Clamp):
    _name = "ClampMinBackward0"


class ClampMax(Clamp):
    _name = "ClampMaxBackward0"


class ClampTensor(Primitive):
    """Clamp to tensor bounds (either may be None), broadcasting all three."""

    _name = "ClampBackward0"

    def forward(ctx, a, lo, hi):
        xp = array_module(a)
        out = a
        if lo is not None:
            out = xp.maximum(out, lo)
        if hi is not None:
            out = xp.minimum(out, hi)
        if out is a:
            out = a.copy()
        ctx.save_for_backward(a, lo, hi)
        return out

    def backward(ctx, grad):
        a, lo, hi = ctx.saved_tensors
        xp = array_module(grad)
        needs = ctx.needs_input_grad
        grad_a = grad_lo = grad_hi = None
        if needs[0]:
            if lo is None:
                mask = a <= hi
            elif hi is None:
                mask = a >= lo
            else:
                mask = (a >= lo) & (a <= hi)
            grad_a = grad * mask
        # where the bounds cross (lo > hi) the output is hi, so hi takes the gradient
        if needs[1]:
            below = a < lo if hi is None else (a < lo) & (lo < hi)
            grad_lo = xp.where(below, grad, 0)
        if needs[2]:
            above = a > hi if lo is None else (a > hi) | (hi < lo)
            grad_hi = xp.where(above, grad, 0)
        return grad_a, grad_lo, grad_hi


def clamp(input, min=None, max=None, *, out=None) -> Tensor:  # noqa: A002
    """Clamp every element into ``[min, max]``; bounds are numbers or tensors, either None.

    Where ``min > max`` the result is ``max``. The gradient flows to ``input`` where
    ``min <= input <= max``.

    Example::

        >>> torch.clamp(torch.tensor([-1., 0.5, 2.]), 0, 1)
        tensor([0.0000, 0.5000, 1.0000])
    """
    result = _clamp(Clamp, input, min, max)
    return result if out is None else write_out(out, result, "clamp")


clip = clamp


def clamp_min(input, min) -> Tensor:  # noqa: A002
    """``max(input, min)``."""
    return _clamp(ClampMin, input, min, None)


def clamp_max(input, max) -> Tensor:  # noqa: A002
    """``min(input, max)``."""
    return _clamp(ClampMax, input, None, max)


def _clamp(op, input, lo, hi):
    if lo is None and hi is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(lo, Tensor) or isinstance(hi, Tensor):
        return _clamp_tensors(input, lo, hi)
    a = input
    lo = None if lo is None else scalar_value(lo)
    hi = None if hi is None else scalar_value(hi)
    if a._data.dtype.kind != "f":  # integers and bool may be promoted by the bounds
        if lo is not None:
            a, lo = promote(a, lo)
        if hi is not None:
            a, hi = promote(a, hi)
        if a._data.dtype.kind == "b":
            raise not_implemented("clamp_scalar_cpu", a._data.dtype)
    return op.apply(a, lo, hi)


def _clamp_tensors(input, lo, hi):
    bounds = [to_tensor(b, input) if b is not None else None for b in (lo, hi)]
    np_dtype = result_dtype(input, *[b for b in bounds if b is not None]).numpy_dtype
    a = cast(input, np_dtype)
    lo, hi = (None if b is None else cast(b, np_dtype) for b in bounds)
    return apply_broadcasting(ClampTensor, a, lo, hi)


# --------------------------------------------------------------------------- nan_to_num

class NanToNum(Primitive):
    def forward(ctx, a, nan, posinf, neginf):
        ctx.save_for_backward(a)
        xp = array_module(a)
        return xp.nan_to_num(a, copy=True, nan=nan, posinf=posinf, neginf=neginf)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * array_module(a).isfinite(a)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None, *, out=None) -> Tensor:
    """Replace nan, +inf and -inf (by default with 0 and the dtype's largest/lowest finite
    values); integer and bool tensors are returned as copies."""
    if input._data.dtype.kind in "biu":
        result = input.clone()
    else:
        result = NanToNum.apply(input, nan, posinf, neginf)
    return result if out is None else write_out(out, result, "nan_to_num")


# --------------------------------------------------------------------------- in-place variants

sign_, sgn_ = inplace_method(sign), inplace_method(sgn)
floor_, ceil_ = inplace_method(floor), inplace_method(ceil)
round_, frac_ = inplace_method(round), inplace_method(frac)
trunc_ = fix_ = inplace_method(trunc)


def clamp_(input, min=None, max=None) -> Tensor:  # noqa: A002
    """In-place :func:`clamp` (computed straight into ``input`` when nothing needs a gradient)."""
    if (min is not None or max is not None) and not isinstance(min, Tensor) and \
            not isinstance(max, Tensor):
        data = direct_target(input)
        if data is not None and data.dtype.kind == "f":
            xp = array_module(data)
            if min is not None:
                xp.maximum(data, scalar_value(min), out=data)
            if max is not None:
                xp.minimum(data, scalar_value(max), out=data)
            return written(input)
    return inplace(input, clamp, min, max)


clip_ = clamp_
clamp_min_, clamp_max_ = inplace_method(clamp_min), inplace_method(clamp_max)
nan_to_num_ = inplace_method(nan_to_num)

_NAMES = ("sign", "sgn", "floor", "ceil", "round", "trunc", "fix", "frac", "clamp", "clip",
          "clamp_min", "clamp_max", "nan_to_num")
bind_methods({name: globals()[name] for name in _NAMES})
bind_methods({name + "_": globals()[name + "_"] for name in _NAMES})
