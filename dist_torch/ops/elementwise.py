"""Elementwise arithmetic: + - * / // % and negation, with broadcasting and torch's promotion.

Every binary op promotes its operands first (``promote``), so forward sees arrays of the result
dtype or weak Python scalars; backward may return broadcast-shaped gradients, which the engine
sums back to each input's shape. ``pow`` lives in :mod:`.power`, ``addcmul``/``addcdiv``/``lerp``
in :mod:`.fused`; both are re-exported here.
"""

from __future__ import annotations

import operator
import warnings

import numpy as np

from dist_torch import _dtype
from dist_torch._tensor import Tensor, _wrap, bind_methods
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops import fused as _fused
from dist_torch.ops import power as _power
from dist_torch.ops._pointwise import (
    NoDerivative,
    apply_broadcasting,
    check_int_divisor,
    direct_target,
    inplace_method,
    not_implemented,
    raise_broadcast_error,
    reflected,
    tensor_of,
    write_out,
    written,
)
from dist_torch.ops._util import cast, promote, scalar_value
from dist_torch.ops.fused import *  # noqa: F403
from dist_torch.ops.inplace import inplace
from dist_torch.ops.power import *  # noqa: F403

__all__ = [
    "add", "sub", "subtract", "rsub", "mul", "multiply", "div", "divide", "true_divide",
    "floor_divide", "remainder", "fmod", "neg", "negative", "positive", "neg_", "negative_",
    *_power.__all__, *_fused.__all__,
]

# NumPy warns on x/0, 0/0, inf-inf...; torch returns inf/nan silently. Only warnings raised
# from this module's own array code are silenced.
warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"dist_torch\.ops\.elementwise")


# --------------------------------------------------------------------------- add / sub / mul

class Add(Primitive):
    def forward(ctx, a, b, alpha=1):
        ctx.alpha = alpha
        return a + b if alpha == 1 else a + alpha * b

    def backward(ctx, grad):
        needs = ctx.needs_input_grad
        return (grad if needs[0] else None,
                (grad if ctx.alpha == 1 else grad * ctx.alpha) if needs[1] else None)


class Sub(Primitive):
    def forward(ctx, a, b, alpha=1):
        ctx.alpha = alpha
        return a - b if alpha == 1 else a - alpha * b

    def backward(ctx, grad):
        needs = ctx.needs_input_grad
        return (grad if needs[0] else None,
                (-grad if ctx.alpha == 1 else grad * -ctx.alpha) if needs[1] else None)


class Rsub(Sub):
    """``scalar - tensor`` (torch records it as rsub with a Scalar)."""

    _name = "RsubBackward1"


class Mul(Primitive):
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None,
                              b if ctx.needs_input_grad[0] else None)
        return a * b

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return (grad * b if b is not None else None), (grad * a if a is not None else None)


def _alpha_for(alpha, a, b):
    """Validate ``alpha`` against the result dtype as torch does."""
    kind = tensor_of(a, b)._data.dtype.kind
    if isinstance(alpha, bool) or isinstance(alpha, np.bool_):
        if kind != "b":
            raise RuntimeError("Boolean alpha only supported for Boolean results.")
        return bool(alpha)
    if kind in "biu" and not isinstance(alpha, (int, np.integer)):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating "
                           "point number.")
    return bool(alpha) if kind == "b" else scalar_value(alpha)


def add(input, other, *, alpha=1, out=None) -> Tensor:
    """``input + alpha * other``, broadcasting, with torch's type promotion.

    Example::

        >>> torch.add(torch.tensor([1, 2]), 10)
        tensor([11, 12])
    """
    a, b = promote(input, other)
    try:
        if alpha == 1 and type(alpha) is not bool:
            result = Add.apply(a, b)
        else:
            result = Add.apply(a, b, _alpha_for(alpha, a, b))
    except ValueError:
        raise_broadcast_error(a, b)
    return result if out is None else write_out(out, result, "add")


_BOOL_SUB = ("Subtraction, the `-` operator, with two bool tensors is not supported. Use the "
             "`^` or `logical_xor()` operator instead.")
_ONE_BOOL_SUB = ("Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
                 "trying to invert a mask, use the `~` or `logical_not()` operator instead.")


