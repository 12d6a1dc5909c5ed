"""Powers: ``tensor ** scalar``, ``tensor ** tensor``, ``scalar ** tensor`` and float_power.

Integer tensors raised to a negative integer scalar are an error, as in torch; a negative
element of an integer exponent tensor gives 0 (or +-1 for a base of +-1).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from dist_torch import _dtype
from dist_torch._tensor import Tensor, bind_methods
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops._pointwise import (
    apply_broadcasting,
    inplace_method,
    not_implemented,
    write_out,
)
from dist_torch.ops._util import cast, promote, scalar_value

__all__ = ["pow", "float_power"]

warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"dist_torch\.ops\.power")


_NEG_INT_POW = "Integers to negative integer powers are not allowed."


def _int_pow(xp, a, b):
    """Integer power with torch's rule for negative exponents (1, -1 or 0: no error)."""
    neg = b < 0
    if not neg.any():
        return a ** b
    base = a if hasattr(a, "dtype") else xp.asarray(a, dtype=b.dtype)
    out = base ** xp.where(neg, 0, b)
    odd = xp.where(b % 2 == 0, 1, -1)
    special = xp.where(base == 1, 1, xp.where(base == -1, odd, 0))
    return xp.where(neg, special, out).astype(out.dtype, copy=False)


class Pow(Primitive):
    """``tensor ** scalar``."""

    _name = "PowBackward0"

    def forward(ctx, a, e):
        ctx.e = e
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(a)
        if a.dtype.kind == "b" and isinstance(e, bool):
            return a.copy() if e else array_module(a).ones_like(a)
        return a ** e

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        e = ctx.e
        if e == 0:
            return array_module(grad).zeros_like(grad)
        if e == 2:
            return grad * 2 * a
        return grad * e * a ** (e - 1)


class PowTensor(Primitive):
    """``tensor ** tensor``."""

    _name = "PowBackward1"

    def forward(ctx, a, b):
        xp = array_module(a)
        out = _int_pow(xp, a, b) if a.dtype.kind in "iu" else a ** b
        ctx.save_for_backward(a, b, out if ctx.needs_input_grad[1] else None)
        return out

    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        xp = array_module(grad)
        needs = ctx.needs_input_grad
        grad_a = grad_b = None
        if needs[0]:
            grad_a = xp.where(b == 0, 0, grad * b * a ** (b - 1))
        if needs[1]:
            grad_b = grad * xp.where((a == 0) & (b >= 0), 0, out * xp.log(a))
        return grad_a, grad_b


class RPow(Primitive):
    """``scalar ** tensor``."""

    _name = "PowBackward2"

    def forward(ctx, s, b):
        ctx.s = s
        xp = array_module(b)
        out = _int_pow(xp, s, b) if b.dtype.kind in "iu" else s ** b
        ctx.save_for_backward(b, out)
        return out

    def backward(ctx, grad):
        b, out = ctx.saved_tensors
        xp = array_module(grad)
        s = ctx.s
        if s == 0:
            return None, grad * xp.where(b >= 0, 0, out * -math.inf)
        return None, grad * out * (math.log(s) if s > 0 else math.nan)


@autocast_op("pow")
def pow(input, exponent, *, out=None) -> Tensor:  # noqa: A001 - torch name
    """``input ** exponent``: tensor ** scalar, tensor ** tensor or scalar ** tensor.

    Integer tensors raised to a negative integer scalar are an error; a negative element of an
    integer exponent tensor gives 0 (or +-1 for a base of +-1), as in torch.

    Example::

        >>> torch.pow(torch.tensor([1., 2., 3.]), 2)
        tensor([1., 4., 9.])
    """
    if isinstance(input, Tensor):
        if isinstance(exponent, Tensor):
            result = _pow_tensors(input, exponent)
        else:
            result = _pow_scalar(input, scalar_value(exponent))
    else:
        result = _rpow(scalar_value(input), exponent)
    return result if out is None else write_out(out, result, "pow")


def _pow_scalar(a, e):
    kind = a._data.dtype.kind
    if kind in "biu":
        if isinstance(e, float):
            a = cast(a, _dtype.get_default_dtype().numpy_dtype)
        elif isinstance(e, int) and not isinstance(e, bool):
            if kind == "b":
                a = cast(a, np.dtype(np.int64))
            if e < 0:
                raise RuntimeError(_NEG_INT_POW)
        elif not isinstance(e, bool):
            raise TypeError(f"pow(): exponent must be a number or Tensor, not "
                            f"{type(e).__name__}")
    return Pow.apply(a, e)


def _pow_tensors(a, b):
    if a._data.dtype.kind == "b" and b._data.dtype.kind == "b":
        raise not_implemented("pow", a._data.dtype)
    a, b = promote(a, b)
    return apply_broadcasting(PowTensor, a, b)


def _rpow(s, exponent):
    if not isinstance(exponent, Tensor):
        raise TypeError(f"pow(): argument 'exponent' must be Tensor, not "
                        f"{type(exponent).__name__}")
    a, b = promote(s, exponent)
    if b._data.dtype.kind == "b":
        raise not_implemented("pow", b._data.dtype)
    return RPow.apply(a, b)


def float_power(input, exponent, *, out=None) -> Tensor:
    """``input ** exponent`` computed in float64."""
    f64 = np.dtype(np.float64)
    base = cast(input, f64) if isinstance(input, Tensor) else float(scalar_value(input))
    if isinstance(exponent, Tensor):
        exponent = cast(exponent, f64)
    else:
        exponent = float(scalar_value(exponent))
    return pow(base, exponent, out=out)


@autocast_op("pow")
def _rpow_method(self, other):
    return pow(other, self)


bind_methods({
    "pow": pow, "float_power": float_power, "__pow__": pow, "__rpow__": _rpow_method,
    "pow_": inplace_method(pow), "float_power_": inplace_method(float_power),
    "__ipow__": inplace_method(pow),
})
