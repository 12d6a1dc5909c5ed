"""Comparisons, logical and bitwise ops, elementwise max/min, ``where`` and float tests.

Comparisons promote their operands as arithmetic does (``int_tensor < 0.5`` compares in the
default float dtype) and return bool tensors outside the autograd graph.
"""

from __future__ import annotations

import operator
import warnings

import numpy as np

from dist_torch import _dtype
from dist_torch._tensor import Tensor, _wrap, bind_methods
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops._pointwise import (
    apply_broadcasting,
    inplace_method,
    not_implemented,
    raise_broadcast_error,
    type_name,
    write_out,
)
from dist_torch.ops._util import promote, result_dtype, scalar_value

__all__ = [
    "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal",
    "not_equal", "equal", "allclose", "isclose", "maximum", "minimum", "fmax", "fmin", "where",
    "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or",
    "bitwise_xor", "bitwise_not", "isnan", "isinf", "isfinite", "isposinf", "isneginf",
    "signbit",
]

_OPERAND = (Tensor, int, float, bool, np.generic, np.ndarray)

warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"dist_torch\.ops\.comparison")


def _array(x):
    return x._data if isinstance(x, Tensor) else x


def _result(out):
    """Wrap an array (NumPy gives a scalar for 0-d operands)."""
    return _wrap(np.asarray(out) if isinstance(out, np.generic) else out)


# --------------------------------------------------------------------------- comparisons

def _compare(op, a, b):
    """``op`` on promoted operands (at least one a Tensor), wrapped as a bool tensor."""
    try:
        out = op(a._data if isinstance(a, Tensor) else a, b._data if isinstance(b, Tensor) else b)
    except ValueError:
        raise_broadcast_error(a, b)
    return _wrap(out if type(out) is not np.bool_ else np.asarray(out))


def _comparison(op, name, doc):
    def fn(input, other, *, out=None):
        result = _compare(op, *promote(input, other))
        return result if out is None else write_out(out, result, name)

    def operator_method(self, other):
        # non-numeric operands: NotImplemented lets Python answer (t == None is False)
        if type(other) is not Tensor and not isinstance(other, _OPERAND):
            return NotImplemented
        return _compare(op, *promote(self, other))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    fn.operator_method = operator_method
    return fn


eq = _comparison(operator.eq, "eq", "``input == other`` elementwise, broadcasting (bool).")
ne = _comparison(operator.ne, "ne", "``input != other`` elementwise, broadcasting (bool).")
lt = _comparison(operator.lt, "lt", "``input < other`` elementwise, broadcasting (bool).")
le = _comparison(operator.le, "le", "``input <= other`` elementwise, broadcasting (bool).")
gt = _comparison(operator.gt, "gt", "``input > other`` elementwise, broadcasting (bool).")
ge = _comparison(operator.ge, "ge", "``input >= other`` elementwise, broadcasting (bool).")
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def _check_tensor_arg(value, fname, argname, position):
    if not isinstance(value, Tensor):
        raise TypeError(f"{fname}(): argument '{argname}' (position {position}) must be Tensor, "
                        f"not {type(value).__name__}")


def equal(input, other) -> bool:
    """True if both tensors have the same shape and elements (nan never equals nan)."""
    _check_tensor_arg(input, "equal", "input", 1)
    _check_tensor_arg(other, "equal", "other", 2)
    a, b = input._data, other._data
    if a.shape != b.shape:
        return False
    return bool((a == b).all())


def _check_close_args(fname, input, other, rtol, atol):
    _check_tensor_arg(input, fname, "input", 1)
    _check_tensor_arg(other, fname, "other", 2)
    if input._data.dtype != other._data.dtype:
        raise RuntimeError(f"{type_name(input._data.dtype)} did not match "
                           f"{type_name(other._data.dtype)}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")