def _is_bool(x) -> bool:
    if isinstance(x, Tensor):
        return x._data.dtype.kind == "b"
    return isinstance(x, (bool, np.bool_))


def _check_bool_sub(x, y):
    """torch refuses subtraction with any bool operand (tensor or Python bool)."""
    bx, by = _is_bool(x), _is_bool(y)
    if bx and by:
        raise RuntimeError(_BOOL_SUB)
    if bx or by:
        raise RuntimeError(_ONE_BOOL_SUB)


def _sub(op, x, y, alpha):
    a, b = promote(x, y)
    # same-dtype bool tensors are caught below (NumPy refuses them); anything promoted or a
    # bool scalar is checked here
    if a is not x or b is not y or type(x) is bool or type(y) is bool:
        _check_bool_sub(x, y)
    try:
        if alpha == 1 and type(alpha) is not bool:
            return op.apply(a, b)
        return op.apply(a, b, _alpha_for(alpha, a, b))
    except TypeError:
        _check_bool_sub(x, y)
        raise
    except ValueError:
        raise_broadcast_error(a, b)


def sub(input, other, *, alpha=1, out=None) -> Tensor:
    """``input - alpha * other``, broadcasting. Two bool operands are an error, as in torch."""
    result = _sub(Sub, input, other, alpha)
    return result if out is None else write_out(out, result, "sub")


def rsub(input, other, *, alpha=1) -> Tensor:
    """``other - alpha * input``."""
    return _sub(Sub if isinstance(other, Tensor) else Rsub, other, input, alpha)


def mul(input, other, *, out=None) -> Tensor:
    """``input * other``, broadcasting."""
    a, b = promote(input, other)
    try:
        result = Mul.apply(a, b)
    except ValueError:
        raise_broadcast_error(a, b)
    return result if out is None else write_out(out, result, "mul")


# --------------------------------------------------------------------------- division

class Div(Primitive):
    def forward(ctx, a, b):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(a if needs[1] else None, b)
        return a / b

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (grad / b if needs[0] else None,
                -grad * a / (b * b) if needs[1] else None)


class RDiv(Div):
    """``scalar / tensor``: torch computes it as ``reciprocal(tensor) * scalar``."""

    _name = "MulBackward0"


class DivRounding(Primitive):
    """Division rounded toward zero or -inf; piecewise constant, so the gradient is zero."""

    _name = "DivBackward2"

    def forward(ctx, a, b, mode):
        xp = array_module(_tensor_array(a, b))
        if mode == "floor":
            out = xp.floor_divide(a, b)
            if out.dtype.kind in "iu":
                check_int_divisor(b)
            return out
        if _tensor_array(a, b).dtype.kind in "iu":
            check_int_divisor(b)
            return (a - xp.fmod(a, b)) // b
        return xp.trunc(a / b)

    def backward(ctx, grad):
        xp = array_module(grad)
        zeros = xp.zeros_like(grad)
        return tuple(zeros if n else None for n in ctx.needs_input_grad[:2])


def _tensor_array(a, b):
    """The array operand of a forward (the other may be a Python scalar)."""
    return a if hasattr(a, "dtype") and not isinstance(a, np.generic) else b


def _as_float(x):
    """An integral operand converted to the default float dtype (for true division)."""
    if isinstance(x, Tensor):
        return cast(x, _dtype.get_default_dtype().numpy_dtype)
    if isinstance(x, np.ndarray):
        return cast(_wrap(x), _dtype.get_default_dtype().numpy_dtype)
    return float(scalar_value(x))