def _isclose(a, b, rtol, atol, equal_nan):
    xp = array_module(a)
    close = a == b
    if a.dtype.kind == "b":
        return close
    if equal_nan and a.dtype.kind not in "iu":
        close |= xp.isnan(a) & xp.isnan(b)
    if rtol == 0 and atol == 0:
        return close
    if a.dtype.kind in "iu":  # torch measures integer distances in the default float dtype
        np_dtype = _dtype.get_default_dtype().numpy_dtype
        a, b = a.astype(np_dtype), b.astype(np_dtype)
    error = xp.abs(a - b)
    close |= xp.isfinite(error) & (error <= atol + xp.abs(rtol * b))
    return close


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> Tensor:
    """``|input - other| <= atol + rtol * |other|`` elementwise (bool), broadcasting.

    Both tensors must have the same dtype; infinities are close only to themselves and nan
    only to nan when ``equal_nan``.
    """
    _check_close_args("isclose", input, other, rtol, atol)
    try:
        return _result(_isclose(input._data, other._data, rtol, atol, equal_nan))
    except ValueError:
        raise_broadcast_error(input, other)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """True if :func:`isclose` holds for every element."""
    _check_close_args("allclose", input, other, rtol, atol)
    try:
        return bool(_isclose(input._data, other._data, rtol, atol, equal_nan).all())
    except ValueError:
        raise_broadcast_error(input, other)


# --------------------------------------------------------------------------- max / min

class Maximum(Primitive):
    """Elementwise max (nan propagates); ties split the gradient in half."""

    _beats = operator.gt  # Minimum: lt

    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return array_module(a).maximum(a, b)

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        xp = array_module(grad)
        needs = ctx.needs_input_grad
        g = xp.where(a == b, grad / 2, grad)
        # the losing side gets nothing; with a nan neither side loses
        return (xp.where(ctx._beats(b, a), 0, g) if needs[0] else None,
                xp.where(ctx._beats(a, b), 0, g) if needs[1] else None)


class Minimum(Maximum):
    _beats = operator.lt

    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return array_module(a).minimum(a, b)


class Fmax(Primitive):
    """Elementwise max ignoring nan; ties give the gradient to ``input``."""

    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return array_module(a).fmax(a, b)

    def _picks_a(ctx, xp, a, b):
        return (a >= b) | xp.isnan(b)

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        xp = array_module(grad)
        needs = ctx.needs_input_grad
        picks_a = ctx._picks_a(xp, a, b)
        return (xp.where(picks_a, grad, 0) if needs[0] else None,
                xp.where(picks_a, 0, grad) if needs[1] else None)


class Fmin(Fmax):
    """Elementwise min ignoring nan; ties give the gradient to ``input``."""

    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return array_module(a).fmin(a, b)

    def _picks_a(ctx, xp, a, b):
        return (a <= b) | xp.isnan(b)


def _binary_tensors(op, fname, input, other, out):
    _check_tensor_arg(input, fname, "input", 1)
    _check_tensor_arg(other, fname, "other", 2)
    result = apply_broadcasting(op, *promote(input, other))
    return result if out is None else write_out(out, result, fname)


def maximum(input, other, *, out=None) -> Tensor:
    """Elementwise maximum of two tensors (nan if either is nan), broadcasting."""
    return _binary_tensors(Maximum, "maximum", input, other, out)


def minimum(input, other, *, out=None) -> Tensor:
    """Elementwise minimum of two tensors (nan if either is nan), broadcasting."""
    return _binary_tensors(Minimum, "minimum", input, other, out)


def fmax(input, other, *, out=None) -> Tensor:
    """Elementwise maximum that ignores nan (nan only where both are nan)."""
    return _binary_tensors(Fmax, "fmax", input, other, out)


def fmin(input, other, *, out=None) -> Tensor:
    """Elementwise minimum that ignores nan (nan only where both are nan)."""
    return _binary_tensors(Fmin, "fmin", input, other, out)


# --------------------------------------------------------------------------- where