def div(input, other, *, rounding_mode=None, out=None) -> Tensor:
    """``input / other``; ``rounding_mode`` None (true division), ``'trunc'`` or ``'floor'``.

    True division of integers gives the default float dtype; rounded division keeps the
    promoted dtype. Integer division by zero raises ``RuntimeError: ZeroDivisionError``.

    Example::

        >>> torch.div(torch.tensor([-7, 7]), 2, rounding_mode='floor')
        tensor([-4,  3])
    """
    if rounding_mode is None:
        a, b = promote(input, other)
        if (a if isinstance(a, Tensor) else b)._data.dtype.kind in "biu":
            a, b = _as_float(input), _as_float(other)
        try:
            result = Div.apply(a, b)
        except ValueError:
            raise_broadcast_error(a, b)
    elif rounding_mode == "trunc" or rounding_mode == "floor":
        a, b = promote(input, other)
        np_dtype = tensor_of(a, b)._data.dtype
        if np_dtype.kind == "b":
            raise not_implemented(f"div_{rounding_mode}_cpu", np_dtype)
        result = apply_broadcasting(DivRounding, a, b, rounding_mode)
    else:
        raise RuntimeError("div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                           f"but found '{rounding_mode}'")
    return result if out is None else write_out(out, result, "div")


divide = div


def true_divide(dividend, divisor, *, out=None) -> Tensor:
    """Alias of :func:`div` with ``rounding_mode=None``."""
    return div(dividend, divisor, out=out)


def _rtruediv(self, other):
    a, b = promote(other, self)
    if self._data.dtype.kind in "biu" and tensor_of(a, b)._data.dtype.kind in "biu":
        a, b = _as_float(other), _as_float(self)
    return apply_broadcasting(RDiv if not isinstance(a, Tensor) else Div, a, b)


class FloorDivide(NoDerivative):
    _aten = "floor_divide"

    def forward(ctx, a, b):
        out = array_module(_tensor_array(a, b)).floor_divide(a, b)
        if out.dtype.kind in "iu":
            check_int_divisor(b)
        return out


def floor_divide(input, other, *, out=None) -> Tensor:
    """``input // other``: division rounded toward -inf (Python's ``//``), broadcasting."""
    a, b = promote(input, other)
    np_dtype = tensor_of(a, b)._data.dtype
    if np_dtype.kind == "b":
        raise not_implemented("div_floor_cpu", np_dtype)
    result = apply_broadcasting(FloorDivide, a, b)
    return result if out is None else write_out(out, result, "floor_divide")


class Remainder(Primitive):
    """``a - floor(a / b) * b``: the result takes the sign of ``b``, as Python's ``%``."""

    _name = "RemainderBackward1"
    _kernel = "remainder"

    def forward(ctx, a, b):
        xp = array_module(_tensor_array(a, b))
        out = xp.remainder(a, b) if ctx._kernel == "remainder" else xp.fmod(a, b)
        if out.dtype.kind in "iu":
            check_int_divisor(b)
        if ctx.needs_input_grad[1]:
            ctx.save_for_backward(a, b)
        return out

    def backward(ctx, grad):
        needs = ctx.needs_input_grad
        grad_b = None
        if needs[1]:
            a, b = ctx.saved_tensors
            xp = array_module(grad)
            q = xp.floor(a / b) if ctx._kernel == "remainder" else xp.trunc(a / b)
            grad_b = -grad * q
        return grad if needs[0] else None, grad_b


class RemainderScalar(Remainder):
    _name = "RemainderBackward0"


class RemainderRev(NoDerivative):
    _aten = "remainder"

    def forward(ctx, a, b):
        out = array_module(b).remainder(a, b)
        if out.dtype.kind in "iu":
            check_int_divisor(b)
        return out


class Fmod(Remainder):
    """``a - trunc(a / b) * b``: the result takes the sign of ``a``, as C's fmod."""

    _name = "FmodBackward1"
    _kernel = "fmod"


class FmodScalar(Fmod):
    _name = "FmodBackward0"


def remainder(input, other, *, out=None) -> Tensor:
    """Python-style modulus (sign of the divisor), broadcasting; see also :func:`fmod`."""
    a, b = promote(input, other)
    np_dtype = tensor_of(a, b)._data.dtype
    if np_dtype.kind == "b":
        raise not_implemented("remainder_cpu", np_dtype)
    if not isinstance(a, Tensor):
        op = RemainderRev
    else:
        op = Remainder if isinstance(b, Tensor) else RemainderScalar
    result = apply_broadcasting(op, a, b)
    return result if out is None else write_out(out, result, "remainder")


def fmod(input, other, *, out=None) -> Tensor:
    """C-style modulus (sign of the dividend), broadcasting."""
    if not isinstance(input, Tensor):
        raise TypeError(f"fmod(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    a, b = promote(input, other)
    np_dtype = a._data.dtype
    if np_dtype.kind == "b":
        raise not_implemented("fmod_cpu", np_dtype)
    result = apply_broadcasting(Fmod if isinstance(b, Tensor) else FmodScalar, a, b)
    return result if out is None else write_out(out, result, "fmod")


# --------------------------------------------------------------------------- negation

class Neg(Primitive):
    def forward(ctx, a):
        return -a

    def backward(ctx, grad):
        return -grad


def neg(input, *, out=None) -> Tensor:
    """``-input``. Negating a bool tensor is an error, as in torch."""
    try:
        result = Neg.apply(input)
    except TypeError:  # NumPy refuses to negate bools too, with its own message
        if input._data.dtype.kind == "b":
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. "
                               "If you are trying to invert a mask, use the `~` or "
                               "`logical_not()` operator instead.") from None
        raise
    return result if out is None else write_out(out, result, "neg")


def positive(input) -> Tensor:
    """``+input``: returns ``input`` itself (bool tensors are refused, as in torch)."""
    if input._data.dtype.kind == "b":
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


subtract, multiply, negative = sub, mul, neg

neg_ = negative_ = inplace_method(neg)


# In-place arithmetic is the optimizers' hot path: when nothing needs a gradient and the
# promoted dtype is self's own, it computes straight into self's storage (no temporary result,
# no copy); anything else takes the recorded path of ``inplace``, which also raises torch's errors.

def _direct(self, other, op, alpha=1):
    """``op(self._data, other)`` in place (op: operator.iadd, ...), or None if not possible."""
    data = direct_target(self, other)
    if data is None:
        return None
    a, b = promote(self, other)
    if a is not self:
        return None
    if isinstance(b, Tensor):
        b = b._data
    try:
        if alpha != 1 or type(alpha) is bool:
            b = b * _alpha_for(alpha, a, b)
        op(data, b)
    except (ValueError, TypeError, OverflowError):  # broadcast to a bigger shape, bool - bool
        return None
    return written(self)


def _add_(self, other, *, alpha=1):
    done = _direct(self, other, operator.iadd, alpha)
    return done if done is not None else inplace(self, add, other, alpha=alpha)


def _sub_(self, other, *, alpha=1):
    done = _direct(self, other, operator.isub, alpha)
    return done if done is not None else inplace(self, sub, other, alpha=alpha)


def _mul_(self, other):
    done = _direct(self, other, operator.imul)
    return done if done is not None else inplace(self, mul, other)


def _div_(self, other, *, rounding_mode=None):
    if rounding_mode is None and self._data.dtype.kind == "f":
        done = _direct(self, other, operator.itruediv)
        if done is not None:
            return done
    return inplace(self, div, other, rounding_mode=rounding_mode)


def _rsub_method(self, other):
    return _sub(Rsub if not isinstance(other, Tensor) else Sub, other, self, 1)


bind_methods({
    "add": add, "sub": sub, "subtract": sub, "mul": mul, "multiply": mul, "div": div,
    "divide": div, "true_divide": true_divide, "floor_divide": floor_divide,
    "remainder": remainder, "fmod": fmod, "neg": neg, "negative": neg, "positive": positive,
    "__add__": add, "__radd__": reflected(add),
    "__sub__": sub, "__rsub__": _rsub_method,
    "__mul__": mul, "__rmul__": reflected(mul),
    "__truediv__": div, "__rtruediv__": _rtruediv,
    "__floordiv__": floor_divide, "__rfloordiv__": reflected(floor_divide),
    "__mod__": remainder, "__rmod__": reflected(remainder),
    "__neg__": neg, "__pos__": positive,
    "add_": _add_, "sub_": _sub_, "subtract_": _sub_, "mul_": _mul_, "multiply_": _mul_,
    "div_": _div_, "divide_": _div_, "true_divide_": _div_,
    "floor_divide_": inplace_method(floor_divide), "remainder_": inplace_method(remainder),
    "fmod_": inplace_method(fmod), "neg_": neg_, "negative_": neg_,
    "__iadd__": _add_, "__isub__": _sub_, "__imul__": _mul_, "__itruediv__": _div_,
    "__ifloordiv__": inplace_method(floor_divide), "__imod__": inplace_method(remainder),
})