class Where(Primitive):
    def forward(ctx, cond, x, y):
        ctx.save_for_backward(cond)
        return array_module(cond).where(cond, x, y)

    def backward(ctx, grad):
        (cond,) = ctx.saved_tensors
        xp = array_module(grad)
        needs = ctx.needs_input_grad
        return (None, xp.where(cond, grad, 0) if needs[1] else None,
                xp.where(cond, 0, grad) if needs[2] else None)


def where(condition, input=None, other=None, *, out=None):
    """``input`` where ``condition`` holds, else ``other`` (tensors or numbers, broadcasting).

    With only ``condition``, the indices of its nonzero elements as a tuple of 1-D int64
    tensors (one per dimension), like ``condition.nonzero(as_tuple=True)``.

    Example::

        >>> torch.where(torch.tensor([True, False]), torch.tensor([1., 2.]), 0.)
        tensor([1., 0.])
    """
    if input is None and other is None:
        c = condition._data
        xp = array_module(c)
        return tuple(_wrap(i.astype(xp.int64, copy=False))
                     for i in xp.nonzero(xp.atleast_1d(c)))
    if input is None or other is None:
        raise TypeError("where() missing a required argument: 'input' and 'other' are needed "
                        "with a condition")
    if condition._data.dtype.kind != "b":
        raise RuntimeError("where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {type_name(condition._data.dtype)}")
    if isinstance(input, Tensor) or isinstance(other, Tensor):
        x, y = promote(input, other)
    else:  # two numbers: a 0-dim result dtype from both
        np_dtype = result_dtype(input, other).numpy_dtype
        xp = array_module(condition._data)
        x = _wrap(xp.asarray(scalar_value(input), dtype=np_dtype))
        y = _wrap(xp.asarray(scalar_value(other), dtype=np_dtype))
    result = apply_broadcasting(Where, condition, x, y)
    return result if out is None else write_out(out, result, "where")


def _where_method(self, condition, y):
    return where(condition, self, y)


# --------------------------------------------------------------------------- logical / bitwise

def _logical(name):
    def fn(input, other, *, out=None):
        _check_tensor_arg(input, name, "input", 1)
        _check_tensor_arg(other, name, "other", 2)
        a, b = input._data, other._data
        try:
            result = _result(getattr(array_module(a), name)(a, b))
        except ValueError:
            raise_broadcast_error(input, other)
        return result if out is None else write_out(out, result, name)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise logical {name[8:]} (nonzero is True), broadcasting; bool result."
    return fn


logical_and = _logical("logical_and")
logical_or = _logical("logical_or")
logical_xor = _logical("logical_xor")


def logical_not(input, *, out=None) -> Tensor:
    """Elementwise ``not`` (nonzero is True); bool result."""
    a = input._data
    result = _result(array_module(a).logical_not(a))
    return result if out is None else write_out(out, result, "logical_not")


def _bitwise(op, name):
    def fn(input, other, *, out=None):
        a, b = promote(input, other)
        np_dtype = (a if isinstance(a, Tensor) else b)._data.dtype
        if np_dtype.kind not in "biu":
            raise not_implemented(f"{name}_cpu", np_dtype)
        try:
            result = _result(op(_array(a), _array(b)))
        except ValueError:
            raise_broadcast_error(a, b)
        return result if out is None else write_out(out, result, name)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise bitwise {name[8:]} of integer or bool operands (bool: logical)."
    return fn


bitwise_and = _bitwise(operator.and_, "bitwise_and")
bitwise_or = _bitwise(operator.or_, "bitwise_or")
bitwise_xor = _bitwise(operator.xor, "bitwise_xor")


def bitwise_not(input, *, out=None) -> Tensor:
    """Elementwise bitwise not of an integer tensor (logical not for bool)."""
    np_dtype = input._data.dtype
    if np_dtype.kind not in "biu":
        raise not_implemented("bitwise_not_cpu", np_dtype)
    result = _result(~input._data)
    return result if out is None else write_out(out, result, "bitwise_not")


def _invert(self):
    if self._data.dtype.kind not in "biu":
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                        "tensors")
    return bitwise_not(self)


# --------------------------------------------------------------------------- float tests

def _float_test(test, name, doc, integer_value):
    """``test(xp, array)``; integer and bool tensors give ``integer_value`` everywhere."""
    def fn(input):
        a = input._data
        xp = array_module(a)
        if a.dtype.kind in "biu":
            return _wrap(xp.full(a.shape, integer_value, dtype=xp.bool_))
        return _result(test(xp, a))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


isnan = _float_test(lambda xp, a: xp.isnan(a), "isnan", "True where nan.", False)
isinf = _float_test(lambda xp, a: xp.isinf(a), "isinf", "True where +-inf.", False)
isfinite = _float_test(lambda xp, a: xp.isfinite(a), "isfinite",
                       "True where neither inf nor nan.", True)
isposinf = _float_test(lambda xp, a: a == xp.inf, "isposinf", "True where +inf.", False)
isneginf = _float_test(lambda xp, a: a == -xp.inf, "isneginf", "True where -inf.", False)


def signbit(input, *, out=None) -> Tensor:
    """True where the sign bit is set (including -0.0); integers: ``input < 0``."""
    a = input._data
    xp = array_module(a)
    if a.dtype.kind in "bu":
        result = _wrap(xp.zeros(a.shape, dtype=xp.bool_))
    elif a.dtype.kind == "i":
        result = _result(a < 0)
    else:
        result = _result(xp.signbit(a))
    return result if out is None else write_out(out, result, "signbit")


# --------------------------------------------------------------------------- Tensor methods

def _dunder(fn):
    """Operators answer NotImplemented for non-numeric operands (``t == None`` is False)."""
    def method(self, other):
        if not isinstance(other, _OPERAND):
            return NotImplemented
        return fn(self, other)
    method.__name__ = fn.__name__
    return method


def _reflected(fn):
    def method(self, other):
        if not isinstance(other, _OPERAND):
            return NotImplemented
        return fn(other, self)
    return method


_BINARY = {
    "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge, "greater": gt,
    "greater_equal": ge, "less": lt, "less_equal": le, "not_equal": ne,
    "logical_and": logical_and, "logical_or": logical_or, "logical_xor": logical_xor,
    "bitwise_and": bitwise_and, "bitwise_or": bitwise_or, "bitwise_xor": bitwise_xor,
}

bind_methods({
    **_BINARY,
    **{name + "_": inplace_method(fn) for name, fn in _BINARY.items()},
    "equal": equal, "allclose": allclose, "isclose": isclose, "maximum": maximum,
    "minimum": minimum, "fmax": fmax, "fmin": fmin, "where": _where_method,
    "logical_not": logical_not, "logical_not_": inplace_method(logical_not),
    "bitwise_not": bitwise_not, "bitwise_not_": inplace_method(bitwise_not),
    "isnan": isnan, "isinf": isinf, "isfinite": isfinite, "isposinf": isposinf,
    "isneginf": isneginf, "signbit": signbit,
    "__eq__": eq.operator_method, "__ne__": ne.operator_method,
    "__lt__": lt.operator_method, "__le__": le.operator_method,
    "__gt__": gt.operator_method, "__ge__": ge.operator_method,
    "__and__": _dunder(bitwise_and), "__or__": _dunder(bitwise_or),
    "__xor__": _dunder(bitwise_xor), "__rand__": _reflected(bitwise_and),
    "__ror__": _reflected(bitwise_or), "__rxor__": _reflected(bitwise_xor),
    "__iand__": inplace_method(bitwise_and), "__ior__": inplace_method(bitwise_or),
    "__ixor__": inplace_method(bitwise_xor), "__invert__": _invert,
})
